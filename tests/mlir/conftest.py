"""Small MLIR shared by the MLIR tests (inline text, generated at test time)."""

from __future__ import annotations

import pytest

MLP = """module @jit_mlp {
  func.func public @main(%arg0: tensor<8x16xf32>, %arg1: tensor<16x4xf32>) -> tensor<8x4xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
    %1 = stablehlo.tanh %0 : tensor<8x4xf32>
    return %1 : tensor<8x4xf32>
  }
}
"""


@pytest.fixture
def mlp_text() -> str:
    return MLP
