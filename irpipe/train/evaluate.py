"""``irpipe evaluate``: models side by side on the modules of a split, against search baselines.

For every module of the split (default: test, by package with the model's split
seed; ``all`` for a held-out dataset) the candidate matrix is measured (or read
from ``--measurements``), then per objective (IR instructions, .text bytes):

* cost model: MAPE, Kendall tau of the candidates' ranking, top-1 regret;
* policy: one model call, then ``verify`` compiles (-Oz plus the policy's next best
  candidates), the best kept: geomean -Oz metric / kept metric (never below 1);
* baselines at the same number of compiles: random search and greedy search over the
  whole action space (-Oz plus ``verify - 1`` searched pipelines, seeded), and the
  oracle best candidate of the vocabulary (an upper bound for this policy).

A module of the split without a successful measurement, or that a model cannot read,
is left out of the metrics and counted: ``failed`` (``failures``: ``unmeasured``,
``unpredicted``); so are the modules a search baseline could not search
(``baseline_failed``).  The printed table says both.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow.compute as pc

from irpipe.data.examples import OBJECTIVES, targets
from irpipe.data.splits import select_hashes
from irpipe.runtime.units import read_table
from irpipe.errors import ConfigError, EvalError, IrpipeError
from irpipe.runtime.shards import read_modules
from irpipe.label.measure import Evaluator
from irpipe.label.search import METHODS, search
from irpipe.train.predict import Predictor
from irpipe.train.phase_order import matrix_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and against what."""

    split: str = "test"
    verify: int = 10                      # compiles per module after the model call (-Oz included)
    baselines: tuple[str, ...] = ("random", "greedy")
    seed: int = 0
    timeout_s: float = 60.0
    max_modules: int | None = None
    max_instructions: int | None = None   # skip bigger modules (measuring them dominates the time)

    def __post_init__(self) -> None:
        # checked here: search's own check would be caught per module as a failed measurement
        unknown = [m for m in self.baselines if m not in METHODS]
        if unknown:
            raise ConfigError(f"unknown search baseline(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")


def _search_gain(data: bytes, name: str, objective: str, method: str, budget: int, seed: int,
                 timeout_s: float) -> float | None:
    """-Oz / best metric of a ``budget``-compile search (-Oz included); None when -Oz fails."""
    ev = Evaluator(data, name=name, timeout_s=timeout_s)
    size = objective == "size"

    def measure(p: str) -> float:
        return ev.evaluate(p, object_file=size).metric(objective)
    try:
        result = search(measure, objective=objective, method=method, budget=budget, seed=seed,
                        baselines=("Oz",))
    except IrpipeError:
        return None
    return result.improvement


def _geomean(values: Sequence[float | None]) -> float:
    ok = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return float(math.exp(np.mean(np.log(ok)))) if ok else math.nan


def _split_hashes(dataset: str | Path, options: EvalOptions, split_seed: int) -> set[str]:
    """The structural hashes of the modules to evaluate (split, size limit, sample)."""
    keys = read_modules(dataset, columns=["structural_hash", "recipe_id", "package_name",
                                          "instruction_count"])
    if options.max_instructions is not None:
        keys = keys.filter(pc.less_equal(keys["instruction_count"], options.max_instructions))
    hashes = select_hashes(keys, options.split, sample=options.max_modules, seed=split_seed)
    if not hashes:
        raise EvalError(f"no modules of {dataset} in split {options.split!r}")
    return hashes


def _measurement_rows(dataset: str | Path, hashes: set[str], pipelines: list[str],
                      measurements: str | Path | None, work: str | Path | None,
                      options: EvalOptions, progress: bool) -> dict[str, list[dict]]:
    """MEASUREMENTS rows of ``hashes`` (measured now into ``work`` unless ``measurements``)."""
    from irpipe.label.job import run_measure
    from irpipe.label.matrix import MeasureOptions

    if measurements is None:
        work = Path(work or Path("out/eval") / Path(dataset).resolve().name)
        run_measure(dataset, work, MeasureOptions(tuple(pipelines), object_file=True,
                                                  timeout_s=options.timeout_s,
                                                  only=frozenset(hashes)), progress=progress)
        measurements = work
    rows_by_hash: dict[str, list[dict]] = {}
    for r in read_table(measurements, "measurements").to_pylist():
        if r["structural_hash"] in hashes:
            rows_by_hash.setdefault(r["structural_hash"], []).append(r)
    return rows_by_hash


@dataclass
class Predicted:
    """The modules every model predicted, with each model's outputs and the measured truth,
    and how many modules failed: not measured (no row, or every candidate's row an error) or
    not predicted (a model could not read the module)."""

    used: list[dict[str, Any]]
    per_model: dict[str, dict[str, list]]
    unmeasured: int = 0
    unpredicted: int = 0


def predict_modules(model_dirs: Sequence[str | Path], predictors: Sequence[Any], modules: list[dict],
                    rows_by_hash: dict[str, list[dict]], progress: bool = False) -> Predicted:
    """Every model's prediction for each module of ``modules`` that has measurements; a module
    without a successful measurement, or that a model cannot read, is counted, not used."""
    from tqdm import tqdm

    out = Predicted([], {str(d): {"cost": [], "scores": [], "true": []} for d in model_dirs})
    for row in tqdm(modules, desc="predict", disable=not progress, unit="mod"):
        measured = rows_by_hash.get(row["structural_hash"], [])
        if all(r.get("error") for r in measured):  # none, or every candidate failed to measure
            out.unmeasured += 1
            continue
        name = f"{row['recipe_id']}:{row['structural_hash'][:12]}"
        try:
            preds = [pr.predict(row["content"], name) for pr in predictors]
        except IrpipeError as exc:
            log.warning("evaluate: %s: %s", name, exc)
            out.unpredicted += 1
            continue
        out.used.append(row)
        for d, pr, pred in zip(model_dirs, predictors, preds):
            acc = out.per_model[str(d)]
            acc["cost"].append(pred.cost)
            acc["scores"].append(pred.scores)
            acc["true"].append(targets(measured, pr.pset.pipelines))
    return out


