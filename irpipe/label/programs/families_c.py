"""Program families whose loops run a few data-dependent iterations: searches that exit early,
and short rows.

The other families are loop nests over arrays, whose trip counts (known or not) are large.
Real programs also spend their time in loops that run 1-20 times, decided by the data: probing
a hash table, scanning a string, hashing a short key, summing the few entries of a sparse row.
Unrolling or interleaving such a loop by 8 mostly adds a remainder and branches, and a policy
trained on loop nests alone takes an unknown trip count for a large one.

* ``search``: open-addressing lookups (linear probing; the loop exits on a hit or an empty
  slot), a bounded search for the first element past a threshold, and string lengths (a scan
  to the terminating zero).
* ``shortrow``: sparse matrix-vector products with rows of 0 to a few entries, hashes of
  variable-length byte keys (byte by byte, or eight bytes at a time with a byte tail), and
  reductions over short segments.

Values stay bounded as in the other families: integer arithmetic wraps in ``A``, floating-point
sums of products are scaled by powers of two.
"""

from __future__ import annotations

import random

from irpipe.label.programs.common import EType, Kernel, big
from irpipe.label.programs.families_a import _hash

#: a multiplicative hash (Fibonacci hashing): a 64-bit key -> the top bits of its product
_SLOT = "(long)((key * 0x9E3779B97F4A7C15ull) >> 24) & mask"


#: a random 64-bit key, never 0 (0 marks an empty slot); one rnd() per statement (C leaves the
#: order of two calls in one expression unspecified)
_KEY64 = "static uint64_t key64(void) { uint64_t hi = rnd(); return (hi << 32 | rnd()) | 1u; }\n"


# ----------------------------------------------------------------------------------- search

def make_search(rng: random.Random, t: EType) -> Kernel:
    """Hash-table lookups with linear probing, a bounded first-match search, or string lengths."""
    variant = rng.choice(("probe", "probe", "first-match", "strlen"))  # the draw fixes the corpus: keep it
    return {"probe": _probe, "first-match": _first_match, "strlen": _strlen}[variant](rng, t)


def _probe(rng: random.Random, t: EType) -> Kernel:
    n = rng.choice((1000, 4093, 30011, 100003, 400009))
    q = rng.choice((1 << 14, 50021, 1 << 17))
    load = rng.choice((25, 50, 70, 85))  # percent of the slots in use: longer probe runs
    hit = rng.choice((30, 50, 90))       # percent of the queries that find their key
    code = (f"#define LOADPCT {load}\n{_KEY64}"
            "static long capacity(long n) { long c = 1; while (c * LOADPCT < n * 100) c <<= 1; return c; }\n"
            "static void put(uint64_t *RESTRICT keys, T *RESTRICT vals, long mask, uint64_t key, T v) {\n"
            f"  long i = {_SLOT};\n"
            "  for (;;) {\n"
            "    if (keys[i] == key) { vals[i] = v; return; }\n"
            "    if (keys[i] == 0) { keys[i] = key; vals[i] = v; return; }\n"
            "    i = (i + 1) & mask;\n  }\n}\n"
            "static A lookup(SIZE_PARAMS const uint64_t *RESTRICT keys, const T *RESTRICT vals, long mask,\n"
            "                const uint64_t *RESTRICT query) {\n"
            "  A s = 0;\n"
            "  for (long j = 0; j < Q; j++) {\n"
            "    uint64_t key = query[j];\n"
            f"    long i = {_SLOT};\n"
            "    for (;;) {\n"
            "      uint64_t k = keys[i];\n"
            "      if (k == key) { s += (A)vals[i]; break; }\n"
            "      if (k == 0) break;\n"
            "      i = (i + 1) & mask;\n    }\n  }\n  return s;\n}\n")
    setup = ("long cap = capacity(N), mask = cap - 1;\n"
             "uint64_t *keys = xalloc((size_t)cap, sizeof(uint64_t));\nT *vals = xalloc((size_t)cap, sizeof(T));\n"
             "uint64_t *present = xalloc((size_t)N, sizeof(uint64_t));\n"
             f"for (long i = 0; i < N; i++) {{ present[i] = key64(); put(keys, vals, mask, present[i], rnd_value()); }}\n"
             "uint64_t *query = xalloc((size_t)Q, sizeof(uint64_t));\n"
             f"for (long j = 0; j < Q; j++) query[j] = rnd() % 100u < {hit}u ? present[rnd() % (uint32_t)N] : key64();\n")
    step = (f"A v = lookup(SIZE_ARGS keys, vals, mask, query);\nh = mix(h, {_hash(t, 'v')});\n"
            "put(keys, vals, mask, present[(r * 7919L) % N], rnd_value());\n")
    probes = 1 + load / (100 - load)  # about the mean run length of linear probing
    slots = n * 100 // load
    return Kernel("search", f"probe-load{load}-hit{hit}", t, {"N": n, "Q": q}, code, setup=setup, step=step,
                  finish="h = digest(h, vals, sizeof(T) * (size_t)cap);\n", per_rep=int(q * probes),
                  ns=_probe_ns(slots * (8 + t.bytes)),
                  knobs={"load_percent": str(load), "hit_percent": str(hit)})


