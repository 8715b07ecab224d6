/* JSON tokenizer and recursive-descent parser over a generated document:
 * builds a node tree (first-child/next-sibling) with unescaped strings and
 * exact decimal numbers (mantissa + exponent, no floating point), gathers
 * statistics, re-serializes the tree in minified form and parses that again.
 * Usage: jsonparse [kbytes] [reps]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ buffers */
typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + extra)
        nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    b->p = np;
    b->cap = nc;
}

static void put_c(buf *b, char c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
}

static void put_s(buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_u64(buf *b, uint64_t v)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    buf_reserve(b, (size_t)k);
    while (k > 0)
        b->p[b->len++] = tmp[--k];
}

static void put_i64(buf *b, int64_t v)
{
    if (v < 0) {
        put_c(b, '-');
        put_u64(b, 0u - (uint64_t)v);
    } else {
        put_u64(b, (uint64_t)v);
    }
}

/* ------------------------------------------------------------ generator */
static uint64_t rs = 0xDEADBEEFCAFEF00Dull;

static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)((rs >> 32) % n);
}

static const char *keys[] = {"id", "name", "type", "value", "items", "tags",
                             "enabled", "count", "price", "ratio", "owner",
                             "children", "meta", "created", "path", "x", "y",
                             "label", "weight", "description"};

static void indent(buf *b, int pretty, int depth)
{
    if (!pretty)
        return;
    put_c(b, '\n');
    for (int i = 0; i < depth; i++)
        put_s(b, "  ");
}

static void gen_string(buf *b)
{
    put_c(b, '"');
    int n = (int)rnd(28);
    for (int i = 0; i < n; i++) {
        uint32_t r = rnd(100);
        if (r < 70)
            put_c(b, (char)('a' + rnd(26)));
        else if (r < 82)
            put_c(b, ' ');
        else if (r < 88)
            put_c(b, (char)('0' + rnd(10)));
        else if (r < 91)
            put_s(b, "\\\"");
        else if (r < 93)
            put_s(b, "\\\\");
        else if (r < 95)
            put_s(b, "\\n");
        else if (r < 96)
            put_s(b, "\\t");
        else if (r < 97)
            put_s(b, "\\/");
        else if (r < 99) {
            static const char *u[] = {"\\u00e9", "\\u00FC", "\\u4e2d",
                                      "\\u0041", "\\u20AC", "\\u0001"};
            put_s(b, u[rnd(6)]);
        } else {
            put_s(b, "\xc3\xa5"); /* raw UTF-8 passes through */
        }
    }
    put_c(b, '"');
}

static void gen_number(buf *b)
{
    if (rnd(2))
        put_c(b, '-');
    uint32_t kind = rnd(4);
    uint64_t ip;
    if (rnd(4) == 0) {
        ip = rnd(10);
    } else {
        ip = rnd(1000000);
        ip *= rnd(1000);
    }
    put_u64(b, ip);
    if (kind >= 2) {
        put_c(b, '.');
        int fd = 1 + (int)rnd(6);
        for (int i = 0; i < fd; i++)
            put_c(b, (char)('0' + rnd(10)));
    }
    if (kind == 3) {
        put_c(b, rnd(2) ? 'e' : 'E');
        uint32_t s = rnd(3);
        if (s == 1)
            put_c(b, '-');
        else if (s == 2)
            put_c(b, '+');
        put_u64(b, rnd(40));
    }
}

static void gen_value(buf *b, int depth, int pretty)
{
    uint32_t r = rnd(100);
    if (depth < 7 && r < 22) {
        int n = (int)rnd(9);
        put_c(b, '{');
        for (int i = 0; i < n; i++) {
            if (i)
                put_c(b, ',');
            indent(b, pretty, depth + 1);
            put_c(b, '"');
            put_s(b, keys[rnd(20)]);
            if (rnd(4) == 0)
                put_u64(b, rnd(100));
            put_s(b, pretty ? "\": " : "\":");
            gen_value(b, depth + 1, pretty);
        }
        if (n)
            indent(b, pretty, depth);
        put_c(b, '}');
    } else if (depth < 7 && r < 36) {
        int n = (int)rnd(11);
        put_c(b, '[');
        for (int i = 0; i < n; i++) {
            if (i)
                put_s(b, pretty ? ", " : ",");
            gen_value(b, depth + 1, pretty && rnd(3) == 0);
        }
        put_c(b, ']');
    } else if (r < 66) {
        gen_string(b);
    } else if (r < 90) {
        gen_number(b);
    } else if (r < 94) {
        put_s(b, "true");
    } else if (r < 98) {
        put_s(b, "false");
    } else {
        put_s(b, "null");
    }
}

