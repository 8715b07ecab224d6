"""Fixtures for the learning problems: a small synthetic MLIR cost dataset built at test time."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from irpipe.mlir import ir
from irpipe.mlir.configs import CONFIGS
from irpipe.runtime.shards import write_parquet
from irpipe.schema import to_table

MATMUL = """module @jit_{name} {{
  func.func public @main(%arg0: tensor<{m}x{k}xf32>, %arg1: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32>
    %1 = stablehlo.{op} %0 : tensor<{m}x{n}xf32>
    return %1 : tensor<{m}x{n}xf32>
  }}
}}
"""


def _row(p: int, size: int) -> tuple[dict, list[dict]]:
    op = ("tanh", "exponential", "negate", "abs")[p % 4]
    m, k, n = size, 2 * size, size + 4 * (p // 4)
    text = ir.inspect(MATMUL.format(name=f"p{p}", m=m, k=k, n=n, op=op)).text
    h = hashlib.sha256(text.encode()).hexdigest()
    common = {"structural_hash": h, "package_name": "synthetic", "recipe_id": "jax/synthetic",
              "language": "python-jax", "source_path": f"prog{p}:f"}
    module = {**common, "content": text.encode(), "object_path": f"prog{p}:f[{size}]", "ir_kind": "mlir",
              "mlir_level": "source", "dialects": ["func", "stablehlo"]}
    flops = 2.0 * m * k * n
    runs = [{**common, "config": c, "seconds": 1e-9 * flops * (1 + 0.3 * i), "instructions": int(flops / (1 + i)),
             "error": None} for i, c in enumerate(CONFIGS)]
    return module, runs


@pytest.fixture(scope="session")
def mlir_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(MODULES dir, MLIR_RUNS dir): 16 programs x 2 sizes, costs ~ flops (config-dependent)."""
    root = tmp_path_factory.mktemp("mlir-cost")
    modules, runs = [], []
    for p in range(16):
        for size in (8 * (p % 4 + 1), 16 * (p % 4 + 1)):
            module, rows = _row(p, size)
            modules.append(module)
            runs += rows
    write_parquet(to_table(modules, "modules"), root / "ds" / "python-jax" / "train-00000.parquet")
    write_parquet(to_table(runs, "mlir_runs"), root / "runs" / "mlir_runs" / "u0.parquet")
    return root / "ds", root / "runs"
