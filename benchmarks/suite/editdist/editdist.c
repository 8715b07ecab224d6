/* Dynamic programming on generated string pairs: Levenshtein edit distance
 * (two-row DP) and longest-common-subsequence length (two-row DP), plus an
 * LCS traceback with a full bit table for a few small pairs.
 * Usage: editdist [length] [pairs]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t st = 0x2545F491u;

static uint32_t rnd(uint32_t n)
{
    st ^= st << 13;
    st ^= st >> 17;
    st ^= st << 5;
    return st % n;
}

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

static int levenshtein(const unsigned char *a, int n, const unsigned char *b,
                       int m, int *row0, int *row1)
{
    for (int j = 0; j <= m; j++)
        row0[j] = j;
    for (int i = 1; i <= n; i++) {
        row1[0] = i;
        unsigned char ca = a[i - 1];
        for (int j = 1; j <= m; j++) {
            int sub = row0[j - 1] + (ca != b[j - 1]);
            row1[j] = min3(sub, row0[j] + 1, row1[j - 1] + 1);
        }
        int *t = row0;
        row0 = row1;
        row1 = t;
    }
    return row0[m];
}

static int lcs_len(const unsigned char *a, int n, const unsigned char *b,
                   int m, int *row0, int *row1)
{
    for (int j = 0; j <= m; j++)
        row0[j] = 0;
    for (int i = 1; i <= n; i++) {
        row1[0] = 0;
        unsigned char ca = a[i - 1];
        for (int j = 1; j <= m; j++) {
            int v;
            if (ca == b[j - 1])
                v = row0[j - 1] + 1;
            else
                v = row0[j] > row1[j - 1] ? row0[j] : row1[j - 1];
            row1[j] = v;
        }
        int *t = row0;
        row0 = row1;
        row1 = t;
    }
    return row0[m];
}

/* LCS with traceback: returns the length and writes the subsequence */
static int lcs_string(const unsigned char *a, int n, const unsigned char *b,
                      int m, unsigned char *out)
{
    int w = m + 1;
    int *tab = malloc((size_t)(n + 1) * (size_t)w * sizeof *tab);
    if (!tab)
        return -1;
    for (int j = 0; j <= m; j++)
        tab[j] = 0;
    for (int i = 1; i <= n; i++) {
        tab[(size_t)i * w] = 0;
        for (int j = 1; j <= m; j++) {
            int v;
            if (a[i - 1] == b[j - 1])
                v = tab[(size_t)(i - 1) * w + j - 1] + 1;
            else {
                int up = tab[(size_t)(i - 1) * w + j];
                int left = tab[(size_t)i * w + j - 1];
                v = up > left ? up : left;
            }
            tab[(size_t)i * w + j] = v;
        }
    }
    int len = tab[(size_t)n * w + m];
    int i = n, j = m, k = len;
    while (i > 0 && j > 0) {
        if (a[i - 1] == b[j - 1]) {
            out[--k] = a[i - 1];
            i--;
            j--;
        } else if (tab[(size_t)(i - 1) * w + j] >= tab[(size_t)i * w + j - 1]) {
            i--;
        } else {
            j--;
        }
    }
    free(tab);
    return len;
}

/* b = a with random substitutions, insertions and deletions */
static int mutate(const unsigned char *a, int n, unsigned char *b, int cap,
                  int rate_permille, int alpha)
{
    int m = 0;
    for (int i = 0; i < n && m < cap; i++) {
        uint32_t r = rnd(1000);
        if ((int)r < rate_permille) {
            switch (r % 3) {
            case 0: /* substitute */
                b[m++] = (unsigned char)('a' + rnd((uint32_t)alpha));
                break;
            case 1: /* delete */
                break;
            default: /* insert */
                b[m++] = (unsigned char)('a' + rnd((uint32_t)alpha));
                if (m < cap)
                    b[m++] = a[i];
                break;
            }
        } else {
            b[m++] = a[i];
        }
    }
    return m;
}

int main(int argc, char **argv)
{
    int len = argc > 1 ? atoi(argv[1]) : 4000;
    int pairs = argc > 2 ? atoi(argv[2]) : 60;
    if (len < 16 || len > 100000 || pairs < 1) {
        fprintf(stderr, "usage: editdist [length 16..100000] [pairs>=1]\n");
        return 1;
    }
    int cap = 2 * len + 16;
    unsigned char *a = malloc((size_t)cap);
    unsigned char *b = malloc((size_t)cap);
    int *r0 = malloc(((size_t)cap + 1) * sizeof *r0);
    int *r1 = malloc(((size_t)cap + 1) * sizeof *r1);
    unsigned char *sub = malloc((size_t)cap);
    if (!a || !b || !r0 || !r1 || !sub) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t dsum = 0, lsum = 0, mix = 0;
    for (int p = 0; p < pairs; p++) {
        int alpha = (p % 3 == 0) ? 4 : (p % 3 == 1) ? 20 : 26;
        int n = len - (int)rnd((uint32_t)(len / 4));
        for (int i = 0; i < n; i++)
            a[i] = (unsigned char)('a' + rnd((uint32_t)alpha));
        int rate = 20 + 60 * (p % 5);
        int m = mutate(a, n, b, cap, rate, alpha);
        int d = levenshtein(a, n, b, m, r0, r1);
        int l = lcs_len(a, n, b, m, r0, r1);
        /* sanity relation: d >= max(n,m) - l holds for unit costs */
        int lo = (n > m ? n : m) - l;
        if (d < lo)
            printf("pair %d: bound violated\n", p);
        dsum += (uint64_t)d;
        lsum += (uint64_t)l;
        mix = mix * 1000003u + (uint64_t)d * 65536u + (uint64_t)l;
    }
    printf("len=%d pairs=%d\n", len, pairs);
    printf("sum edit distance %llu\n", (unsigned long long)dsum);
    printf("sum lcs length %llu\n", (unsigned long long)lsum);
    printf("mix %016llx\n", (unsigned long long)mix);

    /* a few small pairs with full traceback */
    uint32_t h = 2166136261u;
    for (int p = 0; p < 6; p++) {
        int n = 200 + 50 * p;
        for (int i = 0; i < n; i++)
            a[i] = (unsigned char)('a' + rnd(6));
        int m = mutate(a, n, b, cap, 150, 6);
        int l = lcs_string(a, n, b, m, sub);
        int l2 = lcs_len(a, n, b, m, r0, r1);
        for (int i = 0; i < l; i++)
            h = (h ^ sub[i]) * 16777619u;
        printf("traceback %d: lcs %d (%s)\n", p, l, l == l2 ? "consistent" : "MISMATCH");
    }
    printf("traceback hash %08x\n", (unsigned)h);
    free(a);
    free(b);
    free(r0);
    free(r1);
    free(sub);
    return 0;
}
