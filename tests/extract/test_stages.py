"""irpipe.extract.stages: one package end to end without Ray, per build kind and bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from irpipe.extract.recipes import parse_recipe
from irpipe.extract.stages import ExtractOptions, PackageExtractor
from irpipe.testing.factories import c_tree, recipe
from irpipe.testing.gates import requires_llvm, requires_root

pytestmark = [requires_llvm, requires_root]

LIB = {"a.c": "int twice(int x) { return 2 * x; }\n", "b.c": "int thrice(int x) { return 3 * x; }\n"}


def _run(tmp_path: Path, rpath: Path):
    ex = PackageExtractor(ExtractOptions(work_root=str(tmp_path / "work")))
    ex.setup()
    try:
        return ex.process(parse_recipe(rpath, root=tmp_path))
    finally:
        ex.close()


def test_make_build_embeds_preopt_ir_and_cc1_command(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", LIB)
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "lib", src="src"))
    assert res.ok and res.failures == []
    assert sorted(r["source_path"] for r in res.modules) == ["a.c", "b.c"]
    assert res.stats["dropped_in_package"] == 2  # the archive members are twins of the objects
    row = res.modules[0]
    assert row["compile_command"].startswith("-cc1") and "-fembed-bitcode=all" in row["compile_command"]
    assert row["llvm_version"].startswith("22.") and row["language"] == "c"
    assert row["license_expression"] == "MIT" and row["license_source"] == "recipe"


def test_cmake_cpp(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "v.cpp").write_text("#include <vector>\nint sum(const std::vector<int>& v){int s=0;for(int x:v)s+=x;return s;}\n")
    (src / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.16)\nproject(t CXX)\nadd_library(t STATIC v.cpp)\n")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "cm", src="src", build="cmake"))
    assert res.ok, res.failures
    assert [r["language"] for r in res.modules] == ["c++"], [r["object_path"] for r in res.modules]


def test_meson(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.c").write_text("int m(int x) { return x ^ 5; }\n")
    (src / "meson.build").write_text("project('t', 'c')\nstatic_library('t', 'm.c')\n")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "me", src="src", build="meson"))
    assert res.ok, res.failures
    assert len(res.modules) == 1


def test_autoconf(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.c").write_text("int x(int a) { return a + 42; }\n")
    (src / "configure.ac").write_text("AC_INIT([t],[1])\nAC_PROG_CC\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n")
    (src / "Makefile.in").write_text("CC=@CC@\nall: x.o\nx.o: x.c\n\t$(CC) -c x.c -o x.o\n")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "ac", src="src", build="autoconf"))
    assert res.ok, res.failures
    assert [r["source_path"] for r in res.modules] == ["x.c"]


def test_setuptools_extension(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ext.c").write_text(textwrap.dedent("""\
        #include <Python.h>
        static PyObject* add(PyObject* s, PyObject* a) { return PyLong_FromLong(PyLong_AsLong(a) + 1); }
        static PyMethodDef M[] = {{"add", add, METH_O, ""}, {0}};
        static struct PyModuleDef D = {PyModuleDef_HEAD_INIT, "ext", 0, -1, M};
        PyMODINIT_FUNC PyInit_ext(void) { return PyModule_Create(&D); }
        """))
    (src / "setup.py").write_text("from setuptools import setup, Extension\n"
                                  "setup(name='ext', version='1', ext_modules=[Extension('ext', ['ext.c'])])\n")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "ext", src="src", build="setuptools"))
    assert res.ok, res.failures
    assert [r["source_path"] for r in res.modules] == ["ext.c"]


def test_build_failure_is_a_row(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", {"bad.c": "int f( { syntax error\n"})
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "bad", src="src"))
    (fail,) = res.failures
    assert fail["stage"] == "build" and "exited" in fail["error"] and "error:" in fail["log_tail"]


def test_timeout_is_a_row(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", LIB, pre="sleep 30; ")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "slow", src="src", timeout=2))
    (fail,) = res.failures
    assert fail["stage"] == "timeout" and "time limit" in fail["error"]
    assert res.stats["seconds"] < 20


def test_network_is_cut_off(tmp_path: Path) -> None:
    probe = "python3 -c \"import socket; socket.create_connection(('pypi.org', 443), timeout=5)\" && "
    c_tree(tmp_path / "src", LIB, pre=probe)
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "net", src="src"))
    (fail,) = res.failures
    assert fail["stage"] == "build" and ("gaierror" in fail["log_tail"] or "unreachable" in fail["log_tail"])


def test_corrupt_llvmbc_is_a_module_failure(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", {**LIB, "junk.s": '.section .llvmbc,"e"\n.ascii "BC\\300\\336 this is not bitcode"\n'})
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "junk", src="src"))
    assert res.ok and len(res.modules) == 2
    assert {f["stage"] for f in res.failures} == {"extract"}
    assert all("invalid or truncated bitcode" in f["error"] and f["object_path"].startswith(("junk.o", "libt.a(junk.o)"))
               for f in res.failures)


def test_disallowed_license_is_excluded_before_building(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", {"bad.c": "this would not compile"})
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "gpl", src="src", license="GPL-3.0-only"))
    (fail,) = res.failures
    assert fail["stage"] == "license" and "GPL-3.0-only" in fail["error"]


def test_local_without_license_is_refused(tmp_path: Path) -> None:
    c_tree(tmp_path / "src", LIB)
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "nolic", src="src", license=None))
    assert res.failures[0]["stage"] == "license"


@pytest.mark.slow
def test_real_debian_unknown_version(tmp_path: Path) -> None:
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "zlib", kind="debian", build="debian-rules", version="9.9-nope",
                                license=None))
    assert res.failures[0]["stage"] == "fetch"


def test_single_step_compile_and_link_is_captured(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.c").write_text("int a(int x) { return x * 9; }\n")
    (src / "main.c").write_text("int a(int);\nint main(void) { return a(1) == 9 ? 0 : 1; }\n")
    (src / "conftest.c").write_text("int main(void) { return 0; }\n")
    (src / "Makefile").write_text("all:\n\t$(CC) -O2 conftest.c -o conftest && ./conftest\n"
                                  "\t$(CC) -O2 a.c main.c -o prog && ./prog\n")
    res = _run(tmp_path, recipe(tmp_path / "r.toml", "onestep", src="src"))
    assert res.ok, res.failures
    assert sorted(r["source_path"] for r in res.modules) == ["a.c", "main.c"]  # the configure probe is not kept
    assert all(r["object_path"].startswith(".irpipe-single-step/") for r in res.modules)
