"""The registry of learning problems and the Problem protocol."""

from __future__ import annotations

import subprocess
import sys

import pytest

from irpipe.errors import ConfigError
from irpipe.problems import PROBLEMS, EvalRequest, Problem, get, names
from irpipe.problems.base import default_config, unsupported


def test_every_problem_fits_the_protocol() -> None:
    assert names() == ["inliner", "loop-decisions", "mlir-cost", "phase-order"] == sorted(PROBLEMS)
    for name in names():
        problem = get(name)
        assert isinstance(problem, Problem) and problem.name == name
        assert problem.input_kind in ("llvm", "mlir", "source")
        assert default_config(problem).is_file(), name  # every released model says how it was trained


def test_an_unknown_problem_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as exc:
        get("loop-unroll")
    assert str(exc.value) == "unknown problem 'loop-unroll'; known: inliner, loop-decisions, mlir-cost, phase-order"


def test_released_configs_load_with_their_problem() -> None:
    for name in names():
        problem = get(name)
        cfg = problem.load_config(default_config(problem))
        assert isinstance(cfg, problem.config_type)
    with pytest.raises(ConfigError, match="--set 'epochs=3': want key=value with key in"):
        get("inliner").load_config(None, ["epochs=3"])
    assert get("inliner").load_config(None, ["iterations=3"]).iterations == 3


def test_options_a_problem_does_not_read_are_named() -> None:
    request = EvalRequest(verify=3, baselines=("random",), measurements="m")
    assert unsupported(get("phase-order"), request) == []
    assert unsupported(get("mlir-cost"), request) == ["verify", "baselines"]
    assert unsupported(get("inliner"), request) == ["measurements", "verify", "baselines"]
    assert unsupported(get("inliner"), EvalRequest(baselines=())) == []  # "--baselines ''": nothing asked


def test_the_registry_loads_no_problem_and_no_torch() -> None:
    code = ("import sys, irpipe.problems as p; p.names(); "
            "assert not [m for m in sys.modules if m == 'torch' or m.startswith('irpipe.problems.') "
            "and m != 'irpipe.problems.base'], sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
