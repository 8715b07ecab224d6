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
        (b"BC\xc0\xde" + b"\x00" * 40, "invalid or truncated bitcode"),
        (b"\xff\xfe\x00garbage", "neither bitcode nor UTF-8"),
    ],
)
def test_bad_inputs_raise_one_clear_error(data: bytes, pattern: str) -> None:
    with pytest.raises(IRError, match=pattern) as exc:
        ir.parse(data, name="x.ll")
    assert "LLVM 22" in str(exc.value)


def test_truncated_bitcode() -> None:
    bc = ir.parse(SIMPLE_IR).as_bitcode()
    with pytest.raises(IRError, match="invalid or truncated bitcode"):
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


def _retarget_producer(bc: bytes, old: str, new: str) -> bytes:
    """Rewrite the char6-encoded producer string inside bitcode (same length)."""
    char6 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
    bits = "".join(f"{b:08b}"[::-1] for b in bc)          # LSB-first bit string
    enc = lambda s: "".join(f"{char6.index(c):06b}"[::-1] for c in s)  # noqa: E731
    at = bits.index(enc(old))
    bits = bits[:at] + enc(new) + bits[at + len(enc(new)):]
    return bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))


def test_bitcode_from_another_llvm_major_is_refused() -> None:
    from irpipe.llvm import bitstream

    bc = ir.parse(SIMPLE_IR).as_bitcode()
    assert bitstream.producer(bc).startswith("LLVM22.")
    old = _retarget_producer(bc, bitstream.producer(bc), "LLVM15.0.7")
    assert bitstream.producer(old) == "LLVM15.0.7"
    with pytest.raises(IRError, match=r"bitcode produced by LLVM 15\.0\.7; supported: LLVM 22"):
        ir.parse(old, name="old.bc")


def test_old_text_syntax_names_the_version() -> None:
    old = "define i32 @f(i32* %p) {\n  %v = load i32* %p\n  ret i32 %v\n}\n"
    with pytest.raises(IRError, match=r"typed pointers: IR from LLVM 16 or older.*supported: LLVM 22"):
        ir.parse(old)
    ident = SIMPLE_IR.replace("add i32 %a", "add i33 %a") + '!llvm.ident = !{!0}\n!0 = !{!"clang version 17.0.6"}\n'
    with pytest.raises(IRError, match=r"written by clang 17\.0"):
        ir.parse(ident)


def test_split_functions_gives_one_verified_module_each() -> None:
    parts = ir.split_functions(SIMPLE_IR)
    assert sorted(parts) == ["add", "loop"]
    for name, bc in parts.items():
        mod = ir.parse(bc, name=name)
        defined = [f.name for f in mod.functions if not f.is_declaration]
        assert defined == [name]
    # an internal callee becomes a declaration the split module can still link against
    text = ("define internal i32 @h(i32 %x) {\n  ret i32 %x\n}\n"
            "define i32 @g(i32 %x) {\n  %r = call i32 @h(i32 %x)\n  ret i32 %r\n}\n")
    g = ir.parse(ir.split_functions(text)["g"])
    assert [f.name for f in g.functions if f.is_declaration] == ["h"]


def test_one_parse_describes_as_llvmlite_prints(monkeypatch) -> None:
    """inspect parses once, natively; its hash and facts equal those of llvmlite's printed text,
    so hashes stored by earlier versions still dedup, and llvmlite is not asked at all."""
    text = '; ModuleID = "m"\nsource_filename = "dir\\\\a \\22b\\22.c"\ntarget triple = "x86_64-pc-linux-gnu"\n' + SIMPLE_IR
    printed = str(ir.parse(text))
    monkeypatch.setattr(ir, "parse", lambda *a, **k: pytest.fail("llvmlite parsed the module again"))
    info = ir.inspect(text)
    assert info.structural_hash == ir.structural_hash_of_text(printed)
    assert info.source_filename == 'dir\\a "b".c'
    assert info.target_triple == "x86_64-pc-linux-gnu"
    assert (info.function_count, info.instruction_count) == (2, 8)
    assert ir.to_text(text).split("\n", 1)[1] == printed.split("\n", 1)[1]
