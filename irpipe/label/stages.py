"""Label one unit of work (a row range of a module shard) by autotuning search, Ray-free.

Output layout (:class:`irpipe.runtime.units.UnitOutputs`)::

    OUT/labels/<lang>/train-NNNNN-rRRRRRR.parquet    LABELS rows
    OUT/failures/<lang>/train-NNNNN-rRRRRRR.parquet  modules that could not be labelled
    OUT/done/<unit id>.json, OUT/manifest.json

Every evaluation runs in an isolated LLVM child: a pipeline that crashes or
hangs LLVM costs one evaluation (counted in ``failed_evaluations``); a module
whose reference baseline cannot be measured (e.g. runtime of a module without
``main``) becomes one failure row; the job goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irpipe.runtime.units import KEYS, ModuleStage
from irpipe.errors import ConfigError
from irpipe.label.measure import OBJECTIVES, Evaluator
from irpipe.label.runtime import Program, RuntimeEvaluator
from irpipe.label.search import METHODS, SearchResult, search
from irpipe.llvm import isolate, native


@dataclass(frozen=True)
class LabelOptions:
    """How to label: objective, search method, budget (evaluations and seconds), seed."""

    objective: str = "instcount"
    method: str = "evolutionary"
    budget: int = 200
    seconds: float | None = None
    seed: int = 0
    top_k: int = 5
    timeout_s: float = 60.0     # per evaluation
    repeats: int = 3            # runtime objective: runs per measurement

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.method not in METHODS:
            raise ConfigError(f"unknown method {self.method!r}; choose from {', '.join(METHODS)}")


def label_module(data: bytes, name: str, options: LabelOptions,
                 worker: isolate.Isolated | None = None) -> SearchResult:
    """Search the best pipeline of one module for ``options.objective``."""
    ev = Evaluator(data, name=name, timeout_s=options.timeout_s, worker=worker)
    runner = None
    if options.objective == "instcount":
        def measure(p: str) -> float:
            return ev.evaluate(p).metric("instcount")
    elif options.objective == "size":
        def measure(p: str) -> float:
            return ev.evaluate(p, object_file=True).metric("size")
    else:
        runner = RuntimeEvaluator(Program(data, name=name), repeats=options.repeats, evaluator=ev)
        runner.check_reference()  # not runnable / nondeterministic: one clear error, up front

        def measure(p: str) -> float:
            return runner.measure(p).median
    try:
        return search(measure, objective=options.objective, method=options.method,
                      budget=options.budget, seconds=options.seconds, seed=options.seed,
                      top_k=options.top_k)
    finally:
        if runner is not None:
            runner.close()


def label_row(result: SearchResult, keys: dict[str, Any], structural_hash: str,
              budget: int) -> dict[str, Any]:
    """A LABELS row from a search result."""
    inf = float("inf")
    return {
        "structural_hash": structural_hash, **keys, "objective": result.objective,
        "method": result.method, "seed": result.seed, "budget": budget,
        "baselines": {k: (None if v == inf else v) for k, v in result.baselines.items()},
        "best_pipeline": result.best_pipeline, "best_actions": result.best_actions,
        "best_metric": result.best_metric, "improvement": result.improvement,
        "top_k": [{"pipeline": p, "metric": m} for p, m in result.top_k],
        "evaluations": result.evaluations, "failed_evaluations": result.failed_evaluations,
        "seconds": result.seconds, "failures": result.failures,
    }


class LlvmStage(ModuleStage):
    """A per-module stage over the LLVM rows of a unit; its resources on a worker are the native
    library (loaded there: a missing or stale one fails at once) and an isolated LLVM child."""

    ir_kind = "llvm"

    def resources(self) -> isolate.Isolated:
        native.load()
        return isolate.Isolated(timeout_s=self.options.timeout_s)


class Labeler(LlvmStage):
    """Label the modules of one unit by search."""

    name = "label"
    outputs = ("labels",)

    def module(self, row: dict[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
        result = label_module(row["content"], name, self.options, self.worker)
        keys = {k: row.get(k) for k in KEYS}
        return {"labels": [label_row(result, keys, row.get("structural_hash") or name, self.options.budget)]}

    def stats(self, rows: dict[str, list[dict]], failures: list[dict]) -> dict[str, Any]:
        return {"modules": len(rows["labels"]), "failed": len(failures),
                "evaluations": sum(r["evaluations"] for r in rows["labels"])}
