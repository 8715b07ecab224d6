/* A small regular-expression engine: a recursive-descent parser (literals,
 * '.', classes, escapes, * + ? {m,n}, groups, alternation, ^ $) compiled to
 * bytecode, run over generated log lines by a Thompson-NFA simulation (with
 * earliest match end) and cross-checked by a memoizing backtracking VM.
 * Usage: regexvm [lines] [passes]   (written for irpipe's benchmark suite) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- parser: pattern -> AST ---------------- */
enum { N_LIT, N_ANY, N_CLASS, N_CAT, N_ALT, N_STAR, N_PLUS, N_QUEST, N_REP, N_EMPTY, N_BOL, N_EOL };

typedef struct {
    int kind;
    int a, b;     /* children, or literal / class index */
    int min, max; /* for N_REP; max < 0 means unbounded */
} node_t;

#define MAXNODES 1024
#define MAXCLASSES 64
#define MAXPROG 8192

typedef struct {
    const char *p;
    int err;
    node_t nodes[MAXNODES];
    int nn;
    uint32_t classes[MAXCLASSES][8];
    int nclasses;
} parser_t;

static int new_node(parser_t *ps, int kind, int a, int b)
{
    if (ps->nn >= MAXNODES) {
        ps->err = 1;
        return 0;
    }
    node_t *n = &ps->nodes[ps->nn];
    n->kind = kind;
    n->a = a;
    n->b = b;
    n->min = n->max = 0;
    return ps->nn++;
}

static void cls_set(uint32_t *c, int ch)
{
    c[(unsigned)ch >> 5] |= 1u << (ch & 31);
}

static void cls_range(uint32_t *c, int lo, int hi)
{
    for (int ch = lo; ch <= hi; ch++)
        cls_set(c, ch);
}

static int new_class(parser_t *ps)
{
    if (ps->nclasses >= MAXCLASSES) {
        ps->err = 1;
        return 0;
    }
    memset(ps->classes[ps->nclasses], 0, sizeof ps->classes[0]);
    return ps->nclasses++;
}

/* \d \w \s and their negations into class c; returns 0 if not a class escape */
static int escape_class(uint32_t *c, int e)
{
    int neg = 0;
    uint32_t t[8] = {0};
    switch (e) {
    case 'D': neg = 1; /* fall through */
    case 'd': cls_range(t, '0', '9'); break;
    case 'W': neg = 1; /* fall through */
    case 'w': cls_range(t, 'a', 'z'); cls_range(t, 'A', 'Z'); cls_range(t, '0', '9'); cls_set(t, '_'); break;
    case 'S': neg = 1; /* fall through */
    case 's': cls_set(t, ' '); cls_set(t, '\t'); cls_set(t, '\n'); cls_set(t, '\r'); break;
    default: return 0;
    }
    for (int i = 0; i < 8; i++)
        c[i] |= neg ? ~t[i] : t[i];
    return 1;
}

static int parse_alt(parser_t *ps);

static int parse_int(parser_t *ps)
{
    int v = 0, any = 0;
    while (*ps->p >= '0' && *ps->p <= '9') {
        v = v * 10 + (*ps->p - '0');
        ps->p++;
        any = 1;
        if (v > 1000)
            ps->err = 1;
    }
    return any ? v : -1;
}

