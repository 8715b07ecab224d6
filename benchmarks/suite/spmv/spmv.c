/* Sparse matrices in CSR form: a generated symmetric positive definite
 * system is solved with (Jacobi-preconditioned) conjugate gradient, which is
 * dominated by CSR sparse matrix-vector products.
 * Usage: spmv [n] [systems]   (written for irpipe's benchmark suite) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n;
    int nnz;
    int *rowptr;
    int *col;
    double *val;
} csr_t;

/* a small 64-bit LCG with xorshift output (PCG-like), kept in uint64_t */
static uint64_t lcg_state = 0x853C49E6748FEA9Bull;

static uint32_t rnd32(void)
{
    uint64_t old = lcg_state;
    lcg_state = old * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xs >> rot) | (xs << ((32u - rot) & 31u));
}

static double rnd_unit(void)
{
    return (double)rnd32() * (1.0 / 4294967296.0);
}

typedef struct {
    int r, c;
    double v;
} coo_t;

/* Matrix: a 2D grid Laplacian-like stencil on an s x s grid (n = s*s) plus
 * random symmetric long-range couplings; diagonal made dominant.  Triplets
 * are bucketed by row (counting sort), each row is insertion-sorted by
 * column and duplicates are merged. */
static csr_t build_matrix(int s, int extra)
{
    int n = s * s;
    size_t cap = (size_t)n * (4 + 2 * (size_t)extra);
    coo_t *e = malloc(cap * sizeof *e);
    size_t m = 0;
    for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
            int i = y * s + x;
            if (x + 1 < s) {
                double v = -1.0 - 0.5 * rnd_unit();
                e[m++] = (coo_t){i, i + 1, v};
                e[m++] = (coo_t){i + 1, i, v};
            }
            if (y + 1 < s) {
                double v = -1.0 - 0.5 * rnd_unit();
                e[m++] = (coo_t){i, i + s, v};
                e[m++] = (coo_t){i + s, i, v};
            }
            for (int k = 0; k < extra; k++) {
                int j = (int)(rnd32() % (uint32_t)n);
                if (j == i)
                    continue;
                double v = -0.25 * rnd_unit();
                e[m++] = (coo_t){i, j, v};
                e[m++] = (coo_t){j, i, v};
            }
        }
    }

    int *cnt = calloc((size_t)n + 1, sizeof *cnt);
    for (size_t k = 0; k < m; k++)
        cnt[e[k].r + 1]++;
    for (int i = 0; i < n; i++)
        cnt[i + 1] += cnt[i];
    int *fillp = malloc((size_t)n * sizeof *fillp);
    memcpy(fillp, cnt, (size_t)n * sizeof *fillp);
    int *tc = malloc(m * sizeof *tc);
    double *tv = malloc(m * sizeof *tv);
    for (size_t k = 0; k < m; k++) {
        int pos = fillp[e[k].r]++;
        tc[pos] = e[k].c;
        tv[pos] = e[k].v;
    }
    free(e);
    free(fillp);

    csr_t A;
    A.n = n;
    A.rowptr = malloc(((size_t)n + 1) * sizeof(int));
    A.col = malloc((m + (size_t)n) * sizeof(int));
    A.val = malloc((m + (size_t)n) * sizeof(double));
    int p = 0;
    for (int i = 0; i < n; i++) {
        int lo = cnt[i], hi = cnt[i + 1];
        /* insertion sort of the row by column (stable) */
        for (int a = lo + 1; a < hi; a++) {
            int c = tc[a];
            double v = tv[a];
            int b = a - 1;
            while (b >= lo && tc[b] > c) {
                tc[b + 1] = tc[b];
                tv[b + 1] = tv[b];
                b--;
            }
            tc[b + 1] = c;
            tv[b + 1] = v;
        }
        A.rowptr[i] = p;
        int dpos = -1;
        double dsum = 0.0;
        for (int a = lo; a < hi; a++) {
            if (dpos < 0 && tc[a] > i) {
                dpos = p;
                A.col[p] = i;
                A.val[p++] = 0.0;
            }
            if (p > A.rowptr[i] && A.col[p - 1] == tc[a]) {
                A.val[p - 1] += tv[a];
            } else {
                A.col[p] = tc[a];
                A.val[p++] = tv[a];
            }
        }
        if (dpos < 0) {
            dpos = p;
            A.col[p] = i;
            A.val[p++] = 0.0;
        }
        for (int a = A.rowptr[i]; a < p; a++)
            if (a != dpos)
                dsum += fabs(A.val[a]);
        A.val[dpos] = dsum + 0.002 + 0.001 * (double)(i % 7);
    }
    A.rowptr[n] = p;
    A.nnz = p;
    free(cnt);
    free(tc);
    free(tv);
    return A;
}

