/* Mandelbrot set escape-time counts on pixel grids: a double-precision pass
 * over several views (with the cardioid/bulb shortcut) and a 64-bit
 * fixed-point pass over a zoomed view; integer checksums of the counts.
 * Usage: mandelbrot [width] [maxiter]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    double cx, cy, span; /* center and width of the view */
} view_t;

static int escape_double(double cr, double ci, int maxit)
{
    double zr = 0.0, zi = 0.0;
    int n = 0;
    while (n < maxit) {
        double zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > 4.0)
            break;
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
    }
    return n;
}

/* inside the main cardioid or the period-2 bulb? */
static int in_shortcut(double cr, double ci)
{
    double q = (cr - 0.25) * (cr - 0.25) + ci * ci;
    if (q * (q + (cr - 0.25)) <= 0.25 * ci * ci)
        return 1;
    if ((cr + 1.0) * (cr + 1.0) + ci * ci <= 0.0625)
        return 1;
    return 0;
}

#define FRAC 28
/* fixed point Q35.28 in int64_t; |z| is checked before products grow */
static int escape_fixed(int64_t cr, int64_t ci, int maxit)
{
    int64_t zr = 0, zi = 0;
    const int64_t four = (int64_t)4 << (2 * FRAC);
    int n = 0;
    while (n < maxit) {
        int64_t zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > four)
            break;
        int64_t t = (zr2 - zi2) >> FRAC;
        zi = ((zr * zi) >> (FRAC - 1)) + ci;
        zr = t + cr;
        n++;
    }
    return n;
}

typedef struct {
    uint64_t total;
    long inside;
    uint64_t hash;
    long hist[8];
} stats_t;

static void account(stats_t *s, int n, int maxit)
{
    s->total += (uint64_t)n;
    if (n >= maxit)
        s->inside++;
    s->hist[n >= maxit ? 7 : (n * 7) / maxit]++;
    s->hash = (s->hash ^ (uint32_t)n) * 0x100000001B3ull;
}

static void run_double(const view_t *v, int w, int h, int maxit, uint16_t *counts, stats_t *s)
{
    double step = v->span / w;
    double x0 = v->cx - 0.5 * v->span, y0 = v->cy - 0.5 * step * h;
    for (int y = 0; y < h; y++) {
        double ci = y0 + step * y;
        for (int x = 0; x < w; x++) {
            double cr = x0 + step * x;
            int n = in_shortcut(cr, ci) ? maxit : escape_double(cr, ci, maxit);
            counts[(size_t)y * w + x] = (uint16_t)n;
        }
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        account(s, counts[i], maxit);
}

static void run_fixed(int64_t cx, int64_t cy, int64_t step, int w, int h, int maxit,
                      uint16_t *counts, stats_t *s)
{
    int64_t x0 = cx - step * (w / 2), y0 = cy - step * (h / 2);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            counts[(size_t)y * w + x] =
                (uint16_t)escape_fixed(x0 + step * x, y0 + step * y, maxit);
    for (size_t i = 0; i < (size_t)w * h; i++)
        account(s, counts[i], maxit);
}

/* count boundary pixels (a neighbour with a different count) */
static long edges(const uint16_t *c, int w, int h)
{
    long e = 0;
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            uint16_t v = c[(size_t)y * w + x];
            e += v != c[(size_t)y * w + x - 1] || v != c[(size_t)y * w + x + 1] ||
                 v != c[(size_t)(y - 1) * w + x] || v != c[(size_t)(y + 1) * w + x];
        }
    return e;
}

static void print_stats(const char *name, const stats_t *s, long e)
{
    printf("%s: iterations %llu inside %ld edges %ld hist", name, (unsigned long long)s->total,
           s->inside, e);
    for (int i = 0; i < 8; i++)
        printf(" %ld", s->hist[i]);
    printf(" hash %016llx\n", (unsigned long long)s->hash);
}

int main(int argc, char **argv)
{
    int w = argc > 1 ? atoi(argv[1]) : 512;
    int maxit = argc > 2 ? atoi(argv[2]) : 1000;
    if (w < 16)
        w = 16;
    if (maxit < 8)
        maxit = 8;
    if (maxit > 65535)
        maxit = 65535;
    int h = w * 3 / 4;
    uint16_t *counts = malloc((size_t)w * h * sizeof *counts);
    if (!counts)
        return 1;

    static const view_t views[3] = {
        {-0.6, 0.0, 3.2},
        {-0.743643887, 0.131825904, 0.02},
        {-1.25066, 0.02012, 0.0025},
    };
    stats_t sd = {0, 0, 0xCBF29CE484222325ull, {0}};
    long ed = 0;
    for (int i = 0; i < 3; i++) {
        run_double(&views[i], w, h, maxit, counts, &sd);
        ed += edges(counts, w, h);
    }
    print_stats("double", &sd, ed);

    stats_t sf = {0, 0, 0xCBF29CE484222325ull, {0}};
    /* seahorse valley around (-0.75, 0.1), in Q28 */
    int64_t one = (int64_t)1 << FRAC;
    int64_t cx = -(one * 3) / 4, cy = one / 10;
    int64_t step = (one / 16) / w;
    if (step < 1)
        step = 1;
    run_fixed(cx, cy, step, w, h, maxit, counts, &sf);
    print_stats("fixed", &sf, edges(counts, w, h));
    free(counts);
    return 0;
}
