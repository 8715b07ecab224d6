"""Program families: triangular and imperfect nests, matrix kernels, prefix scans, histograms.

As in :mod:`irpipe.label.programs.families_a`, values stay bounded: floating-point matrices are
scaled by a power of two at least their inner dimension (sums of products stay below 1), and
integer sums are shifted back into the data range.
"""

from __future__ import annotations

import random

from irpipe.label.programs.common import EType, Kernel, big
from irpipe.label.programs.families_a import _hash, _pick_len


def _log2_ceil(n: int) -> int:
    return max(0, (n - 1).bit_length())


def _scaled_fill(name: str, count: str, t: EType, shift: int) -> str:
    """Allocate ``name`` and fill it with values scaled down by 2**shift (floating point only)."""
    if not t.is_float:
        return f"T *{name} = fill({count});\n"
    return (f"T *{name} = fill({count});\n"
            f"for (long q = 0; q < {count}; q++) {name}[q] = {name}[q] * {t.lit(2.0 ** -shift)};\n")


def _store(t: EType, value: str, shift: int) -> str:
    """``value`` (an accumulated sum of products) back in the element type's range."""
    return f"(T)({value})" if t.is_float else f"(T)(({value}) >> {shift})"


# ------------------------------------------------------------------- triangular and imperfect

def make_nest(rng: random.Random, t: EType) -> Kernel:
    """Lower/upper triangular matrix-vector products, all pairs below the diagonal, or an
    imperfect nest (statements around two inner loops)."""
    variant = rng.choice(("lower-matvec", "upper-matvec", "pair-distances", "imperfect-rows"))
    acc = "A" if not t.is_float else ("double" if t.c == "float" and rng.random() < 0.4 else "T")
    if variant == "pair-distances":
        n = rng.choice((601, 1000, 2048, 3001))
        d = "T d = x[i] - x[j];" if t.is_float else "long d = (long)x[i] - (long)x[j];"
        code = ("static A pairs(SIZE_PARAMS const T *RESTRICT x) {\n"
                f"  {acc} s = 0;\n  for (long i = 0; i < N; i++)\n    for (long j = 0; j < i; j++) {{\n"
                f"      {d}\n      s += ({acc})(d < 0 ? -d : d);\n    }}\n  return (A)s;\n}}\n")
        return Kernel("nest", variant, t, {"N": n}, code, setup="T *x = fill(N);\n",
                      step=f"A v = pairs(SIZE_ARGS x);\nh = mix(h, {_hash(t, 'v')});\n"
                           "x[(r * 7919L) % N] = x[(r * 31L + 1) % N];\n",
                      finish="h = digest(h, x, sizeof(T) * (size_t)N);\n", per_rep=n * n // 2,
                      ns=0.8 if t.is_float else 0.3)
    if variant == "imperfect-rows":
        nx, ny = rng.choice(((2000, 1000), (513, 3001), (100000, 12), (30000, 33), (64, 40000)))
        k = _log2_ceil(ny)
        half = t.lit(0.5)
        inner = ("t += a[i * NY + j] * x[j];" if t.is_float else "t += (A)a[i * NY + j] * (A)x[j];")
        pre = f"{acc} t = 0;"
        post = (f"T v = (T)(t * {half}) + y[i] * {half};\n    y[i] = v;\n"
                f"    for (long j = 0; j < NY; j++) z[j] = z[j] * {half} + v * {half};"
                if t.is_float else
                f"T v = (T)(((t >> {k + 7}) + (A)y[i]) >> 1);\n    y[i] = v;\n"
                "    for (long j = 0; j < NY; j++) z[j] = (T)(((A)z[j] + (A)v) >> 1);")
        code = ("static void nest(SIZE_PARAMS const T *RESTRICT a, const T *RESTRICT x, T *RESTRICT y, T *RESTRICT z) {\n"
                f"  for (long i = 0; i < NX; i++) {{\n    {pre}\n    for (long j = 0; j < NY; j++) {inner}\n"
                f"    {post}\n  }}\n}}\n")
        return Kernel("nest", variant, t, {"NX": nx, "NY": ny}, code,
                      setup=_scaled_fill("a", "NX * NY", t, k) + "T *x = fill(NY);\nT *y = fill(NX);\nT *z = fill(NY);\n",
                      step="nest(SIZE_ARGS a, x, y, z);\nx[r % NY] = z[(r * 7L) % NY];\n",
                      finish="h = digest(h, y, sizeof(T) * (size_t)NX);\nh = digest(h, z, sizeof(T) * (size_t)NY);\n",
                      per_rep=nx * ny * 2, ns=0.5 if t.is_float else 0.15, knobs={"accumulator": acc})
    n = rng.choice((500, 777, 1024, 1500, 2047))
    k = _log2_ceil(n)
    lo, hi = ("0", "i + 1") if variant == "lower-matvec" else ("i", "N")
    inner = "s += m[i * N + j] * x[j];" if t.is_float else "s += (A)m[i * N + j] * (A)x[j];"
    code = ("static void tri(SIZE_PARAMS const T *RESTRICT m, const T *RESTRICT x, T *RESTRICT y) {\n"
            f"  for (long i = 0; i < N; i++) {{\n    {acc} s = 0;\n    for (long j = {lo}; j < {hi}; j++) {inner}\n"
            f"    y[i] = {_store(t, 's', k + 7)};\n  }}\n}}\n")
    return Kernel("nest", variant, t, {"N": n}, code,
                  setup=_scaled_fill("m", "N * N", t, k) + "T *x = fill(N);\nT *y = fill(N);\n",
                  step="tri(SIZE_ARGS m, x, y);\nT *swap = x;\nx = y;\ny = swap;\n",
                  finish="h = digest(h, x, sizeof(T) * (size_t)N);\n", per_rep=n * n // 2,
                  ns=0.8 if t.is_float else 0.2, knobs={"accumulator": acc})