static void spmv(const csr_t *A, const double *x, double *y)
{
    const int *rp = A->rowptr, *ci = A->col;
    const double *v = A->val;
    for (int i = 0; i < A->n; i++) {
        double s = 0.0;
        for (int k = rp[i]; k < rp[i + 1]; k++)
            s += v[k] * x[ci[k]];
        y[i] = s;
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Preconditioned CG; returns the iteration count. */
static int pcg(const csr_t *A, const double *b, double *x, double tol, int maxit,
               int precond, double *work)
{
    int n = A->n;
    double *r = work, *z = work + n, *p = work + 2 * (size_t)n, *q = work + 3 * (size_t)n;
    double *dinv = work + 4 * (size_t)n;
    for (int i = 0; i < n; i++) {
        double d = 1.0;
        for (int k = A->rowptr[i]; k < A->rowptr[i + 1]; k++)
            if (A->col[k] == i)
                d = A->val[k];
        dinv[i] = precond ? 1.0 / d : 1.0;
    }
    memset(x, 0, (size_t)n * sizeof *x);
    memcpy(r, b, (size_t)n * sizeof *r);
    for (int i = 0; i < n; i++)
        z[i] = dinv[i] * r[i];
    memcpy(p, z, (size_t)n * sizeof *p);
    double rz = dot(r, z, n);
    double bnorm = sqrt(dot(b, b, n));
    int it;
    for (it = 0; it < maxit; it++) {
        spmv(A, p, q);
        double alpha = rz / dot(p, q, n);
        for (int i = 0; i < n; i++) {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
        }
        double rn = sqrt(dot(r, r, n));
        if (rn <= tol * bnorm) {
            it++;
            break;
        }
        for (int i = 0; i < n; i++)
            z[i] = dinv[i] * r[i];
        double rz2 = dot(r, z, n);
        double beta = rz2 / rz;
        rz = rz2;
        for (int i = 0; i < n; i++)
            p[i] = z[i] + beta * p[i];
    }
    return it;
}

int main(int argc, char **argv)
{
    int s = argc > 1 ? atoi(argv[1]) : 300;
    int systems = argc > 2 ? atoi(argv[2]) : 4;
    if (s < 4)
        s = 4;
    if (systems < 1)
        systems = 1;

    uint64_t chk = 0xCBF29CE484222325ull;
    long total_it = 0, total_nnz = 0;
    int ok = 1;
    for (int sys = 0; sys < systems; sys++) {
        csr_t A = build_matrix(s, 1 + sys % 3);
        int n = A.n;
        total_nnz += A.nnz;
        double *xt = malloc((size_t)n * sizeof *xt);
        double *b = malloc((size_t)n * sizeof *b);
        double *x = malloc((size_t)n * sizeof *x);
        double *work = malloc((size_t)n * 5 * sizeof *work);
        printf("system %d iterations: ", sys);
        for (int pc = 0; pc < 4; pc++) {
            for (int i = 0; i < n; i++)
                xt[i] = (double)((int)(rnd32() % 201u) - 100) * 0.01;
            spmv(&A, xt, b);
            int it = pcg(&A, b, x, 1e-11, 5000, pc & 1, work);
            total_it += it;
            printf("%s%d", pc ? " " : "", it);
            for (int i = 0; i < n; i++) {
                if (fabs(x[i] - xt[i]) > 1e-6)
                    ok = 0;
                int64_t q = (int64_t)llround(x[i] * 1e4);
                chk = (chk ^ (uint64_t)q) * 0x100000001B3ull;
            }
        }
        printf("\n");
        free(xt); free(b); free(x); free(work);
        free(A.rowptr); free(A.col); free(A.val);
    }
    printf("grid %d x %d, systems %d, nnz total %ld\n", s, s, systems, total_nnz);
    printf("total CG iterations: %ld\n", total_it);
    printf("solutions within 1e-6: %s\n", ok ? "yes" : "no");
    printf("checksum: %016llx\n", (unsigned long long)chk);
    return 0;
}
