"""irpipe optimize's library: never worse than -Oz, verified output, advice round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import ConfigError, IRError
from irpipe.llvm import ir
from irpipe.optimize import advice
from irpipe.optimize.apply import optimize
from irpipe.optimize.predict import Predictor
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
        assert len(r.tried) == 10 and r.tried[0]["pipeline"] == "default<Oz>"
        ir.parse(r.bitcode)  # verifies


def test_one_compile_is_the_baseline(predictor: Predictor) -> None:
    r = optimize(SIMPLE_IR, predictor, objective="instcount", verify=1)
    assert r.pipeline == "default<Oz>" and r.improvement == 1.0


def test_bad_input(predictor: Predictor) -> None:
    with pytest.raises(IRError, match="objective 'speed'"):
        optimize(SIMPLE_IR, predictor, objective="speed")
    with pytest.raises(IRError):
        optimize("define i32 @f( {", predictor)


def test_advice_round_trip(tmp_path: Path) -> None:
    entry = advice.module_advice("h", "a.ll", "size", "default<Oz>", {"f": "function(sroa<modify-cfg>)"})
    path = advice.write(tmp_path / "a.json", [entry])
    assert advice.read(path) == [entry]
    with pytest.raises(IRError):
        advice.module_advice("h", "a.ll", "size", "function(not-a-pass)")
    path.write_text('{"format": "irpipe.advice", "version": 7}')
    with pytest.raises(ConfigError, match="version 7"):
        advice.read(path)
