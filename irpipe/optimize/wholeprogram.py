"""The whole program as one module: what ``clang-22 -flto -O3`` builds from the same translation
units, a speed candidate of ``irpipe bench`` (screened by default, ``--no-lto``: not) and of
``irpipe optimize --objective speed --whole-program``.

Every TU runs ``lto-pre-link<O3>`` (clang's pre-link pipeline for ``-flto``), ``llvm-link-22``
merges them (the bench; ``optimize`` has one module already), ``internalize`` keeps only ``main``
(and the C++ allocation functions, which a program may replace for its libraries) visible outside,
and ``lto<O3>`` optimizes the merged module.  The linker's own LTO does the same with its symbol
resolution; here the program is the whole link (its libraries are libc and libstdc++, which call
nothing of it but ``main`` and those functions).  Nothing changes what the program computes: it
is the same IR, optimized with more of it in view (inlining across files, constants and dead code
found because nothing outside can see a function or a global).  The output is still checked bit
for bit, like every candidate's.  ``optimize`` asks for it explicitly (``--whole-program``): an
output whose functions are internal can no longer be linked with other code that calls them.

It is a choice per program, made by running it: a bigger program that inlines across its files
may gain (lz4 1.088x, the lua interpreter 1.077x as the static rule in
benchmarks/results/suite-lto/), a kernel in one file rarely changes, and inlining more can also
be slower (brotli 0.980x).  So it is screened, confirmed in interleaved rounds, and
kept only when it holds.

    USAGE: bitcode = whole_module(module, name="prog.ll")
"""

from __future__ import annotations

from irpipe.errors import IRError, ToolError
from irpipe.llvm.tools import Toolchain

#: how screens and reports name the whole-program build
LTO_LABEL = "lto<O3>, whole program"
#: each TU's pipeline before the merge, and the merged module's
PRE_LINK, MERGED = "lto-pre-link<O3>", "lto<O3>"
#: the symbols that stay visible outside the merged module: ``main`` and the replaceable
#: allocation functions of C++ (libstdc++ calls a program's replacement)
EXPORTED = ("main", "_Znwm", "_Znam", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
            "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t")


def internalize_flags(pipeline: str) -> list[str]:
    """opt-22's flags for the merged module: internalize all but :data:`EXPORTED`, then ``pipeline``."""
    return [f"-passes=internalize,{pipeline}", f"-internalize-public-api-list={','.join(EXPORTED)}"]


def whole_module(module: bytes, *, name: str = "<module>", timeout_s: float = 300.0) -> bytes:
    """``module`` (a whole program: it defines ``main`` and links alone) as ``clang-22 -flto -O3``
    builds it: bitcode that keeps the triple, target-cpu and target-features, with every symbol
    but :data:`EXPORTED` internal; :class:`IRError` when opt-22 fails on it."""
    tools = Toolchain()
    try:
        pre = tools.run("opt", [f"-passes={PRE_LINK}", "-", "-o", "-"], input=module, timeout=timeout_s).stdout
        return tools.run("opt", [*internalize_flags(MERGED), "-", "-o", "-"], input=pre, timeout=timeout_s).stdout
    except ToolError as exc:
        raise IRError(f"{name}: the whole-program build (opt-22 {PRE_LINK}, then {MERGED}): "
                      f"{str(exc).splitlines()[-1]}") from None
