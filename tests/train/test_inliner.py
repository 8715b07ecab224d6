"""The inliner's ES on the one training loop, and its reports count the modules that failed."""

from __future__ import annotations

import json
from pathlib import Path

from irpipe.label.measure import Evaluator
from irpipe.nn.inliner import InlinerPolicy
from irpipe.testing.factories import SIMPLE_IR
from irpipe.train.inliner import Default, InlinerConfig, evaluate, run

ROOT = Path(__file__).resolve().parents[2]


def test_a_module_that_does_not_compile_is_counted_not_dropped() -> None:
    good = Evaluator(SIMPLE_IR.encode()).evaluate("verify", bitcode=True)[1]["bitcode"]
    report = evaluate(Default(), [good, b"not bitcode"], failed=2)
    assert report["modules"] == 1 and report["failed"] == 3
    assert report["geomean_gain"] == 1.0 and report["no_text"] == 0


def test_es_trains_on_the_one_loop_and_saves_the_one_schema(tmp_path: Path) -> None:
    cfg = InlinerConfig(dataset=str(ROOT / "datasets" / "default" / "sample"), train_modules=2, eval_modules=2,
                        iterations=1, pairs=1)
    lines: list[str] = []
    report = run(cfg, tmp_path / "pol", progress=lines.append)
    rows = [json.loads(line) for line in (tmp_path / "pol" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1] and all(r["reward"] > 0 for r in rows)
    assert report["history"] == rows and report["held_out"]["failed"] >= 0
    assert lines[0].startswith("inliner ES: 2 modules") and "failed" in lines[-1]
    meta = json.loads((tmp_path / "pol" / "model.json").read_text())
    assert (meta["problem"], meta["config"]["iterations"]) == ("inliner", 1)
    policy = InlinerPolicy.load(tmp_path / "pol")
    assert policy.info["train"]["modules"] == 2 and not (tmp_path / "pol" / "last").exists()
