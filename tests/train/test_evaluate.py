"""Phase-order evaluation counts the modules it leaves out of the metrics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from irpipe.errors import IRError
from irpipe.train.evaluate import format_report, predict_modules


class FakePredictor:
    pset = SimpleNamespace(pipelines=["a", "b"])

    def predict(self, content: bytes, name: str) -> SimpleNamespace:
        if content == b"bad":
            raise IRError(f"{name}: not LLVM IR")
        return SimpleNamespace(cost=np.zeros((2, 2)), scores=np.zeros((2, 2)))


def _measured(pipeline: str) -> dict:
    return {"pipeline": pipeline, "input_instructions": 10, "instructions": 5, "text_bytes": 20}


def test_unmeasured_and_unpredicted_modules_are_counted() -> None:
    rows = {"ok": [_measured("a"), _measured("b")], "bad": [_measured("a")],
            "failed": [{**_measured("a"), "instructions": None, "text_bytes": None, "error": "timeout"}],
            "empty": [{**_measured("a"), "input_instructions": 0, "instructions": 0, "text_bytes": 0}]}
    modules = [{"structural_hash": h, "recipe_id": "r", "content": h.encode()}
               for h in ("ok", "bad", "failed", "missing", "empty")]
    done = predict_modules(["m"], [FakePredictor()], modules, rows)
    assert [r["structural_hash"] for r in done.used] == ["ok", "empty"]  # measured: no code, not a failure
    assert (done.unmeasured, done.unpredicted) == (2, 1)
    assert len(done.per_model["m"]["true"]) == 2


def test_the_table_says_how_many_failed() -> None:
    report = {"modules": 3, "packages": 1, "split": "test", "verify": 10, "failed": 2,
              "failures": {"unmeasured": 1, "unpredicted": 1}, "models": {"m": {"arch": "gnn"}},
              "baselines": {"size_random_10": 1.01}, "baseline_failed": {"size_random_10": 1}}
    text = format_report(report)
    assert "3 modules of 1 packages (split test)" in text
    assert "failed: 2 (1 not measured, 1 not predicted)" in text
    assert "| size: random search, 10 compiles, vs -Oz (1 modules failed) |" in text