static void gen_document(buf *b, size_t target)
{
    put_c(b, '[');
    int first = 1;
    while (b->len < target) {
        if (!first)
            put_c(b, ',');
        first = 0;
        put_s(b, "\n  ");
        int pretty = rnd(2) == 0;
        /* each record is an object with a few fixed fields */
        put_s(b, "{\"id\":");
        put_u64(b, rnd(1000000000));
        put_s(b, ",\"name\":");
        gen_string(b);
        put_s(b, ",\"data\":");
        gen_value(b, 1, pretty);
        put_s(b, ",\"more\":");
        gen_value(b, 2, pretty);
        put_c(b, '}');
    }
    put_s(b, "\n]\n");
}

/* ------------------------------------------------------------ parser */
enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_DEC, J_STR, J_ARR, J_OBJ };

typedef struct {
    uint8_t type;
    int32_t first, next; /* child list; -1 terminated */
    uint32_t key_off, key_len; /* in string pool, for object members */
    uint32_t str_off, str_len; /* string value */
    int64_t num;               /* integer, or decimal mantissa */
    int32_t exp;               /* decimal exponent */
    int32_t has_key;
} node;

typedef struct {
    const char *s;
    size_t pos, len;
    node *nodes;
    size_t nnodes, cap;
    buf pool;
    int depth, max_depth;
    int error;
} parser;

static int new_node(parser *p, int type)
{
    if (p->nnodes == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 1024;
        node *nn = realloc(p->nodes, nc * sizeof *nn);
        if (!nn) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        p->nodes = nn;
        p->cap = nc;
    }
    node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof *n);
    n->type = (uint8_t)type;
    n->first = -1;
    n->next = -1;
    return (int)p->nnodes++;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
            p->pos++;
        else
            break;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* parse a string literal at pos (which is at '"'), unescape into the pool */
static int parse_string(parser *p, uint32_t *off, uint32_t *len)
{
    p->pos++;
    size_t start = p->pool.len;
    for (;;) {
        if (p->pos >= p->len)
            return -1;
        /* fast path: copy a run of plain characters */
        size_t q = p->pos;
        while (q < p->len && p->s[q] != '"' && p->s[q] != '\\' &&
               (unsigned char)p->s[q] >= 0x20)
            q++;
        if (q > p->pos) {
            buf_reserve(&p->pool, q - p->pos);
            memcpy(p->pool.p + p->pool.len, p->s + p->pos, q - p->pos);
            p->pool.len += q - p->pos;
            p->pos = q;
            continue;
        }
        char c = p->s[p->pos++];
        if (c == '"')
            break;
        if (c != '\\')
            return -1; /* control character */
        if (p->pos >= p->len)
            return -1;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': put_c(&p->pool, '"'); break;
        case '\\': put_c(&p->pool, '\\'); break;
        case '/': put_c(&p->pool, '/'); break;
        case 'b': put_c(&p->pool, '\b'); break;
        case 'f': put_c(&p->pool, '\f'); break;
        case 'n': put_c(&p->pool, '\n'); break;
        case 'r': put_c(&p->pool, '\r'); break;
        case 't': put_c(&p->pool, '\t'); break;
        case 'u': {
            if (p->pos + 4 > p->len)
                return -1;
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval(p->s[p->pos + (size_t)i]);
                if (h < 0)
                    return -1;
                cp = cp * 16u + (unsigned)h;
            }
            p->pos += 4;
            if (cp < 0x80) {
                put_c(&p->pool, (char)cp);
            } else if (cp < 0x800) {
                put_c(&p->pool, (char)(0xC0 | (cp >> 6)));
                put_c(&p->pool, (char)(0x80 | (cp & 0x3F)));
            } else {
                put_c(&p->pool, (char)(0xE0 | (cp >> 12)));
                put_c(&p->pool, (char)(0x80 | ((cp >> 6) & 0x3F)));
                put_c(&p->pool, (char)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default:
            return -1;
        }
    }
    *off = (uint32_t)start;
    *len = (uint32_t)(p->pool.len - start);
    return 0;
}

static int parse_number(parser *p, int id)
{
    int neg = 0;
    uint64_t mant = 0;
    int digits = 0, frac = 0, is_dec = 0;
    int64_t ex = 0;
    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        mant = mant * 10u + (uint64_t)(p->s[p->pos] - '0');
        digits++;
        p->pos++;
    }
    if (digits == 0)
        return -1;
    if (p->pos < p->len && p->s[p->pos] == '.') {
        is_dec = 1;
        p->pos++;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            mant = mant * 10u + (uint64_t)(p->s[p->pos] - '0');
            frac++;
            p->pos++;
        }
        if (frac == 0)
            return -1;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        is_dec = 1;
        p->pos++;
        int eneg = 0;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) {
            eneg = p->s[p->pos] == '-';
            p->pos++;
        }
        int ed = 0;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            if (ex < 100000)
                ex = ex * 10 + (p->s[p->pos] - '0');
            ed++;
            p->pos++;
        }
        if (ed == 0)
            return -1;
        if (eneg)
            ex = -ex;
    }
    node *n = &p->nodes[id];
    n->type = is_dec ? J_DEC : J_INT;
    n->num = (int64_t)(neg ? 0u - mant : mant);
    n->exp = (int32_t)(ex - frac);
    return 0;
}