# -------------------------------------------------------------------------------- matrices

def make_matrix(rng: random.Random, t: EType) -> Kernel:
    """Matrix product (dot or axpy loop order), matrix-vector by rows or by columns, or a
    transpose-and-average (plain or tiled)."""
    variant = rng.choice(("matmul-ijk", "matmul-ikj", "matvec-rows", "matvec-cols", "transpose", "transpose-tiled"))
    if variant.startswith("matmul"):
        return _matmul(rng, t, variant)
    n = rng.choice((300, 512, 777, 1024, 1500, 2000))
    return _matvec(t, variant, n) if variant.startswith("matvec") else _transpose(rng, t, variant, n)


def _matmul(rng: random.Random, t: EType, variant: str) -> Kernel:
    """C = A B in the dot (ijk) or axpy (ikj) loop order."""
    ni, nj, nk = rng.choice(((96, 96, 96), (128, 129, 127), (200, 64, 150), (64, 256, 8), (45, 300, 77), (160, 160, 160)))
    k = _log2_ceil(nk)
    if variant == "matmul-ijk":
        inner = "s += a[i * NK + q] * b[q * NJ + j];" if t.is_float else "s += (A)a[i * NK + q] * (A)b[q * NJ + j];"
        body = ("  for (long i = 0; i < NI; i++)\n    for (long j = 0; j < NJ; j++) {\n"
                f"      A s = 0;\n      for (long q = 0; q < NK; q++) {inner}\n      c[i * NJ + j] = {_store(t, 's', k + 7)};\n    }}\n")
    else:
        upd = "acc[i * NJ + j] += aiq * (A)b[q * NJ + j];"
        body = ("  memset(acc, 0, sizeof(A) * (size_t)(NI * NJ));\n  for (long i = 0; i < NI; i++)\n"
                "    for (long q = 0; q < NK; q++) {\n      A aiq = (A)a[i * NK + q];\n"
                f"      for (long j = 0; j < NJ; j++) {upd}\n    }}\n"
                f"  for (long i = 0; i < NI * NJ; i++) c[i] = {_store(t, 'acc[i]', k + 7)};\n")
    code = ("static void matmul(SIZE_PARAMS const T *RESTRICT a, const T *RESTRICT b, T *RESTRICT c, A *RESTRICT acc) {\n"
            f"  (void)acc;\n{body}}}\n")
    return Kernel("matrix", variant, t, {"NI": ni, "NJ": nj, "NK": nk}, code,
                  setup=_scaled_fill("a", "NI * NK", t, k)
                  + "T *b = fill(NK * NJ);\nT *c = fill(NI * NJ);\nA *acc = xalloc((size_t)(NI * NJ), sizeof(A));\n",
                  step="matmul(SIZE_ARGS a, b, c, acc);\na[(r * 7919L) % (NI * NK)] = b[(r * 31L) % (NK * NJ)];\n"
                       "h = mix(h, " + _hash(t, "c[(r * 17L) % (NI * NJ)]") + ");\n",
                  finish="h = digest(h, c, sizeof(T) * (size_t)(NI * NJ));\n", per_rep=ni * nj * nk,
                  ns=0.17 if variant == "matmul-ikj" else 0.9 if t.is_float else 0.5)


