"""The IREE compile configurations MLIR modules are lowered and measured under (no heavy imports).

The set is chosen so that ranking a module's configurations is a real question: each config
wins on some programs and loses on others (measured on the smallest input of 69 programs and on
the 207 variants of 2026-11-24, callgrind instructions):

* ``unroll`` (LLVM loop unrolling of the dispatch code) cuts 3-18% on element-wise code and
  does nothing to matmuls;
* ``data-tiling`` (packed layouts and ukernels) cuts up to a third on large matmuls and costs
  up to 5x on small ones; ``data-tiling-unroll`` combines the two;
* ``small-tiles`` and ``no-distribution`` move the distribution tile size down and away: a few
  percent either way, by shape;
* ``fusion`` (aggressive dispatch fusion) helps some chains and costs a quarter on row
  reductions.

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
