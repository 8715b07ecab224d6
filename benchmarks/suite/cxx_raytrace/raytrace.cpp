// A small Whitted-style ray tracer: spheres, planes and discs behind an
// abstract Shape interface (virtual intersection/normal calls), point lights
// with shadows, Phong shading, mirror reflections and supersampling, rendered
// into a 256x256 buffer (by default) for several camera positions; pixels
// are quantized to 8 bits and checksummed.
// Usage: cxx_raytrace [frames] [samples_per_axis] [image_size]
// (written for irpipe's benchmark suite)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

struct Vec3 {
    double x, y, z;
    Vec3() : x(0), y(0), z(0) {}
    Vec3(double a, double b, double c) : x(a), y(b), z(c) {}
    Vec3 operator+(const Vec3 &o) const { return {x + o.x, y + o.y, z + o.z}; }
    Vec3 operator-(const Vec3 &o) const { return {x - o.x, y - o.y, z - o.z}; }
    Vec3 operator*(double s) const { return {x * s, y * s, z * s}; }
    Vec3 mul(const Vec3 &o) const { return {x * o.x, y * o.y, z * o.z}; }
    double dot(const Vec3 &o) const { return x * o.x + y * o.y + z * o.z; }
    Vec3 cross(const Vec3 &o) const
    {
        return {y * o.z - z * o.y, z * o.x - x * o.z, x * o.y - y * o.x};
    }
    double length() const { return std::sqrt(dot(*this)); }
    Vec3 normalized() const
    {
        double l = length();
        return l > 0 ? *this * (1.0 / l) : *this;
    }
};

struct Ray {
    Vec3 o, d; // d normalized
};

struct Material {
    Vec3 color;
    double diffuse, specular, reflect;
    int shininess_log2; // specular exponent 2^k
    bool checker;
};

class Shape {
public:
    explicit Shape(const Material &m) : mat_(m) {}
    virtual ~Shape() = default;
    // distance along the ray of the nearest hit in (eps, tmax), or -1
    virtual double intersect(const Ray &r, double tmax) const = 0;
    virtual Vec3 normal(const Vec3 &p) const = 0;
    virtual Vec3 color_at(const Vec3 &p) const
    {
        (void)p;
        return mat_.color;
    }
    const Material &material() const { return mat_; }

protected:
    Material mat_;
};

constexpr double kEps = 1e-6;

class Sphere : public Shape {
public:
    Sphere(const Vec3 &c, double r, const Material &m) : Shape(m), c_(c), r2_(r * r), inv_r_(1.0 / r)
    {
    }
    double intersect(const Ray &r, double tmax) const override
    {
        Vec3 oc = r.o - c_;
        double b = oc.dot(r.d);
        double c = oc.dot(oc) - r2_;
        double disc = b * b - c;
        if (disc < 0)
            return -1;
        double s = std::sqrt(disc);
        double t = -b - s;
        if (t <= kEps)
            t = -b + s;
        return (t > kEps && t < tmax) ? t : -1;
    }
    Vec3 normal(const Vec3 &p) const override { return (p - c_) * inv_r_; }

private:
    Vec3 c_;
    double r2_, inv_r_;
};

class Plane : public Shape {
public:
    Plane(const Vec3 &n, double off, const Material &m) : Shape(m), n_(n.normalized()), off_(off) {}
    double intersect(const Ray &r, double tmax) const override
    {
        double den = n_.dot(r.d);
        if (std::fabs(den) < 1e-12)
            return -1;
        double t = (off_ - n_.dot(r.o)) / den;
        return (t > kEps && t < tmax) ? t : -1;
    }
    Vec3 normal(const Vec3 &) const override { return n_; }
    Vec3 color_at(const Vec3 &p) const override
    {
        if (!mat_.checker)
            return mat_.color;
        long ix = static_cast<long>(std::floor(p.x * 0.5));
        long iz = static_cast<long>(std::floor(p.z * 0.5));
        return ((ix + iz) & 1) ? mat_.color : mat_.color * 0.35;
    }

protected:
    Vec3 n_;
    double off_;
};

