"""The whole program as one module, one more speed candidate of ``irpipe bench``: what
``clang-22 -flto -O3`` builds from the same translation units.

Every TU runs ``lto-pre-link<O3>`` (clang's pre-link pipeline for ``-flto``), ``llvm-link-22``
merges them, ``internalize`` keeps only ``main`` (and the C++ allocation functions, which a
program may replace for its libraries) visible outside, and ``lto<O3>`` optimizes the merged
module before one ``llc-22``.  The linker's own LTO does the same with its symbol resolution; here
the program is the whole link (its libraries are libc and libstdc++, which call nothing of it
but ``main`` and those functions).  Nothing changes what the program computes: it is the same
IR, optimized with more of it in view (inlining across files, constants and dead code found
because nothing outside can see a function or a global).  The output is still checked bit for
bit, like every candidate's.

It is a choice per program, made by running it: a bigger program that inlines across its files
may gain (an interpreter, debian-lua, screened at 1.15x), a kernel in one file rarely changes,
and inlining more can also be slower.  So the bench screens it, confirms it in interleaved
rounds, and keeps it only when it holds (``--no-lto`` leaves it out; ``--candidate lto``
measures the static rule "always", side by side).

    USAGE: Builder(...).build("lto", whole_plan)
"""

from __future__ import annotations

from pathlib import Path

from irpipe.bench.build import TUPlan

#: how screens and reports name the whole-program build
LTO_LABEL = "lto<O3>, whole program"
#: each TU's pipeline before the merge, and the merged module's
PRE_LINK, MERGED = "lto-pre-link<O3>", "lto<O3>"
#: the symbols that stay visible outside the merged module: ``main`` and the replaceable
#: allocation functions of C++ (libstdc++ calls a program's replacement)
EXPORTED = ("main", "_Znwm", "_Znam", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
            "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t")


def whole_plan(_rel: str, _bc: Path) -> TUPlan:
    """Every TU's plan in the whole-program build (one merged pipeline for all)."""
    return TUPlan(PRE_LINK, whole=MERGED)


def internalize_flags(pipeline: str) -> list[str]:
    """opt-22's flags for the merged module: internalize all but :data:`EXPORTED`, then ``pipeline``."""
    return [f"-passes=internalize,{pipeline}", f"-internalize-public-api-list={','.join(EXPORTED)}"]
