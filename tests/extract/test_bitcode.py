"""irpipe.extract.bitcode: in-process .llvmbc/.llvmcmd extraction from objects and archives."""

from __future__ import annotations

from pathlib import Path

from irpipe.extract.bitcode import ar_members, elf_sections, scan_tree
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.testing.gates import requires_llvm


def _compile(tmp_path: Path, name: str, code: str, *flags: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(code)
    obj = tmp_path / f"{name}.o"
    Toolchain().run("clang", ["-Xclang", "-fembed-bitcode=all", "-O2", *flags, "-c", str(src), "-o", str(obj)])
    return obj


@requires_llvm
def test_matches_llvm_objcopy(tmp_path: Path) -> None:
    obj = _compile(tmp_path, "a", "int f(int x) { return x * 3; }\n")
    chain = Toolchain()
    chain.run("llvm-objcopy", [f"--dump-section=.llvmbc={tmp_path / 'ref.bc'}",
                               f"--dump-section=.llvmcmd={tmp_path / 'ref.cmd'}", str(obj), str(tmp_path / "junk.o")])
    sections = elf_sections(obj.read_bytes(), (".llvmbc", ".llvmcmd"))
    assert sections[".llvmbc"] == (tmp_path / "ref.bc").read_bytes()
    assert sections[".llvmcmd"] == (tmp_path / "ref.cmd").read_bytes()
    assert b"-O2" in sections[".llvmcmd"]
    assert ir.inspect(sections[".llvmbc"]).function_count == 1


@requires_llvm
def test_archives_and_tree_scan(tmp_path: Path) -> None:
    a = _compile(tmp_path, "a", "int f(int x) { return x + 1; }\n")
    b = _compile(tmp_path, "b", "int g(int x) { return x - 1; }\n", "-fPIC")
    Toolchain().run("llvm-ar", ["rcs", str(tmp_path / "lib.a"), str(a), str(b)])
    members = dict(ar_members((tmp_path / "lib.a").read_bytes()))
    assert set(members) == {"a.o", "b.o"}
    found = list(scan_tree(tmp_path))
    paths = [m.object_path for m in found]
    assert paths == sorted(paths) and "lib.a(a.o)" in paths and "a.o" in paths
    assert all("-cc1" in m.command for m in found)


def test_non_objects_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "x.o").write_bytes(b"\x7fELF" + b"\x00" * 100)
    (tmp_path / "readme").write_text("hello")
    assert list(scan_tree(tmp_path)) == []
    assert elf_sections(b"not an elf", (".llvmbc",)) is None