def _matvec(t: EType, variant: str, n: int) -> Kernel:
    """y = M x, a dot product per row or an axpy per column."""
    k = _log2_ceil(n)
    if variant == "matvec-rows":
        inner = "s += m[i * N + j] * x[j];" if t.is_float else "s += (A)m[i * N + j] * (A)x[j];"
        body = (f"  for (long i = 0; i < N; i++) {{\n    A s = 0;\n    for (long j = 0; j < N; j++) {inner}\n"
                f"    y[i] = {_store(t, 's', k + 7)};\n  }}\n")
    else:
        body = ("  memset(acc, 0, sizeof(A) * (size_t)N);\n  for (long j = 0; j < N; j++) {\n    A xj = (A)x[j];\n"
                "    for (long i = 0; i < N; i++) acc[i] += (A)m[j * N + i] * xj;\n  }\n"
                f"  for (long i = 0; i < N; i++) y[i] = {_store(t, 'acc[i]', k + 7)};\n")
    code = ("static void matvec(SIZE_PARAMS const T *RESTRICT m, const T *RESTRICT x, T *RESTRICT y, A *RESTRICT acc) {\n"
            f"  (void)acc;\n{body}}}\n")
    return Kernel("matrix", variant, t, {"N": n}, code,
                  setup=_scaled_fill("m", "N * N", t, k) + "T *x = fill(N);\nT *y = fill(N);\n"
                        "A *acc = xalloc((size_t)N, sizeof(A));\n",
                  step="matvec(SIZE_ARGS m, x, y, acc);\nT *swap = x;\nx = y;\ny = swap;\n",
                  finish="h = digest(h, x, sizeof(T) * (size_t)N);\n", per_rep=n * n,
                  ns=0.25 if variant == "matvec-cols" else 0.8 if t.is_float else 0.3)


def _transpose(rng: random.Random, t: EType, variant: str, n: int) -> Kernel:
    """B = (A^T + B) / 2, plain or in square tiles."""
    avg = ("b[j * N + i] = a[i * N + j] * {h} + b[j * N + i] * {h};".format(h=t.lit(0.5)) if t.is_float
           else "b[j * N + i] = (T)(((A)a[i * N + j] + (A)b[j * N + i]) >> 1);")
    if variant == "transpose":
        loops = f"  for (long i = 0; i < N; i++)\n    for (long j = 0; j < N; j++) {avg}\n"
    else:
        tile = rng.choice((8, 16, 32))
        loops = (f"  for (long ii = 0; ii < N; ii += {tile})\n    for (long jj = 0; jj < N; jj += {tile})\n"
                 f"      for (long i = ii; i < ii + {tile} && i < N; i++)\n"
                 f"        for (long j = jj; j < jj + {tile} && j < N; j++) {avg}\n")
    code = f"static void transpose(SIZE_PARAMS const T *RESTRICT a, T *RESTRICT b) {{\n{loops}}}\n"
    return Kernel("matrix", variant, t, {"N": n}, code, setup="T *a = fill(N * N);\nT *b = fill(N * N);\n",
                  step="transpose(SIZE_ARGS a, b);\nT *swap = a;\na = b;\nb = swap;\n",
                  finish="h = digest(h, a, sizeof(T) * (size_t)(N * N));\n", per_rep=n * n * 2,
                  ns=0.5 * (6 if big(n * n, t) and variant == "transpose" else 3 if big(n * n, t) else 1))


# ----------------------------------------------------------------------------------- scans