class Disc : public Plane {
public:
    Disc(const Vec3 &center, const Vec3 &n, double radius, const Material &m)
        : Plane(n, n.normalized().dot(center), m), center_(center), r2_(radius * radius)
    {
    }
    double intersect(const Ray &r, double tmax) const override
    {
        double t = Plane::intersect(r, tmax);
        if (t < 0)
            return -1;
        Vec3 p = r.o + r.d * t;
        Vec3 q = p - center_;
        return q.dot(q) <= r2_ ? t : -1;
    }
    Vec3 color_at(const Vec3 &p) const override
    {
        Vec3 q = p - center_;
        // concentric rings
        return (static_cast<long>(std::floor(q.length() * 2.0)) & 1) ? mat_.color
                                                                   : mat_.color * 0.6;
    }

private:
    Vec3 center_;
    double r2_;
};

struct Light {
    Vec3 pos, color;
};

class Scene {
public:
    std::vector<std::unique_ptr<Shape>> shapes;
    std::vector<Light> lights;
    Vec3 ambient{0.06, 0.06, 0.08};
    Vec3 sky_top{0.25, 0.45, 0.85}, sky_bottom{0.9, 0.9, 0.95};
    long rays = 0, shadow_rays = 0;

    const Shape *hit(const Ray &r, double &t) const
    {
        const Shape *best = nullptr;
        double tmax = 1e30;
        for (const auto &s : shapes) {
            double d = s->intersect(r, tmax);
            if (d > 0) {
                tmax = d;
                best = s.get();
            }
        }
        t = tmax;
        return best;
    }

    bool occluded(const Ray &r, double dist) const
    {
        for (const auto &s : shapes)
            if (s->intersect(r, dist) > 0)
                return true;
        return false;
    }

    Vec3 trace(const Ray &r, int depth)
    {
        rays++;
        double t;
        const Shape *s = hit(r, t);
        if (!s) {
            double k = 0.5 * (r.d.y + 1.0);
            return sky_bottom * (1.0 - k) + sky_top * k;
        }
        Vec3 p = r.o + r.d * t;
        Vec3 n = s->normal(p);
        if (n.dot(r.d) > 0)
            n = n * -1.0;
        const Material &m = s->material();
        Vec3 base = s->color_at(p);
        Vec3 col = ambient.mul(base);
        for (const Light &L : lights) {
            Vec3 tl = L.pos - p;
            double dist = tl.length();
            Vec3 ld = tl * (1.0 / dist);
            double ndl = n.dot(ld);
            if (ndl <= 0)
                continue;
            shadow_rays++;
            if (occluded(Ray{p + n * 1e-4, ld}, dist))
                continue;
            col = col + base.mul(L.color) * (m.diffuse * ndl);
            Vec3 h = (ld - r.d).normalized();
            double nh = n.dot(h);
            if (nh > 0 && m.specular > 0) {
                double sp = nh;
                for (int k = 0; k < m.shininess_log2; k++)
                    sp *= sp;
                col = col + L.color * (m.specular * sp);
            }
        }
        if (depth > 0 && m.reflect > 0) {
            Vec3 rd = (r.d - n * (2.0 * n.dot(r.d))).normalized();
            Vec3 rc = trace(Ray{p + n * 1e-4, rd}, depth - 1);
            col = col * (1.0 - m.reflect) + rc * m.reflect;
        }
        return col;
    }
};

class Rng {
public:
    explicit Rng(uint32_t s) : s_(s) {}
    uint32_t next()
    {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 17;
        s_ ^= s_ << 5;
        return s_;
    }
    double unit() { return static_cast<double>(next() >> 8) * (1.0 / 16777216.0); }

private:
    uint32_t s_;
};

void build_scene(Scene &sc)
{
    Rng rng(0xBADC0DEu);
    sc.shapes.push_back(std::make_unique<Plane>(
        Vec3(0, 1, 0), 0.0, Material{Vec3(0.9, 0.9, 0.85), 0.9, 0.1, 0.15, 4, true}));
    sc.shapes.push_back(std::make_unique<Sphere>(
        Vec3(0, 2.0, 0), 2.0, Material{Vec3(0.95, 0.95, 0.95), 0.2, 0.8, 0.75, 6, false}));
    sc.shapes.push_back(std::make_unique<Disc>(
        Vec3(-6, 3, -6), Vec3(1, 0.2, 1), 2.5, Material{Vec3(0.9, 0.3, 0.2), 0.8, 0.3, 0.1, 3, false}));
    for (int i = 0; i < 28; i++) {
        double x = rng.unit() * 16.0 - 8.0, z = rng.unit() * 16.0 - 8.0;
        if (x * x + z * z < 9.0) {
            x *= 2.0;
            z *= 2.0;
        }
        double r = 0.3 + rng.unit() * 0.8;
        Material m{Vec3(0.2 + 0.8 * rng.unit(), 0.2 + 0.8 * rng.unit(), 0.2 + 0.8 * rng.unit()),
                   0.7 + 0.3 * rng.unit(), 0.5 * rng.unit(), (rng.next() % 3u == 0) ? 0.4 : 0.0,
                   static_cast<int>(rng.next() % 5u) + 2, false};
        sc.shapes.push_back(std::make_unique<Sphere>(Vec3(x, r, z), r, m));
    }
    sc.lights.push_back({Vec3(8, 12, 6), Vec3(0.8, 0.75, 0.7)});
    sc.lights.push_back({Vec3(-10, 8, -3), Vec3(0.3, 0.35, 0.5)});
}

