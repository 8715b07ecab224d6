/* Exact string search: Boyer-Moore-Horspool and Knuth-Morris-Pratt count all
 * (overlapping) occurrences of generated patterns in a generated text; the
 * two must agree, and a naive search cross-checks a prefix of the text.
 * Usage: strmatch [kbytes] [patterns]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t xs = 0x8BADF00DDEADBEEFull;

static uint32_t rnd(uint32_t n)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)((xs >> 32) % n);
}

typedef struct {
    uint64_t count;
    uint64_t possum;
} result;

static result bmh_search(const unsigned char *t, size_t n,
                         const unsigned char *p, size_t m)
{
    result r = {0, 0};
    size_t shift[256];
    for (int c = 0; c < 256; c++)
        shift[c] = m;
    for (size_t k = 0; k + 1 < m; k++)
        shift[p[k]] = m - 1 - k;
    unsigned char last = p[m - 1];
    size_t i = 0;
    while (i + m <= n) {
        unsigned char c = t[i + m - 1];
        if (c == last) {
            size_t k = 0;
            while (k + 1 < m && t[i + k] == p[k])
                k++;
            if (k + 1 >= m) {
                r.count++;
                r.possum += i;
            }
        }
        i += shift[c];
    }
    return r;
}

static result kmp_search(const unsigned char *t, size_t n,
                         const unsigned char *p, size_t m, size_t *fail)
{
    result r = {0, 0};
    fail[0] = 0;
    size_t k = 0;
    for (size_t q = 1; q < m; q++) {
        while (k > 0 && p[k] != p[q])
            k = fail[k - 1];
        if (p[k] == p[q])
            k++;
        fail[q] = k;
    }
    k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k > 0 && p[k] != t[i])
            k = fail[k - 1];
        if (p[k] == t[i])
            k++;
        if (k == m) {
            r.count++;
            r.possum += i + 1 - m;
            k = fail[k - 1];
        }
    }
    return r;
}

static result naive_search(const unsigned char *t, size_t n,
                           const unsigned char *p, size_t m)
{
    result r = {0, 0};
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && t[i + k] == p[k])
            k++;
        if (k == m) {
            r.count++;
            r.possum += i;
        }
    }
    return r;
}

int main(int argc, char **argv)
{
    long kb = argc > 1 ? atol(argv[1]) : 8192;
    int npat = argc > 2 ? atoi(argv[2]) : 64;
    if (kb < 4 || kb > 131072 || npat < 1 || npat > 100000) {
        fprintf(stderr, "usage: strmatch [kbytes 4..131072] [patterns]\n");
        return 1;
    }
    size_t n = (size_t)kb * 1024;
    unsigned char *text = malloc(n);
    size_t *fail = malloc(1024 * sizeof *fail);
    if (!text || !fail) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* text: regions of a small alphabet (DNA-like, many partial matches)
     * alternating with word-like regions over a larger alphabet */
    size_t pos = 0;
    while (pos < n) {
        size_t run = 256 + rnd(4096);
        int dna = rnd(2) == 0;
        for (size_t k = 0; k < run && pos < n; k++) {
            if (dna) {
                text[pos++] = (unsigned char)"ACGT"[rnd(4)];
            } else {
                uint32_t r = rnd(32);
                text[pos++] = r < 26 ? (unsigned char)('a' + r % 13)
                                     : (unsigned char)' ';
            }
        }
    }

    uint64_t total = 0, possum = 0;
    int disagreements = 0;
    size_t check_len = n < 65536 ? n : 65536;
    unsigned char pat[1024];
    for (int q = 0; q < npat; q++) {
        size_t m;
        switch (q % 4) {
        case 0: m = 2 + rnd(6); break;     /* short */
        case 1: m = 8 + rnd(24); break;    /* medium */
        case 2: m = 32 + rnd(96); break;   /* long */
        default: m = 4 + rnd(12); break;
        }
        if (q % 3 == 2) {
            /* random pattern over the DNA alphabet: rarely found if long */
            for (size_t k = 0; k < m; k++)
                pat[k] = (unsigned char)"ACGT"[rnd(4)];
        } else {
            /* copy from the text, sometimes with one mutated byte */
            size_t at = rnd((uint32_t)(n - m));
            memcpy(pat, text + at, m);
            if (q % 5 == 1) {
                size_t at2 = rnd((uint32_t)m);
                pat[at2] = (unsigned char)"ACGT"[rnd(4)];
            }
        }
        result a = bmh_search(text, n, pat, m);
        result b = kmp_search(text, n, pat, m, fail);
        if (a.count != b.count || a.possum != b.possum)
            disagreements++;
        result c = naive_search(text, check_len, pat, m);
        result d = kmp_search(text, check_len, pat, m, fail);
        if (c.count != d.count || c.possum != d.possum)
            disagreements++;
        total += a.count;
        possum = possum * 31u + a.possum;
        if (q < 8)
            printf("pattern %d (len %zu): %llu matches\n", q, m,
                   (unsigned long long)a.count);
    }
    printf("text %zu bytes, %d patterns\n", n, npat);
    printf("total matches %llu, position hash %016llx\n",
           (unsigned long long)total, (unsigned long long)possum);
    printf("disagreements %d\n", disagreements);
    free(text);
    free(fail);
    return 0;
}