static int parse_atom(parser_t *ps)
{
    char ch = *ps->p;
    if (ch == '(') {
        ps->p++;
        int n = parse_alt(ps);
        if (*ps->p != ')')
            ps->err = 1;
        else
            ps->p++;
        return n;
    }
    if (ch == '.') {
        ps->p++;
        return new_node(ps, N_ANY, 0, 0);
    }
    if (ch == '^') {
        ps->p++;
        return new_node(ps, N_BOL, 0, 0);
    }
    if (ch == '$') {
        ps->p++;
        return new_node(ps, N_EOL, 0, 0);
    }
    if (ch == '[') {
        ps->p++;
        int ci = new_class(ps);
        uint32_t *c = ps->classes[ci];
        int neg = 0;
        if (*ps->p == '^') {
            neg = 1;
            ps->p++;
        }
        int first = 1;
        while (*ps->p && (*ps->p != ']' || first)) {
            int lo = (unsigned char)*ps->p++;
            if (lo == '\\' && *ps->p) {
                int e = (unsigned char)*ps->p++;
                if (escape_class(c, e)) {
                    first = 0;
                    continue;
                }
                lo = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            }
            int hi = lo;
            if (ps->p[0] == '-' && ps->p[1] && ps->p[1] != ']') {
                hi = (unsigned char)ps->p[1];
                ps->p += 2;
            }
            if (hi < lo)
                ps->err = 1;
            else
                cls_range(c, lo, hi);
            first = 0;
        }
        if (*ps->p != ']')
            ps->err = 1;
        else
            ps->p++;
        if (neg)
            for (int i = 0; i < 8; i++)
                c[i] = ~c[i];
        return new_node(ps, N_CLASS, ci, 0);
    }
    if (ch == '\\') {
        ps->p++;
        int e = (unsigned char)*ps->p;
        if (!e) {
            ps->err = 1;
            return new_node(ps, N_EMPTY, 0, 0);
        }
        ps->p++;
        uint32_t tmp[8] = {0};
        if (escape_class(tmp, e)) {
            int ci = new_class(ps);
            memcpy(ps->classes[ci], tmp, sizeof tmp);
            return new_node(ps, N_CLASS, ci, 0);
        }
        return new_node(ps, N_LIT, e == 'n' ? '\n' : e == 't' ? '\t' : e, 0);
    }
    if (ch == 0 || ch == ')' || ch == '|' || ch == '*' || ch == '+' || ch == '?') {
        ps->err = 1;
        return new_node(ps, N_EMPTY, 0, 0);
    }
    ps->p++;
    return new_node(ps, N_LIT, (unsigned char)ch, 0);
}

static int parse_repeat(parser_t *ps)
{
    int n = parse_atom(ps);
    for (;;) {
        char ch = *ps->p;
        if (ch == '*') {
            n = new_node(ps, N_STAR, n, 0);
        } else if (ch == '+') {
            n = new_node(ps, N_PLUS, n, 0);
        } else if (ch == '?') {
            n = new_node(ps, N_QUEST, n, 0);
        } else if (ch == '{') {
            ps->p++;
            int lo = parse_int(ps), hi = lo;
            if (*ps->p == ',') {
                ps->p++;
                hi = parse_int(ps); /* -1: unbounded */
            }
            if (lo < 0 || *ps->p != '}' || (hi >= 0 && hi < lo)) {
                ps->err = 1;
                return n;
            }
            n = new_node(ps, N_REP, n, 0);
            ps->nodes[n].min = lo;
            ps->nodes[n].max = hi;
        } else {
            break;
        }
        ps->p++;
    }
    return n;
}

static int parse_cat(parser_t *ps)
{
    int n = -1;
    while (*ps->p && *ps->p != '|' && *ps->p != ')' && !ps->err) {
        int r = parse_repeat(ps);
        n = n < 0 ? r : new_node(ps, N_CAT, n, r);
    }
    return n < 0 ? new_node(ps, N_EMPTY, 0, 0) : n;
}

static int parse_alt(parser_t *ps)
{
    int n = parse_cat(ps);
    while (*ps->p == '|' && !ps->err) {
        ps->p++;
        int r = parse_cat(ps);
        n = new_node(ps, N_ALT, n, r);
    }
    return n;
}

/* ---------------- code generation ---------------- */
enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_MATCH, I_BOL, I_EOL };

typedef struct {
    uint8_t op;
    uint8_t c;
    int16_t cls;
    int x, y;
} inst_t;

typedef struct {
    inst_t code[MAXPROG];
    int n;
    uint32_t classes[MAXCLASSES][8];
    int err;
    int first_lit; /* literal byte every match must start with, or -1 */
} prog_t;

static int emit(prog_t *pg, int op)
{
    if (pg->n >= MAXPROG) {
        pg->err = 1;
        return MAXPROG - 1;
    }
    inst_t *in = &pg->code[pg->n];
    in->op = (uint8_t)op;
    in->c = 0;
    in->cls = 0;
    in->x = in->y = 0;
    return pg->n++;
}