static int parse_value(parser *p);

static int parse_literal(parser *p, const char *word, int type)
{
    size_t n = strlen(word);
    if (p->pos + n > p->len || memcmp(p->s + p->pos, word, n) != 0)
        return -1;
    p->pos += n;
    return new_node(p, type);
}

static int parse_value(parser *p)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return -1;
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        int is_obj = c == '{';
        int id = new_node(p, is_obj ? J_OBJ : J_ARR);
        p->pos++;
        if (++p->depth > p->max_depth)
            p->max_depth = p->depth;
        if (p->depth > 512)
            return -1;
        int last = -1;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == (is_obj ? '}' : ']')) {
            p->pos++;
            p->depth--;
            return id;
        }
        for (;;) {
            uint32_t koff = 0, klen = 0;
            if (is_obj) {
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != '"')
                    return -1;
                if (parse_string(p, &koff, &klen) != 0)
                    return -1;
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != ':')
                    return -1;
                p->pos++;
            }
            int child = parse_value(p);
            if (child < 0)
                return -1;
            if (is_obj) {
                p->nodes[child].has_key = 1;
                p->nodes[child].key_off = koff;
                p->nodes[child].key_len = klen;
            }
            if (last < 0)
                p->nodes[id].first = child;
            else
                p->nodes[last].next = child;
            last = child;
            skip_ws(p);
            if (p->pos >= p->len)
                return -1;
            char d = p->s[p->pos++];
            if (d == ',')
                continue;
            if (d == (is_obj ? '}' : ']'))
                break;
            return -1;
        }
        p->depth--;
        return id;
    }
    if (c == '"') {
        int id = new_node(p, J_STR);
        uint32_t off, len;
        if (parse_string(p, &off, &len) != 0)
            return -1;
        p->nodes[id].str_off = off;
        p->nodes[id].str_len = len;
        return id;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int id = new_node(p, J_INT);
        if (parse_number(p, id) != 0)
            return -1;
        return id;
    }
    if (c == 't')
        return parse_literal(p, "true", J_TRUE);
    if (c == 'f')
        return parse_literal(p, "false", J_FALSE);
    if (c == 'n')
        return parse_literal(p, "null", J_NULL);
    return -1;
}

static int parse_document(parser *p, const char *s, size_t len)
{
    p->s = s;
    p->pos = 0;
    p->len = len;
    p->nnodes = 0;
    p->pool.len = 0;
    p->depth = 0;
    p->max_depth = 0;
    int root = parse_value(p);
    if (root < 0)
        return -1;
    skip_ws(p);
    return p->pos == len ? root : -1;
}

/* ------------------------------------------------------------ output */
static void ser_string(buf *o, const char *s, uint32_t len)
{
    static const char hex[] = "0123456789abcdef";
    put_c(o, '"');
    buf_reserve(o, (size_t)len * 6 + 1);
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            o->p[o->len++] = '\\';
            o->p[o->len++] = (char)c;
        } else if (c == '\n') {
            o->p[o->len++] = '\\';
            o->p[o->len++] = 'n';
        } else if (c < 0x20) {
            o->p[o->len++] = '\\';
            o->p[o->len++] = 'u';
            o->p[o->len++] = '0';
            o->p[o->len++] = '0';
            o->p[o->len++] = hex[c >> 4];
            o->p[o->len++] = hex[c & 15];
        } else {
            o->p[o->len++] = (char)c;
        }
    }
    put_c(o, '"');
}