def make_scan(rng: random.Random, t: EType) -> Kernel:
    """Inclusive or exclusive prefix sums, segmented sums, row-wise scans of a 2-D array, or a
    first-order recurrence (decay)."""
    variant = rng.choice(("inclusive", "exclusive", "segmented", "rows", "decay"))
    acc = "A" if not t.is_float else t.c
    if variant == "rows":
        nx, ny = rng.choice(((100000, 7), (20000, 33), (1000, 1000), (50, 20011)))
        sizes, total = {"NX": nx, "NY": ny}, "NX * NY"
        body = (f"  for (long i = 0; i < NX; i++) {{\n    {acc} s = 0;\n"
                f"    for (long j = 0; j < NY; j++) {{ s += ({acc})in[i * NY + j]; out[i * NY + j] = (T)s; }}\n  }}\n")
    else:
        sizes, total = {"N": _pick_len(rng, 4096, 1 << 21)}, "N"
        seg = rng.choice((4, 64, 1024))
        stmt = {"inclusive": f"s += ({acc})in[i]; out[i] = (T)s;",
                "exclusive": f"out[i] = (T)s; s += ({acc})in[i];",
                "segmented": f"if (flag[i]) s = 0; s += ({acc})in[i]; out[i] = (T)s;",
                "decay": (f"s = s * {t.lit(0.5)} + in[i]; out[i] = s;" if t.is_float
                          else "s = (s >> 1) + (A)in[i]; out[i] = (T)s;")}[variant]
        body = f"  {acc} s = 0;\n  for (long i = 0; i < N; i++) {{ {stmt} }}\n"
        if variant == "segmented":
            sizes["SEG"] = seg
    code = ("static void scan(SIZE_PARAMS const T *RESTRICT in, T *RESTRICT out, const unsigned char *RESTRICT flag) {\n"
            f"  (void)flag;\n{body}}}\n")
    per_rep = 1
    for v in (sizes.get("N"), sizes.get("NX"), sizes.get("NY")):
        per_rep *= v or 1
    return Kernel("scan", variant, t, sizes, code,
                  setup=(f"long total = {total};\nT *in = fill(total);\nT *out = xalloc((size_t)total, sizeof(T));\n"
                         "unsigned char *flag = xalloc((size_t)total, 1);\n"
                         + ("for (long i = 0; i < total; i++) flag[i] = rnd() % (uint32_t)SEG == 0;\n"
                            if variant == "segmented" else "")),
                  step=f"scan(SIZE_ARGS in, out, flag);\nh = mix(h, {_hash(t, 'out[total - 1]')});\n"
                       "in[(r * 7919L) % total] = " + ("in[(r * 31L) % total] * " + t.lit(0.5) + " + in[(r * 7L) % total] * " + t.lit(0.5)
                       if t.is_float else "(T)(((A)in[(r * 31L) % total] + (A)in[(r * 7L) % total]) >> 1)") + ";\n",
                  finish="h = digest(h, out, sizeof(T) * (size_t)total);\n", per_rep=per_rep * 2,
                  ns=0.5 if t.is_float else 0.15,
                  knobs={"accumulator": acc})


# ------------------------------------------------------------------------------ histograms

def make_histogram(rng: random.Random, t: EType) -> Kernel:
    """Counts or weighted sums into NB bins; keys uniform, skewed, in runs, or computed from
    the data."""
    variant = rng.choice(("count", "weighted"))
    keys = rng.choice(("uniform", "skewed", "runs", "computed"))
    nb = rng.choice((16, 256, 1000, 4096, 65536, 100003))
    n = _pick_len(rng, 16384, 1 << 21)
    draw = {"uniform": "rnd() % (uint32_t)NB",
            "skewed": "(rnd() % (uint32_t)NB) & (rnd() % (uint32_t)NB)",
            "runs": f"(uint32_t)((i / {rng.choice((4, 32))}) % NB)",
            "computed": None}[keys]
    if keys == "computed":
        key = ("(uint32_t)(w[i] * (T)NB) % (uint32_t)NB" if t.is_float
               else "(uint32_t)(((uint64_t)(A)w[i] * 2654435761u) % (uint64_t)NB)")
    else:
        key = "key[i]"
    if variant == "count":
        btype, update = "uint32_t", "bins[k] += 1;"
    else:
        btype = "T"
        update = f"bins[k] += w[i] * {t.lit(0.25)};" if t.is_float else "bins[k] = (T)((A)bins[k] + (A)w[i]);"
    code = (f"typedef {btype} B;\n"
            "static void histogram(SIZE_PARAMS const uint32_t *RESTRICT key, const T *RESTRICT w, B *RESTRICT bins) {\n"
            f"  (void)key;\n  for (long i = 0; i < N; i++) {{\n    uint32_t k = {key};\n    {update}\n  }}\n}}\n")
    setup = ("T *w = fill(N);\nB *bins = xalloc((size_t)NB, sizeof(B));\nuint32_t *key = xalloc((size_t)N, sizeof(uint32_t));\n"
             + (f"for (long i = 0; i < N; i++) key[i] = {draw};\n" if draw else ""))
    return Kernel("histogram", f"{variant}-{keys}", t, {"N": n, "NB": nb}, code, setup=setup,
                  step="histogram(SIZE_ARGS key, w, bins);\nw[(r * 7919L) % N] = w[(r * 31L + 5) % N];\n"
                       "key[(r * 104729L) % N] = key[(r * 13L) % N];\n",
                  finish="h = digest(h, bins, sizeof(B) * (size_t)NB);\n", per_rep=n * 2,
                  ns=(0.5 if t.is_float and variant == "weighted" else 0.25) * (2 if keys == "runs" else 1),
                  knobs={"bins": str(nb), "keys": keys})
