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

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Sequence

from irpipe.errors import IRError
from irpipe.label.measure import CodegenMemo, EvaluationError, Evaluator
from irpipe.llvm.target import AS_OPT, Target
from irpipe.label.vocab import REFERENCE
from irpipe.llvm import ir
from irpipe.optimize.baseline import Baseline, prepare, user_baseline
from irpipe.optimize.functions import CLEANUPS, evaluate_parallel, refine
from irpipe.optimize.protocol import UNITS, Advice, Adviser
from irpipe.optimize.result import SPEED_BASELINE, OptimizeResult

if TYPE_CHECKING:  # the model (torch) is loaded by the caller, or lives in irpipe serve
    from irpipe.llvm.isolate import Isolated
    from irpipe.train.predict import Prediction, Predictor

#: A candidate's (metric, output bitcode, {function: (instructions, code bytes)}).
Outcome = tuple[float, bytes, dict[str, tuple[int, int]]]


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
             name: str = "<module>", timeout_s: float = 60.0, target: Target = AS_OPT, worker: Isolated | None = None,
             workers: Sequence[Isolated] = (), **speed: Any) -> OptimizeResult:
    """One model call, then ``verify`` compiles (the baseline among them); the best wins.

    The baseline is the user's own command, ``opt-22 -passes='default<Oz>'`` on the
    same input, run as opt-22 runs it (:mod:`irpipe.optimize.baseline`: the same IR); its output is the answer when no
    candidate beats it (or all fail), so the result is never worse than what users
    run.  The module keeps its triple, target-cpu and target-features unless
    ``target`` asks otherwise.  The output passes LLVM's verifier.  ``predictor`` is a
    loaded model or an :class:`Adviser` (a :class:`~irpipe.optimize.protocol.RemoteModel`: a
    running ``irpipe serve``): the same candidates.  ``worker`` (size, instcount): the isolated
    LLVM child to compile in (default: the process-wide one); ``workers``: several, to compile
    the candidates side by side (same result).  ``speed``: the keywords of
    :func:`~irpipe.optimize.speed.optimize_speed` for ``objective="speed"`` (``run_args``,
    ``repeats``, ``loops``, ``run``, ``loop_search``, ``search_by``, ``pgo``, ``polly``,
    ``whole_program``: what runs, and which candidates beyond the model's pipelines).
    """
    if objective not in UNITS:
        raise IRError(f"objective {objective!r}: choose from {', '.join(UNITS)}")
    started = time.monotonic()

    def advise(module: bytes, count: int = verify) -> Advice:  # the one model call, here or in irpipe serve
        if isinstance(predictor, Adviser):
            return predictor.advise(module, objective=objective, verify=count, name=name)
        return model_advice(predictor, module, objective=objective, verify=count, name=name)

    if objective == "speed":
        from irpipe.optimize.speed import optimize_speed

        data = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s)
        speed.update(run_args=speed.get("run_args") or [], repeats=speed.get("repeats", 5))
        return optimize_speed(data, advise(data), name=name, timeout_s=timeout_s, started=started, **speed)
    reference = REFERENCE[objective]
    module = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s, worker=worker)
    children = list(workers) or [worker]
    cleanups = CLEANUPS[:cleanup_count(verify)]
    memo = CodegenMemo()  # outputs equal to one already compiled (often -Oz's) skip codegen
    # the baseline (opt-22's pipeline and its codegen, in the first child) runs beside the model call and the
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
    best beats the baseline or the baseline stays (the first of equals, in candidate order).
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
    tried: list[dict[str, Any]] = [{"pipeline": base.pipeline, "metric": base_metric, "by": "baseline"}]
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
