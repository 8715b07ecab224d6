"""irpipe.ir.kinds: one protocol for both IR kinds; the neutral layer names neither."""

from __future__ import annotations

import pytest

from irpipe.errors import ConfigError
from irpipe.ir import kinds
from irpipe.ir.graph import ProgramGraph
from irpipe.testing.factories import SIMPLE_IR

MLIR = b"""func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = stablehlo.add %a, %b : tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown IR kind 'wasm'; known: llvm, mlir"):
        kinds.get("wasm")


@pytest.mark.parametrize("path,head,expected", [
    ("a.mlir", b"", "mlir"), ("a.ll", b"define i32 @f()", "llvm"), ("a.txt", b"  module {", "mlir"),
    ("a.ll", b"module asm \"nop\"", "llvm"), ("a.bc", b"BC\xc0\xde", "llvm"),
])
def test_detect(path: str, head: bytes, expected: str) -> None:
    assert kinds.detect(path, head) == expected


@pytest.mark.parametrize("name,data,space", [("llvm", SIMPLE_IR.encode(), "InstCount"), ("mlir", MLIR, "MLIR")])
def test_both_kinds_answer_the_same_protocol(name: str, data: bytes, space: str) -> None:
    kind = kinds.get(name)
    assert kind.name == name
    spaces = kind.features(data, name=f"m.{name}", per_function=True)
    assert space in spaces and spaces["functions"]
    first = next(iter(spaces["functions"].values()))
    assert kind.function_summary(first)
    graph = kind.graph(data, name=f"m.{name}")
    assert isinstance(graph, ProgramGraph) and graph.num_nodes > 0
