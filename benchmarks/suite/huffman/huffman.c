/* Huffman coding of generated text: per-block symbol counts, code tree built
 * with a binary heap, canonical code assignment, bit-level encoding, and
 * decoding with a lookup table (long codes fall back to canonical decoding);
 * every block is checked to round-trip.
 * Usage: huffman [kilobytes] [passes]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSYM 256
#define MAXLEN 32
#define TBITS 10
#define BLOCK 65536

static uint32_t rstate = 0xC0FFEE11u;

static uint32_t rnd(void)
{
    /* xorshift32 with a multiplicative output step */
    uint32_t x = rstate;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rstate = x;
    return x * 0x9E3779BBu;
}

/* ---- text generator: a vocabulary of pseudo-words, skewed word choice ---- */
#define NWORDS 2000
static char words[NWORDS][12];
static int wlen[NWORDS];

static void make_vocab(void)
{
    static const char letters[] = "etaoinshrdlcumwfgypbvkjxqz";
    for (int i = 0; i < NWORDS; i++) {
        int len = 1 + (int)(rnd() % 4u);  /* two statements: C leaves the order of two calls in one expression open */
        len += (int)(rnd() % 5u);
        for (int k = 0; k < len; k++) {
            /* skewed letter choice: product of two uniforms */
            uint32_t a = rnd() % 26u, b = rnd() % 26u;
            words[i][k] = letters[(a * b) / 26u];
        }
        if (rnd() % 10u == 0)
            words[i][0] = (char)(words[i][0] - 'a' + 'A');
        words[i][len] = 0;
        wlen[i] = len;
    }
}

static size_t make_text(uint8_t *t, size_t n)
{
    size_t p = 0;
    int sentence = 0;
    while (p + 16 < n) {
        uint32_t a = rnd() % NWORDS, b = rnd() % NWORDS;
        int w = (int)((a * b) / NWORDS); /* small indices are common */
        memcpy(t + p, words[w], (size_t)wlen[w]);
        p += (size_t)wlen[w];
        sentence++;
        uint32_t r = rnd() % 100u;
        if (sentence > 6 && r < 12) {
            t[p++] = r < 9 ? '.' : (r < 11 ? '?' : '!');
            t[p++] = (r & 1) ? '\n' : ' ';
            sentence = 0;
        } else if (r < 18) {
            t[p++] = ',';
            t[p++] = ' ';
        } else if (r < 19) {
            /* occasional number */
            uint32_t v = rnd() % 100000u;
            p += (size_t)snprintf((char *)t + p, 8, " %u ", (unsigned)v);
        } else {
            t[p++] = ' ';
        }
    }
    while (p < n)
        t[p++] = '\n';
    return p;
}

/* ---- Huffman code construction ---- */
typedef struct {
    uint64_t freq;
    int id; /* tie-break: smaller id first */
} hnode_t;

static int hless(const hnode_t *a, const hnode_t *b)
{
    return a->freq < b->freq || (a->freq == b->freq && a->id < b->id);
}

