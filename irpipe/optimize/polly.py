"""Polly, LLVM's polyhedral loop optimizer, as one more speed candidate of ``irpipe optimize
--objective speed`` and ``irpipe bench`` (what ``clang-22 -O3 -mllvm -polly`` builds).

``opt-22 -passes='default<O3>' -polly`` runs Polly where clang does, just before the vectorizer:
it finds static control parts (loop nests of affine bounds and accesses), reschedules them
(tiling, interchange, fusion, the BLIS-like matrix-multiply kernel) and hands them on to the
vectorizer.  Without fast-math flags Polly models no floating-point reduction as reorderable
(LLVM's own ``polly/test/ScopInfo`` tests: "Reduction Type: NONE"), so it keeps the order of
every FP operation; the output is still checked bit for bit against the -O0 build, like every
candidate's.  It is a gamble per program.  On 28 generated programs of irpipe's own corpus
(``irpipe bench --candidate polly``, benchmarks/results/polly-generated/) it built another binary
for 10: 5.40x (a double matrix product, bit-identical output), 1.41x, 1.25x and 1.23x faster than
-O3 (a transpose, matrix-vector products), 0.17x to 0.92x on scans, stencils and a tiled transpose;
0.984x over all 28 if applied everywhere.  So it is screened and confirmed in CPU time and
replaces -O3 only when the whole program holds its speedup.
Polly is linked into Debian's libLLVM-22: nothing to install.

    USAGE: bitcode = polly_module(module, name="p.ll")
"""

from __future__ import annotations

from irpipe.optimize.pgo import o3_with
from irpipe.optimize.result import SPEED_BASELINE

#: what a pipeline with Polly is called in reports
POLLY_SUFFIX = " + polly"
#: how the screens and the reports name the Polly candidate (its pipeline is -O3)
POLLY_LABEL = SPEED_BASELINE + POLLY_SUFFIX
#: opt-22's flags for it, after ``-passes=default<O3>`` (Polly at its default place, before the vectorizer)
POLLY_FLAGS = ("-polly",)


def polly_module(module: bytes, *, name: str = "<module>", timeout_s: float = 300.0) -> bytes:
    """``module`` built by -O3 with Polly (bitcode; the module keeps its triple, target-cpu and
    target-features); :class:`~irpipe.errors.IRError` when opt-22 fails on it."""
    return o3_with(module, list(POLLY_FLAGS), name=name, timeout_s=timeout_s)
