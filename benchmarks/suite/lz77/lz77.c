/* LZ77-style compressor (32 KiB window, hash chains, lazy matching) and
 * decompressor, run as a round trip over generated pseudo-English text.
 * Token format: a flag byte announces 8 items; a literal is one byte, a
 * match is 3 bytes (15-bit distance, 9-bit length).
 * Usage: lz77 [kbytes] [reps]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBITS 15
#define WSIZE (1u << WBITS)
#define HBITS 15
#define HSIZE (1u << HBITS)
#define MINMATCH 3
#define MAXMATCH 258
#define MAXCHAIN 48

static uint32_t lcg_state = 77u;

static uint32_t rnd(uint32_t n)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return ((lcg_state >> 8) & 0xFFFFFFu) % n;
}

/* --- generated text: words from a generated vocabulary with skewed use --- */
static size_t gen_text(unsigned char *out, size_t len)
{
    static const char *syl[] = {"ta", "ne", "ri", "mo", "ka", "lu", "se",
                                "the", "and", "ion", "er", "in", "on", "qu",
                                "st", "a", "e", "o", "ph", "ch"};
    char vocab[512][16];
    int vlen[512];
    for (int w = 0; w < 512; w++) {
        int ns = 1 + (int)rnd(4);
        int p = 0;
        for (int s = 0; s < ns; s++) {
            const char *y = syl[rnd(20)];
            while (*y && p < 15)
                vocab[w][p++] = *y++;
        }
        vocab[w][p] = 0;
        vlen[w] = p;
    }
    size_t pos = 0;
    int sentence_start = 1;
    while (pos < len) {
        /* skewed choice: small indices much more common */
        uint32_t a = rnd(512), b = rnd(512);
        uint32_t w = a < b ? a : b;
        if (rnd(3) == 0)
            w = w / 8;
        for (int i = 0; i < vlen[w] && pos < len; i++) {
            char c = vocab[w][i];
            if (sentence_start && i == 0)
                c = (char)(c - 'a' + 'A');
            out[pos++] = (unsigned char)c;
        }
        sentence_start = 0;
        if (pos >= len)
            break;
        uint32_t r = rnd(20);
        if (r == 0) {
            out[pos++] = '.';
            sentence_start = 1;
            if (pos < len)
                out[pos++] = rnd(4) == 0 ? '\n' : ' ';
        } else if (r == 1) {
            out[pos++] = ',';
            if (pos < len)
                out[pos++] = ' ';
        } else {
            out[pos++] = ' ';
        }
    }
    return pos;
}

static uint32_t hash3(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    return (v * 2654435761u) >> (32 - HBITS);
}

typedef struct {
    unsigned char *out;
    size_t pos;
    size_t flagpos;
    int nitems;
} writer;

static void begin_item(writer *w)
{
    if (w->nitems == 8 || w->flagpos == (size_t)-1) {
        w->flagpos = w->pos++;
        w->out[w->flagpos] = 0;
        w->nitems = 0;
    }
}

static void emit_literal(writer *w, unsigned char c)
{
    begin_item(w);
    w->out[w->pos++] = c;
    w->nitems++;
}

/* match: 15-bit distance-1 and 9-bit length-3 packed into 3 bytes */
static void emit_match(writer *w, uint32_t dist, uint32_t len)
{
    begin_item(w);
    w->out[w->flagpos] |= (unsigned char)(1u << w->nitems);
    uint32_t v = ((dist - 1) << 9) | (len - MINMATCH);
    w->out[w->pos++] = (unsigned char)(v & 255u);
    w->out[w->pos++] = (unsigned char)((v >> 8) & 255u);
    w->out[w->pos++] = (unsigned char)(v >> 16);
    w->nitems++;
}

static int32_t head[HSIZE];
static int32_t prevtab[WSIZE];

static void find_match(const unsigned char *in, size_t n, size_t i,
                       uint32_t *best_len, uint32_t *best_dist)
{
    uint32_t bl = 0, bd = 0;
    size_t maxlen = n - i < MAXMATCH ? n - i : MAXMATCH;
    int32_t cand = head[hash3(in + i)];
    int chain = MAXCHAIN;
    while (cand >= 0 && chain-- > 0) {
        size_t c = (size_t)cand;
        if (i - c > WSIZE - 1 || c >= i)
            break;
        if (in[c + bl] == in[i + bl]) {
            size_t l = 0;
            while (l < maxlen && in[c + l] == in[i + l])
                l++;
            if (l > bl) {
                bl = (uint32_t)l;
                bd = (uint32_t)(i - c);
                if (l == maxlen)
                    break;
            }
        }
        int32_t nx = prevtab[c & (WSIZE - 1)];
        if (nx >= cand)
            break;
        cand = nx;
    }
    *best_len = bl;
    *best_dist = bd;
}

