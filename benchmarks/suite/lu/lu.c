/* Dense LU decomposition with partial pivoting (double precision), used to
 * solve A x = b for a generated non-symmetric matrix with a known solution.
 * Usage: lu [n] [reps]   (written for irpipe's benchmark suite) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t xorshift64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

/* uniform in [-1, 1) with 53 random bits */
static double urand_sym(void)
{
    return (double)(xorshift64() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* In-place LU factorization of the n x n row-major matrix a (P A = L U),
 * L unit lower triangular.  piv[k] is the row swapped into position k.
 * Returns 0 on success, -1 on a zero pivot. */
static int lu_factor(double *a, int n, int *piv)
{
    for (int k = 0; k < n; k++) {
        int p = k;
        double best = fabs(a[(size_t)k * n + k]);
        for (int i = k + 1; i < n; i++) {
            double v = fabs(a[(size_t)i * n + k]);
            if (v > best) {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if (best == 0.0)
            return -1;
        if (p != k) {
            double *rk = a + (size_t)k * n;
            double *rp = a + (size_t)p * n;
            for (int j = 0; j < n; j++) {
                double t = rk[j];
                rk[j] = rp[j];
                rp[j] = t;
            }
        }
        const double *rk = a + (size_t)k * n;
        double inv = 1.0 / rk[k];
        for (int i = k + 1; i < n; i++) {
            double *ri = a + (size_t)i * n;
            double l = ri[k] * inv;
            ri[k] = l;
            for (int j = k + 1; j < n; j++)
                ri[j] -= l * rk[j];
        }
    }
    return 0;
}

static void lu_solve(const double *a, int n, const int *piv, double *x)
{
    for (int k = 0; k < n; k++) {
        int p = piv[k];
        if (p != k) {
            double t = x[k];
            x[k] = x[p];
            x[p] = t;
        }
    }
    for (int i = 0; i < n; i++) {
        const double *ri = a + (size_t)i * n;
        double s = x[i];
        for (int j = 0; j < i; j++)
            s -= ri[j] * x[j];
        x[i] = s;
    }
    for (int i = n - 1; i >= 0; i--) {
        const double *ri = a + (size_t)i * n;
        double s = x[i];
        for (int j = i + 1; j < n; j++)
            s -= ri[j] * x[j];
        x[i] = s / ri[i];
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int reps = argc > 2 ? atoi(argv[2]) : 16;
    if (n < 2 || n > 4000 || reps < 1) {
        fprintf(stderr, "usage: lu [n 2..4000] [reps>=1]\n");
        return 1;
    }
    size_t nn = (size_t)n * n;
    double *a0 = malloc(nn * sizeof *a0);
    double *a = malloc(nn * sizeof *a);
    double *xt = malloc((size_t)n * sizeof *xt);
    double *b = malloc((size_t)n * sizeof *b);
    double *x = malloc((size_t)n * sizeof *x);
    int *piv = malloc((size_t)n * sizeof *piv);
    if (!a0 || !a || !xt || !b || !x || !piv) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    uint64_t pivsum = 0;
    int swaps_total = 0;
    double logdet_total = 0.0, xsum_total = 0.0;
    int solved_ok = 0;

    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < nn; i++)
            a0[i] = urand_sym();
        /* mildly strengthen a band so that the matrix is well conditioned
         * but pivoting still happens */
        for (int i = 0; i < n; i++)
            a0[(size_t)i * n + i] += 0.5 * (double)((i * 7 + r) % 5 - 2);
        for (int i = 0; i < n; i++)
            xt[i] = 1.0 + 0.125 * (double)((i + r) % 9);
        for (int i = 0; i < n; i++) {
            const double *ri = a0 + (size_t)i * n;
            double s = 0.0;
            for (int j = 0; j < n; j++)
                s += ri[j] * xt[j];
            b[i] = s;
        }

        memcpy(a, a0, nn * sizeof *a);
        if (lu_factor(a, n, piv) != 0) {
            printf("rep %d: singular\n", r);
            continue;
        }
        int swaps = 0;
        for (int k = 0; k < n; k++) {
            pivsum = pivsum * 1000003u + (uint64_t)piv[k];
            if (piv[k] != k)
                swaps++;
        }
        swaps_total += swaps;
        double logdet = 0.0;
        for (int k = 0; k < n; k++)
            logdet += log(fabs(a[(size_t)k * n + k]));
        logdet_total += logdet;

        memcpy(x, b, (size_t)n * sizeof *x);
        lu_solve(a, n, piv, x);
        double err = 0.0, xs = 0.0;
        for (int i = 0; i < n; i++) {
            double e = fabs(x[i] - xt[i]);
            if (e > err)
                err = e;
            xs += x[i];
        }
        xsum_total += xs;
        if (err < 1e-6)
            solved_ok++;
    }

    printf("n=%d reps=%d\n", n, reps);
    printf("pivot checksum %016llx, row swaps %d\n",
           (unsigned long long)pivsum, swaps_total);
    printf("sum log|det| %.6e\n", logdet_total);
    printf("sum of solutions %.6e\n", xsum_total);
    printf("solves within tolerance %d/%d\n", solved_ok, reps);

    free(a0);
    free(a);
    free(xt);
    free(b);
    free(x);
    free(piv);
    return 0;
}
