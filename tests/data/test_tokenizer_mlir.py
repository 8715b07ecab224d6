"""irpipe.data.tokenizer on MLIR: normalize_mlir and the tokenizer with kind="mlir"."""

from __future__ import annotations

import json

import pytest

from irpipe.data.tokenizer import (IRTokenizer, dataset_texts, normalize, normalize_ir, normalize_mlir,
                                   train_tokenizer)
from irpipe.errors import SchemaError
from irpipe.testing.factories import SIMPLE_IR, module_rows, write_dataset

# JAX output with locations, a comment, a long dense constant and a declaration.
JAX = """\
#loc1 = loc("model.py":3:0)
module @jit_f attributes {mhlo.num_partitions = 1 : i32} {
  func.func private @external(tensor<4xf32>) -> tensor<4xf32>
  func.func public @main(%arg0: tensor<4xf32> loc("x"), %weights: tensor<4xf32>) -> tensor<4xf32> {
    // scale, then call
    %cst = stablehlo.constant dense<[1.500000e+00, 2.500000e+00, 3.500000e+00, 4.500000e+00]> : tensor<4xf32> loc(#loc1)
    %c = stablehlo.constant dense<12345> : tensor<i32>
    %0 = stablehlo.multiply %arg0, %cst : tensor<4xf32> loc(fused[#loc1, "f"(#loc1)])
    %1 = call @external(%0) : (tensor<4xf32>) -> tensor<4xf32>
    %2 = call @helper(%1) : (tensor<4xf32>) -> tensor<4xf32>  // trailing
    return %2 : tensor<4xf32>
  }
  func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
    %0 = stablehlo.add %x, %x : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
"""


def test_normalize_mlir_drops_noise_and_renames() -> None:
    text = normalize_mlir(JAX)
    for gone in ("loc", "#loc1", "model.py", "//", "scale", "weights", "arg0", "1.5", "@main",
                 "@helper", "jit_f", "12345", "%cst"):
        assert gone not in text, gone
    lines = text.splitlines()
    assert lines[0] == "module @G0 attributes {mhlo.num_partitions = 1 : i32} {"
    assert "func.func private @external(tensor<4xf32>) -> tensor<4xf32>" in lines  # declared: kept
    assert "func.func public @G1(%0: tensor<4xf32>, %1: tensor<4xf32>) -> tensor<4xf32> {" in lines
    assert "%2 = stablehlo.constant dense<...> : tensor<4xf32>" in lines           # long: elided
    assert "%3 = stablehlo.constant dense<<int5>> : tensor<i32>" in lines           # bucketed
    assert "%4 = stablehlo.multiply %0, %2 : tensor<4xf32>" in lines
    assert "%6 = call @G2(%5) : (tensor<4xf32>) -> tensor<4xf32>" in lines
    # SSA names restart per function
    assert "func.func private @G2(%0: tensor<4xf32>) -> tensor<4xf32> {" in lines
    assert "%1 = stablehlo.add %0, %0 : tensor<4xf32>" in lines


def test_renamed_twins_normalize_alike() -> None:
    twin = JAX.replace("%weights", "%w").replace("%cst", "%k").replace("@helper", "@h2")
    assert normalize_mlir(twin) == normalize_mlir(JAX)
    assert normalize(JAX, "mlir") == normalize_mlir(JAX) and normalize(SIMPLE_IR) == normalize_ir(SIMPLE_IR)
    with pytest.raises(ValueError, match="unknown IR kind"):
        normalize(JAX, "onnx")


def test_block_labels_and_resources() -> None:
    text = normalize_mlir('func.func @f(%c: i1) {\n  cf.cond_br %c, ^exit, ^bb7\n^bb7:  // pred: ^bb0\n'
                          '  cf.br ^exit\n^exit:\n  return\n}\n{-#\n  dialect_resources: {\n'
                          '    builtin: { blob: "0x0400" }\n  }\n#-}\n')
    assert text.splitlines()[1:5] == ["cf.cond_br %0, ^bb0, ^bb1", "^bb1:", "cf.br ^bb0", "^bb0:"]
    assert "dialect_resources" not in text and "blob" not in text


def test_train_mlir_tokenizer_roundtrip(tmp_path) -> None:
    texts = [JAX.replace("12345", str(n)).replace("4xf32", f"{n}xf32") for n in range(2, 12)]
    tok = train_tokenizer(texts, vocab_size=300, min_frequency=1, source="jax", kind="mlir")
    assert tok.kind == "mlir" and tok.meta["kind"] == "mlir"
    ids = tok.encode(JAX)
    assert ids and tok.tokenizer.decode(ids) == normalize_mlir(JAX)       # MLIR normalization, lossless
    tok.save(tmp_path / "m")
    back = IRTokenizer.load(tmp_path / "m")
    assert back.kind == "mlir" and back.encode(JAX) == ids
    meta = json.loads((tmp_path / "m" / "tokenizer_irpipe.json").read_text())
    meta["normalization_version"] = 99
    (tmp_path / "m" / "tokenizer_irpipe.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaError, match="MLIR normalization v99"):
        IRTokenizer.load(tmp_path / "m")
    llvm = train_tokenizer([SIMPLE_IR], vocab_size=100, min_frequency=1)
    assert llvm.kind == "llvm" and "kind" not in llvm.meta                # LLVM meta unchanged
    with pytest.raises(ValueError, match="unknown IR kind"):
        train_tokenizer([JAX], kind="onnx")


def test_dataset_texts_by_kind(tmp_path) -> None:
    row = module_rows({"a.c": SIMPLE_IR})[0]
    mlir_row = {**row, "content": JAX.encode(), "ir_kind": "mlir", "source_path": "f.py"}
    root = write_dataset(tmp_path / "ds", {"b.c": SIMPLE_IR}, extra_rows=[mlir_row])
    assert list(dataset_texts(root, kind="mlir")) == [JAX]
    llvm = list(dataset_texts(root))
    assert len(llvm) == 1 and "define" in llvm[0]
