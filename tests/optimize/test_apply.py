"""irpipe optimize's library: never worse than -Oz, verified output, advice round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import ConfigError, IRError
from irpipe.llvm import ir
from irpipe.optimize import advice
from irpipe.optimize.apply import optimize
from irpipe.train.predict import Predictor
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR

DEFAULT = Path(__file__).resolve().parents[2] / "models" / "default"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load(DEFAULT)


@pytest.mark.parametrize("objective", ["size", "instcount"])
def test_never_worse_than_oz(predictor: Predictor, objective: str) -> None:
    for text in (SIMPLE_IR, GRAPH_IR):
        r = optimize(text, predictor, objective=objective)
        assert r.metric <= r.baseline_metric and r.improvement >= 1.0
        assert len(r.tried) == 10 and r.tried[0]["pipeline"] == "default<Oz>"   # 10 module pipelines
        ir.parse(r.bitcode)  # verifies


def test_one_compile_is_the_baseline(predictor: Predictor) -> None:
    r = optimize(SIMPLE_IR, predictor, objective="instcount", verify=1)
    assert r.pipeline == "default<Oz>" and r.improvement == 1.0


def test_bad_input(predictor: Predictor) -> None:
    with pytest.raises(IRError, match="objective 'fast'"):
        optimize(SIMPLE_IR, predictor, objective="fast")
    with pytest.raises(IRError):
        optimize("define i32 @f( {", predictor)


PROGRAM = r"""#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  unsigned *a = calloc(n, sizeof *a), h = 2166136261u;
  for (int r = 0; r < 200; r++)
    for (int i = 0; i < n; i++) { a[i] = a[i] * 31 + i * r; h = (h ^ a[i]) * 16777619u; }
  printf("%u\n", h);
  free(a);
  return 0;
}
"""


def test_speed_runs_the_program_and_is_never_slower_than_o3(predictor: Predictor, tmp_path: Path) -> None:
    """speed: candidates are built and run (output checked); -O3 stays unless a winner is confirmed."""
    from irpipe.label.runtime import Program

    program = Program.from_c(_write(tmp_path / "p.c", PROGRAM))
    r = optimize(program.bitcode, predictor, objective="speed", verify=3, run_args=["1500000"], repeats=3)
    assert r.baseline == "default<O3>" and r.objective == "speed" and "refused" not in r.note
    assert r.tried[0]["pipeline"] == "default<O3>" and len([t for t in r.tried if "metric" in t]) >= 2
    assert r.pipeline == "default<O3>" or "confirmed" in r.note
    assert r.metric <= r.baseline_metric and r.note
    ir.parse(r.bitcode)


def test_speed_refuses_a_program_too_short_to_time(predictor: Predictor, tmp_path: Path) -> None:
    """A run of a few ms is scheduler ticks, not speed: -O3 stays and the note says why."""
    from irpipe.label.runtime import Program

    program = Program.from_c(_write(tmp_path / "p.c", PROGRAM))
    r = optimize(program.bitcode, predictor, objective="speed", verify=5, run_args=["2000"], repeats=3)
    assert r.pipeline == "default<O3>" and r.note.startswith("refused:") and "ms of CPU" in r.note
    assert [t["pipeline"] for t in r.tried] == ["default<O3>"]


def test_repeats_scale_with_noise() -> None:
    from irpipe.label.runtime import MAX_REPEATS, scaled_repeats, speed_floor, spread

    assert spread([1.0, 1.0, 1.0]) == 0 and scaled_repeats(5, 0.0) == 5
    assert abs(spread([1.0, 1.1, 0.9, 1.0, 1.05]) - 0.05) < 1e-9
    assert scaled_repeats(5, 0.01) == 5 and scaled_repeats(5, 0.05) == 12
    assert scaled_repeats(5, 0.5) == MAX_REPEATS and speed_floor(0.05) == 0.1 and speed_floor(0.0) == 0.03


def test_speed_without_main_keeps_o3_and_says_why(predictor: Predictor) -> None:
    r = optimize(SIMPLE_IR, predictor, objective="speed")
    assert r.pipeline == "default<O3>" and r.improvement == 1.0 and "no main()" in r.note
    assert r.summary()["metric"] is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_advice_round_trip(tmp_path: Path) -> None:
    entry = advice.module_advice("h", "a.ll", "size", "default<Oz>", {"f": "function(sroa<modify-cfg>)"})
    path = advice.write(tmp_path / "a.json", [entry])
    assert advice.read(path) == [entry]
    with pytest.raises(IRError):
        advice.module_advice("h", "a.ll", "size", "function(not-a-pass)")
    path.write_text('{"format": "irpipe.advice", "version": 7}')
    with pytest.raises(ConfigError, match="version 7"):
        advice.read(path)