def _probe_ns(table_bytes: int) -> float:
    """Estimated ns per probe: random accesses into a table in L1/L2, in the last-level cache, or past it."""
    return 0.6 if table_bytes < 256 << 10 else 3.0 if table_bytes < 4 << 20 else 8.0


def _first_match(rng: random.Random, t: EType) -> Kernel:
    q = rng.choice((1 << 15, 100003, 1 << 18))
    w = rng.choice((8, 16, 64))
    p = rng.choice((5, 20, 50))  # percent of the elements past the threshold: the mean run is 100/p
    thr = t.lit(1 - p / 100) if t.is_float else f"{100 - p}"
    code = ("static A first(SIZE_PARAMS const T *RESTRICT a, const long *RESTRICT start) {\n"
            "  A s = 0;\n"
            "  for (long j = 0; j < Q; j++) {\n"
            "    const T *x = a + start[j];\n"
            "    long k = 0;\n"
            f"    for (; k < W; k++) if (x[k] >= ({t.c}){thr}) break;\n"
            "    s += (A)k;\n  }\n  return s;\n}\n")
    setup = ("long len = Q + W;\nT *a = fill(len);\nlong *start = xalloc((size_t)Q, sizeof(long));\n"
             "for (long j = 0; j < Q; j++) start[j] = (long)(rnd() % (uint32_t)Q);\n")
    step = (f"A v = first(SIZE_ARGS a, start);\nh = mix(h, {_hash(t, 'v')});\n"
            "a[(r * 7919L) % len] = rnd_value();\n")
    return Kernel("search", f"first-match-w{w}-p{p}", t, {"Q": q, "W": w}, code, setup=setup, step=step,
                  finish="h = digest(h, a, sizeof(T) * (size_t)len);\n", per_rep=q * min(w, 100 // p),
                  ns=1.2, knobs={"window": str(w), "match_percent": str(p)})


def _strlen(rng: random.Random, t: EType) -> Kernel:
    n = rng.choice((1 << 14, 50021, 1 << 17))
    longest = rng.choice((4, 12, 32, 80))
    code = ("static A lengths(SIZE_PARAMS const unsigned char *RESTRICT buf, const long *RESTRICT start) {\n"
            "  A s = 0;\n"
            "  for (long j = 0; j < N; j++) {\n"
            "    const unsigned char *p = buf + start[j];\n"
            "    long n = 0;\n"
            "    while (p[n] != 0) n++;\n"
            "    s += (A)(n * 31 + p[0]);\n  }\n  return s;\n}\n")
    setup = (f"long total = N * {longest + 1};\n"
             "unsigned char *buf = xalloc((size_t)total + 1, 1);\nlong *start = xalloc((size_t)N, sizeof(long));\n"
             "long at = 0;\n"
             "for (long j = 0; j < N; j++) {\n"
             f"  long n = (long)(rnd() % {longest + 1}u);\n"
             "  start[j] = at;\n"
             "  for (long c = 0; c < n; c++) buf[at++] = (unsigned char)(1 + rnd() % 255u);\n"
             "  buf[at++] = 0;\n}\n")
    step = (f"A v = lengths(SIZE_ARGS buf, start);\nh = mix(h, {_hash(t, 'v')});\n"
            "long pos = (r * 7919L) % at;\nif (buf[pos]) buf[pos] = (unsigned char)(1 + (buf[pos] + r) % 255);\n")
    return Kernel("search", f"strlen-{longest}", t, {"N": n}, code, setup=setup, step=step,
                  finish="h = digest(h, buf, (size_t)at);\n", per_rep=n * (longest // 2 + 5), ns=0.6,
                  knobs={"longest": str(longest)})


# --------------------------------------------------------------------------------- shortrow

def make_shortrow(rng: random.Random, t: EType) -> Kernel:
    """Sparse rows of a few entries, variable-length key hashes, or short-segment reductions."""
    variant = rng.choice(("csr", "keyhash", "keyhash", "segments"))  # the draw fixes the corpus: keep it
    return {"csr": _csr, "keyhash": _keyhash, "segments": _segments}[variant](rng, t)


def _row_lengths(count: str, longest: int, shortest: int = 0) -> str:
    """C that allocates and fills ``row``: ``count`` rows of ``shortest``..``shortest + longest``
    entries, row ``i`` from ``row[i]`` to ``row[i + 1]``."""
    first = f"{shortest} + " if shortest else ""
    return (f"long *row = xalloc((size_t){count} + 1, sizeof(long));\n"
            f"for (long i = 0; i < {count}; i++) row[i + 1] = row[i] + {first}(long)(rnd() % {longest + 1}u);\n")


def _csr(rng: random.Random, t: EType) -> Kernel:
    rows = rng.choice((1 << 14, 60013, 1 << 18))
    m = rng.choice((1024, 65536, 1 << 20))
    longest = rng.choice((2, 4, 8, 16))
    mul = "val[k] * x[col[k]]" if t.is_float else "(A)val[k] * (A)x[col[k]]"
    code = ("static void spmv(SIZE_PARAMS const long *RESTRICT row, const int32_t *RESTRICT col,\n"
            "                 const T *RESTRICT val, const T *RESTRICT x, A *RESTRICT y) {\n"
            "  for (long i = 0; i < R; i++) {\n"
            "    A s = 0;\n"
            f"    for (long k = row[i]; k < row[i + 1]; k++) s += {mul};\n"
            "    y[i] = s;\n  }\n}\n")
    back = (f"(T)(y[r % R] * {t.lit(2.0 ** -5)})" if t.is_float else "(T)(y[r % R] % 100u)")
    setup = (_row_lengths("R", longest)
             + "long nnz = row[R];\nint32_t *col = xalloc((size_t)nnz, sizeof(int32_t));\n"
             "for (long k = 0; k < nnz; k++) col[k] = (int32_t)(rnd() % (uint32_t)M);\n"
             "T *val = fill(nnz);\nT *x = fill(M);\nA *y = xalloc((size_t)R, sizeof(A));\n")
    return Kernel("shortrow", f"csr-{longest}", t, {"R": rows, "M": m}, code, setup=setup,
                  step=f"spmv(SIZE_ARGS row, col, val, x, y);\nx[r % M] = {back};\n",
                  finish="h = digest(h, y, sizeof(A) * (size_t)R);\n", per_rep=rows * (longest // 2 + 3),
                  ns=(3.0 if big(m, t) else 1.0) if t.is_float else (2.5 if big(m, t) else 0.7),
                  knobs={"longest_row": str(longest)})


def _keyhash(rng: random.Random, t: EType) -> Kernel:
    n = rng.choice((1 << 14, 50021, 1 << 17))
    longest = rng.choice((4, 8, 16, 24, 48))
    words = rng.random() < 0.5  # eight bytes at a time, then the tail byte by byte
    body = ("    uint64_t hk = 1469598103934665603ull ^ (uint64_t)n;\n    long b = 0;\n"
            + ("    for (; b + 8 <= n; b += 8) { uint64_t w; memcpy(&w, p + b, 8);"
               " hk = (hk ^ w) * 0x9E3779B97F4A7C15ull; hk ^= hk >> 31; }\n" if words else "")
            + "    for (; b < n; b++) hk = (hk ^ p[b]) * 1099511628211ull;\n")
    code = ("static uint64_t hash_keys(SIZE_PARAMS const unsigned char *RESTRICT buf, const long *RESTRICT row,\n"
            "                          uint64_t *RESTRICT out) {\n"
            "  uint64_t all = 0;\n"
            "  for (long j = 0; j < N; j++) {\n"
            "    const unsigned char *p = buf + row[j];\n"
            "    long n = row[j + 1] - row[j];\n" + body
            + "    out[j] = hk;\n    all += hk;\n  }\n  return all;\n}\n")
    setup = (_row_lengths("N", longest, shortest=1)
             + "unsigned char *buf = xalloc((size_t)row[N], 1);\n"
             "for (long i = 0; i < row[N]; i++) buf[i] = (unsigned char)rnd();\n"
             "uint64_t *out = xalloc((size_t)N, sizeof(uint64_t));\n")
    step = ("h = mix(h, hash_keys(SIZE_ARGS buf, row, out));\n"
            "buf[(r * 7919L) % row[N]] ^= (unsigned char)(r + 1);\n")
    return Kernel("shortrow", f"keyhash-{'words' if words else 'bytes'}-{longest}", t, {"N": n}, code,
                  setup=setup, step=step, finish="h = digest(h, out, sizeof(uint64_t) * (size_t)N);\n",
                  per_rep=n * (longest // (16 if words else 2) + 2), ns=1.5,
                  knobs={"longest_key": str(longest), "words": str(words).lower()})


def _segments(rng: random.Random, t: EType) -> Kernel:
    n = rng.choice((1 << 14, 60013, 1 << 17))
    longest = rng.choice((3, 7, 15))
    op = rng.choice(("sum", "max"))
    stmt = "s += (A)a[k];" if op == "sum" else "s = a[k] > s ? a[k] : s;"
    acc = "A" if op == "sum" else "T"
    code = ("static void reduce(SIZE_PARAMS const long *RESTRICT row, const T *RESTRICT a, A *RESTRICT out) {\n"
            "  for (long i = 0; i < N; i++) {\n"
            f"    {acc} s = 0;\n"
            f"    for (long k = row[i]; k < row[i + 1]; k++) {stmt}\n"
            "    out[i] = (A)s;\n  }\n}\n")
    back = f"(T)(out[r % N] * {t.lit(2.0 ** -4)})" if t.is_float else "(T)(out[r % N] % 100u)"
    setup = (_row_lengths("N", longest) + "long len = row[N];\nT *a = fill(len);\n"
             "A *out = xalloc((size_t)N, sizeof(A));\n")
    return Kernel("shortrow", f"segments-{op}-{longest}", t, {"N": n}, code, setup=setup,
                  step=f"reduce(SIZE_ARGS row, a, out);\nif (len) a[(r * 7919L) % len] = {back};\n",
                  finish="h = digest(h, out, sizeof(A) * (size_t)N);\n", per_rep=n * (longest // 2 + 3),
                  ns=0.8, knobs={"longest_segment": str(longest), "op": op})
