"""irpipe.data.tokenizer: IR normalization and the in-process BPE tokenizer."""

from __future__ import annotations

import json

import pytest

from irpipe.data.tokenizer import IRTokenizer, normalize_ir, train_tokenizer
from irpipe.errors import SchemaError
from irpipe.llvm import ir
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, many_ir

WITH_NOISE = """; ModuleID = 'x.c'
source_filename = "x.c"
target triple = "x86_64-pc-linux-gnu"
%struct.point = type { i32, i32 }
@.str = private constant [6 x i8] c"hello\\00", align 1
@table = internal global [3 x i32] [i32 7, i32 123456, i32 -99999]
declare i32 @puts(ptr)
define dso_local i32 @my_function(i32 noundef %argument) #0 {
entry:
  %sum.addr = add nsw i32 %argument, 1000, !dbg !12
  %p = alloca %struct.point, align 4
  %f = fadd double 0.000000e+00, 2.500000e+00
  %c = call i32 @puts(ptr @.str)
  br label %exit  ; a comment
exit:
  ret i32 %sum.addr
}
attributes #0 = { noinline }
!12 = !DILocation(line: 3, scope: !13)
"""


def test_normalize_drops_noise_and_renames() -> None:
    text = normalize_ir(WITH_NOISE)
    for gone in ("ModuleID", "source_filename", "triple", "!dbg", "#0", "attributes", "comment",
                 "my_function", "argument", "hello", "struct.point", "123456"):
        assert gone not in text, gone
    assert "@puts" in text and "declare i32 @puts(ptr)" in text      # declared callees keep names
    assert "%T0 = type { i32, i32 }" in text
    assert "define dso_local i32 @G2(i32 noundef %0) {" in text
    # locals (arguments, labels, values) are numbered per function in order of appearance
    assert "%2 = add nsw i32 %0, <int4>" in text and "[i32 7, i32 <int6>, i32 -<int5>]" in text
    assert "%4 = fadd double 0.0, <fp>" in text and 'c"<str>"' in text
    assert "%exit:" not in text and "br label %6\n%6:\nret i32 %2\n}" in text


def test_renamed_twins_normalize_alike() -> None:
    twin = SIMPLE_IR.replace("%s", "%total").replace("%a", "%lhs").replace("head", "loop_header")
    assert normalize_ir(twin) == normalize_ir(SIMPLE_IR)
    printed = str(ir.parse(ir.parse(SIMPLE_IR).as_bitcode()))  # embedded bitcode has no local names
    assert normalize_ir(printed).count("\n") == normalize_ir(SIMPLE_IR).count("\n")


def test_train_save_load_roundtrip(tmp_path) -> None:
    texts = list(many_ir(30).values()) + [GRAPH_IR, WITH_NOISE]
    tok = train_tokenizer(texts, vocab_size=300, min_frequency=1, source="test")
    assert 40 < tok.vocab_size <= 300
    ids = tok.encode(GRAPH_IR)
    assert ids and tok.tokenizer.decode(ids) == normalize_ir(GRAPH_IR)   # lossless
    assert "\n" in tok.tokens(GRAPH_IR)                                  # line ends are tokens
    tok.save(tmp_path / "model")
    back = IRTokenizer.load(tmp_path / "model")
    assert back.encode(GRAPH_IR) == ids and back.meta["trained_on"] == "test"
    meta = json.loads((tmp_path / "model" / "tokenizer_irpipe.json").read_text())
    meta["normalization_version"] = 99
    (tmp_path / "model" / "tokenizer_irpipe.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaError, match="normalization v99"):
        IRTokenizer.load(tmp_path / "model")
