"""Optimize one module: predict, compile the verifying candidates, keep the best, never worse.

Objectives: ``size`` (.text bytes) and ``instcount`` (IR instructions) against -Oz,
measured on every candidate; ``speed`` against -O3, measured by *running* the
program (:mod:`irpipe.label.runtime`: median user+sys CPU time, output checked
against the -O0 build), so it needs a module that defines ``main``.  A speed
candidate replaces -O3 only when it stays faster by more than the noise floor in
interleaved confirmation rounds; a module without ``main`` keeps -O3 and says why.

    USAGE: r = optimize(data, Predictor.load("models/default"), objective="size")
           r.bitcode, r.pipeline, r.metric, r.baseline_metric
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from irpipe.errors import IRError
from irpipe.label.measure import AS_OPT, EvaluationError, Evaluator, Target
from irpipe.label.vocab import REFERENCE
from irpipe.llvm import ir
from irpipe.optimize.baseline import Baseline, prepare, user_baseline
from irpipe.optimize.predict import Predictor

#: What each objective measures (the model's objectives; the reference is irpipe.label.vocab.REFERENCE)
UNITS = {"size": ".text bytes", "instcount": "IR instructions", "speed": "CPU seconds"}
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

    @property
    def improvement(self) -> float:
        """Baseline metric / chosen metric (>= 1; 1 when nothing could be measured)."""
        if not (self.metric and math.isfinite(self.metric) and math.isfinite(self.baseline_metric)):
            return 1.0
        return self.baseline_metric / self.metric

    def summary(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None
        return {"objective": self.objective, "pipeline": self.pipeline, "metric": num(self.metric),
                "baseline": self.baseline, "baseline_metric": num(self.baseline_metric),
                "improvement": round(self.improvement, 5), "input_instructions": self.input_instructions,
                "compiles": len(self.tried), "tried": self.tried, "seconds": round(self.seconds, 3),
                **({"note": self.note} if self.note else {})}


def optimize(data: bytes | str, predictor: Predictor, *, objective: str = "size", verify: int = 10,
             name: str = "<module>", timeout_s: float = 60.0, run_args: list[str] | None = None,
             repeats: int = 5, target: Target = AS_OPT) -> OptimizeResult:
    """One model call, then ``verify`` compiles (the baseline among them); the best wins.

    The baseline is the user's own command, ``opt-22 -passes='default<Oz>'`` on the
    same input (:mod:`irpipe.optimize.baseline`); its output is the answer when no
    candidate beats it (or all fail), so the result is never worse than what users
    run.  The module keeps its triple, target-cpu and target-features unless
    ``target`` asks otherwise.  The output passes LLVM's verifier.
    """
    if objective not in UNITS:
        raise IRError(f"objective {objective!r}: choose from {', '.join(UNITS)}")
    started = time.monotonic()
    if objective == "speed":
        return _optimize_speed(data, predictor, verify=verify, name=name, run_args=run_args or [],
                               repeats=repeats, timeout_s=timeout_s, started=started, target=target)
    head, reference = objective, REFERENCE[objective]
    base = user_baseline(data, reference, target=target, name=name, timeout_s=timeout_s,
                         object_file=head == "size")
    x = predictor.inputs(base.module, name)
    prediction = predictor.predict_inputs([x])[0]
    candidates = [p for p in predictor.verify_set(prediction, head, verify) if p != reference][:verify - 1]
    result = choose(base, candidates, head, name=name, timeout_s=timeout_s)
    result.input_instructions = x.instructions
    result.seconds = time.monotonic() - started
    return result


def choose(base: Baseline, candidates: list[str], objective: str, *, name: str = "<module>",
           timeout_s: float = 60.0) -> OptimizeResult:
    """Compile each candidate on ``base.module``; the best beats opt-22's baseline or the baseline stays."""
    base_metric = base.measurement.metric(objective)
    best: tuple[float, str, bytes] = (base_metric, base.pipeline, base.bitcode)
    tried: list[dict[str, Any]] = [{"pipeline": base.pipeline, "metric": base_metric, "by": "opt-22"}]
    ev = Evaluator(base.module, name=name, timeout_s=timeout_s, target=AS_OPT)
    for pipeline in candidates:
        try:
            m, raw = ev.evaluate(pipeline, object_file=objective == "size", bitcode=True)
        except EvaluationError as exc:
            tried.append({"pipeline": pipeline, "error": str(exc).splitlines()[0][:300]})
            continue
        value = m.metric(objective)
        tried.append({"pipeline": pipeline, "metric": value})
        if value < best[0]:
            best = (value, pipeline, raw["bitcode"])
    ir.parse(best[2], name=name)  # llvmlite re-parses and verifies what we hand out
    return OptimizeResult(objective, best[1], best[0], base.pipeline, base_metric, 0, best[2], tried)


