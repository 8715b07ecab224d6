"""Program families: stencils, reductions, indirect accesses (gathers and scatters).

Each ``make_*`` draws one :class:`~irpipe.label.programs.common.Kernel` from ``rng`` for an
element type.  Values stay bounded over any number of repetitions (floating-point stencil
weights are binary fractions that sum to exactly 1, integer ones sum to a power of two that
the result is shifted by), so no run reaches infinities, denormals or undefined behaviour.
"""

from __future__ import annotations

import itertools
import random

from irpipe.label.programs.common import EType, Kernel, big

#: trip counts: powers of two, odd numbers and small ones, by shape
LARGE = (1 << 16, 1 << 18, 1 << 20, 1 << 21)
ODD = (997, 1023, 4093, 10007, 65521, 131071, 250001, 999983)


def _pick_len(rng: random.Random, lo: int = 4096, hi: int = 1 << 21) -> int:
    pool = [n for n in (*LARGE, *ODD) if lo <= n <= hi]
    return rng.choice(pool)


def _hash(t: EType, value: str) -> str:
    return f"bits64((double)({value}))" if t.is_float else f"(uint64_t)({value})"


# ---------------------------------------------------------------------------------- stencils

def _offsets(dims: int, radius: int, shape: str) -> list[tuple[int, ...]]:
    if shape == "box":
        return list(itertools.product(range(-radius, radius + 1), repeat=dims))
    pts = [(0,) * dims]
    for axis in range(dims):
        for d in range(1, radius + 1):
            for sign in (-1, 1):
                p = [0] * dims
                p[axis] = sign * d
                pts.append(tuple(p))
    return pts


