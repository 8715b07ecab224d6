/* Cholesky factorization (A = U^T U, two variants) of generated symmetric
 * positive definite matrices, followed by forward/back substitution for
 * several right-hand sides with known solutions.
 * Usage: cholesky [n] [reps]   (written for irpipe's benchmark suite) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NRHS 4

static uint64_t rng_s = 0x9E3779B97F4A7C15ull;

static uint64_t splitmix(void)
{
    uint64_t z = (rng_s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [-0.5, 0.5) */
static double urand(void)
{
    return (double)(splitmix() >> 11) * (1.0 / 9007199254740992.0) - 0.5;
}

/* symmetric, strictly diagonally dominant with positive diagonal => SPD */
static void gen_spd(double *a, int n)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            double v = urand();
            a[(size_t)i * n + j] = v;
            a[(size_t)j * n + i] = v;
        }
    }
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            if (j != i)
                s += fabs(a[(size_t)i * n + j]);
        a[(size_t)i * n + i] = s + 1.0 + 0.25 * (double)(i % 5);
    }
}

/* right-looking (outer product) factorization in place: the upper triangle
 * of a becomes U with A = U^T U.  Returns -1 if not positive definite. */
static int chol_right(double *a, int n)
{
    for (int k = 0; k < n; k++) {
        double *rk = a + (size_t)k * n;
        double d = rk[k];
        if (d <= 0.0)
            return -1;
        d = sqrt(d);
        rk[k] = d;
        double inv = 1.0 / d;
        for (int j = k + 1; j < n; j++)
            rk[j] *= inv;
        for (int i = k + 1; i < n; i++) {
            double *ri = a + (size_t)i * n;
            double f = rk[i];
            for (int j = i; j < n; j++)
                ri[j] -= f * rk[j];
        }
    }
    return 0;
}

/* left-looking (dot product, Cholesky-Crout) factorization: reads the lower
 * triangle of a, writes L (row-major, lower) into l. */
static int chol_left(const double *a, double *l, int n)
{
    for (int i = 0; i < n; i++) {
        double *li = l + (size_t)i * n;
        for (int j = 0; j <= i; j++) {
            const double *lj = l + (size_t)j * n;
            double s = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                s -= li[k] * lj[k];
            if (j == i) {
                if (s <= 0.0)
                    return -1;
                li[i] = sqrt(s);
            } else {
                li[j] = s / lj[j];
            }
        }
        for (int j = i + 1; j < n; j++)
            li[j] = 0.0;
    }
    return 0;
}

/* Solve U^T U x = b with U upper (row-major); b is overwritten by x. */
static void solve_upper(const double *u, int n, double *b)
{
    /* U^T y = b: forward, column access of U */
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= u[(size_t)k * n + i] * b[k];
        b[i] = s / u[(size_t)i * n + i];
    }
    /* U x = y: backward, row access */
    for (int i = n - 1; i >= 0; i--) {
        const double *ri = u + (size_t)i * n;
        double s = b[i];
        for (int k = i + 1; k < n; k++)
            s -= ri[k] * b[k];
        b[i] = s / ri[i];
    }
}

/* Solve L L^T x = b with L lower (row-major); b is overwritten by x. */
static void solve_lower(const double *l, int n, double *b)
{
    for (int i = 0; i < n; i++) {
        const double *ri = l + (size_t)i * n;
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= ri[k] * b[k];
        b[i] = s / ri[i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i] / l[(size_t)i * n + i];
        b[i] = s;
        /* column sweep: subtract s * L[i][k] from earlier entries */
        const double *ri = l + (size_t)i * n;
        for (int k = 0; k < i; k++)
            b[k] -= ri[k] * s;
    }
}

static void matvec(const double *a, int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++) {
        const double *ri = a + (size_t)i * n;
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += ri[j] * x[j];
        y[i] = s;
    }
}

/* quantize to 1e-6 and fold into a 64-bit checksum */
static uint64_t fold(uint64_t h, double v)
{
    int64_t q = (int64_t)llround(v * 1e6);
    h ^= (uint64_t)q;
    h *= 0x100000001B3ull;
    return h;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 600;
    int reps = argc > 2 ? atoi(argv[2]) : 4;
    if (n < 4)
        n = 4;
    if (reps < 1)
        reps = 1;

    size_t nn = (size_t)n * n;
    double *a = malloc(nn * sizeof *a);
    double *w = malloc(nn * sizeof *w);
    double *l = malloc(nn * sizeof *l);
    double *xt = malloc((size_t)n * NRHS * sizeof *xt);
    double *b = malloc((size_t)n * NRHS * sizeof *b);
    double *bb = malloc((size_t)n * sizeof *bb);
    if (!a || !w || !l || !xt || !b || !bb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    uint64_t hx = 0xCBF29CE484222325ull;
    double logdet_sum = 0.0, maxerr = 0.0, maxdiff = 0.0;
    int fails = 0;

    for (int r = 0; r < reps; r++) {
        gen_spd(a, n);
        /* known solutions: multiples of 1/8 */
        for (int c = 0; c < NRHS; c++)
            for (int i = 0; i < n; i++)
                xt[(size_t)c * n + i] = (double)((int)((splitmix() >> 40) % 33) - 16) * 0.125;
        for (int c = 0; c < NRHS; c++)
            matvec(a, n, xt + (size_t)c * n, b + (size_t)c * n);

        memcpy(w, a, nn * sizeof *a);
        if (chol_right(w, n) != 0)
            fails++;
        if (chol_left(a, l, n) != 0)
            fails++;

        double ld = 0.0;
        for (int i = 0; i < n; i++) {
            ld += log(w[(size_t)i * n + i]);
            double d = fabs(w[(size_t)i * n + i] - l[(size_t)i * n + i]);
            if (d > maxdiff)
                maxdiff = d;
        }
        logdet_sum += 2.0 * ld;

        for (int c = 0; c < NRHS; c++) {
            double *bc = b + (size_t)c * n;
            memcpy(bb, bc, (size_t)n * sizeof *bb);
            if (c & 1)
                solve_lower(l, n, bb);
            else
                solve_upper(w, n, bb);
            for (int i = 0; i < n; i++) {
                double e = fabs(bb[i] - xt[(size_t)c * n + i]);
                if (e > maxerr)
                    maxerr = e;
                hx = fold(hx, bb[i]);
            }
        }
    }

    printf("cholesky n=%d reps=%d nrhs=%d\n", n, reps, NRHS);
    printf("failures: %d\n", fails);
    printf("sum of log det: %.4f\n", logdet_sum);
    printf("solution error below 1e-9: %s\n", maxerr < 1e-9 ? "yes" : "no");
    printf("variants agree below 1e-9: %s\n", maxdiff < 1e-9 ? "yes" : "no");
    printf("solution checksum: %016llx\n", (unsigned long long)hx);
    free(a); free(w); free(l); free(xt); free(b); free(bb);
    return 0;
}
