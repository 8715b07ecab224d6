/* 2D heat equation on a square plate: explicit Jacobi-style 5-point stencil
 * with fixed (Dirichlet) boundaries and generated internal heat sources.
 * Usage: heat2d [n] [steps]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t lcg_state = 20240611u;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

/* one explicit step: dst = src + alpha * laplacian(src), interior only;
 * source cells add a constant amount of heat per step */
static void step(double *restrict dst, const double *restrict src,
                 const double *restrict heat, int n, double alpha)
{
    int w = n + 2;
    for (int i = 1; i <= n; i++) {
        const double *up = src + (size_t)(i - 1) * w;
        const double *mid = src + (size_t)i * w;
        const double *dn = src + (size_t)(i + 1) * w;
        const double *h = heat + (size_t)i * w;
        double *out = dst + (size_t)i * w;
        for (int j = 1; j <= n; j++) {
            double lap = up[j] + dn[j] + mid[j - 1] + mid[j + 1] - 4.0 * mid[j];
            out[j] = mid[j] + alpha * lap + h[j];
        }
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int steps = argc > 2 ? atoi(argv[2]) : 1800;
    if (n < 8 || n > 8000 || steps < 1) {
        fprintf(stderr, "usage: heat2d [n 8..8000] [steps>=1]\n");
        return 1;
    }
    int w = n + 2;
    size_t cells = (size_t)w * w;
    double *u = calloc(cells, sizeof *u);
    double *v = calloc(cells, sizeof *v);
    double *heat = calloc(cells, sizeof *heat);
    if (!u || !v || !heat) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* boundaries: hot top edge, warm left edge, cold bottom/right */
    for (int j = 0; j < w; j++) {
        u[j] = 100.0;
        u[(size_t)(w - 1) * w + j] = 0.0;
    }
    for (int i = 1; i < w - 1; i++) {
        u[(size_t)i * w] = 50.0 * (double)(w - 1 - i) / (double)(w - 1);
        u[(size_t)i * w + w - 1] = 0.0;
    }
    /* generated heat sources (small squares) and a quantized initial field */
    int nsrc = 24;
    for (int s = 0; s < nsrc; s++) {
        int ci = 1 + (int)(lcg() % (uint32_t)n);
        int cj = 1 + (int)(lcg() % (uint32_t)n);
        int rad = 1 + (int)(lcg() % 4u);
        double q = 0.01 * (double)(1 + lcg() % 50u);
        for (int i = ci - rad; i <= ci + rad; i++)
            for (int j = cj - rad; j <= cj + rad; j++)
                if (i >= 1 && i <= n && j >= 1 && j <= n)
                    heat[(size_t)i * w + j] += q;
    }
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= n; j++)
            u[(size_t)i * w + j] = (double)(lcg() % 64u) * 0.25;
    for (size_t k = 0; k < cells; k++)
        v[k] = u[k];

    const double alpha = 0.2;
    for (int t = 0; t < steps; t++) {
        step(v, u, heat, n, alpha);
        double *tmp = u;
        u = v;
        v = tmp;
    }

    double total = 0.0, mx = 0.0;
    int imax = 0, jmax = 0;
    uint64_t hot = 0;
    for (int i = 1; i <= n; i++) {
        double row = 0.0;
        for (int j = 1; j <= n; j++) {
            double x = u[(size_t)i * w + j];
            row += x;
            if (x > mx) {
                mx = x;
                imax = i;
                jmax = j;
            }
            if (x > 20.0)
                hot++;
        }
        total += row;
    }
    printf("n=%d steps=%d\n", n, steps);
    printf("mean temperature %.6e\n", total / ((double)n * (double)n));
    printf("max %.6e at (%d,%d)\n", mx, imax, jmax);
    printf("cells above 20: %llu\n", (unsigned long long)hot);
    for (int k = 1; k <= 4; k++) {
        int i = k * n / 5, j = (5 - k) * n / 5;
        printf("probe (%d,%d) %.6e\n", i, j, u[(size_t)i * w + j]);
    }
    free(u);
    free(v);
    free(heat);
    return 0;
}