static void serialize(const parser *p, int id, buf *o)
{
    const node *n = &p->nodes[id];
    switch (n->type) {
    case J_NULL: put_s(o, "null"); break;
    case J_FALSE: put_s(o, "false"); break;
    case J_TRUE: put_s(o, "true"); break;
    case J_INT: put_i64(o, n->num); break;
    case J_DEC:
        put_i64(o, n->num);
        put_c(o, 'e');
        put_i64(o, n->exp);
        break;
    case J_STR: ser_string(o, p->pool.p + n->str_off, n->str_len); break;
    default: {
        int is_obj = n->type == J_OBJ;
        put_c(o, is_obj ? '{' : '[');
        for (int c = n->first; c >= 0; c = p->nodes[c].next) {
            if (c != n->first)
                put_c(o, ',');
            if (is_obj) {
                ser_string(o, p->pool.p + p->nodes[c].key_off,
                           p->nodes[c].key_len);
                put_c(o, ':');
            }
            serialize(p, c, o);
        }
        put_c(o, is_obj ? '}' : ']');
    }
    }
}

typedef struct {
    uint64_t count[8];
    uint64_t str_hash, key_hash, int_sum, dec_sum, str_bytes;
} stats;

static uint64_t fnv_add(uint64_t h, const char *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h;
}

static void gather(const parser *p, stats *st)
{
    memset(st, 0, sizeof *st);
    st->str_hash = st->key_hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < p->nnodes; i++) {
        const node *n = &p->nodes[i];
        st->count[n->type]++;
        if (n->has_key)
            st->key_hash = fnv_add(st->key_hash, p->pool.p + n->key_off, n->key_len);
        if (n->type == J_STR) {
            st->str_hash = fnv_add(st->str_hash, p->pool.p + n->str_off, n->str_len);
            st->str_bytes += n->str_len;
        } else if (n->type == J_INT) {
            st->int_sum += (uint64_t)n->num;
        } else if (n->type == J_DEC) {
            st->dec_sum = st->dec_sum * 31u + (uint64_t)n->num +
                          (uint64_t)(int64_t)n->exp * 1000003u;
        }
    }
}

int main(int argc, char **argv)
{
    long kb = argc > 1 ? atol(argv[1]) : 8192;
    int reps = argc > 2 ? atoi(argv[2]) : 10;
    if (kb < 1 || kb > 262144 || reps < 1) {
        fprintf(stderr, "usage: jsonparse [kbytes 1..262144] [reps>=1]\n");
        return 1;
    }
    buf doc = {0, 0, 0};
    gen_document(&doc, (size_t)kb * 1024);
    parser p, q;
    memset(&p, 0, sizeof p);
    memset(&q, 0, sizeof q);
    buf mini = {0, 0, 0};
    int ok = 1;
    stats s1, s2;
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    uint64_t mini_hash = 0;
    int maxd = 0;
    for (int r = 0; r < reps; r++) {
        int root = parse_document(&p, doc.p, doc.len);
        if (root < 0) {
            printf("parse error at %zu\n", p.pos);
            return 1;
        }
        maxd = p.max_depth;
        gather(&p, &s1);
        mini.len = 0;
        serialize(&p, root, &mini);
        mini_hash = fnv_add(0xcbf29ce484222325ull, mini.p, (uint32_t)mini.len);
        int root2 = parse_document(&q, mini.p, mini.len);
        if (root2 < 0) {
            printf("reparse error at %zu\n", q.pos);
            return 1;
        }
        gather(&q, &s2);
        if (memcmp(&s1, &s2, sizeof s1) != 0 || p.nnodes != q.nnodes)
            ok = 0;
    }
    static const char *names[] = {"null", "false", "true", "int",
                                  "decimal", "string", "array", "object"};
    printf("document %zu bytes, minified %zu bytes, reps %d\n", doc.len,
           mini.len, reps);
    printf("nodes %zu, max depth %d\n", p.nnodes, maxd);
    for (int t = 0; t < 8; t++)
        printf("  %-8s %llu\n", names[t], (unsigned long long)s1.count[t]);
    printf("string bytes %llu hash %016llx\n", (unsigned long long)s1.str_bytes,
           (unsigned long long)s1.str_hash);
    printf("key hash %016llx\n", (unsigned long long)s1.key_hash);
    printf("int sum %016llx decimal mix %016llx\n",
           (unsigned long long)s1.int_sum, (unsigned long long)s1.dec_sum);
    printf("minified hash %016llx\n", (unsigned long long)mini_hash);
    printf("reparse %s\n", ok ? "consistent" : "MISMATCH");
    free(doc.p);
    free(mini.p);
    free(p.nodes);
    free(q.nodes);
    free(p.pool.p);
    free(q.pool.p);
    return 0;
}
