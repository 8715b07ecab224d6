"""The IREE compile configurations MLIR modules are lowered and measured under (no heavy imports).

The set is chosen so that ranking a module's configurations is a real question: each config
wins on some programs and loses on others.  Measured on the 318 variants of datasets/mlir
(2026-12-08, callgrind instructions against ``default``; "better" means by more than 1%):

* ``unroll`` (LLVM loop unrolling of the dispatch code): 0.12-1.54x, better on 171 modules;
* ``data-tiling`` (packed layouts and ukernels): 0.66-5.8x, better on 10 and worse on 77;
  ``data-tiling-unroll`` combines the two;
* ``small-tiles`` (smaller matmul and distribution tiles): 0.11-7.3x, better on 35, worse on 132;
* ``no-distribution`` (no distribution tiling): 0.06-1.05x, better on 72;
* ``fusion`` (aggressive dispatch fusion): 0.35-1.34x, better on 50 and worse on 38.

The best config is ``unroll`` for 145 modules, ``no-distribution`` for 75, ``fusion`` for 45 and
each of the others for 2-16.

Retired from the set of 2026-11-24, and why: ``O0`` built the very same code as ``default`` for
all 207 modules (an A/A pair, not a choice); ``sse2`` (x86-64 v1 vectors) was never better than
``default`` (median 1.7x slower), so it only padded every ranking with a certain last place; and
``fusion-unroll`` included ``--iree-llvmcpu-reassociate-fp-reductions``, which reorders
floating-point reductions: irpipe changes no FP semantics unless the user asks.
"""

from __future__ import annotations

#: How every module is compiled for the CPU of these machines (valgrind 3.19 runs x86-64-v3, not AVX-512).
TARGET_FLAGS = ("--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
                "--iree-llvmcpu-target-cpu=x86-64-v3")
_UNROLL = ("--iree-llvmcpu-loop-unrolling",)
_DATA_TILING = ("--iree-opt-data-tiling", "--iree-llvmcpu-enable-ukernels=all")
#: The compile configurations a cost model ranks: name -> iree-compile flags beyond TARGET_FLAGS.
CONFIGS: dict[str, tuple[str, ...]] = {
    "default": (),
    "unroll": _UNROLL,
    "data-tiling": _DATA_TILING,
    "data-tiling-unroll": (*_DATA_TILING, *_UNROLL),
    "small-tiles": ("--iree-llvmcpu-matmul-tile-bytes=4096", "--iree-llvmcpu-distribution-size=8"),
    "no-distribution": ("--iree-llvmcpu-disable-distribution",),
    "fusion": ("--iree-dispatch-creation-enable-aggressive-fusion",),
}


def config_flags(name: str) -> list[str]:
    """The full iree-compile flags of configuration ``name``; later flags override TARGET_FLAGS."""
    if name not in CONFIGS:
        raise KeyError(f"unknown MLIR compile config {name!r}; known: {', '.join(CONFIGS)}")
    return [*TARGET_FLAGS, *CONFIGS[name]]