static void gen(prog_t *pg, const parser_t *ps, int ni)
{
    const node_t *nd = &ps->nodes[ni];
    int l1, l2;
    switch (nd->kind) {
    case N_LIT:
        l1 = emit(pg, I_CHAR);
        pg->code[l1].c = (uint8_t)nd->a;
        break;
    case N_ANY: emit(pg, I_ANY); break;
    case N_CLASS:
        l1 = emit(pg, I_CLASS);
        pg->code[l1].cls = (int16_t)nd->a;
        break;
    case N_BOL: emit(pg, I_BOL); break;
    case N_EOL: emit(pg, I_EOL); break;
    case N_EMPTY: break;
    case N_CAT:
        gen(pg, ps, nd->a);
        gen(pg, ps, nd->b);
        break;
    case N_ALT:
        l1 = emit(pg, I_SPLIT);
        pg->code[l1].x = pg->n;
        gen(pg, ps, nd->a);
        l2 = emit(pg, I_JMP);
        pg->code[l1].y = pg->n;
        gen(pg, ps, nd->b);
        pg->code[l2].x = pg->n;
        break;
    case N_STAR:
        l1 = emit(pg, I_SPLIT);
        pg->code[l1].x = pg->n;
        gen(pg, ps, nd->a);
        l2 = emit(pg, I_JMP);
        pg->code[l2].x = l1;
        pg->code[l1].y = pg->n;
        break;
    case N_PLUS:
        l1 = pg->n;
        gen(pg, ps, nd->a);
        l2 = emit(pg, I_SPLIT);
        pg->code[l2].x = l1;
        pg->code[l2].y = pg->n;
        break;
    case N_QUEST:
        l1 = emit(pg, I_SPLIT);
        pg->code[l1].x = pg->n;
        gen(pg, ps, nd->a);
        pg->code[l1].y = pg->n;
        break;
    case N_REP: {
        for (int k = 0; k < nd->min; k++)
            gen(pg, ps, nd->a);
        if (nd->max < 0) {
            l1 = emit(pg, I_SPLIT);
            pg->code[l1].x = pg->n;
            gen(pg, ps, nd->a);
            l2 = emit(pg, I_JMP);
            pg->code[l2].x = l1;
            pg->code[l1].y = pg->n;
        } else {
            /* x? nested: each optional copy may only follow the previous one */
            int pend[64], np = 0;
            for (int k = nd->min; k < nd->max; k++) {
                l1 = emit(pg, I_SPLIT);
                pg->code[l1].x = pg->n;
                if (np < 64)
                    pend[np++] = l1;
                else
                    pg->err = 1;
                gen(pg, ps, nd->a);
            }
            for (int k = 0; k < np; k++)
                pg->code[pend[k]].y = pg->n;
        }
        break;
    }
    }
}

static int compile(const char *pat, prog_t *pg)
{
    static parser_t ps;
    ps.p = pat;
    ps.err = 0;
    ps.nn = 0;
    ps.nclasses = 0;
    int root = parse_alt(&ps);
    if (*ps.p)
        ps.err = 1;
    if (ps.err)
        return -1;
    pg->n = 0;
    pg->err = 0;
    gen(pg, &ps, root);
    emit(pg, I_MATCH);
    memcpy(pg->classes, ps.classes, sizeof ps.classes);
    pg->first_lit = pg->code[0].op == I_CHAR ? pg->code[0].c : -1;
    return pg->err ? -1 : 0;
}

/* ---------------- Thompson NFA simulation ---------------- */
typedef struct {
    int *clist, *nlist, *stack;
    uint32_t *mark;
    uint32_t gen;
} nfa_t;

static inline int cls_has(const uint32_t *c, unsigned ch)
{
    return (c[ch >> 5] >> (ch & 31)) & 1u;
}

static void addthread(const prog_t *pg, nfa_t *st, int *list, int *ln, int pc0, int pos, int len)
{
    int sp = 0;
    st->stack[sp++] = pc0;
    while (sp) {
        int pc = st->stack[--sp];
        if (st->mark[pc] == st->gen)
            continue;
        st->mark[pc] = st->gen;
        const inst_t *in = &pg->code[pc];
        switch (in->op) {
        case I_JMP: st->stack[sp++] = in->x; break;
        case I_SPLIT:
            st->stack[sp++] = in->y;
            st->stack[sp++] = in->x;
            break;
        case I_BOL:
            if (pos == 0)
                st->stack[sp++] = pc + 1;
            break;
        case I_EOL:
            if (pos == len)
                st->stack[sp++] = pc + 1;
            break;
        default: list[(*ln)++] = pc; break;
        }
    }
}

