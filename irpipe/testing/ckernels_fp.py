"""Floating-point kernel templates for :mod:`irpipe.testing.cprograms`.

Each template takes a seeded :class:`random.Random` and a unique tag and returns a
:class:`Kernel`: C definitions (file scope) and a statement block for ``main``.
The kernels print every result with ``%a`` and ``%.17g`` (helpers ``pd``/``pf`` of
the program prelude), so a changed last bit shows.  They are UB-free by
construction: array indices in range, no float-to-int conversion out of range, no
NaN or infinity, non-exact libm functions (exp, sin, ...) only on values read from
a ``volatile`` (so no compile-time folding with another libm can change them).

Their output is also unique, which C does not promise for ``a * b + c``: clang's
default ``-ffp-contract=on`` emits ``llvm.fmuladd``, which may be fused or not, and
LLVM folds it *fused* when all three operands are constants while an x86-64 (v1)
run computes it unfused — clang -O2 then prints other digits than -O0, legally.
So every contractable expression has at least one operand read at run time: the
data of each FP kernel derive from its :func:`params`, a ``volatile`` array.
Exact operations (``+ - * /`` alone, sqrt, fma, floor, ...) keep literal operands,
so constant folding is still exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random


@dataclass(frozen=True)
class Kernel:
    """One kernel: C definitions at file scope and a block of statements for ``main``."""

    defs: str
    body: str


def lit(x: float, ty: str = "double") -> str:
    """A C literal of type ``ty`` (double or float) for ``x``, rounded to 6 digits."""
    text = repr(round(x, 6))
    return text + ("f" if ty == "float" else "")


def qual(r: Random) -> str:
    """Linkage and inlining of a kernel function, varied so the inliner sees every case."""
    return r.choice(["static ", "static inline ", "__attribute__((noinline)) static ", ""])


def count(r: Random, name: str, values: list[int]) -> tuple[str, str, int]:
    """A trip count: a literal (the optimizer sees it) or a ``volatile`` read (it does not)."""
    n = r.choice(values)
    if r.random() < 0.5:
        return f"static volatile int {name} = {n};\n", name, n
    return "", str(n), n


def params(t: str, ty: str, values: list[float]) -> tuple[str, str, list[str]]:
    """Kernel constants the compiler cannot see: a ``volatile`` array (file scope), a statement
    that reads it into locals ``q0, q1, ...`` (first in the kernel's block), and their names."""
    decl = f"static volatile {ty} prm_{t}[] = {{{', '.join(lit(v, ty) for v in values)}}};\n"
    names = [f"q{k}" for k in range(len(values))]
    read = f"{ty} " + ", ".join(f"{q} = prm_{t}[{k}]" for k, q in enumerate(names)) + ";\n"
    return decl, read, names


def _ty(r: Random) -> tuple[str, str]:
    ty = r.choice(["double", "double", "float"])
    return ty, "pd" if ty == "double" else "pf"


def dot(r: Random, t: str) -> Kernel:
    """A recurrence ``s = a[i] * b[i] + s * c``: llvm.fmuladd, not reassociable."""
    ty, pr = _ty(r)
    n_cap = r.choice([16, 97, 256, 1000])
    decl, n, _ = count(r, f"n_{t}", [0, 1, 7, n_cap // 2, n_cap])
    pdecl, read, (p, q, o) = params(t, ty, [r.uniform(1, 9), r.uniform(0.01, 0.5), r.uniform(0, 4)])
    defs = f"""static {ty} a_{t}[{n_cap}], b_{t}[{n_cap}];
{decl}{pdecl}{qual(r)}{ty} dot_{t}(int n) {{
  {ty} s = {lit(r.uniform(-1, 1), ty)};
  for (int i = 0; i < n; i++) s = a_{t}[i] * b_{t}[i] + s * {lit(r.uniform(0.5, 0.999), ty)};
  return s;
}}
"""
    body = f"""{read}for (int i = 0; i < {n_cap}; i++) {{ a_{t}[i] = 1 / (i + {p}); b_{t}[i] = i * {q} - {o}; }}
{pr}("dot_{t}", dot_{t}({n}));
"""
    return Kernel(defs, body)


def axpy(r: Random, t: str) -> Kernel:
    """``y[i] = a * x[i] + y[i]`` (vectorizable), then an in-order sum of y."""
    ty, pr = _ty(r)
    n_cap = r.choice([8, 33, 128, 515])
    decl, n, _ = count(r, f"n_{t}", [n_cap, n_cap - 1, 3])
    pdecl, read, (d, y0) = params(t, ty, [r.uniform(3, 30), r.uniform(-2, 2)])
    defs = f"""{decl}{pdecl}{qual(r)}void axpy_{t}({ty} a, const {ty} *x, {ty} *y, int n) {{
  for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}}
"""
    body = f"""{read}{ty} x[{n_cap}], y[{n_cap}], s = 0;
for (int i = 0; i < {n_cap}; i++) {{ x[i] = ({ty})i / {d}; y[i] = {y0} - ({ty})(i % 5); }}
axpy_{t}({lit(r.uniform(-3, 3), ty)}, x, y, {n});
axpy_{t}({lit(r.uniform(-3, 3), ty)}, y, x, {n});
for (int i = 0; i < {n_cap}; i++) s += y[i] * {lit(r.uniform(0.1, 1), ty)} + x[i];
{pr}("axpy_{t}", s); {pr}("axpy_{t}.y", y[{n_cap} / 2]);
"""
    return Kernel(defs, body)


def horner(r: Random, t: str) -> Kernel:
    """A polynomial by Horner's rule (an fmuladd chain) summed over a range."""
    ty, pr = _ty(r)
    poly = lit(r.uniform(-1, 1), ty)
    for _ in range(r.randint(2, 6)):
        poly = f"({poly} * x + {lit(r.uniform(-2, 2), ty)})"
    decl, m, _ = count(r, f"m_{t}", [10, 64, 201])
    pdecl, read, (step, off) = params(t, ty, [r.uniform(0.01, 0.05), r.uniform(0, 2)])
    defs = f"{decl}{pdecl}{qual(r)}{ty} poly_{t}({ty} x) {{ return {poly}; }}\n"
    body = f"""{read}{ty} s = 0;
for (int i = 0; i < {m}; i++) s += poly_{t}(({ty})i * {step} - {off});
{pr}("horner_{t}", s);
"""
    return Kernel(defs, body)


def kahan(r: Random, t: str) -> Kernel:
    """Compensated and naive summation: any reassociation changes the printed digits."""
    decl, n, _ = count(r, f"n_{t}", [10, 100, 1000, 3000])
    pdecl, read, (k,) = params(t, "double", [r.uniform(0.1, 3)])
    defs = f"""{decl}{pdecl}{qual(r)}double kahan_{t}(int n, double k, double *naive) {{
  double s = 0.0, c = 0.0, plain = 0.0;
  for (int i = 1; i <= n; i++) {{
    double v = 1.0 / ((double)i * i + k);
    double y = v - c, t = s + y;
    c = (t - s) - y; s = t; plain += v;
  }}
  *naive = plain;
  return s;
}}
"""
    body = f"""{read}double naive; double s = kahan_{t}({n}, {k}, &naive);
pd("kahan_{t}", s); pd("kahan_{t}.naive", naive); pd("kahan_{t}.diff", s - naive);
"""
    return Kernel(defs, body)


def stencil1d(r: Random, t: str) -> Kernel:
    """A 3-point Jacobi sweep repeated over two buffers."""
    ty, pr = _ty(r)
    n = r.choice([5, 17, 64, 300])
    w = [r.uniform(0.05, 0.45) for _ in range(3)]
    decl, steps, _ = count(r, f"steps_{t}", [1, 4, 20])
    pdecl, read, (m, o) = params(t, ty, [r.uniform(0.1, 1), r.uniform(0, 1)])
    defs = f"""static {ty} u_{t}[{n}], v_{t}[{n}];
{decl}{pdecl}{qual(r)}void jacobi_{t}(int steps) {{
  for (int s = 0; s < steps; s++) {{
    for (int i = 1; i < {n} - 1; i++)
      v_{t}[i] = {lit(w[0], ty)} * u_{t}[i - 1] + {lit(w[1], ty)} * u_{t}[i] + {lit(w[2], ty)} * u_{t}[i + 1];
    for (int i = 1; i < {n} - 1; i++) u_{t}[i] = v_{t}[i];
  }}
}}
"""
    body = f"""{read}{ty} s = 0;
for (int i = 0; i < {n}; i++) u_{t}[i] = v_{t}[i] = ({ty})(i % 7) * {m} - {o};
jacobi_{t}({steps});
for (int i = 0; i < {n}; i++) s += u_{t}[i];
{pr}("jacobi_{t}", s); {pr}("jacobi_{t}.mid", u_{t}[{n} / 2]);
"""
    return Kernel(defs, body)


def stencil2d(r: Random, t: str) -> Kernel:
    """A 5-point stencil on a small 2-D grid, in place (Gauss-Seidel order)."""
    ty, pr = _ty(r)
    rows, cols = r.choice([3, 8, 19]), r.choice([4, 9, 32])
    c = lit(r.uniform(0.1, 0.24), ty)
    pdecl, read, (d,) = params(t, ty, [r.uniform(2, 9)])
    defs = f"""static {ty} g_{t}[{rows}][{cols}];
{pdecl}{qual(r)}void gs_{t}(int sweeps) {{
  for (int s = 0; s < sweeps; s++)
    for (int i = 1; i < {rows} - 1; i++)
      for (int j = 1; j < {cols} - 1; j++)
        g_{t}[i][j] = {c} * (g_{t}[i - 1][j] + g_{t}[i + 1][j] + g_{t}[i][j - 1] + g_{t}[i][j + 1]) + {lit(r.uniform(0, 0.1), ty)} * g_{t}[i][j];
}}
"""
    body = f"""{read}{ty} s = 0;
for (int i = 0; i < {rows}; i++) for (int j = 0; j < {cols}; j++) g_{t}[i][j] = ({ty})((i * 3 + j * 5) % 11) / {d};
gs_{t}({r.choice([1, 3, 10])});
for (int i = 0; i < {rows}; i++) for (int j = 0; j < {cols}; j++) s = s * {lit(r.uniform(0.5, 0.99), ty)} + g_{t}[i][j];
{pr}("gs_{t}", s);
"""
    return Kernel(defs, body)


def matmul(r: Random, t: str) -> Kernel:
    """C += A * B for a small square matrix (then C += C * A, aliased); trace and weighted sum."""
    ty, pr = _ty(r)
    n = r.choice([2, 3, 5, 8, 12])
    pdecl, read, (p, q, c0) = params(t, ty, [r.uniform(1, 3), r.uniform(0, 2), r.uniform(-1, 1)])
    defs = f"""{pdecl}{qual(r)}void mm_{t}({ty} c[{n}][{n}], {ty} a[{n}][{n}], {ty} b[{n}][{n}]) {{
  for (int i = 0; i < {n}; i++)
    for (int j = 0; j < {n}; j++) {{
      {ty} s = c[i][j];
      for (int k = 0; k < {n}; k++) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }}
}}
"""
    body = f"""{read}{ty} a[{n}][{n}], b[{n}][{n}], c[{n}][{n}], tr = 0, w = 0;
for (int i = 0; i < {n}; i++) for (int j = 0; j < {n}; j++) {{
  a[i][j] = ({ty})(i + 1) / (j + {p}); b[i][j] = ({ty})((i * j) % 4) - {q}; c[i][j] = {c0};
}}
mm_{t}(c, a, b); mm_{t}(c, c, a);
for (int i = 0; i < {n}; i++) {{ tr += c[i][i]; for (int j = 0; j < {n}; j++) w += c[i][j] * (i - j); }}
{pr}("mm_{t}.trace", tr); {pr}("mm_{t}.w", w);
"""
    return Kernel(defs, body)


def freduce(r: Random, t: str) -> Kernel:
    """Float sum, product, min and max over an array (in order), and a double accumulator."""
    n = r.choice([7, 64, 129, 500])
    pdecl, read, (m, o) = params(t, "float", [r.uniform(0.01, 1), r.uniform(0, 5)])
    defs = f"""{pdecl}{qual(r)}void fred_{t}(const float *x, int n, float *out) {{
  float s = 0.0f, p = 1.0f, lo = x[0], hi = x[0]; double d = 0.0;
  for (int i = 0; i < n; i++) {{
    s += x[i]; p *= 1.0f + x[i] * {lit(r.uniform(0.0001, 0.002), "float")};
    lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; d += (double)x[i] * x[i];
  }}
  out[0] = s; out[1] = p; out[2] = lo; out[3] = hi; out[4] = (float)d;
}}
"""
    body = f"""{read}float x[{n}], o[5];
for (int i = 0; i < {n}; i++) x[i] = (float)((i * {r.randint(3, 97)}) % {r.randint(5, 50)}) * {m} - {o};
fred_{t}(x, {n}, o);
for (int k = 0; k < 5; k++) pf("fred_{t}", o[k]);
"""
    return Kernel(defs, body)


def newton(r: Random, t: str) -> Kernel:
    """Newton's square root next to sqrt(), fma() and the exact libm functions, on literal
    values (exact operations only: compile-time folding must agree with the run)."""
    vals = ", ".join(lit(r.uniform(0.01, 1000)) for _ in range(r.randint(3, 8)))
    it = r.randint(3, 12)
    defs = f"""static const double vals_{t}[] = {{{vals}}};
{qual(r)}double nsqrt_{t}(double x) {{
  double g = x > 1.0 ? x * 0.5 : 1.0;
  for (int i = 0; i < {it}; i++) g = 0.5 * (g + x / g);
  return g;
}}
"""
    body = f"""for (unsigned i = 0; i < sizeof vals_{t} / sizeof vals_{t}[0]; i++) {{
  double v = vals_{t}[i], q = sqrt(v);
  pd("newton_{t}", nsqrt_{t}(v)); pd("sqrt_{t}", q); pd("fma_{t}", fma(q, -q, v));
  pd("exact_{t}", floor(v) + ceil(v * 0.3) + trunc(-v) + round(v * 0.7) + fmin(v, q) + fmax(v, 2.0) + fabs(-q) + copysign(q, -1.0));
}}
"""
    return Kernel(defs, body)


def libm(r: Random, t: str) -> Kernel:
    """exp, log, sin, cos, pow on a ``volatile`` seed: computed at run time in every build."""
    m = r.choice([5, 20, 60])
    pdecl, read, (x,) = params(t, "double", [r.uniform(0.1, 2)])
    body = f"""{read}double acc = 0;
for (int i = 0; i < {m}; i++)
  acc += exp(-{x} * i * 0.01) * cos({x} + i) + log1p(i * {x}) + pow({x}, 0.37 * (i % 5)) + fabs(sin({x} * i)) - fmod(i * 1.5, {x} + 1.0);
pd("libm_{t}", acc);
"""
    return Kernel(pdecl, body)


def mandel(r: Random, t: str) -> Kernel:
    """Complex numbers as structs passed and returned by value: escape counts on a small grid."""
    it = r.choice([8, 30, 100])
    pdecl, read, (x0, dx, y0, dy) = params(t, "double", [-2.0, r.uniform(0.1, 0.2), -1.0, 0.3])
    defs = f"""typedef struct {{ double re, im; }} cx_{t};
{pdecl}{qual(r)}cx_{t} cmul_{t}(cx_{t} a, cx_{t} b) {{
  cx_{t} z = {{a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}};
  return z;
}}
{qual(r)}int mandel_{t}(double cr, double ci, cx_{t} *out) {{
  cx_{t} z = {{0.0, 0.0}}; int k = 0;
  for (; k < {it}; k++) {{
    z = cmul_{t}(z, z); z.re += cr; z.im += ci;
    if (z.re * z.re + z.im * z.im > 4.0) break;
  }}
  *out = z;
  return k;
}}
"""
    body = f"""{read}long total = 0; double zs = 0;
for (int i = 0; i < {r.choice([4, 9, 16])}; i++) for (int j = 0; j < 7; j++) {{
  cx_{t} z; total += mandel_{t}({x0} + i * {dx}, {y0} + j * {dy}, &z); zs += z.re - z.im;
}}
pi("mandel_{t}", total); pd("mandel_{t}.z", zs);
"""
    return Kernel(defs, body)


def convert(r: Random, t: str) -> Kernel:
    """double/float/int conversions, all in range, and union type punning of float bits."""
    m = r.choice([10, 50, 300])
    pdecl, read, (s, o) = params(t, "double", [r.uniform(0.01, 3), r.uniform(0, 100)])
    defs = f"typedef union {{ float f; uint32_t u; }} pun_{t};\n{pdecl}"
    body = f"""{read}long long acc = 0; double dacc = 0; uint32_t bits = 0;
for (int i = 0; i < {m}; i++) {{
  double x = i * {s} - {o}; float f = (float)x; pun_{t} p; p.f = f;
  acc += (int)x + (long long)floor(x) + (short)(int)(x * 0.5) + (unsigned)(i * {s});
  dacc += (double)f - x; bits ^= p.u + (uint32_t)i;
}}
pi("conv_{t}", acc); pd("conv_{t}.d", dacc); pu("conv_{t}.bits", bits);
"""
    return Kernel(defs, body)


def tree_sum(r: Random, t: str) -> Kernel:
    """Recursive pairwise summation (divide and conquer) next to the in-order sum, on literal
    data (no contractable expression: folding must agree with the run)."""
    n = r.choice([1, 6, 100, 777])
    defs = f"""{qual(r)}double tsum_{t}(const double *x, int n) {{
  if (n <= {r.choice([1, 2, 4])}) {{ double s = 0; for (int i = 0; i < n; i++) s += x[i]; return s; }}
  return tsum_{t}(x, n / 2) + tsum_{t}(x + n / 2, n - n / 2);
}}
"""
    body = f"""static double x[{n}]; double s = 0;
for (int i = 0; i < {n}; i++) {{ x[i] = 1.0 / (i + {lit(r.uniform(0.5, 5))}) - {lit(r.uniform(0, 0.1))}; s += x[i]; }}
pd("tsum_{t}", tsum_{t}(x, {n})); pd("tsum_{t}.seq", s);
"""
    return Kernel(defs, body)


FP_KERNELS = [dot, axpy, horner, kahan, stencil1d, stencil2d, matmul, freduce, newton, libm, mandel,
              convert, tree_sum]
