"""Small deterministic C programs that print their results, for miscompile checks.

Each program combines a few seeded kernels (:mod:`irpipe.testing.ckernels_fp`,
:mod:`irpipe.testing.ckernels_int`): FP recurrences with ``a * b + c`` (llvm.fmuladd),
reductions, stencils, small matrix products, libm, integer hashing and bit tricks,
division by constants, sorts over structs, switch interpreters, recursion and loops
with literal and opaque (``volatile``) trip counts.  Every result is printed —
doubles and floats with ``%a`` and ``%.17g`` — so a build whose output differs from
the ``-O0`` build's, byte for byte, miscompiled.

The programs are UB-free and their output is unique (see ckernels_fp for llvm.fmuladd).
After changing a template, check seeds 0-3 (160 programs, as on 2026-12-04: no report,
no NaN/inf, -O1/-O2/-O3/-Os/-Oz print what -O0 prints; x86-64-v3 differs in 102)::

    clang-22 -O0 -fsanitize=undefined,address,float-divide-by-zero,float-cast-overflow \
             -fno-sanitize-recover=all -Wall -Wextra p.c -lm && ./a.out

    USAGE: for p in generate(36, seed=0): Path(p.filename).write_text(p.source)
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from irpipe.testing.ckernels_fp import FP_KERNELS
from irpipe.testing.ckernels_int import INT_KERNELS

#: every kernel family; program i leads with family i % len(FAMILIES), so 25+ programs cover all
FAMILIES = [k for pair in zip(FP_KERNELS, INT_KERNELS) for k in pair] + FP_KERNELS[len(INT_KERNELS):]

PRELUDE = """#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pd(const char *s, double v) { printf("%s %a %.17g\\n", s, v, v); }
static void pf(const char *s, float v) { printf("%s %a %.9g\\n", s, (double)v, (double)v); }
static void pi(const char *s, long long v) { printf("%s %lld\\n", s, v); }
static void pu(const char *s, unsigned long long v) { printf("%s %llu\\n", s, v); }
"""


@dataclass(frozen=True)
class CProgram:
    """One generated program: a name (``p07``), its kernels and its C source."""

    name: str
    kernels: tuple[str, ...]
    source: str

    @property
    def filename(self) -> str:
        return f"{self.name}.c"


def program(index: int, seed: int = 0, kernels: int = 4) -> CProgram:
    """Program ``index`` of the seeded series: family ``index % len(FAMILIES)`` first, then
    ``kernels - 1`` others drawn at random (an FP and an integer one at least)."""
    r = Random(f"irpipe-cprograms/{seed}/{index}")
    lead = FAMILIES[index % len(FAMILIES)]
    other = INT_KERNELS if lead in FP_KERNELS else FP_KERNELS
    chosen = [lead, r.choice(other)] + [r.choice(FAMILIES) for _ in range(kernels - 2)]
    defs, bodies = [], []
    for i, make in enumerate(chosen):
        k = make(r, f"{index}_{i}")
        defs.append(k.defs)
        bodies.append("  {\n" + "".join(f"    {line}\n" for line in k.body.splitlines()) + "  }\n")
    source = PRELUDE + "\n" + "\n".join(defs) + "\nint main(void) {\n" + "".join(bodies) + "  return 0;\n}\n"
    return CProgram(f"p{index:02d}", tuple(m.__name__.rstrip("_") for m in chosen), source)


def generate(count: int = 36, seed: int = 0) -> list[CProgram]:
    """``count`` programs of the series ``seed`` (the same text on every machine and run)."""
    return [program(i, seed) for i in range(count)]
