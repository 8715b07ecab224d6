"""irpipe.llvm.ir: parsing, errors, counts and the structural hash."""

from __future__ import annotations

import pytest

from irpipe.errors import IRError
from irpipe.llvm import ir
from irpipe.testing.factories import SIMPLE_IR
from irpipe.testing.gates import requires_llvm
from irpipe.llvm.tools import Toolchain


def test_counts_functions_and_instructions() -> None:
    info = ir.inspect(SIMPLE_IR)
    assert (info.function_count, info.instruction_count) == (2, 2 + 6)


def test_bitcode_and_text_hash_alike() -> None:
    bc = ir.parse(SIMPLE_IR).as_bitcode()
    assert ir.structural_hash(bc) == ir.structural_hash(SIMPLE_IR)


def test_hash_ignores_names_metadata_and_dso_local() -> None:
    renamed = SIMPLE_IR.replace("%s", "%sum").replace("%a", "%x").replace("define i32 @add", "define dso_local i32 @add")
    with_md = SIMPLE_IR.replace("ret i32 %s", "ret i32 %s, !dbg !7") + (
        '!llvm.module.flags = !{!0}\n!0 = !{i32 8, !"PIC Level", i32 2}\n'
        '!7 = !DILocation(line: 1, scope: !8)\n!8 = distinct !DISubprogram(name: "add", unit: !9)\n'
        '!9 = distinct !DICompileUnit(language: DW_LANG_C99, file: !10)\n!10 = !DIFile(filename: "a.c", directory: "/")\n')
    h = ir.structural_hash(SIMPLE_IR)
    assert ir.structural_hash(renamed) == h
    # metadata that the verifier accepts: the module-flags part
    flags_only = SIMPLE_IR + '!llvm.module.flags = !{!0}\n!0 = !{i32 8, !"PIC Level", i32 2}\n'
    assert ir.structural_hash(flags_only) == h
    assert with_md  # kept as documentation of what a debug-info twin looks like


def test_hash_sees_real_changes() -> None:
    h = ir.structural_hash(SIMPLE_IR)
    assert ir.structural_hash(SIMPLE_IR.replace("add i32 %a", "sub i32 %a")) != h
    assert ir.structural_hash(SIMPLE_IR.replace("@loop", "@loop2")) != h
    assert ir.structural_hash(SIMPLE_IR.replace("[ 0, %entry ]", "[ 1, %entry ]")) != h


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "empty input"),
        (b"define i32 @f( {", "invalid IR text"),
        (b"BC\xc0\xde" + b"\x00" * 40, "invalid bitcode"),
        (b"\xff\xfe\x00garbage", "neither bitcode nor UTF-8"),
    ],
)
def test_bad_inputs_raise_one_clear_error(data: bytes, pattern: str) -> None:
    with pytest.raises(IRError, match=pattern) as exc:
        ir.parse(data, name="x.ll")
    assert "LLVM 22" in str(exc.value)


def test_truncated_bitcode() -> None:
    bc = ir.parse(SIMPLE_IR).as_bitcode()
    with pytest.raises(IRError, match="invalid bitcode"):
        ir.parse(bc[: len(bc) // 2])


@requires_llvm
def test_dedup_agrees_with_opt_structural_hash(tmp_path) -> None:
    """Our hash merges exactly the modules opt's detailed structural hash merges, on twins and non-twins."""
    chain = Toolchain()
    variants = {
        "base": SIMPLE_IR,
        "renamed": SIMPLE_IR.replace("%s", "%sum"),
        "changed": SIMPLE_IR.replace("add i32 %a", "mul i32 %a"),
    }
    ours, theirs = {}, {}
    for key, text in variants.items():
        f = tmp_path / f"{key}.ll"
        f.write_text(text)
        out = chain.run("opt", ["-passes=print<structural-hash><detailed>", "-disable-output", str(f)]).stderr.decode()
        theirs[key] = [ln for ln in out.splitlines() if "Module Hash" in ln][0].split(":")[-1].strip()
        ours[key] = ir.structural_hash(text)
    assert (ours["base"] == ours["renamed"]) == (theirs["base"] == theirs["renamed"]) is True
    assert (ours["base"] == ours["changed"]) == (theirs["base"] == theirs["changed"]) is False


def test_hash_is_stable_across_parses_with_named_types() -> None:
    """Each parse gets its own context: named struct types are not renamed %T.0 on re-parse."""
    text = ("%struct.S = type { i32, ptr }\ndefine i32 @f(ptr %p) {\n  %s = alloca %struct.S\n"
            "  %x = load i32, ptr %p\n  ret i32 %x\n}\n")
    bc = ir.parse(text).as_bitcode()
    keep = [ir.parse(bc) for _ in range(3)]
    assert len({ir.structural_hash(bc) for _ in range(3)}) == 1
    assert "%struct.S = type" in ir.module_text(keep[-1])