def _optimize_speed(data: bytes | str, predictor: Predictor, *, verify: int, name: str,
                    run_args: list[str], repeats: int, timeout_s: float, started: float,
                    target: Target = AS_OPT) -> OptimizeResult:
    """Speed: run the program built with -O3 and with the candidates; keep a confirmed winner."""
    import statistics

    from irpipe.label.runtime import CONFIRM_ROUNDS, SPEED_NOISE, Program, RuntimeEvaluator, confirmed

    data = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s)
    x = predictor.inputs(data, name)
    ev = Evaluator(data, name=name, timeout_s=timeout_s, target=AS_OPT)
    if "main" not in x.graph.functions:  # the graph's functions are the defined ones
        _, raw = ev.evaluate(SPEED_BASELINE, bitcode=True)
        return OptimizeResult("speed", SPEED_BASELINE, float("nan"), SPEED_BASELINE, float("nan"),
                              x.instructions, raw["bitcode"], [], time.monotonic() - started,
                              note="speed is measured by running the program and this module defines "
                                   "no main(): kept default<O3>")
    # the model has no runtime head: rank by its instruction-count policy, O3/O2-based pipelines first
    ranked = predictor.verify_set(predictor.predict_inputs([x])[0], "instcount", len(predictor.pset.pipelines))
    fast = [p for p in ranked if "<O3>" in p or "<O2>" in p]
    candidates = [SPEED_BASELINE] + [p for p in fast + ranked if p != SPEED_BASELINE]
    candidates = list(dict.fromkeys(candidates))[:verify]
    run = RuntimeEvaluator(Program(ir.check_input(data, name=name), name=name, args=run_args,
                                   timeout_s=timeout_s), repeats=repeats, evaluator=ev)
    tried, medians = [], {}
    try:
        for pipeline in candidates:
            try:
                medians[pipeline] = run.measure(pipeline).median
                tried.append({"pipeline": pipeline, "metric": medians[pipeline]})
            except EvaluationError as exc:  # miscompile, crash, timeout: recorded, never chosen
                if pipeline == SPEED_BASELINE:
                    raise IRError(f"{name}: the -O3 build does not run: {exc}") from None
                tried.append({"pipeline": pipeline, "error": str(exc).splitlines()[0][:300]})
        base = medians[SPEED_BASELINE]
        best = min(medians, key=medians.get)
        chosen, note = SPEED_BASELINE, "no candidate beat -O3 by more than the noise floor"
        if best != SPEED_BASELINE and medians[best] < base * (1 - SPEED_NOISE):
            # confirm in interleaved rounds (ABAB...): the winner must hold in most of them
            pairs = [(run.measure(SPEED_BASELINE).median, run.measure(best).median) for _ in range(CONFIRM_ROUNDS)]
            ratio, holds = confirmed(pairs)
            tried.append({"pipeline": best, "confirm_rounds": [[round(b, 5), round(c, 5)] for b, c in pairs],
                          "confirmed_speedup": round(ratio, 4)})
            if holds:
                chosen, note = best, f"confirmed in 3 interleaved rounds: {ratio:.3f}x"
                base = statistics.median(b for b, _ in pairs)
                medians[best] = statistics.median(c for _, c in pairs)
            else:
                note = f"the best candidate did not hold in confirmation ({ratio:.3f}x)"
        bitcode = ev.evaluate(chosen, bitcode=True)[1]["bitcode"]
    finally:
        run.close()
    ir.parse(bitcode, name=name)
    return OptimizeResult("speed", chosen, medians[chosen], SPEED_BASELINE, base, x.instructions,
                          bitcode, tried, time.monotonic() - started, note=note)