static void heap_push(hnode_t *h, int *n, hnode_t v)
{
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!hless(&v, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static hnode_t heap_pop(hnode_t *h, int *n)
{
    hnode_t top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c]))
            c++;
        if (!hless(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* computes code lengths (0 for unused symbols); returns the max length */
static int build_lengths(const uint64_t *freq, uint8_t *len)
{
    hnode_t heap[NSYM];
    int parent[2 * NSYM];
    int hn = 0, next = NSYM;
    memset(len, 0, NSYM);
    for (int s = 0; s < NSYM; s++)
        if (freq[s])
            heap_push(heap, &hn, (hnode_t){freq[s], s});
    if (hn == 0)
        return 0;
    if (hn == 1) {
        len[heap[0].id] = 1;
        return 1;
    }
    while (hn > 1) {
        hnode_t a = heap_pop(heap, &hn);
        hnode_t b = heap_pop(heap, &hn);
        parent[a.id] = next;
        parent[b.id] = next;
        heap_push(heap, &hn, (hnode_t){a.freq + b.freq, next});
        next++;
    }
    int root = heap[0].id, maxl = 0;
    for (int s = 0; s < NSYM; s++) {
        if (!freq[s])
            continue;
        int d = 0;
        for (int u = s; u != root; u = parent[u])
            d++;
        len[s] = (uint8_t)d;
        if (d > maxl)
            maxl = d;
    }
    return maxl;
}

typedef struct {
    uint32_t code[NSYM];
    uint8_t len[NSYM];
    /* canonical decoding data */
    uint32_t first[MAXLEN + 2]; /* first code of each length */
    int count[MAXLEN + 2];
    int offset[MAXLEN + 2];     /* index into sorted symbols */
    uint8_t sorted[NSYM];
    uint16_t table[1 << TBITS]; /* (len << 8) | sym, 0 = long code */
} code_t;

static void canonical(code_t *c)
{
    memset(c->count, 0, sizeof c->count);
    for (int s = 0; s < NSYM; s++)
        c->count[c->len[s]]++;
    c->count[0] = 0;
    uint32_t code = 0;
    int off = 0;
    for (int l = 1; l <= MAXLEN; l++) {
        c->first[l] = code;
        c->offset[l] = off;
        int k = 0;
        for (int s = 0; s < NSYM; s++)
            if (c->len[s] == l) {
                c->code[s] = code + (uint32_t)k;
                c->sorted[off + k] = (uint8_t)s;
                k++;
            }
        off += c->count[l];
        code = (code + (uint32_t)c->count[l]) << 1;
    }
    memset(c->table, 0, sizeof c->table);
    for (int s = 0; s < NSYM; s++) {
        int l = c->len[s];
        if (l == 0 || l > TBITS)
            continue;
        uint32_t base = c->code[s] << (TBITS - l);
        for (uint32_t k = 0; k < (1u << (TBITS - l)); k++)
            c->table[base + k] = (uint16_t)((l << 8) | s);
    }
}

/* ---- bit I/O (MSB first) ---- */
static size_t encode(const code_t *c, const uint8_t *in, size_t n, uint8_t *out)
{
    uint64_t acc = 0;
    int nb = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int l = c->len[in[i]];
        acc = (acc << l) | c->code[in[i]];
        nb += l;
        while (nb >= 8) {
            nb -= 8;
            out[o++] = (uint8_t)(acc >> nb);
        }
    }
    if (nb > 0)
        out[o++] = (uint8_t)(acc << (8 - nb));
    return o;
}

static void decode(const code_t *c, const uint8_t *in, size_t inbytes, uint8_t *out, size_t n)
{
    uint64_t acc = 0;
    int nb = 0;
    size_t ip = 0;
    for (size_t i = 0; i < n; i++) {
        while (nb <= 56) {
            acc = (acc << 8) | (ip < inbytes ? in[ip] : 0);
            ip++;
            nb += 8;
        }
        uint32_t peek = (uint32_t)(acc >> (nb - TBITS)) & ((1u << TBITS) - 1);
        uint16_t e = c->table[peek];
        if (e) {
            out[i] = (uint8_t)(e & 0xFF);
            nb -= e >> 8;
        } else {
            /* canonical decode, bit by bit from length 1 */
            uint32_t code = 0;
            int l = 0;
            for (;;) {
                l++;
                code = (code << 1) | (uint32_t)((acc >> (nb - l)) & 1u);
                if (c->count[l] && code - c->first[l] < (uint32_t)c->count[l])
                    break;
            }
            out[i] = c->sorted[c->offset[l] + (int)(code - c->first[l])];
            nb -= l;
        }
    }
}

int main(int argc, char **argv)
{
    int kb = argc > 1 ? atoi(argv[1]) : 4096;
    int passes = argc > 2 ? atoi(argv[2]) : 2;
    if (kb < 64)
        kb = 64;
    if (passes < 1)
        passes = 1;
    size_t n = (size_t)kb * 1024;
    uint8_t *text = malloc(n);
    uint8_t *enc = malloc(BLOCK * 2 + 64);
    uint8_t *dec = malloc(BLOCK);
    code_t *code = malloc(sizeof *code);
    if (!text || !enc || !dec || !code)
        return 1;
    make_vocab();
    make_text(text, n);

    uint64_t total_bits = 0, chk = 0xCBF29CE484222325ull;
    long bad = 0, blocks = 0, maxlen_sum = 0;
    for (int p = 0; p < passes; p++) {
        /* vary the block boundaries between passes */
        size_t start = 0, bsz = BLOCK - (size_t)p * 4099 % 8192;
        while (start < n) {
            size_t len = n - start < bsz ? n - start : bsz;
            const uint8_t *blk = text + start;
            uint64_t freq[NSYM];
            memset(freq, 0, sizeof freq);
            for (size_t i = 0; i < len; i++)
                freq[blk[i]]++;
            maxlen_sum += build_lengths(freq, code->len);
            canonical(code);
            size_t eb = encode(code, blk, len, enc);
            decode(code, enc, eb, dec, len);
            if (memcmp(dec, blk, len) != 0)
                bad++;
            for (int s = 0; s < NSYM; s++)
                total_bits += freq[s] * code->len[s];
            for (size_t i = 0; i < eb; i++)
                chk = (chk ^ enc[i]) * 0x100000001B3ull;
            blocks++;
            start += len;
        }
    }
    printf("huffman: %zu bytes x %d passes, %ld blocks\n", n, passes, blocks);
    printf("coded bits: %llu (%.4f bits/symbol), sum of max code lengths %ld\n",
           (unsigned long long)total_bits, (double)total_bits / ((double)n * passes),
           maxlen_sum);
    printf("roundtrip failures: %ld\n", bad);
    printf("encoded checksum: %016llx\n", (unsigned long long)chk);
    free(text); free(enc); free(dec); free(code);
    return 0;
}
