"""irpipe.label.search: seeded, within budget, never worse than the reference baseline."""

from __future__ import annotations

import pytest

from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.search import METHODS, search
from irpipe.testing.factories import sample_modules


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    name, data = next((n, d) for n, d in sample_modules(12, max_instructions=3000, languages=("c",))
                      if n.endswith("md2hl.o"))
    return Evaluator(data, name=name)


@pytest.mark.parametrize("method", METHODS)
def test_seeded_reproducible_within_budget_never_worse(evaluator: Evaluator, method: str) -> None:
    def measure(p: str) -> float:
        return evaluator.evaluate(p).metric("instcount")

    a = search(measure, objective="instcount", method=method, budget=60, seed=3)
    b = search(measure, objective="instcount", method=method, budget=60, seed=3)
    assert (a.best_pipeline, a.best_metric, a.top_k) == (b.best_pipeline, b.best_metric, b.top_k)
    assert a.evaluations <= 60 and a.best_metric <= a.baselines["Oz"] and a.improvement >= 1.0
    assert set(a.baselines) == {"O0", "O1", "O2", "O3", "Os", "Oz"}
    assert evaluator.evaluate(a.best_pipeline).instructions == a.best_metric   # the label replays


def test_failures_are_counted_not_fatal_and_seconds_bound() -> None:
    calls = []

    def flaky(p: str) -> float:
        calls.append(p)
        if "gvn" in p:
            raise EvaluationError(f"pipeline {p!r}: LLVM crashed")
        return float(len(p))

    r = search(flaky, objective="instcount", method="random", budget=300, seed=1)
    assert r.failed_evaluations > 0 and r.failures and r.best_metric <= r.baselines["Oz"]
    r = search(flaky, objective="size", method="evolutionary", budget=10**9, seconds=0.5, seed=1)
    assert r.seconds < 5


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown search method"):
        search(lambda p: 1.0, objective="instcount", method="annealing")
