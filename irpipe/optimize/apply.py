"""Optimize one module: predict, compile the verifying candidates, keep the best, never worse.

Objectives: ``size`` (.text bytes) and ``instcount`` (IR instructions) against -Oz,
measured on every candidate; ``speed`` against -O3, measured by *running* the
program (:mod:`irpipe.label.runtime`: median user+sys CPU time, output checked
against the -O0 build), so it needs a module that defines ``main``.  A speed
candidate replaces -O3 only when it stays faster by more than the noise floor in
interleaved confirmation rounds; a module without ``main`` keeps -O3 and says why.

The model is asked once, in-process (a :class:`~irpipe.train.predict.Predictor`) or
through a running ``irpipe serve`` (a :class:`~irpipe.optimize.protocol.RemoteModel`:
no torch in this process); both answer with the same :class:`Advice`
(:func:`candidates`), and the compiles that choose happen here either way (``irpipe
serve``'s op optimize runs this function in the server).

    USAGE: r = optimize(data, Predictor.load("models/default"), objective="size")
           r = optimize(data, RemoteModel("/tmp/irpipe.sock"), objective="size")
           r.bitcode, r.pipeline, r.metric, r.baseline_metric
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from irpipe.errors import IRError
from irpipe.label.measure import CodegenMemo, EvaluationError, Evaluator
from irpipe.llvm.target import AS_OPT, Target
from irpipe.label.vocab import REFERENCE
from irpipe.llvm import ir
from irpipe.optimize.baseline import Baseline, prepare, user_baseline
from irpipe.optimize.functions import CLEANUPS, evaluate_parallel, refine
from irpipe.optimize.protocol import UNITS, Advice, Adviser

if TYPE_CHECKING:  # the model (torch) is loaded by the caller, or lives in irpipe serve
    from irpipe.llvm.isolate import Isolated
    from irpipe.train.predict import Prediction, Predictor

SPEED_BASELINE = "default<O3>"
#: A candidate's (metric, output bitcode, {function: (instructions, code bytes)}).
Outcome = tuple[float, bytes, dict[str, tuple[int, int]]]


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
                **({"note": self.note} if self.note else {})}


def candidates(predictor: Predictor, prediction: Prediction, objective: str, verify: int) -> list[str]:
    """The pipelines :func:`optimize` compiles for ``objective``, its baseline first, at most
    ``verify`` of them (irpipe serve answers with the same list).

    size/instcount: -Oz, then the calibrated verify set.  speed (the model has no
    runtime head): -O3, then O3/O2-based pipelines by the instruction-count policy, then the rest.
    """
    if objective == "speed":
        ranked = predictor.verify_set(prediction, "instcount", len(predictor.pset.pipelines))
        fast = [p for p in ranked if "<O3>" in p or "<O2>" in p]
        return list(dict.fromkeys([SPEED_BASELINE] + fast + ranked))[:max(verify, 1)]
    reference = REFERENCE[objective]
    return [reference] + [p for p in predictor.verify_set(prediction, objective, verify) if p != reference][:verify - 1]


def model_advice(predictor: Predictor, module: bytes, *, objective: str, verify: int,
                 name: str = "<module>") -> Advice:
    """The model's :class:`Advice` for ``module``, computed in this process."""
    x = predictor.inputs(module, name)
    prediction = predictor.predict_inputs([x])[0]
    return Advice(candidates(predictor, prediction, objective, verify), int(x.instructions),
                  "main" in x.graph.functions)  # the graph's functions are the defined ones


