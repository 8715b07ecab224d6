"""The IREE compile configurations MLIR modules are lowered and measured under (no heavy imports)."""

from __future__ import annotations

#: How every module is compiled for the CPU of these machines (valgrind 3.19 runs x86-64-v3, not AVX-512).
TARGET_FLAGS = ("--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
                "--iree-llvmcpu-target-cpu=x86-64-v3")
#: The compile configurations a cost model ranks: name -> iree-compile flags beyond TARGET_FLAGS.
#: They change tiling, vector width, fusion and global optimization, so costs differ per program.
CONFIGS: dict[str, tuple[str, ...]] = {
    "default": (),
    "O0": ("--iree-opt-level=O0",),
    "sse2": ("--iree-llvmcpu-target-cpu=x86-64",),
    "data-tiling": ("--iree-opt-data-tiling", "--iree-llvmcpu-enable-ukernels=all"),
    "small-tiles": ("--iree-llvmcpu-matmul-tile-bytes=4096", "--iree-llvmcpu-distribution-size=8"),
    "fusion-unroll": ("--iree-dispatch-creation-enable-aggressive-fusion", "--iree-llvmcpu-loop-unrolling",
                      "--iree-llvmcpu-reassociate-fp-reductions"),
}


def config_flags(name: str) -> list[str]:
    """The full iree-compile flags of configuration ``name``; later flags override TARGET_FLAGS."""
    if name not in CONFIGS:
        raise KeyError(f"unknown MLIR compile config {name!r}; known: {', '.join(CONFIGS)}")
    return [*TARGET_FLAGS, *CONFIGS[name]]