/* earliest position where some match ends, or -1 */
static int nfa_search(const prog_t *pg, nfa_t *st, const uint8_t *s, int len)
{
    int cn = 0, nn;
    st->gen++;
    addthread(pg, st, st->clist, &cn, 0, 0, len);
    for (int pos = 0;; pos++) {
        for (int i = 0; i < cn; i++)
            if (pg->code[st->clist[i]].op == I_MATCH)
                return pos;
        if (pos == len)
            return -1;
        unsigned ch = s[pos];
        nn = 0;
        st->gen++;
        for (int i = 0; i < cn; i++) {
            const inst_t *in = &pg->code[st->clist[i]];
            int ok;
            switch (in->op) {
            case I_CHAR: ok = in->c == ch; break;
            case I_ANY: ok = ch != '\n'; break;
            case I_CLASS: ok = cls_has(pg->classes[in->cls], ch); break;
            default: ok = 0; break;
            }
            if (ok)
                addthread(pg, st, st->nlist, &nn, st->clist[i] + 1, pos + 1, len);
        }
        /* unanchored search: a new thread may start at every position */
        if (pg->first_lit < 0 || (pos + 1 < len && s[pos + 1] == pg->first_lit))
            addthread(pg, st, st->nlist, &nn, 0, pos + 1, len);
        int *t = st->clist;
        st->clist = st->nlist;
        st->nlist = t;
        cn = nn;
    }
}

/* ---------------- backtracking VM with a visited bitmap ---------------- */
typedef struct {
    uint64_t *visited;
    size_t vwords;
    int *stk;
    size_t stkcap;
} bt_t;

static int bt_search(const prog_t *pg, bt_t *bt, const uint8_t *s, int len)
{
    size_t cols = (size_t)len + 1;
    size_t bits = (size_t)pg->n * cols;
    size_t words = (bits + 63) / 64;
    if (words > bt->vwords) {
        free(bt->visited);
        bt->visited = malloc(words * sizeof(uint64_t));
        bt->vwords = words;
    }
    memset(bt->visited, 0, words * sizeof(uint64_t));
    for (int start = 0; start <= len; start++) {
        if (pg->first_lit >= 0 && (start == len || s[start] != pg->first_lit))
            continue;
        size_t sp = 0;
        bt->stk[sp++] = 0;
        bt->stk[sp++] = start;
        while (sp) {
            int pos = bt->stk[--sp];
            int pc = bt->stk[--sp];
            for (;;) {
                size_t bit = (size_t)pc * cols + (size_t)pos;
                if (bt->visited[bit >> 6] & (1ull << (bit & 63)))
                    break;
                bt->visited[bit >> 6] |= 1ull << (bit & 63);
                const inst_t *in = &pg->code[pc];
                int go = 0;
                switch (in->op) {
                case I_CHAR: go = pos < len && s[pos] == in->c; if (go) pos++; pc++; break;
                case I_ANY: go = pos < len && s[pos] != '\n'; if (go) pos++; pc++; break;
                case I_CLASS:
                    go = pos < len && cls_has(pg->classes[in->cls], s[pos]);
                    if (go) pos++;
                    pc++;
                    break;
                case I_MATCH: return 1;
                case I_JMP: pc = in->x; go = 1; break;
                case I_SPLIT:
                    if (sp + 2 > bt->stkcap) {
                        bt->stkcap *= 2;
                        bt->stk = realloc(bt->stk, bt->stkcap * sizeof(int));
                    }
                    bt->stk[sp++] = in->y;
                    bt->stk[sp++] = pos;
                    pc = in->x;
                    go = 1;
                    break;
                case I_BOL: go = pos == 0; pc++; break;
                case I_EOL: go = pos == len; pc++; break;
                }
                if (!go)
                    break;
            }
        }
    }
    return 0;
}

/* ---------------- generated input ---------------- */
static uint64_t rs = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
    rs ^= rs << 7;
    rs ^= rs >> 9;
    return (uint32_t)(rs >> 16);
}

static const char *pick(const char *const *a, int n)
{
    return a[rnd() % (uint32_t)n];
}

