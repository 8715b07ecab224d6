"""The parts every generated program shares: element types, the C prelude and ``main``, the
``benchmark.toml`` text.

A family (``irpipe.label.programs.families_*``) describes one program as a :class:`Kernel`: its
C functions, the statements of ``main`` (set-up, one repetition, the final checksum) and its
sizes.  :func:`render` turns it into one C file.  Sizes are named macros-or-parameters
(``NX``, ``N``...): with constant trip counts they are ``#define``\\ d; with runtime trip counts
every kernel takes them as its first parameters (``SIZE_PARAMS`` in a signature, ``SIZE_ARGS``
in a call) and ``main`` reads them from ``argv``.  The last argument is always the number of
repetitions, the workload size that :data:`TARGET_S` and :data:`COUNT_S` scale.

Determinism rules the C code follows (the output must be identical at -O0 and -O3 without
-ffast-math): integer arithmetic is done in an unsigned type (wraps, never undefined),
``#pragma STDC FP_CONTRACT OFF`` keeps ``a * b + c`` two roundings at every level and on every
target, no libm, no reads of uninitialized memory; data come from a seeded LCG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

#: seconds of CPU at -O3 that the default ``args`` aim at (by each kernel's own estimate)
TARGET_S = 0.45
#: seconds (natively, at -O3) of the smaller run that valgrind counts (``count_args``):
#: cachegrind with cache and branch simulation runs it 50-100 times slower
COUNT_S = 0.006


@dataclass(frozen=True)
class EType:
    """An element type: its C name, the type arithmetic happens in, and how data are drawn."""

    key: str
    c: str
    arith: str
    is_float: bool
    bytes: int

    def lit(self, value: float | int) -> str:
        """``value`` as a C literal of the arithmetic type."""
        if self.c == "float":
            return f"{float(value)!r}f"
        if self.is_float:
            return repr(float(value))
        return f"{int(value)}u" if self.arith == "uint32_t" else f"{int(value)}ull"


TYPES = {
    "i8": EType("i8", "int8_t", "uint32_t", False, 1),
    "i16": EType("i16", "int16_t", "uint32_t", False, 2),
    "i32": EType("i32", "int32_t", "uint32_t", False, 4),
    "i64": EType("i64", "int64_t", "uint64_t", False, 8),
    "f32": EType("f32", "float", "float", True, 4),
    "f64": EType("f64", "double", "double", True, 8),
}


@dataclass
class Kernel:
    """One generated program before rendering (see the module docstring)."""

    family: str
    variant: str
    etype: EType
    sizes: dict[str, int]          # size name -> value (a macro or a runtime argument)
    code: str                      # the kernel functions
    setup: str                     # main: allocate and initialize (``h`` is the checksum)
    step: str                      # main: one repetition, ``r`` its index
    finish: str                    # main: fold the results into ``h``
    per_rep: int                   # inner-loop iterations of one repetition (for sizing)
    ns: float = 0.3                # estimated ns per inner-loop iteration at -O3 on this machine
    knobs: dict[str, str] = field(default_factory=dict)  # documentation: what was chosen


_PRELUDE = r"""#pragma STDC FP_CONTRACT OFF
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef {ctype} T;      /* element type */
typedef {atype} A;      /* arithmetic type: unsigned for integers (wraps, never undefined) */
#define RESTRICT {restrict}
{sizes}
static uint64_t rng_state = {seed}ull;
static uint32_t rnd(void) {{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}}
/* a data value: small non-negative integers, or floating point in [0, 1) (exact in float) */
static T rnd_value(void) {{ return {draw}; }}
static void *xalloc(size_t count, size_t size) {{
  void *p = calloc(count ? count : 1, size);
  if (!p) {{ fputs("out of memory\n", stderr); exit(2); }}
  return p;
}}
{unused}static T *fill(long n) {{
  T *p = xalloc((size_t)n, sizeof(T));
  for (long i = 0; i < n; i++) p[i] = rnd_value();
  return p;
}}
static uint64_t mix(uint64_t h, uint64_t v) {{
  h ^= v;
  h *= 1099511628211ull;
  return h ^ (h >> 29);
}}
/* FNV-style hash of the bytes of an array, eight at a time */
static uint64_t digest(uint64_t h, const void *p, size_t bytes) {{
  const unsigned char *b = p;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {{ uint64_t w; memcpy(&w, b + i, 8); h = mix(h, w); }}
  for (; i < bytes; i++) h = mix(h, b[i]);
  return h;
}}
{bits64}static long arg(int argc, char **argv, int i, long fallback) {{
  return argc > i ? atol(argv[i]) : fallback;
}}
"""


_BITS64 = "static uint64_t bits64(double v) { uint64_t w; memcpy(&w, &v, 8); return w; }\n"


def _draw(t: EType) -> str:
    if t.is_float:
        return "(T)((double)(rnd() >> 8) * (1.0 / 16777216.0))"
    return "(T)(rnd() % 100u)"


def render(k: Kernel, *, name: str, seed: int, const_sizes: bool, restrict: bool,
           reps: int) -> str:
    """The C file of ``k``: prelude, kernels, ``main`` (sizes, then repetitions from ``argv``)."""
    if const_sizes:
        sizes = "".join(f"#define {s} {v}L\n" for s, v in k.sizes.items())
        sizes += "#define SIZE_PARAMS\n#define SIZE_ARGS\n"
        read = ""
    else:
        params = "".join(f"long {s}, " for s in k.sizes)
        sizes = f"#define SIZE_PARAMS {params}\n#define SIZE_ARGS {''.join(f'{s}, ' for s in k.sizes)}\n"
        read = "".join(f"  long {s} = arg(argc, argv, {i + 1}, {v}L);\n" for i, (s, v) in enumerate(k.sizes.items()))
        read += "".join(f"  if ({s} < 1) {{ fputs(\"{s} must be positive\\n\", stderr); return 2; }}\n"
                        for s in k.sizes)
    head = (f"/* {name}: generated by irpipe.label.programs (seed {seed}); family {k.family}, "
            f"variant {k.variant}, element type {k.etype.c}.\n"
            f"   Written for irpipe (Apache-2.0).  {json.dumps(k.knobs, sort_keys=True)} */\n")
    prelude = _PRELUDE.format(ctype=k.etype.c, atype=k.etype.arith, restrict="restrict" if restrict else "",
                              sizes=sizes, seed=seed * 1000003 + 12345, draw=_draw(k.etype),
                              bits64=_BITS64 if "bits64(" in k.code + k.step + k.finish else "",
                              unused="" if "fill(" in k.code + k.setup + k.step else "__attribute__((unused)) ")
    main = ("int main(int argc, char **argv) {\n" + read
            + f"  long reps = arg(argc, argv, {0 if const_sizes else len(k.sizes)} + 1, {reps}L);\n"
            + "  uint64_t h = 1469598103934665603ull;\n"
            + _indent(k.setup) + "  for (long r = 0; r < reps; r++) {\n" + _indent(k.step, 4) + "  }\n"
            + _indent(k.finish) + '  printf("%016llx\\n", (unsigned long long)h);\n  return 0;\n}\n')
    return head + prelude + "\n" + k.code.strip() + "\n\n" + main


def _indent(text: str, by: int = 2) -> str:
    lines = [ln for ln in text.strip("\n").splitlines()]
    return "".join((" " * by + ln if ln.strip() else "") + "\n" for ln in lines)


def repetitions(k: Kernel, seconds: float) -> int:
    """Repetitions of ``k`` that take about ``seconds`` at -O3 by its estimate (at least 1)."""
    return max(1, round(seconds * 1e9 / (max(k.per_rep, 1) * k.ns)))


def big(count: int, t: EType, limit: int = 2 << 20) -> bool:
    """Whether ``count`` elements of ``t`` overflow a core's L2 cache (about ``limit`` bytes):
    random accesses to them miss, and cost several times a hit."""
    return count * t.bytes > limit


def toml_text(*, name: str, source: str, description: str, args: list[str], count_args: list[str],
              tags: list[str]) -> str:
    """A ``benchmark.toml`` (format version 1, as ``irpipe bench`` reads it) for one program."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    return (f"# {description}\n"
            f"name = {q(name)}\n"
            f"sources = [{q(source)}]\n"
            'cflags = ["-std=c11"]\n'
            'ldflags = ["-lm"]\n'
            f"args = [{', '.join(q(a) for a in args)}]\n"
            f"count_args = [{', '.join(q(a) for a in count_args)}]\n"
            "timeout = 60\n"
            f"tags = [{', '.join(q(t) for t in tags)}]\n"
            'license = "Apache-2.0"\n'
            f"description = {q(description)}\n")