def optimize(data: bytes | str, predictor: Predictor | Adviser, *, objective: str = "size", verify: int = 10,
             name: str = "<module>", timeout_s: float = 60.0, run_args: list[str] | None = None,
             repeats: int = 5, target: Target = AS_OPT, worker: Isolated | None = None,
             workers: Sequence[Isolated] = ()) -> OptimizeResult:
    """One model call, then ``verify`` compiles (the baseline among them); the best wins.

    The baseline is the user's own command, ``opt-22 -passes='default<Oz>'`` on the
    same input (:mod:`irpipe.optimize.baseline`); its output is the answer when no
    candidate beats it (or all fail), so the result is never worse than what users
    run.  The module keeps its triple, target-cpu and target-features unless
    ``target`` asks otherwise.  The output passes LLVM's verifier.  ``predictor`` is a
    loaded model or an :class:`Adviser` (a :class:`~irpipe.optimize.protocol.RemoteModel`: a
    running ``irpipe serve``): the same candidates.  ``worker`` (size, instcount): the isolated
    LLVM child to compile in (default: the process-wide one); ``workers``: several, to compile
    the candidates side by side (same result).
    """
    if objective not in UNITS:
        raise IRError(f"objective {objective!r}: choose from {', '.join(UNITS)}")
    started = time.monotonic()

    def advise(module: bytes, count: int = verify) -> Advice:  # the one model call, here or in irpipe serve
        if isinstance(predictor, Adviser):
            return predictor.advise(module, objective=objective, verify=count, name=name)
        return model_advice(predictor, module, objective=objective, verify=count, name=name)

    if objective == "speed":
        data = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s)
        return _optimize_speed(data, advise(data), name=name, run_args=run_args or [],
                               repeats=repeats, timeout_s=timeout_s, started=started)
    reference = REFERENCE[objective]
    module = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s, worker=worker)
    children = list(workers) or [worker]
    cleanups = CLEANUPS[:cleanup_count(verify)]
    memo = CodegenMemo()  # outputs equal to one already compiled (often -Oz's) skip codegen
    # opt-22's baseline (a child process, then its codegen) runs beside the model call and the
    # candidates: all start from the same module, and the choice waits for all of them
    with ThreadPoolExecutor(1, thread_name_prefix="irpipe-baseline") as side:
        pending = side.submit(user_baseline, module, reference, name=name, timeout_s=timeout_s,
                              object_file=objective == "size", worker=worker, memo=memo)
        # the model's list for the module compiles it gets (its calibrated picks depend on the count)
        advice = advise(module, max(1, verify - len(cleanups) - bool(cleanups)))
        tried = [p for p in advice.candidates if p != reference]
        outcomes = _evaluate_all(module, tried, objective, name=name, timeout_s=timeout_s, workers=children,
                                 memo=memo)
        base = pending.result()
    result, per_function = choose(base, tried, objective, outcomes=outcomes)
    if cleanups and per_function:
        _refine(result, module, per_function, cleanups, name=name, timeout_s=timeout_s, workers=children, memo=memo)
    result.input_instructions = advice.instructions
    result.seconds = time.monotonic() - started
    return result


def cleanup_count(verify: int) -> int:
    """How many of ``verify`` compiles go to per-function cleanups (:mod:`irpipe.optimize.functions`;
    one more compiles the chosen mix); the rest to module pipelines, -Oz's included.

    The first 10 always go to module pipelines: 6 module pipelines (the model's list for 6) + 3
    cleanups + the mix lost more than the cleanups won (``python benchmarks/optimize_bench.py``,
    2026-12-05: the sample's test split fell from 1.113x to 1.028x fewer IR instructions than plain
    -Oz; xxhash modules that a later candidate shrinks up to 5x among them).  Compiles past 10 buy
    cleanups: ``--verify 16`` (10 module pipelines, 5 cleanups, the mix) gave 1.128x / 1.115x
    (instructions / .text) on all 44 modules against 1.112x / 1.104x at ``--verify 10``."""
    return 0 if verify <= 11 else min(len(CLEANUPS), verify - 11)


def _refine(result: OptimizeResult, module: bytes, per_function: dict[str, tuple[int, int]],
            cleanups: Sequence[str], *, name: str, timeout_s: float, workers: list[Isolated | None],
            memo: CodegenMemo | None = None) -> None:
    """Per-function cleanups after ``result``'s pipeline; ``result`` takes them when they beat it."""
    try:  # the functions the input defines (the plugin gives a pipeline only to those)
        _, raw = Evaluator(module, name=name, timeout_s=timeout_s, target=AS_OPT, worker=workers[0]).evaluate(
            "verify", per_function=True)
    except EvaluationError:
        return
    better = refine(module, result.pipeline, per_function, result.objective, input_functions=set(raw["per_function"]),
                    cleanups=cleanups, name=name, timeout_s=timeout_s, workers=workers, memo=memo)
    if better is None:
        return
    result.tried += better.tried
    if better.functions and better.metric < result.metric:
        result.metric, result.bitcode, result.functions = better.metric, better.bitcode, better.functions


