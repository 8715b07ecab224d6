"""What ``irpipe optimize`` answers: the chosen pipeline (and per-function pipelines or per-loop
decisions), the optimized module and the figures beside its baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: the speed objective's baseline: what clang-22 -O3 runs
SPEED_BASELINE = "default<O3>"


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
    note: str = ""
    functions: dict[str, str] = field(default_factory=dict)  #: per-function pipelines run after ``pipeline``
    loops: dict[str, dict[str, Any]] = field(default_factory=dict)  #: per-loop decisions in ``pipeline`` (speed)
    #: speed: the label of a build that is more than ``pipeline`` and ``loops`` (Polly, the profile, the whole
    #: program), "" otherwise; advice (a pipeline and loop decisions) cannot express it
    build: str = ""

    @property
    def improvement(self) -> float:
        """Baseline metric / chosen metric (>= 1; 1 when nothing could be measured)."""
        if not (self.metric and math.isfinite(self.metric) and math.isfinite(self.baseline_metric)):
            return 1.0
        return self.baseline_metric / self.metric

    def summary(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None
        return {"objective": self.objective, "pipeline": self.pipeline, "functions": self.functions,
                "metric": num(self.metric),
                "baseline": self.baseline, "baseline_metric": num(self.baseline_metric),
                "improvement": round(self.improvement, 5), "input_instructions": self.input_instructions,
                "compiles": len(self.tried), "tried": self.tried, "seconds": round(self.seconds, 3),
                **({"loops": self.loops} if self.loops else {}), **({"build": self.build} if self.build else {}),
                **({"note": self.note} if self.note else {})}
