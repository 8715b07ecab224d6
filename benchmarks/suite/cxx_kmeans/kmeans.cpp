// k-means clustering (Lloyd iterations, k-means++-style seeding) written with
// templates over the scalar type and dimension, run on generated clustered
// data in float and double; results are reported as quantized checksums.
// Usage: cxx_kmeans [points] [max_iterations]   (written for irpipe's benchmark suite)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

class SplitMix {
public:
    explicit SplitMix(uint64_t s) : s_(s) {}
    uint64_t next()
    {
        uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // uniform in [0, 1) with 24 bits, exactly representable in float
    double unit() { return static_cast<double>(next() >> 40) * (1.0 / 16777216.0); }

private:
    uint64_t s_;
};

template <typename T, int D>
struct Dataset {
    std::vector<T> x; // n * D, row-major
    size_t n() const { return x.size() / D; }
    const T *row(size_t i) const { return &x[i * D]; }
};

template <typename T, int D>
Dataset<T, D> make_data(size_t n, int true_k, SplitMix &rng)
{
    std::vector<double> centers(static_cast<size_t>(true_k) * D);
    std::vector<double> spread(static_cast<size_t>(true_k));
    for (auto &c : centers)
        c = rng.unit() * 100.0 - 50.0;
    for (auto &s : spread)
        s = 1.0 + rng.unit() * 6.0;
    Dataset<T, D> ds;
    ds.x.resize(n * D);
    for (size_t i = 0; i < n; i++) {
        size_t c = static_cast<size_t>(rng.next() % static_cast<uint64_t>(true_k));
        for (int d = 0; d < D; d++) {
            // approximately normal: sum of four uniforms
            double u = rng.unit() + rng.unit() + rng.unit() + rng.unit() - 2.0;
            ds.x[i * D + d] = static_cast<T>(centers[c * D + d] + u * spread[c]);
        }
    }
    return ds;
}

template <typename T, int D>
inline T dist2(const T *a, const T *b)
{
    T s = T(0);
    for (int d = 0; d < D; d++) {
        T t = a[d] - b[d];
        s += t * t;
    }
    return s;
}

template <typename T, int D>
struct KMeansResult {
    std::vector<T> centroids;
    std::vector<int> assign;
    std::vector<long> sizes;
    int iterations;
    double inertia;
};

template <typename T, int D>
class KMeans {
public:
    KMeans(int k, int max_iter) : k_(k), max_iter_(max_iter) {}

    KMeansResult<T, D> fit(const Dataset<T, D> &ds, SplitMix &rng) const
    {
        const size_t n = ds.n();
        KMeansResult<T, D> r;
        r.centroids.assign(static_cast<size_t>(k_) * D, T(0));
        r.assign.assign(n, -1);
        seed(ds, rng, r.centroids);

        std::vector<double> sums(static_cast<size_t>(k_) * D);
        std::vector<long> counts(static_cast<size_t>(k_));
        int it = 0;
        for (; it < max_iter_; it++) {
            size_t changed = 0;
            for (size_t i = 0; i < n; i++) {
                int best = nearest(ds.row(i), r.centroids);
                if (best != r.assign[i]) {
                    r.assign[i] = best;
                    changed++;
                }
            }
            std::fill(sums.begin(), sums.end(), 0.0);
            std::fill(counts.begin(), counts.end(), 0L);
            for (size_t i = 0; i < n; i++) {
                int c = r.assign[i];
                counts[static_cast<size_t>(c)]++;
                const T *p = ds.row(i);
                for (int d = 0; d < D; d++)
                    sums[static_cast<size_t>(c) * D + d] += static_cast<double>(p[d]);
            }
            for (int c = 0; c < k_; c++) {
                if (counts[static_cast<size_t>(c)] == 0)
                    continue; // keep an empty cluster's centroid
                for (int d = 0; d < D; d++)
                    r.centroids[static_cast<size_t>(c) * D + d] = static_cast<T>(
                        sums[static_cast<size_t>(c) * D + d] /
                        static_cast<double>(counts[static_cast<size_t>(c)]));
            }
            if (changed == 0) {
                it++;
                break;
            }
        }
        r.iterations = it;
        r.sizes.assign(static_cast<size_t>(k_), 0);
        double inertia = 0.0;
        for (size_t i = 0; i < n; i++) {
            r.sizes[static_cast<size_t>(r.assign[i])]++;
            inertia += static_cast<double>(
                dist2<T, D>(ds.row(i), &r.centroids[static_cast<size_t>(r.assign[i]) * D]));
        }
        r.inertia = inertia;
        return r;
    }

private:
    int nearest(const T *p, const std::vector<T> &cent) const
    {
        int best = 0;
        T bd = dist2<T, D>(p, &cent[0]);
        for (int c = 1; c < k_; c++) {
            T dd = dist2<T, D>(p, &cent[static_cast<size_t>(c) * D]);
            if (dd < bd) {
                bd = dd;
                best = c;
            }
        }
        return best;
    }