def choose(base: Baseline, candidates: list[str], objective: str, *, name: str = "<module>",
           timeout_s: float = 60.0, worker: Isolated | None = None, workers: Sequence[Isolated] = (),
           outcomes: Sequence[Outcome | EvaluationError] | None = None
           ) -> tuple[OptimizeResult, dict[str, tuple[int, int]]]:
    """Compile each candidate on ``base.module`` (unless ``outcomes`` has them, in order); the
    best beats opt-22's baseline or the baseline stays (the first of equals, in candidate order).
    Returns the result and the chosen module's per-function (instructions, code bytes).

    In one child (``worker``, default the process-wide one), or spread over ``workers`` (a
    server's children, one thread each).  Each evaluation runs in a fresh LLVMContext, so an
    output's bytes do not depend on what ran before or where: the result is the same either way.
    """
    base_metric = base.measurement.metric(objective)
    if outcomes is None:
        outcomes = _evaluate_all(base.module, candidates, objective, name=name, timeout_s=timeout_s,
                                 workers=list(workers) or [worker])
    best: tuple[float, str, bytes, dict] = (base_metric, base.pipeline, base.bitcode, base.per_function)
    tried: list[dict[str, Any]] = [{"pipeline": base.pipeline, "metric": base_metric, "by": "opt-22"}]
    for pipeline, outcome in zip(candidates, outcomes):
        if isinstance(outcome, EvaluationError):
            tried.append({"pipeline": pipeline, "error": str(outcome).splitlines()[0][:300]})
            continue
        value, bitcode, per_function = outcome
        tried.append({"pipeline": pipeline, "metric": value})
        if value < best[0]:
            best = (value, pipeline, bitcode, per_function)
    return OptimizeResult(objective, best[1], best[0], base.pipeline, base_metric, 0, best[2], tried), best[3]


def _evaluate_all(module: bytes, candidates: list[str], objective: str, *, name: str, timeout_s: float,
                  workers: list[Isolated | None], memo: CodegenMemo | None = None) -> list[Outcome | EvaluationError]:
    """(metric, bitcode, per-function measures) or the error of each candidate, in order."""
    def job(pipeline: str) -> Callable[[Evaluator], Outcome]:
        def run(ev: Evaluator) -> Outcome:
            m, raw = ev.evaluate(pipeline, object_file=objective == "size", bitcode=True, per_function=True)
            return m.metric(objective), raw["bitcode"], raw["per_function"]
        return run

    return evaluate_parallel([job(p) for p in candidates], module, name, timeout_s, workers, memo)


def _optimize_speed(data: bytes, advice: Advice, *, name: str, run_args: list[str], repeats: int,
                    timeout_s: float, started: float) -> OptimizeResult:
    """Speed: run the program built with -O3 and with the candidates; keep a confirmed winner.

    A program that runs less than :data:`~irpipe.label.runtime.MIN_RUN_S` of CPU is refused
    (kept at -O3, said in the note): its timings are scheduler ticks, not speed.  Repeats
    and the floor a winner must clear scale with the spread of the baseline's own runs.
    """
    from irpipe.label.runtime import Program, RuntimeEvaluator

    ev = Evaluator(data, name=name, timeout_s=timeout_s, target=AS_OPT)

    def keep_o3(note: str, tried: list[dict[str, Any]], base: float = float("nan")) -> OptimizeResult:
        bitcode = ev.evaluate(SPEED_BASELINE, bitcode=True)[1]["bitcode"]
        return OptimizeResult("speed", SPEED_BASELINE, base, SPEED_BASELINE, base, advice.instructions,
                              bitcode, tried, time.monotonic() - started, note=note)

    if not advice.has_main:
        return keep_o3("speed is measured by running the program and this module defines "
                       "no main(): kept default<O3>", [])
    run = RuntimeEvaluator(Program(data, name=name, args=run_args, timeout_s=timeout_s),
                           repeats=repeats, evaluator=ev)
    try:
        screen = _SpeedScreen(run, name)
        if screen.refused:
            return keep_o3(screen.refused, screen.tried, screen.base)
        for pipeline in advice.candidates[1:]:  # [0] is -O3, measured by the screen
            screen.measure(pipeline)
        chosen, base, metric, note = screen.confirm()
        if chosen == SPEED_BASELINE:
            result = keep_o3(note, screen.tried, base)
            result.metric = metric
            return result
        bitcode = ev.evaluate(chosen, bitcode=True)[1]["bitcode"]
    finally:
        run.close()
    return OptimizeResult("speed", chosen, metric, SPEED_BASELINE, base, advice.instructions,
                          bitcode, screen.tried, time.monotonic() - started, note=note)


