"""Optimize one module: predict, compile the verifying candidates, keep the best, never worse.

    USAGE: r = optimize(data, Predictor.load("models/default"), objective="size")
           r.bitcode, r.pipeline, r.metric, r.baseline_metric
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from irpipe.errors import IRError
from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.vocab import REFERENCE
from irpipe.llvm import ir
from irpipe.optimize.predict import Predictor

#: What each objective measures (the model's objectives; the reference is irpipe.label.vocab.REFERENCE)
UNITS = {"size": ".text bytes", "instcount": "IR instructions"}


@dataclass
class OptimizeResult:
    """The chosen pipeline, its optimized module and the before/after figures."""

    objective: str
    pipeline: str
    metric: float
    baseline: str
    baseline_metric: float
    input_instructions: int
    bitcode: bytes
    tried: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def improvement(self) -> float:
        """Baseline metric / chosen metric (>= 1)."""
        return self.baseline_metric / self.metric if self.metric else 1.0

    def summary(self) -> dict[str, Any]:
        return {"objective": self.objective, "pipeline": self.pipeline, "metric": self.metric,
                "baseline": self.baseline, "baseline_metric": self.baseline_metric,
                "improvement": round(self.improvement, 5), "input_instructions": self.input_instructions,
                "compiles": len(self.tried), "tried": self.tried, "seconds": round(self.seconds, 3)}


def optimize(data: bytes | str, predictor: Predictor, *, objective: str = "size", verify: int = 10,
             name: str = "<module>", timeout_s: float = 60.0) -> OptimizeResult:
    """One model call, then ``verify`` compiles (the baseline among them); the best wins.

    The baseline's result is the answer when no candidate beats it (or all fail), so the
    output is never worse than -Oz on the measured objective.  The output module passes
    LLVM's verifier (checked in the evaluation).
    """
    if objective not in UNITS:
        raise IRError(f"objective {objective!r}: choose from {', '.join(UNITS)}")
    started = time.monotonic()
    head, baseline = objective, REFERENCE[objective]
    x = predictor.inputs(data, name)
    prediction = predictor.predict_inputs([x])[0]
    candidates = predictor.verify_set(prediction, head, verify)
    if baseline not in candidates:
        candidates = [baseline] + candidates[:verify - 1]
    ev = Evaluator(data, name=name, timeout_s=timeout_s)
    best: tuple[float, str, bytes] | None = None
    base_metric = None
    tried = []
    for pipeline in candidates:
        try:
            m, raw = ev.evaluate(pipeline, object_file=head == "size", bitcode=True)
        except EvaluationError as exc:
            tried.append({"pipeline": pipeline, "error": str(exc).splitlines()[0][:300]})
            continue
        value = m.metric(head)
        tried.append({"pipeline": pipeline, "metric": value})
        if pipeline == baseline:
            base_metric = value
        if best is None or value < best[0] or (value == best[0] and pipeline == baseline):
            best = (value, pipeline, raw["bitcode"])
    if best is None or base_metric is None:
        raise IRError(f"{name}: the baseline {baseline} failed: "
                      + "; ".join(t.get("error", "") for t in tried if t["pipeline"] == baseline))
    ir.parse(best[2], name=name)  # llvmlite re-parses and verifies what we hand out
    return OptimizeResult(objective, best[1], best[0], baseline, base_metric, x.instructions,
                          best[2], tried, time.monotonic() - started)
