/* Sorting 32-bit keys two ways: LSD radix sort (8-bit digits, 4 passes) and
 * a bottom-up merge sort with insertion-sorted runs; the results are checked
 * against each other and hashed.  Several key distributions are used.
 * Usage: radixsort [n] [reps]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t xs_state = 0xC0FFEE11u;

static uint32_t xorshift32(void)
{
    uint32_t x = xs_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    xs_state = x;
    return x;
}

static void radix_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    size_t count[4][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = a[i];
        count[0][k & 255u]++;
        count[1][(k >> 8) & 255u]++;
        count[2][(k >> 16) & 255u]++;
        count[3][k >> 24]++;
    }
    uint32_t *src = a, *dst = tmp;
    for (int d = 0; d < 4; d++) {
        size_t pos[256];
        size_t sum = 0;
        int trivial = 0;
        for (int b = 0; b < 256; b++) {
            if (count[d][b] == n)
                trivial = 1;
            pos[b] = sum;
            sum += count[d][b];
        }
        if (trivial)
            continue; /* every key has the same digit: nothing to do */
        unsigned shift = 8u * (unsigned)d;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = src[i];
            dst[pos[(k >> shift) & 255u]++] = k;
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static void insertion_sort(uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    const size_t RUN = 24;
    for (size_t i = 0; i < n; i += RUN)
        insertion_sort(a + i, (n - i < RUN) ? n - i : RUN);
    uint32_t *src = a, *dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            if (mid == hi || src[mid - 1] <= src[mid]) {
                memcpy(dst + lo, src + lo, (hi - lo) * sizeof *src);
                continue;
            }
            while (i < mid && j < hi)
                dst[k++] = (src[j] < src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static void fill(uint32_t *a, size_t n, int kind)
{
    switch (kind) {
    case 0: /* uniform */
        for (size_t i = 0; i < n; i++)
            a[i] = xorshift32();
        break;
    case 1: /* few distinct values */
        for (size_t i = 0; i < n; i++)
            a[i] = (xorshift32() % 1000u) * 2654435761u;
        break;
    case 2: /* nearly sorted */
        for (size_t i = 0; i < n; i++)
            a[i] = (uint32_t)i * 97u + (xorshift32() & 1023u);
        break;
    default: /* small keys, skewed */
        for (size_t i = 0; i < n; i++) {
            uint32_t r = xorshift32();
            a[i] = (r & 0xFFFFu) >> (r >> 28);
        }
        break;
    }
}

int main(int argc, char **argv)
{
    long nl = argc > 1 ? atol(argv[1]) : 2000000;
    int reps = argc > 2 ? atoi(argv[2]) : 4;
    if (nl < 16 || nl > 20000000 || reps < 1) {
        fprintf(stderr, "usage: radixsort [n 16..20000000] [reps>=1]\n");
        return 1;
    }
    size_t n = (size_t)nl;
    uint32_t *orig = malloc(n * sizeof *orig);
    uint32_t *ra = malloc(n * sizeof *ra);
    uint32_t *ma = malloc(n * sizeof *ma);
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!orig || !ra || !ma || !tmp) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("n=%zu reps=%d\n", n, reps);
    for (int kind = 0; kind < 4; kind++) {
        uint64_t hash = 0xcbf29ce484222325ull;
        uint64_t distinct = 0;
        int mismatches = 0;
        for (int r = 0; r < reps; r++) {
            fill(orig, n, kind);
            memcpy(ra, orig, n * sizeof *ra);
            memcpy(ma, orig, n * sizeof *ma);
            radix_sort(ra, tmp, n);
            merge_sort(ma, tmp, n);
            if (memcmp(ra, ma, n * sizeof *ra) != 0)
                mismatches++;
            for (size_t i = 0; i < n; i++) {
                if (i > 0 && ra[i] < ra[i - 1])
                    mismatches++;
                if (i == 0 || ra[i] != ra[i - 1])
                    distinct++;
                hash = (hash ^ ra[i]) * 0x100000001B3ull;
            }
        }
        printf("dist %d: hash %016llx distinct %llu mismatches %d\n", kind,
               (unsigned long long)hash, (unsigned long long)distinct,
               mismatches);
    }
    free(orig);
    free(ra);
    free(ma);
    free(tmp);
    return 0;
}