static void insert_pos(const unsigned char *in, size_t i)
{
    uint32_t h = hash3(in + i);
    prevtab[i & (WSIZE - 1)] = head[h];
    head[h] = (int32_t)i;
}

static size_t compress(const unsigned char *in, size_t n, unsigned char *out)
{
    writer w = {out, 0, (size_t)-1, 0};
    for (uint32_t k = 0; k < HSIZE; k++)
        head[k] = -1;
    size_t i = 0;
    while (i < n) {
        uint32_t len = 0, dist = 0;
        if (i + MINMATCH <= n) {
            find_match(in, n, i, &len, &dist);
            /* lazy evaluation: prefer a longer match starting one later */
            if (len >= MINMATCH && len < 32 && i + 1 + MINMATCH <= n) {
                insert_pos(in, i);
                uint32_t len2, dist2;
                find_match(in, n, i + 1, &len2, &dist2);
                size_t first = i + 1; /* first position not yet inserted */
                if (len2 > len + 1) {
                    emit_literal(&w, in[i]);
                    i++;
                    first = i;
                    len = len2;
                    dist = dist2;
                }
                emit_match(&w, dist, len);
                size_t end = i + len;
                for (size_t k = first; k < end && k + MINMATCH <= n; k++)
                    insert_pos(in, k);
                i = end;
                continue;
            }
            if (len >= MINMATCH) {
                emit_match(&w, dist, len);
                size_t end = i + len;
                for (size_t k = i; k < end && k + MINMATCH <= n; k++)
                    insert_pos(in, k);
                i = end;
                continue;
            }
            insert_pos(in, i);
        }
        emit_literal(&w, in[i]);
        i++;
    }
    return w.pos;
}

static size_t decompress(const unsigned char *in, size_t n, unsigned char *out,
                         size_t cap)
{
    size_t ip = 0, op = 0;
    while (ip < n) {
        unsigned flags = in[ip++];
        for (int b = 0; b < 8 && ip < n; b++) {
            if (flags & (1u << b)) {
                if (ip + 3 > n)
                    return (size_t)-1;
                uint32_t v = (uint32_t)in[ip] | ((uint32_t)in[ip + 1] << 8) |
                             ((uint32_t)in[ip + 2] << 16);
                ip += 3;
                size_t dist = (v >> 9) + 1, len = (v & 511u) + MINMATCH;
                if (dist > op || op + len > cap)
                    return (size_t)-1;
                unsigned char *d = out + op;
                const unsigned char *s = d - dist;
                for (size_t k = 0; k < len; k++)
                    d[k] = s[k];
                op += len;
            } else {
                if (op >= cap)
                    return (size_t)-1;
                out[op++] = in[ip++];
            }
        }
    }
    return op;
}

int main(int argc, char **argv)
{
    long kb = argc > 1 ? atol(argv[1]) : 4096;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (kb < 1 || kb > 65536 || reps < 1) {
        fprintf(stderr, "usage: lz77 [kbytes 1..65536] [reps>=1]\n");
        return 1;
    }
    size_t n = (size_t)kb * 1024;
    unsigned char *text = malloc(n);
    unsigned char *comp = malloc(n + n / 8 + 16);
    unsigned char *back = malloc(n);
    if (!text || !comp || !back) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("input %zu bytes, reps=%d\n", n, reps);
    for (int r = 0; r < reps; r++) {
        size_t tl = gen_text(text, n);
        size_t cl = compress(text, tl, comp);
        size_t dl = decompress(comp, cl, back, n);
        int ok = dl == tl && memcmp(text, back, tl) == 0;
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < cl; i++)
            h = (h ^ comp[i]) * 16777619u;
        printf("rep %d: compressed %zu -> %zu (%.2f%%) fnv %08x roundtrip %s\n",
               r, tl, cl, 100.0 * (double)cl / (double)tl, (unsigned)h,
               ok ? "ok" : "FAILED");
    }
    free(text);
    free(comp);
    free(back);
    return 0;
}