class _SpeedScreen:
    """Runs of -O3 and the candidates of one program; the noise floor comes from -O3's own runs."""

    def __init__(self, run: Any, name: str):
        from irpipe.label.runtime import MIN_RUN_S, scaled_repeats, speed_floor, spread

        self.run, self.name, self.tried, self.medians = run, name, [], {}
        try:
            first = run.measure(SPEED_BASELINE)
        except EvaluationError as exc:
            raise IRError(f"{name}: the -O3 build does not run: {exc}") from None
        self.base = first.median
        self.noise = spread(first.seconds)
        self.floor = speed_floor(self.noise)
        self.medians[SPEED_BASELINE] = self.base
        self.tried.append({"pipeline": SPEED_BASELINE, "metric": self.base, "spread": round(self.noise, 4)})
        self.refused = ""
        if self.base < MIN_RUN_S:
            self.refused = (f"refused: the program runs {self.base * 1e3:.1f} ms of CPU at -O3, below the "
                            f"{MIN_RUN_S * 1e3:.0f} ms that can be timed here (noise would pick the winner); "
                            "kept default<O3>: give it a longer workload (--run-args)")
        run.repeats = scaled_repeats(run.repeats, self.noise, self.floor)

    def measure(self, pipeline: str) -> None:
        """One candidate's median; a miscompile, crash or timeout is recorded, never chosen."""
        try:
            self.medians[pipeline] = self.run.measure(pipeline).median
            self.tried.append({"pipeline": pipeline, "metric": self.medians[pipeline]})
        except EvaluationError as exc:
            self.tried.append({"pipeline": pipeline, "error": str(exc).splitlines()[0][:300]})

    def confirm(self) -> tuple[str, float, float, str]:
        """(chosen, baseline seconds, chosen seconds, note): the best must hold in interleaved rounds."""
        import statistics

        from irpipe.label.runtime import CONFIRM_ROUNDS, confirmed

        base = self.medians[SPEED_BASELINE]
        best = min(self.medians, key=self.medians.get)  # type: ignore[arg-type]
        floor_note = f"floor {self.floor:.1%} from -O3's spread {self.noise:.1%}, {self.run.repeats} runs each"
        if best == SPEED_BASELINE or self.medians[best] >= base * (1 - self.floor):
            return SPEED_BASELINE, base, base, f"no candidate beat -O3 by more than the noise floor ({floor_note})"
        pairs = [(self.run.measure(SPEED_BASELINE).median, self.run.measure(best).median)
                 for _ in range(CONFIRM_ROUNDS)]
        ratio, holds = confirmed(pairs, self.floor)
        self.tried.append({"pipeline": best, "confirm_rounds": [[round(b, 5), round(c, 5)] for b, c in pairs],
                           "confirmed_speedup": round(ratio, 4)})
        if not holds:
            return (SPEED_BASELINE, base, base,
                    f"the best candidate did not hold in confirmation ({ratio:.3f}x; {floor_note})")
        return (best, statistics.median(b for b, _ in pairs), statistics.median(c for _, c in pairs),
                f"confirmed in {CONFIRM_ROUNDS} interleaved rounds: {ratio:.3f}x ({floor_note})")
