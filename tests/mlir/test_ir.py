"""irpipe.mlir.ir: parse, inspect, structural hash, clear errors (IREE's MLIR bindings)."""

from __future__ import annotations

import pytest

from irpipe.errors import IRError, MLIRError
from irpipe.mlir import ir


def test_inspect_source_module(mlp_text):
    info = ir.inspect(mlp_text, name="mlp.mlir")
    assert info.dialects == ("func", "stablehlo")
    assert info.level == "source"
    assert info.function_count == 1
    assert info.op_count == 4  # func.func, dot_general, tanh, return
    assert "loc(" not in info.text


def test_hash_ignores_names_and_module_symbol(mlp_text):
    renamed = mlp_text.replace("@jit_mlp", "@other").replace("%arg0", "%x").replace("%arg1", "%w")
    assert ir.inspect(renamed).structural_hash == ir.inspect(mlp_text).structural_hash
    changed = mlp_text.replace("stablehlo.tanh", "stablehlo.exponential")
    assert ir.inspect(changed).structural_hash != ir.inspect(mlp_text).structural_hash


def test_entry_arguments(mlp_text):
    assert ir.entry_arguments(ir.parse(mlp_text)) == ["tensor<8x16xf32>", "tensor<16x4xf32>"]
    with pytest.raises(MLIRError, match="no function @nope"):
        ir.entry_arguments(ir.parse(mlp_text), "nope")


@pytest.mark.parametrize("dialects, level", [
    (("func", "stablehlo"), "source"), (("arith", "linalg", "tensor", "util"), "input"),
    (("flow", "linalg"), "flow"), (("hal", "llvm", "stream"), "executable-targets"), (("vm",), "vm"),
])
def test_guess_level(dialects, level):
    assert ir.guess_level(dialects) == level


@pytest.mark.parametrize("text, message", [
    ("func.func @f() {\n  foo.bar() : () -> ()\n  return\n}", "Dialect `foo' not found"),
    ("func.func @f( {", "expected"),
    ("", "empty MLIR"),
    (b"\xff\xfe", "not UTF-8"),
    ("func.func @f(%a: i32) -> i64 {\n  return %a : i32\n}", "return"),  # the verifier runs
])
def test_bad_input_is_one_clear_error(text, message):
    with pytest.raises(MLIRError, match=message) as info:
        ir.parse(text, name="bad.mlir")
    assert str(info.value).startswith("bad.mlir: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, IRError) and isinstance(info.value, ValueError)