static int gen_line(char *out, int cap)
{
    static const char *const lvl[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR", "FATAL"};
    static const char *const users[] = {"alice", "bob", "carol", "dave", "erin", "mallory7", "trent", "x9"};
    static const char *const res[] = {"items", "users", "orders", "cart", "search"};
    static const char *const dom[] = {"com", "org", "net", "io"};
    static const char *const noise[] = {"abcab", "aab", "xyz", "qq", "bab", "zzyx", "abcdef", "aaaaaaaaab"};
    int n = snprintf(out, (size_t)cap, "2024-%02u-%02u %02u:%02u:%02u %s user=%s id=%u ",
                     rnd() % 12u + 1, rnd() % 28u + 1, rnd() % 24u, rnd() % 60u, rnd() % 60u,
                     pick(lvl, 7), pick(users, 8), rnd() % 100000u);
    uint32_t kind = rnd() % 4u;
    if (kind == 0)
        n += snprintf(out + n, (size_t)(cap - n), "GET /api/v%u/%s/%u status=%u took=%ums",
                      rnd() % 3u + 1, pick(res, 5), rnd() % 5000u,
                      (rnd() % 8u == 0) ? 500u + rnd() % 4u : 200u + (rnd() % 3u) * 100u,
                      rnd() % 4000u);
    else if (kind == 1)
        n += snprintf(out + n, (size_t)(cap - n), "mail from %s.%u@%s.%s phone %03u-%04u",
                      pick(users, 8), rnd() % 100u, pick(users, 8), pick(dom, 4), rnd() % 1000u,
                      rnd() % 10000u);
    else
        for (int k = 0, m = (int)(rnd() % 6u) + 2; k < m && n < cap - 16; k++)
            n += snprintf(out + n, (size_t)(cap - n), "%s ", pick(noise, 8));
    return n;
}

int main(int argc, char **argv)
{
    int nlines = argc > 1 ? atoi(argv[1]) : 20000;
    int passes = argc > 2 ? atoi(argv[2]) : 3;
    if (nlines < 1)
        nlines = 1;
    if (passes < 1)
        passes = 1;

    static const char *const pats[] = {
        "ERROR|FATAL",
        "user=[a-z]+[0-9]",
        "status=5[0-9][0-9]",
        "^[0-9]+-[0-9]+-[0-9]+ [0-9:]+ WARN",
        "(a|b)*c(d|e)+f?",
        "/api/v[0-9]+/(items|users)/[0-9]+ ",
        "[^ ]+@[a-z]+\\.(com|org|net)",
        "took=[0-9]{4,}ms",
        "x.*y.*z",
        "(ab|a)*(b|ba)*q",
        "\\d{3}-\\d{4}$",
        "(a+)+b",
        "id=\\d*(13|37|42)\\d* ",
        "[A-Z]{4,5} user=(alice|bob|carol) .*(ms|io)$",
        "((a|b|c)(d|e)?)*f",
        "\\w+\\.\\d{1,2}@",
    };
    enum { NP = sizeof pats / sizeof pats[0] };

    static prog_t progs[NP];
    int maxn = 0;
    for (int i = 0; i < NP; i++) {
        if (compile(pats[i], &progs[i]) != 0) {
            printf("pattern %d failed to compile\n", i);
            return 1;
        }
        if (progs[i].n > maxn)
            maxn = progs[i].n;
    }

    /* lines, stored back to back */
    size_t cap = (size_t)nlines * 160;
    char *text = malloc(cap);
    int *off = malloc(((size_t)nlines + 1) * sizeof *off);
    size_t pos = 0;
    for (int i = 0; i < nlines; i++) {
        off[i] = (int)pos;
        pos += (size_t)gen_line(text + pos, 150);
    }
    off[nlines] = (int)pos;

    nfa_t st;
    st.clist = malloc((size_t)maxn * sizeof(int));
    st.nlist = malloc((size_t)maxn * sizeof(int));
    st.stack = malloc(((size_t)maxn * 2 + 2) * sizeof(int));
    st.mark = calloc((size_t)maxn, sizeof(uint32_t));
    st.gen = 0;
    bt_t bt = {NULL, 0, malloc(1024 * sizeof(int)), 1024};

    long count[NP] = {0};
    uint64_t endsum[NP] = {0};
    long disagree = 0;
    for (int p = 0; p < passes; p++) {
        for (int i = 0; i < NP; i++) {
            const prog_t *pg = &progs[i];
            for (int l = 0; l < nlines; l++) {
                const uint8_t *s = (const uint8_t *)text + off[l];
                int len = off[l + 1] - off[l];
                int e = nfa_search(pg, &st, s, len);
                /* backtracking cross-check on a subset of lines each pass */
                if ((l + p) % 4 == 0) {
                    int b = bt_search(pg, &bt, s, len);
                    if (b != (e >= 0))
                        disagree++;
                }
                if (p == 0 && e >= 0) {
                    count[i]++;
                    endsum[i] += (uint64_t)e;
                }
            }
        }
    }

    uint64_t chk = 0xCBF29CE484222325ull;
    printf("regexvm: %d lines (%zu bytes), %d patterns, %d passes\n", nlines, pos, NP, passes);
    printf("matching lines:");
    for (int i = 0; i < NP; i++) {
        printf(" %ld", count[i]);
        chk = (chk ^ endsum[i]) * 0x100000001B3ull;
    }
    printf("\nNFA/backtracking disagreements: %ld\n", disagree);
    printf("match end checksum: %016llx\n", (unsigned long long)chk);
    free(text); free(off);
    free(st.clist); free(st.nlist); free(st.stack); free(st.mark);
    free(bt.visited); free(bt.stk);
    return 0;
}
