"""The whole program as clang-22 -flto -O3 builds it, a speed candidate of optimize
(irpipe.optimize.wholeprogram): all but ``main`` internal, the target kept, the same output; only
with ``--whole-program``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from irpipe.errors import IRError
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.protocol import Advice
from irpipe.optimize.speed import optimize_speed
from irpipe.optimize.wholeprogram import LTO_LABEL, whole_module
from irpipe.testing.factories import o0_module
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

#: a non-static helper called from a loop and a global table nothing writes
PROGRAM_C = r"""
#include <stdio.h>
#include <stdlib.h>
int table[4] = {3, 5, 7, 11};
__attribute__((noinline)) unsigned step(unsigned h, unsigned i) { return (h ^ (unsigned)table[i & 3]) * 16777619u + i; }
int main(int argc, char **argv) {
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, h = 2166136261u;
    for (unsigned r = 0; r < 200; r++)
        for (unsigned i = 0; i < n; i++) h = step(h, i);
    printf("%u\n", h);
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return o0_module(tmp_path_factory.mktemp("lto"), PROGRAM_C)


def _output(bitcode: bytes, tmp: Path, name: str) -> bytes:
    (tmp / f"{name}.bc").write_bytes(bitcode)
    Toolchain().run("clang", [str(tmp / f"{name}.bc"), "-o", str(tmp / name)])
    return subprocess.run([str(tmp / name), "300"], capture_output=True, check=True).stdout


def test_only_main_stays_visible_with_the_target_and_the_output(program: bytes, tmp_path: Path) -> None:
    out = ir.to_text(whole_module(program, name="p.bc"))
    before = ir.to_text(program)
    for line in before.splitlines():
        if line.startswith(("target triple", "target datalayout")):
            assert line in out
    assert '"target-cpu"="x86-64"' in out
    defined = {line.split("@")[1].split("(")[0]: " internal " in line for line in out.splitlines()
               if line.startswith("define")}
    assert defined == {"main": False, "step": True}  # every function but main internal
    assert "@table = internal unnamed_addr constant" in out  # nothing outside may write it: a constant now
    assert _output(whole_module(program), tmp_path, "lto") == _output(program, tmp_path, "o0")


def test_a_module_opt_cannot_read_is_one_error_line() -> None:
    with pytest.raises(IRError, match="whole-program build"):
        whole_module(b"not bitcode", name="bad.bc")


def test_speed_screens_the_whole_program_when_asked(program: bytes) -> None:
    r = optimize_speed(program, Advice(["default<O3>"], 100, True), name="p.bc", run_args=["1000000"], repeats=3,
                       timeout_s=60, started=0.0, polly=False, whole_program=True)
    assert not r.note.startswith("refused"), r.note
    screened = [t for t in r.tried if t["pipeline"] == LTO_LABEL and "confirm_rounds" not in t]
    assert len(screened) == 1 and screened[0].get("metric", 0) > 0, r.tried
    if r.note.startswith(LTO_LABEL + ": "):  # chosen: the result says advice cannot hold it
        assert r.build == LTO_LABEL
    else:
        assert r.build == ""
