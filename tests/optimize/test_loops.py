"""Per-loop decisions in optimize (issue J item 5): listed and applied by opt-22 with the plugin,
model only (--no-run) and screened by running; no decision is plain -O3; the output keeps its meaning."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from irpipe.llvm import ir, native
from irpipe.llvm.tools import Toolchain
from irpipe.optimize import advice
from irpipe.optimize.apply import optimize
from irpipe.optimize.loops import LoopAdviser, apply_loops, loop_listing
from irpipe.optimize.speed import LOOPS_LABEL
from irpipe.testing.factories import SIMPLE_IR, o0_module
from irpipe.testing.gates import requires_llvm

pytestmark = [requires_llvm, pytest.mark.skipif(not native.plugin_path().is_file(),
                                                reason="the pass plugin is not built (make native)")]
ROOT = Path(__file__).resolve().parents[2]
PROGRAM = r"""#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  unsigned *a = calloc(n, sizeof *a), h = 2166136261u;
  double s = 0;
  for (int r = 0; r < 200; r++)
    for (int i = 0; i < n; i++) { a[i] = a[i] * 31 + i * r; h = (h ^ a[i]) * 16777619u; s += a[i] * 0.5; }
  printf("%u %.17g\n", h, s);
  free(a);
  return 0;
}
"""


class Fixed:
    """A loop policy that always gives the same decisions (the mechanism, not the model)."""

    directory = "fixed"

    def __init__(self, decisions: dict[str, dict[str, Any]]):
        self.decisions = decisions

    def advise(self, module: bytes, **_: Any) -> dict[str, dict[str, Any]]:
        return self.decisions


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The program as clang-22 -O0 bitcode for the machine's default target (as a user builds it)."""
    return o0_module(tmp_path_factory.mktemp("loops"), PROGRAM)


@pytest.fixture(scope="module")
def predictor() -> Any:
    from irpipe.train.predict import Predictor

    return Predictor.load(ROOT / "models" / "default")


def _output(bitcode: bytes, tmp: Path, *args: str) -> bytes:
    (tmp / "x.bc").write_bytes(bitcode)
    Toolchain().run("clang", [str(tmp / "x.bc"), "-o", str(tmp / "x"), "-lm"])
    return subprocess.run([str(tmp / "x"), *args], capture_output=True, check=True).stdout


def _target(bitcode: bytes) -> tuple[str, set[str]]:
    text = ir.to_text(bitcode)
    triple = re.search(r'target triple = "([^"]*)"', text)
    return (triple.group(1) if triple else ""), set(re.findall(r'"target-(?:cpu|features)"="[^"]*"', text))


def test_no_decision_is_plain_o3(program: bytes) -> None:
    o3 = Toolchain().run("opt", ["-passes=default<O3>", "-", "-o", "-"], input=program).stdout
    assert apply_loops(program, {}) == o3


def test_listing_and_the_released_policy(program: bytes) -> None:
    ids = [lp["id"] for lp in loop_listing(program)]
    assert ids == ["main/L0", "main/L0.0"]
    decisions = LoopAdviser.load().advise(program)
    assert set(decisions) <= set(ids) and not advice.loop_errors(decisions)


def test_model_only_applies_the_decisions_and_keeps_the_output(program: bytes, predictor: Any, tmp_path: Path) -> None:
    decisions = {"main/L0.0": {"unroll": 4, "interleave": 2}}
    r = optimize(program, predictor, objective="speed", run=False, loops=Fixed(decisions))  # type: ignore[arg-type]
    assert r.pipeline == "default<O3>" and r.loops == decisions and "not measured" in r.note
    assert r.summary()["loops"] == decisions and r.summary()["metric"] is None
    o3 = optimize(program, predictor, objective="speed", run=False)
    assert o3.loops == {} and "kept default<O3>" in o3.note and o3.bitcode != r.bitcode
    ir.parse(r.bitcode)  # verifies
    assert _target(r.bitcode) == _target(program)  # the input's triple, CPU and features, kept
    assert _output(r.bitcode, tmp_path, "3000") == _output(o3.bitcode, tmp_path, "3000")
    entry = advice.optimized_advice(r, ir.inspect(program).structural_hash, "p.c")
    assert entry["loops"] == decisions and entry["pipeline"] == "default<O3>" and entry["verified"]