class Camera {
public:
    Camera(const Vec3 &eye, const Vec3 &target, double fov_scale) : eye_(eye)
    {
        fwd_ = (target - eye).normalized();
        right_ = fwd_.cross(Vec3(0, 1, 0)).normalized();
        up_ = right_.cross(fwd_);
        scale_ = fov_scale;
    }
    Ray ray(double u, double v) const // u, v in [-1, 1]
    {
        Vec3 d = fwd_ + right_ * (u * scale_) + up_ * (v * scale_);
        return Ray{eye_, d.normalized()};
    }

private:
    Vec3 eye_, fwd_, right_, up_;
    double scale_;
};

inline int quantize(double c)
{
    // gamma 2 approximation via sqrt, then round to 8 bits
    if (c <= 0)
        return 0;
    double g = std::sqrt(c);
    int v = static_cast<int>(g * 255.0 + 0.5);
    return v > 255 ? 255 : v;
}

} // namespace

int main(int argc, char **argv)
{
    int frames = argc > 1 ? std::atoi(argv[1]) : 4;
    int ss = argc > 2 ? std::atoi(argv[2]) : 2;
    if (frames < 1)
        frames = 1;
    if (ss < 1)
        ss = 1;
    int size = argc > 3 ? std::atoi(argv[3]) : 256;
    if (size < 8)
        size = 8;
    if (size > 4096)
        size = 4096;
    const int W = size, H = size;
    Scene sc;
    build_scene(sc);
    std::vector<uint8_t> fb(static_cast<size_t>(W) * H * 3);

    uint64_t total_hash = 0xCBF29CE484222325ull;
    uint64_t lum_sum = 0;
    for (int f = 0; f < frames; f++) {
        // camera orbit using a rational parametrization of the circle
        double t = -0.9 + 1.8 * f / (frames > 1 ? frames - 1 : 1);
        double cs = (1 - t * t) / (1 + t * t), sn = 2 * t / (1 + t * t);
        Camera cam(Vec3(14.0 * sn, 6.0, 14.0 * cs), Vec3(0, 1.5, 0), 0.55);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                Vec3 acc;
                for (int sy = 0; sy < ss; sy++)
                    for (int sx = 0; sx < ss; sx++) {
                        double u = ((x + (sx + 0.5) / ss) / W) * 2.0 - 1.0;
                        double v = 1.0 - ((y + (sy + 0.5) / ss) / H) * 2.0;
                        acc = acc + sc.trace(cam.ray(u, v), 4);
                    }
                acc = acc * (1.0 / (ss * ss));
                uint8_t *px = &fb[(static_cast<size_t>(y) * W + x) * 3];
                px[0] = static_cast<uint8_t>(quantize(acc.x));
                px[1] = static_cast<uint8_t>(quantize(acc.y));
                px[2] = static_cast<uint8_t>(quantize(acc.z));
            }
        }
        uint64_t h = 0xCBF29CE484222325ull;
        for (uint8_t b : fb) {
            h = (h ^ b) * 0x100000001B3ull;
            lum_sum += b;
        }
        total_hash = (total_hash ^ h) * 0x100000001B3ull;
    }
    std::printf("raytrace: %d frames of %dx%d, %d samples per pixel\n", frames, W, H, ss * ss);
    std::printf("rays %ld, shadow rays %ld\n", sc.rays, sc.shadow_rays);
    std::printf("mean channel value: %.3f\n",
                static_cast<double>(lum_sum) / (static_cast<double>(frames) * W * H * 3));
    std::printf("image checksum: %016llx\n", static_cast<unsigned long long>(total_hash));
    return 0;
}
