"""optimize --objective speed --pgo (irpipe.optimize.pgo): -O3 with the profile of one run is one
more speed candidate; its module keeps the target and prints what -O0 prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from irpipe.label.runtime import Program, RuntimeEvaluator
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.pgo import PGO_LABEL, profiled
from irpipe.optimize.protocol import Advice
from irpipe.optimize.speed import optimize_speed
from irpipe.testing.factories import o0_module
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

PROGRAM = r'''#include <stdio.h>
#include <stdlib.h>
static unsigned step(unsigned x) { return (x & 7) == 0 ? x * 3 + 1 : (x & 1) ? x ^ (x >> 3) : x >> 1; }
int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, h = 1;
  double s = 0;
  for (unsigned i = 0; i < n; i++) { h = step(h + i) * 2654435761u; s += (h & 1023) * 0.25; }
  printf("%u %.17g\n", h, s);
  return 0;
}
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return o0_module(tmp_path_factory.mktemp("pgo"), PROGRAM)


def _output(bitcode: bytes, tmp: Path) -> bytes:
    (tmp / "x.bc").write_bytes(bitcode)
    Toolchain().run("clang", [str(tmp / "x.bc"), "-o", str(tmp / "x"), "-lm"])
    return subprocess.run([str(tmp / "x"), "300000"], capture_output=True, check=True).stdout


def test_the_profiled_module_keeps_target_and_output(program: bytes, tmp_path: Path) -> None:
    runner = RuntimeEvaluator(Program(program, name="p.bc", args=["300000"]), repeats=1)
    try:
        out = profiled(program, runner, name="p.bc")
        reference = runner.check_reference()
    finally:
        runner.close()
    text = ir.to_text(out)
    assert "!prof" in text and "branch_weights" in text  # the profile's counts are in the module
    before = ir.to_text(program)
    triple = next(line for line in before.splitlines() if line.startswith("target triple"))
    assert triple in text
    assert _output(out, tmp_path) == reference


def test_speed_screens_the_profiled_build(program: bytes) -> None:
    advice = Advice(["default<O3>"], 100, True)
    r = optimize_speed(program, advice, name="p.bc", run_args=["40000000"], repeats=3, timeout_s=60,
                       started=0.0, pgo=True, polly=False)
    assert not r.note.startswith("refused"), r.note
    (screened,) = [t for t in r.tried if t["pipeline"] == PGO_LABEL and "confirm_rounds" not in t]
    assert screened.get("metric", 0) > 0, screened
    assert r.pipeline == "default<O3>"  # the profiled build is -O3 too, whether it won or not