def _baselines(used: list[dict], options: EvalOptions, progress: bool) -> tuple[dict[str, float], dict[str, int]]:
    """Geomean gain of each search baseline per objective, and the modules each could not search."""
    from tqdm import tqdm

    gains_by_key, failed = {}, {}
    for method in options.baselines:
        for objective, _ in OBJECTIVES:
            key = f"{objective}_{method}_{options.verify}"
            gains = [_search_gain(r["content"], r["structural_hash"][:12], objective, method,
                                  options.verify, options.seed, options.timeout_s)
                     for r in tqdm(used, desc=f"{method} {objective}", disable=not progress, unit="mod")]
            gains_by_key[key] = _geomean(gains)
            failed[key] = sum(g is None for g in gains)
    return gains_by_key, failed


def evaluate(model_dirs: Sequence[str | Path], dataset: str | Path, *,
             measurements: str | Path | None = None, work: str | Path | None = None,
             options: EvalOptions = EvalOptions(), progress: bool = True) -> dict[str, Any]:
    """Evaluate each model of ``model_dirs`` on ``dataset``; a JSON-able report.  ``failed``
    counts the modules of the split left out of the metrics (``failures`` says why)."""
    predictors = [Predictor.load(d) for d in model_dirs]
    hashes = _split_hashes(dataset, options, predictors[0].config.data.split_seed)
    pipelines = sorted({p for pr in predictors for p in pr.pset.pipelines})
    rows_by_hash = _measurement_rows(dataset, hashes, pipelines, measurements, work, options, progress)
    table = read_modules(dataset, columns=["structural_hash", "recipe_id", "package_name", "content"])
    modules = [r for r in table.to_pylist() if r["structural_hash"] in hashes]
    done = predict_modules(model_dirs, predictors, modules, rows_by_hash, progress)
    failures = {"unmeasured": done.unmeasured, "unpredicted": done.unpredicted}
    if not done.used:
        raise EvalError(f"no module could be measured and predicted ({len(modules)} in the split: "
                        f"{done.unmeasured} not measured, {done.unpredicted} not predicted)")
    report: dict[str, Any] = {
        "dataset": str(dataset), "split": options.split, "verify": options.verify,
        "modules": len(done.used), "packages": len({r["recipe_id"] or r["package_name"] for r in done.used}),
        "failed": sum(failures.values()), "failures": failures, "models": {}}
    for d, pr in zip(model_dirs, predictors):
        acc = done.per_model[str(d)]
        m = matrix_metrics(np.stack(acc["cost"]), np.stack(acc["scores"]), np.stack(acc["true"]),
                           pr.meta["reference"], options.verify, pr.picks(options.verify))
        report["models"][str(d)] = {"arch": pr.arch, "candidates": len(pr.pset.pipelines), **m}
    report["baselines"], report["baseline_failed"] = _baselines(done.used, options, progress)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A Markdown table: one column per model, baselines below."""
    names = list(report["models"])
    n = report["verify"]
    failures = report.get("failures", {})
    head = [f"{report['modules']} modules of {report['packages']} packages "
            f"(split {report['split']}), {n} verifying compiles; failed: {report.get('failed', 0)} "
            f"({failures.get('unmeasured', 0)} not measured, {failures.get('unpredicted', 0)} not predicted)", "",
            "| metric | " + " | ".join(f"{report['models'][m]['arch']} ({Path(m).name})" for m in names) + " |",
            "|---|" + "---:|" * len(names)]
    rows = []
    for objective, _ in OBJECTIVES:
        for key, label in (("mape", "cost MAPE"), ("tau", "cost Kendall tau"),
                           ("regret", "cost top-1 regret"),
                           ("policy_top1", "policy top-1 (2 compiles with -Oz), vs -Oz"),
                           (f"policy_top{n}", f"**policy, 1 call + {n} compiles, vs -Oz**"),
                           (f"policy_only_top{n}", f"policy picks all {n - 1} (no vocabulary order), vs -Oz"),
                           (f"cost_top{n}", f"cost head ranking, {n} compiles, vs -Oz"),
                           (f"static_top{n}", f"no model: vocabulary order, {n} compiles, vs -Oz"),
                           ("oracle", "best candidate (oracle), vs -Oz")):
            vals = [report["models"][m].get(f"{objective}_{key}", math.nan) for m in names]
            rows.append(f"| {objective}: {label} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
    for key, value in report["baselines"].items():
        objective, method, budget = key.rsplit("_", 2)
        missed = report.get("baseline_failed", {}).get(key, 0)
        rows.append(f"| {objective}: {method} search, {budget} compiles, vs -Oz"
                    + (f" ({missed} modules failed)" if missed else "") + " | "
                    + " | ".join(f"{value:.4f}" for _ in names) + " |")
    return "\n".join(head + rows)
