"""irpipe.mlir.features: exact counts, flops and bytes of small inline modules."""

from __future__ import annotations

import math

import pytest

from irpipe.errors import MLIRError
from irpipe.mlir import features as mf
from irpipe.testing.mlir import JAX_MLP

MLP = JAX_MLP

# A convolution, a reduce, a while loop, a batched dot_general and a transcendental.
MIXED = """\
func.func @main(%x: tensor<1x8x8x3xf32>, %k: tensor<3x3x3x16xf32>, %r: tensor<4x5xf32>, %a: tensor<2x4x6xf32>, %b: tensor<2x6x7xf32>) -> (tensor<1x6x6x16xf32>, tensor<4xf32>, tensor<i32>, tensor<2x4x7xf32>) {
  %0 = stablehlo.convolution(%x, %k) dim_numbers = [b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f], window = {stride = [1, 1]} {batch_group_count = 1 : i64, feature_group_count = 1 : i64} : (tensor<1x8x8x3xf32>, tensor<3x3x3x16xf32>) -> tensor<1x6x6x16xf32>
  %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
  %1 = stablehlo.reduce(%r init: %cst) applies stablehlo.add across dimensions = [1] : (tensor<4x5xf32>, tensor<f32>) -> tensor<4xf32>
  %c = stablehlo.constant dense<0> : tensor<i32>
  %2 = stablehlo.while(%it = %c) : tensor<i32>
   cond {
    %t = stablehlo.compare LT, %it, %c, SIGNED : (tensor<i32>, tensor<i32>) -> tensor<i1>
    stablehlo.return %t : tensor<i1>
  } do {
    %s = stablehlo.add %it, %it : tensor<i32>
    stablehlo.return %s : tensor<i32>
  }
  %3 = stablehlo.dot_general %a, %b, batching_dims = [0] x [0], contracting_dims = [2] x [1] : (tensor<2x4x6xf32>, tensor<2x6x7xf32>) -> tensor<2x4x7xf32>
  %4 = stablehlo.exponential %3 : tensor<2x4x7xf32>
  return %0, %1, %2, %4 : tensor<1x6x6x16xf32>, tensor<4xf32>, tensor<i32>, tensor<2x4x7xf32>
}
"""

LINALG = """\
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %t = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = math.tanh %in : f32
    linalg.yield %y : f32
  } -> tensor<4x16xf32>
  return %t : tensor<4x16xf32>
}
"""


def test_names_are_stable_and_complete() -> None:
    names = mf.feature_names()
    assert len(names) == len(set(names)) == len(mf.DIALECTS) + 1 + len(mf.CATEGORIES) + len(mf.TOTALS)
    assert names[0] == "ops_builtin" and "ops_other" in names and names[-1] == "log_bytes"
    assert list(mf.features(MLP)) == names


def test_mlp_exact() -> None:
    f = mf.features(MLP)
    assert f["flops"] == 2 * 64 * 128 * 256 + 64 * 256                # dot_general + maximum
    # main: args 32768 + 131072 B, results of dot and call 2 * 65536; relu: arg 65536,
    # constant 4, broadcast and maximum 2 * 65536
    assert f["bytes"] == 163840 + 131072 + 65536 + 4 + 131072
    assert f["log_flops"] == pytest.approx(math.log1p(f["flops"]))
    expect = {"ops_func": 5, "ops_stablehlo": 4, "total_ops": 9, "functions": 2, "blocks": 2,
              "values": 8, "contraction_ops": 1, "elementwise_ops": 1, "data_movement_ops": 1,
              "constant_ops": 1, "call_ops": 1, "loops": 0, "dynamic_shapes": 0}
    assert {k: f[k] for k in expect} == expect
    per_fn = mf.function_features(MLP)
    assert list(per_fn) == ["main", "relu"] and per_fn["main"]["flops"] == 2 * 64 * 128 * 256
    assert mf.features(MLP, function="relu") == per_fn["relu"]


def test_convolution_reduce_while_batched_dot() -> None:
    f = mf.features(MIXED)
    conv = 2 * (1 * 6 * 6 * 16) * (3 * 3 * 3)     # result elements * kernel spatial * input features
    reduce_, loop = 4 * 5, 1 + 1                   # input elements; compare + add, counted once
    dot = 2 * 2 * 4 * 7 * 6                        # 2 * batch * M * N * K
    exp = 2 * 4 * 7 * mf.TRANSCENDENTAL_WEIGHT
    assert f["flops"] == conv + reduce_ + loop + dot + exp
    assert (f["loops"], f["control_flow_ops"], f["reduction_ops"], f["contraction_ops"]) == (1, 1, 1, 2)
    assert f["elementwise_ops"] == 3               # compare, add, exponential (not the reduce body)
    assert f["ops_stablehlo"] == 13 and f["total_ops"] == 15


def test_linalg_level() -> None:
    f = mf.features(LINALG)
    assert f["flops"] == 2 * 4 * 16 * 8 + 4 * 16 * mf.TRANSCENDENTAL_WEIGHT
    assert (f["contraction_ops"], f["elementwise_ops"], f["constant_ops"]) == (1, 1, 1)
    # named linalg ops carry their payload as a region: fill (yield), matmul (mulf, addf, yield)
    assert (f["ops_linalg"], f["ops_arith"], f["ops_math"], f["blocks"], f["total_ops"]) == (6, 3, 1, 4, 13)


def test_dynamic_shapes_flagged() -> None:
    f = mf.features("func.func @f(%a: tensor<?x8xf32>) -> tensor<?x8xf32> {\n"
                    "  %0 = stablehlo.negate %a : tensor<?x8xf32>\n  return %0 : tensor<?x8xf32>\n}\n")
    assert f["dynamic_shapes"] == 1 and f["flops"] == 8 and f["bytes"] == 2 * 8 * 4


def test_shapes_and_element_bytes() -> None:
    assert mf.shape_of("tensor<64x?xf32>") == ([64, None], "f32")
    assert mf.shape_of("memref<4x8xbf16, strided<[8, 1]>>") == ([4, 8], "bf16")
    assert mf.shape_of("vector<[4]xi1>") == ([4], "i1") and mf.shape_of("i32") is None
    assert [mf.element_bytes(t) for t in ("f32", "bf16", "i1", "index", "complex<f64>", "!x.y")] \
        == [4, 2, 1, 8, 16, 0]


def test_errors() -> None:
    with pytest.raises(MLIRError, match=r"m\.mlir: .*Dialect `foo' not found"):
        mf.features("func.func @f() {\n  %0 = foo.bar : i32\n  return\n}\n", name="m.mlir")
    with pytest.raises(MLIRError, match=r"m\.mlir: error: "):
        mf.features("module {", name="m.mlir")
    with pytest.raises(MLIRError, match="no function 'g'"):
        mf.features(MLP, function="g")
