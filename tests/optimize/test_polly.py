"""Polly as a speed candidate of optimize (irpipe.optimize.polly): -O3 with LLVM's polyhedral
optimizer rewrites a loop nest, keeps the module's target and prints what -O0 prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.pgo import o3_with
from irpipe.optimize.polly import POLLY_LABEL, polly_module
from irpipe.optimize.protocol import Advice
from irpipe.optimize.speed import optimize_speed
from irpipe.testing.factories import MATVEC_COLUMNS_C, o0_module
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return o0_module(tmp_path_factory.mktemp("polly"), MATVEC_COLUMNS_C)


def _output(bitcode: bytes, tmp: Path, name: str) -> bytes:
    (tmp / f"{name}.bc").write_bytes(bitcode)
    Toolchain().run("clang", [str(tmp / f"{name}.bc"), "-o", str(tmp / name), "-lm"])
    return subprocess.run([str(tmp / name), "3"], capture_output=True, check=True).stdout


def test_polly_rewrites_the_nest_and_keeps_target_and_output(program: bytes, tmp_path: Path) -> None:
    out = polly_module(program, name="p.bc")
    o3 = o3_with(program, [], name="p.bc", timeout_s=60)
    assert ir.to_text(out) != ir.to_text(o3)  # Polly did something the plain -O3 does not
    before, after = ir.to_text(program), ir.to_text(out)
    for line in before.splitlines():
        if line.startswith("target triple") or line.startswith("target datalayout"):
            assert line in after
    assert '"target-cpu"="x86-64"' in before and '"target-cpu"="x86-64"' in after
    assert _output(out, tmp_path, "polly") == _output(program, tmp_path, "o0")


def test_speed_screens_polly_unless_asked_not_to(program: bytes) -> None:
    advice = Advice(["default<O3>"], 100, True)
    for polly in (True, False):
        r = optimize_speed(program, advice, name="p.bc", run_args=["2500"], repeats=3, timeout_s=60,
                           started=0.0, polly=polly)
        assert not r.note.startswith("refused"), r.note
        screened = [t for t in r.tried if t["pipeline"] == POLLY_LABEL and "confirm_rounds" not in t]
        assert len(screened) == polly and all(t.get("metric", 0) > 0 for t in screened), r.tried
        assert r.pipeline == "default<O3>"  # the Polly build is -O3 too, whether it won or not
        if POLLY_LABEL in r.note:  # chosen: the note names it, and the result says advice cannot hold it
            assert r.note.startswith(POLLY_LABEL + ": ") and r.build == POLLY_LABEL
        else:
            assert r.build == ""