def test_without_main_the_model_only_answer_is_used(predictor: Any) -> None:
    r = optimize(SIMPLE_IR, predictor, objective="speed", loops=Fixed({}))  # type: ignore[arg-type]
    assert r.pipeline == "default<O3>" and "no main()" in r.note and "keeps -O3 on every loop" in r.note


def test_a_missing_plugin_keeps_o3(program: bytes, predictor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "plugin_path", lambda: Path("/nonexistent/libIRPipe.so"))
    r = optimize(program, predictor, objective="speed", run=False, loops=LoopAdviser.load())
    assert r.pipeline == "default<O3>" and not r.loops and "pass plugin" in r.note


def test_speed_screens_the_loop_decisions(program: bytes, predictor: Any) -> None:
    """Running: -O3 with the decisions is one more candidate, built, run and output-checked."""
    decisions = {"main/L0.0": {"unroll": 2}}
    r = optimize(program, predictor, objective="speed", verify=1, run_args=["1500000"], repeats=3,
                 loops=Fixed(decisions))  # type: ignore[arg-type]
    screened = [t for t in r.tried if t.get("loops") == decisions and "confirm_rounds" not in t]
    assert len(screened) == 1 and ("metric" in screened[0] or "error" in screened[0]), r.tried
    assert r.loops in ({}, decisions) and (r.loops == {} or "confirmed" in r.note)
    assert LOOPS_LABEL not in {t["pipeline"] for t in r.tried}  # the record names the real pipeline


def test_decisions_that_do_not_build_keep_o3(program: bytes, predictor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Model only: a build of the decisions that fails (say, unrolling past the time limit) keeps -O3."""
    from irpipe.errors import IRError
    from irpipe.optimize import loops

    def fail(*_: Any, **__: Any) -> bytes:
        raise IRError("p.bc: opt-22 -passes='default<O3>' with the pass plugin: timed out")
    monkeypatch.setattr(loops, "apply_loops", fail)
    r = optimize(program, predictor, objective="speed", run=False, loops=Fixed({"main/L0.0": {"unroll": 8}}))  # type: ignore[arg-type]
    assert r.pipeline == "default<O3>" and not r.loops and "did not build" in r.note
    assert "timed out" in r.tried[0]["error"]


def test_the_search_scores_the_hot_loop_by_proxy(program: bytes) -> None:
    """Running a counting build finds the inner loop; each decision is scored by cachegrind cycles."""
    from irpipe.label.runtime import Program, RuntimeEvaluator
    from irpipe.optimize.loopsearch import search_module

    runner = RuntimeEvaluator(Program(program, name="p.bc", args=["3000"]), repeats=1)
    try:
        found = search_module(program, runner, 1, by="proxy", name="p.bc",
                              decisions=({"unroll": 2}, {"vectorize": "off"}))
    finally:
        runner.close()
    (hot,) = found.hot
    assert {k: hot[k] for k in ("unit", "loop", "iterations")} == {"unit": "p.bc", "loop": "main/L0.0", "iterations": 200 * 3000}
    assert hot["facts"]["depth"] == 2 and hot["facts"]["strict_fp_reduction"]  # the listing's facts, for labels
    assert [t["decision"] for t in found.tried] == [{"unroll": 2}, {"vectorize": "off"}]
    assert all(t["proxy_speedup"] > 0 for t in found.tried), found.tried
    assert set(found.decided) <= {"p.bc"} and all(set(d) == {"main/L0.0"} for d in found.decided.values())


def test_speed_screens_the_searched_decisions(program: bytes, predictor: Any) -> None:
    """--loop-search: the search is recorded and its decisions, if any, are one more candidate."""
    from irpipe.optimize.loopsearch import SEARCH_LABEL

    r = optimize(program, predictor, objective="speed", verify=1, run_args=["1500000"], repeats=3,
                 loop_search=1, search_by="time")
    (search,) = [t["loop_search"] for t in r.tried if "loop_search" in t]
    assert [h["loop"] for h in search["hot"]] == ["main/L0.0"]
    assert len(search["scores"]) >= 7 and all("time_speedup" in s or "error" in s for s in search["scores"])
    screened = [t for t in r.tried if t.get("loops") and "confirm_rounds" not in t]
    assert [t["loops"] for t in screened] == list(search["decided"].values())
    assert r.loops in ({}, *search["decided"].values())
    assert SEARCH_LABEL in {t["pipeline"] for t in r.tried if "loop_search" in t}
