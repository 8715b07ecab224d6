/* Image filters on a generated 8-bit grayscale image, all in integer
 * arithmetic: separable 5x5 Gaussian blur (binomial kernel, clamped edges),
 * Sobel gradient magnitude, histogram and Otsu-style threshold, 3x3 median.
 * Usage: imgfilter [size] [rounds]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t st = 0xA5A5F00Du;

static uint32_t rnd32(void)
{
    st ^= st << 13;
    st ^= st >> 17;
    st ^= st << 5;
    return st;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void gen_image(uint8_t *img, int w, int h)
{
    /* gradient + discs + stripes + noise */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = (x * 96) / w + (y * 64) / h;
            if (((x / 37) + (y / 53)) % 5 == 0)
                v += 40;
            img[(size_t)y * w + x] = (uint8_t)v;
        }
    for (int d = 0; d < 40; d++) {
        int cx = (int)(rnd32() % (uint32_t)w), cy = (int)(rnd32() % (uint32_t)h);
        int r = 8 + (int)(rnd32() % 60u);
        int val = (int)(rnd32() % 256u);
        for (int y = cy - r; y <= cy + r; y++) {
            if (y < 0 || y >= h)
                continue;
            for (int x = cx - r; x <= cx + r; x++) {
                if (x < 0 || x >= w)
                    continue;
                int dx = x - cx, dy = y - cy;
                if (dx * dx + dy * dy <= r * r)
                    img[(size_t)y * w + x] = (uint8_t)val;
            }
        }
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        int v = img[i] + (int)(rnd32() % 33u) - 16;
        img[i] = (uint8_t)clampi(v, 0, 255);
    }
}

/* 1 4 6 4 1 horizontally then vertically, /256 with rounding */
static void gauss5(const uint8_t *src, uint8_t *dst, uint16_t *tmp, int w, int h)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w;
        uint16_t *t = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int xm2 = x < 2 ? 0 : x - 2, xm1 = x < 1 ? 0 : x - 1;
            int xp1 = x + 1 >= w ? w - 1 : x + 1, xp2 = x + 2 >= w ? w - 1 : x + 2;
            t[x] = (uint16_t)(s[xm2] + 4 * s[xm1] + 6 * s[x] + 4 * s[xp1] + s[xp2]);
        }
    }
    for (int y = 0; y < h; y++) {
        const uint16_t *r0 = tmp + (size_t)clampi(y - 2, 0, h - 1) * w;
        const uint16_t *r1 = tmp + (size_t)clampi(y - 1, 0, h - 1) * w;
        const uint16_t *r2 = tmp + (size_t)y * w;
        const uint16_t *r3 = tmp + (size_t)clampi(y + 1, 0, h - 1) * w;
        const uint16_t *r4 = tmp + (size_t)clampi(y + 2, 0, h - 1) * w;
        uint8_t *d = dst + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            uint32_t v = (uint32_t)r0[x] + 4u * r1[x] + 6u * r2[x] + 4u * r3[x] + r4[x];
            d[x] = (uint8_t)((v + 128u) >> 8);
        }
    }
}

/* |gx| + |gy| scaled to 0..255; border pixels set to 0 */
static void sobel(const uint8_t *src, uint8_t *dst, int w, int h)
{
    memset(dst, 0, (size_t)w);
    memset(dst + (size_t)(h - 1) * w, 0, (size_t)w);
    for (int y = 1; y < h - 1; y++) {
        const uint8_t *a = src + (size_t)(y - 1) * w;
        const uint8_t *b = src + (size_t)y * w;
        const uint8_t *c = src + (size_t)(y + 1) * w;
        uint8_t *d = dst + (size_t)y * w;
        d[0] = 0;
        d[w - 1] = 0;
        for (int x = 1; x < w - 1; x++) {
            int gx = (a[x + 1] + 2 * b[x + 1] + c[x + 1]) - (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
            int gy = (c[x - 1] + 2 * c[x] + c[x + 1]) - (a[x - 1] + 2 * a[x] + a[x + 1]);
            int m = (abs(gx) + abs(gy)) >> 2;
            d[x] = (uint8_t)(m > 255 ? 255 : m);
        }
    }
}

static void sort9(int *v)
{
    for (int i = 1; i < 9; i++) {
        int x = v[i], j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void median3(const uint8_t *src, uint8_t *dst, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v[9], k = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    v[k++] = src[(size_t)clampi(y + dy, 0, h - 1) * w +
                                 clampi(x + dx, 0, w - 1)];
            sort9(v);
            dst[(size_t)y * w + x] = (uint8_t)v[4];
        }
}

/* Otsu threshold: the between-class variance is formed from exact 64-bit
 * integer sums and compared in double precision (no fused operations) */
static int otsu(const uint64_t *hist, uint64_t total)
{
    uint64_t sum_all = 0;
    for (int i = 0; i < 256; i++)
        sum_all += (uint64_t)i * hist[i];
    uint64_t wb = 0, sb = 0;
    int best_t = 0;
    double best = -1.0;
    for (int t = 0; t < 256; t++) {
        wb += hist[t];
        if (wb == 0)
            continue;
        uint64_t wf = total - wb;
        if (wf == 0)
            break;
        sb += (uint64_t)t * hist[t];
        /* between-class variance times total^2 equals
         * (sb*total - sum_all*wb)^2 / (wb*wf) */
        int64_t diff = (int64_t)(sb * total) - (int64_t)(sum_all * wb);
        double num = (double)diff * (double)diff;
        double var = num / ((double)wb * (double)wf);
        if (var > best) {
            best = var;
            best_t = t;
        }
    }
    return best_t;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(int argc, char **argv)
{
    int size = argc > 1 ? atoi(argv[1]) : 2048;
    int rounds = argc > 2 ? atoi(argv[2]) : 6;
    if (size < 16 || size > 8192 || rounds < 1) {
        fprintf(stderr, "usage: imgfilter [size 16..8192] [rounds>=1]\n");
        return 1;
    }
    int w = size, h = size * 3 / 4;
    size_t np = (size_t)w * h;
    uint8_t *img = malloc(np), *blur = malloc(np), *edge = malloc(np),
            *med = malloc(np);
    uint16_t *tmp = malloc(np * sizeof *tmp);
    if (!img || !blur || !edge || !med || !tmp) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("image %dx%d rounds %d\n", w, h, rounds);
    uint32_t acc = 0;
    for (int r = 0; r < rounds; r++) {
        gen_image(img, w, h);
        median3(img, med, w, h);
        gauss5(med, blur, tmp, w, h);
        for (int k = 0; k < 2; k++) {
            gauss5(blur, img, tmp, w, h);
            gauss5(img, blur, tmp, w, h);
        }
        sobel(blur, edge, w, h);
        uint64_t hist[256];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < np; i++)
            hist[edge[i]]++;
        int t = otsu(hist, (uint64_t)np);
        uint64_t above = 0, esum = 0;
        for (int i = 0; i < 256; i++) {
            esum += (uint64_t)i * hist[i];
            if (i > t)
                above += hist[i];
        }
        uint32_t hm = fnv(med, np), hb = fnv(blur, np), he = fnv(edge, np);
        acc = acc * 31u + (hm ^ hb ^ he);
        printf("round %d: median %08x blur %08x edges %08x sum %llu otsu %d "
               "above %llu\n",
               r, (unsigned)hm, (unsigned)hb, (unsigned)he,
               (unsigned long long)esum, t, (unsigned long long)above);
    }
    printf("combined %08x\n", (unsigned)acc);
    free(img);
    free(blur);
    free(edge);
    free(med);
    free(tmp);
    return 0;
}