def _stencil_sizes(rng: random.Random, dims: int) -> dict[str, int]:
    if dims == 1:
        return {"N": _pick_len(rng, 4096)}
    if dims == 2:
        shape = rng.choice(("square", "square", "small-inner", "small-outer"))
        side = rng.choice((129, 256, 333, 512, 700, 1023, 1500))
        if shape == "square":
            return {"NX": side, "NY": rng.choice((side, side + 1, side // 2 + 1))}
        small, big = rng.choice((5, 7, 9, 12, 16)), rng.choice((20000, 65536, 99999))
        return {"NX": big, "NY": small} if shape == "small-inner" else {"NX": small, "NY": big}
    side = rng.choice((24, 33, 48, 64, 80, 101))
    inner = rng.choice((side, side, 7, 10))
    return {"NX": side, "NY": side, "NZ": inner}


def make_stencil(rng: random.Random, t: EType) -> Kernel:
    """A Jacobi sweep (two buffers) in 1, 2 or 3 dimensions, star or box, radius 1-4."""
    dims = rng.choice((1, 2, 2, 3))
    shape = "star" if dims == 1 else rng.choice(("star", "star", "box"))
    radius = rng.choice((1, 2, 3, 4) if dims == 1 else (1, 2) if shape == "box" and dims == 2
                        else (1,) if shape == "box" else (1, 2, 3))
    sizes = _stencil_sizes(rng, dims)
    names = list(sizes)
    radius = min(radius, (min(sizes.values()) - 1) // 2)
    pts = _offsets(dims, radius, shape)
    order = list(range(dims))
    if dims > 1 and rng.random() < 0.25:
        order = order[::-1]  # column order: the innermost loop strides through memory
    ivars = "ijk"[:dims]
    flat = {1: "{0}", 2: "({0}) * NY + ({1})", 3: "(({0}) * NY + ({1})) * NZ + ({2})"}[dims]

    def at(p: tuple[int, ...]) -> str:
        return flat.format(*(f"{v} + {d}" if d > 0 else f"{v} - {-d}" if d < 0 else v for v, d in zip(ivars, p)))

    body = _stencil_body(rng, t, pts, at)
    loops, indent = "", "  "
    for axis in order:
        loops += f"{indent}for (long {ivars[axis]} = {radius}; {ivars[axis]} < {names[axis]} - {radius}; {ivars[axis]}++)\n"
        indent += "  "
    code = ("static void sweep(SIZE_PARAMS T *RESTRICT out, const T *RESTRICT in) {\n" + loops
            + indent + "{\n" + "".join(f"{indent}  {ln}\n" for ln in body) + f"{indent}  out[{at((0,) * dims)}] = v;\n"
            + indent + "}\n}\n")
    total = " * ".join(names)
    cells = 1
    for n in sizes.values():
        cells *= max(1, n - 2 * radius)
    return Kernel(
        "stencil", f"stencil{dims}d-{shape}-r{radius}", t, sizes, code,
        setup=f"long total = {total};\nT *a = fill(total);\nT *b = xalloc((size_t)total, sizeof(T));\n"
              "memcpy(b, a, sizeof(T) * (size_t)total);\n",
        step="sweep(SIZE_ARGS b, a);\nT *swap = a;\na = b;\nb = swap;\n",
        finish="h = digest(h, a, sizeof(T) * (size_t)total);\n",
        per_rep=cells * len(pts), ns=_stencil_ns(t, sizes, order),
        knobs={"order": "column" if order != sorted(order) else "row", "points": str(len(pts))})


def _stencil_ns(t: EType, sizes: dict[str, int], order: list[int]) -> float:
    """Estimated ns per point: vectorized rows are cheap, short or strided inner loops are not."""
    inner = list(sizes.values())[order[-1]]
    ns = 0.15 if t.is_float else 0.1
    if inner <= 16:
        ns *= 2.5
    if order != sorted(order):
        ns *= 4
    return ns


def _stencil_body(rng: random.Random, t: EType, pts: list[tuple[int, ...]], at) -> list[str]:
    """Statements computing ``v`` (weights sum to exactly 1, or to 2**shift for integers)."""
    center = tuple(0 for _ in pts[0])
    others = [p for p in pts if p != center]
    dist = [max(abs(d) for d in p) for p in others]
    if t.is_float:
        exp = max(1, (len(others)).bit_length()) + rng.choice((0, 1))
        weights = [2.0 ** -(exp + d - 1) for d in dist]
        rest = 1.0 - sum(weights)
        lines = [f"T v = {t.lit(rest)} * in[{at(center)}];"]
        lines += [f"v += {t.lit(w)} * in[{at(p)}];" for p, w in zip(others, weights)]
        return lines
    weights = [max(1, 3 - d) for d in dist]
    shift = (sum(weights) + 1).bit_length()
    lines = [f"A s = {t.lit((1 << shift) - sum(weights))} * (A)in[{at(center)}];"]
    lines += [f"s += {t.lit(w)} * (A)in[{at(p)}];" for p, w in zip(others, weights)]
    return lines + [f"T v = (T)(s >> {shift});"]


# -------------------------------------------------------------------------------- reductions

def make_reduction(rng: random.Random, t: EType) -> Kernel:
    """sum / dot / min / max / min-and-max over a strided array; small to large trip counts."""
    op = rng.choice(("sum", "dot", "min", "max", "minmax"))
    small = rng.random() < 0.2
    n = rng.choice((5, 13, 31, 64, 100)) if small else _pick_len(rng, 4096)
    stride = 1 if small or rng.random() < 0.6 else rng.choice((2, 3, 4, 8))
    n = n if stride == 1 else max(1024, n // stride)
    acc = "double" if t.c == "float" and rng.random() < 0.5 else t.c if t.is_float else "A"
    x = "a[i * STRIDE]" if stride > 1 else "a[i]"
    y = "b[i * STRIDE]" if stride > 1 else "b[i]"
    if op in ("sum", "dot"):
        ret = "s"
        if t.is_float:
            body = f"s += ({acc}){x};" if op == "sum" else f"s += ({acc}){x} * ({acc}){y};"
        else:
            body = f"s += (A){x};" if op == "sum" else f"s += (A){x} * (A){y};"
        decl = f"{acc} s = 0;"
    elif op == "minmax":
        decl, ret = "T lo = a[0], hi = a[0];", "(A)hi - (A)lo"
        body = f"T x = {x};\nlo = x < lo ? x : lo;\nhi = x > hi ? x : hi;"
    else:
        decl, ret = "T s = a[0];", "s"
        body = f"T x = {x};\ns = x {'<' if op == 'min' else '>'} s ? x : s;"
    code = (f"#define STRIDE {stride}\n"
            "static A reduce(SIZE_PARAMS const T *RESTRICT a, const T *RESTRICT b) {\n"
            f"  {decl}\n  for (long i = 0; i < N; i++) {{\n"
            + "".join(f"    {ln}\n" for ln in body.splitlines())
            + f"  }}\n  return (A)({ret});\n}}\n")
    return Kernel(
        "reduction", f"{op}-stride{stride}", t, {"N": n}, code,
        setup="T *a = fill(N * STRIDE);\nT *b = fill(N * STRIDE);\n",
        step=f"A v = reduce(SIZE_ARGS a, b);\nh = mix(h, {_hash(t, 'v')});\n"
             "a[((r * 7919L + 13) % N) * STRIDE] = b[((r * 104729L) % N) * STRIDE];\n",
        finish="h = digest(h, a, sizeof(T) * (size_t)(N * STRIDE));\n",
        per_rep=n, ns=_reduction_ns(t, op, stride) * (3 if small else 1),
        knobs={"accumulator": acc if t.is_float else "A", "trip": "small" if small else "large"})


def _reduction_ns(t: EType, op: str, stride: int) -> float:
    """Estimated ns per element: floating point is a serial chain (no reassociation without
    -ffast-math); integers vectorize, except 64-bit compares (none in SSE2) and strides."""
    if t.is_float:
        return 0.55 * (2 if stride > 1 else 1)
    if t.bytes == 8 and op in ("min", "max", "minmax"):
        return 0.3
    return 0.05 * (4 if stride > 1 else 1)


# ------------------------------------------------------------------------ gathers / scatters

def _index_expr(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(("uniform", "uniform", "local", "strided"))
    if kind == "uniform":
        return kind, "(long)(rnd() % (uint32_t)M)"
    if kind == "local":
        return kind, f"(i + (long)(rnd() % {rng.choice((8, 64, 1024))}u)) % M"
    return kind, f"(i * {rng.choice((3, 17, 33, 1031))}L) % M"


def make_indirect(rng: random.Random, t: EType) -> Kernel:
    """A gather, a scatter(-add) or both, with index arrays drawn from the seeded LCG."""
    op = rng.choice(("gather", "scatter", "gather-scatter"))
    n = _pick_len(rng, 4096, 1 << 20)
    m = rng.choice((1024, 16384, n, 1 << 20, 4 << 20))
    itype = "int32_t" if rng.random() < 0.6 else "int64_t"
    dist, expr = _index_expr(rng)
    half = t.lit(0.5)
    if op == "gather":
        stmt = (f"out[i] = a[idx[i]] * {half} + b[i] * {half};" if t.is_float
                else "out[i] = (T)(((A)a[idx[i]] + (A)b[i]) >> 1);")
        args, feed = "T *RESTRICT out, const T *RESTRICT a, const I *RESTRICT idx, const I *RESTRICT jdx, const T *RESTRICT b", \
            "a[(r * 7919L) % M] = out[r % N];\n"
    else:
        dst = "out[jdx[i]]" if op == "gather-scatter" else "out[idx[i]]"
        src = "a[idx[i]]" if op == "gather-scatter" else "b[i]"
        stmt = (f"{dst} += {src} * {half};" if t.is_float else f"{dst} = (T)((A){dst} + (A){src});")
        args, feed = "T *RESTRICT out, const T *RESTRICT a, const I *RESTRICT idx, const I *RESTRICT jdx, const T *RESTRICT b", \
            "a[(r * 7919L) % M] = b[r % N];\n"
    code = (f"typedef {itype} I;\n"
            f"static void kernel(SIZE_PARAMS {args}) {{\n"
            f"  for (long i = 0; i < N; i++) {stmt}\n}}\n")
    out_len = "N" if op == "gather" else "M"
    return Kernel(
        "indirect", f"{op}-{dist}", t, {"N": n, "M": m}, code,
        setup=(f"T *a = fill(M);\nT *b = fill(N);\nT *out = fill({out_len});\n"
               "I *idx = xalloc((size_t)N, sizeof(I));\nI *jdx = xalloc((size_t)N, sizeof(I));\n"
               f"for (long i = 0; i < N; i++) idx[i] = (I)({expr});\n"
               "for (long i = 0; i < N; i++) jdx[i] = (I)(rnd() % (uint32_t)M);\n"),
        step=f"kernel(SIZE_ARGS out, a, idx, jdx, b);\n{feed}",
        finish=f"h = digest(h, out, sizeof(T) * (size_t){out_len});\n",
        per_rep=n * 2, ns=0.35 * (6 if big(m, t) and (dist == "uniform" or op == "gather-scatter") else 1),
        knobs={"index": itype, "distribution": dist})