    // k-means++ style seeding on a sample: next center is the sampled point
    // with the largest distance to the chosen ones, weighted by a random draw.
    void seed(const Dataset<T, D> &ds, SplitMix &rng, std::vector<T> &cent) const
    {
        const size_t n = ds.n();
        const size_t sample = std::min<size_t>(n, 4096);
        std::vector<size_t> idx(sample);
        for (auto &v : idx)
            v = static_cast<size_t>(rng.next() % n);
        std::vector<double> md(sample, 1e300);
        size_t first = idx[0];
        std::copy(ds.row(first), ds.row(first) + D, cent.begin());
        for (int c = 1; c < k_; c++) {
            const T *last = &cent[static_cast<size_t>(c - 1) * D];
            size_t pick = 0;
            double bestscore = -1.0;
            for (size_t s = 0; s < sample; s++) {
                double dd = static_cast<double>(dist2<T, D>(ds.row(idx[s]), last));
                if (dd < md[s])
                    md[s] = dd;
                double w = 0.5 + rng.unit();
                double score = md[s] * w;
                if (score > bestscore) {
                    bestscore = score;
                    pick = s;
                }
            }
            std::copy(ds.row(idx[pick]), ds.row(idx[pick]) + D,
                      cent.begin() + static_cast<long>(c) * D);
        }
    }

    int k_;
    int max_iter_;
};

template <typename T, int D>
void run(const char *name, size_t n, int true_k, int k, int max_iter, uint64_t seed)
{
    SplitMix rng(seed);
    Dataset<T, D> ds = make_data<T, D>(n, true_k, rng);
    KMeans<T, D> km(k, max_iter);
    KMeansResult<T, D> r = km.fit(ds, rng);

    // quantized checksums (centroids to 1e-2, inertia relative 1e-6)
    uint64_t h = 0xCBF29CE484222325ull;
    for (T v : r.centroids)
        h = (h ^ static_cast<uint64_t>(std::llround(static_cast<double>(v) * 100.0))) *
            0x100000001B3ull;
    std::vector<long> sizes = r.sizes;
    std::sort(sizes.begin(), sizes.end());
    uint64_t ha = 0;
    for (size_t i = 0; i < r.assign.size(); i++)
        ha = ha * 31u + static_cast<uint64_t>(r.assign[i]);
    double mean_sq = r.inertia / static_cast<double>(n);
    std::printf("%s: n=%zu d=%d k=%d iterations %d, mean sq dist %.3f\n", name, n, D, k,
                r.iterations, mean_sq);
    std::printf("%s: smallest/largest cluster %ld/%ld, centroid hash %016llx, assignment hash "
                "%016llx\n",
                name, sizes.front(), sizes.back(), static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(ha));
}

} // namespace

int main(int argc, char **argv)
{
    long n = argc > 1 ? std::atol(argv[1]) : 100000;
    int max_iter = argc > 2 ? std::atoi(argv[2]) : 40;
    if (n < 100)
        n = 100;
    if (max_iter < 1)
        max_iter = 1;
    run<float, 8>("float", static_cast<size_t>(n), 12, 16, max_iter, 11);
    run<double, 4>("double", static_cast<size_t>(n), 20, 24, max_iter, 22);
    run<float, 16>("float16", static_cast<size_t>(n) / 2, 8, 10, max_iter, 33);
    return 0;
}
