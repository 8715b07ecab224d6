"""Per-function pipelines after the module pipeline: each function keeps the cleanup that shrinks it most.

Whole-module pipeline choice is saturated (benchmarks/policy_bench.py: over 128 candidates the
per-module best is within 0.3-1% of the static order's 10th compile), but the functions of one
module want different things.  After :func:`~irpipe.optimize.apply.optimize` has chosen the
module pipeline P, each of ``k`` function pipelines (:data:`CLEANUPS`, in their set-cover order)
is run once on *every* function of P's output; one compile measures all functions at once
(instructions, and for size each function's symbol bytes in the object).  Function passes
change only the function they run on, so each function can take its own best cleanup; one
final compile runs P and that per-function map together (exactly as the pass plugin runs an
advice entry's ``"functions"``) and is kept only when its measured metric beats P's.  So the
result costs ``k + 1`` compiles and is never worse than P.

    USAGE: better = refine(module, "default<Oz>", base_per_function, "size", workers=[child])
           better.metric, better.functions, better.bitcode, better.tried
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from irpipe.label.measure import CodegenMemo, EvaluationError, Evaluator
from irpipe.llvm.target import AS_OPT

if TYPE_CHECKING:
    from irpipe.llvm.isolate import Isolated

#: Function pipelines tried after the module pipeline, most useful first (greedy set cover of
#: per-function instruction-count gains over the train split's modules after their static-order
#: choice; ``benchmarks/function_bench.py`` re-derives and scores it).  Every one is in the
#: action space, so it can be written into advice files.
CLEANUPS: tuple[str, ...] = (
    "function(jump-threading,simplifycfg,instcombine<no-verify-fixpoint>)",
    "function(gvn-hoist,simplifycfg)",
    "function(mldst-motion,gvn-sink,simplifycfg)",
    "function(reassociate,instcombine<no-verify-fixpoint>,gvn)",
    "function(aggressive-instcombine,instcombine<no-verify-fixpoint>,bdce,adce,simplifycfg)",
)


@dataclass(frozen=True)
class Refined:
    """P followed by per-function pipelines, measured by one compile of them together."""

    functions: dict[str, str]   #: function name -> function pipeline (advice ``"functions"``)
    metric: float               #: the objective's metric of the whole result
    bitcode: bytes
    tried: list[dict[str, Any]]  #: one entry per compile, for the result's ``tried``


def _metric(per_function: tuple[int, int], objective: str) -> int:
    return per_function[0] if objective == "instcount" else per_function[1]


def evaluate_parallel(jobs: list[Callable[[Evaluator], Any]], module: bytes, name: str, timeout_s: float,
                      workers: Sequence[Isolated | None], memo: CodegenMemo | None = None) -> list[Any]:
    """Each job's result on an :class:`Evaluator` of ``module`` (or its :class:`EvaluationError`),
    in order; each worker (an isolated LLVM child; None: the process-wide one) takes the next job
    when it is free.  Every evaluation runs in a fresh LLVMContext, so where a job ran does not
    change its result.  The evaluators share ``memo`` (default: a new one): an output one of
    them has compiled is not compiled again."""
    memo = memo if memo is not None else CodegenMemo()
    results: list[Any] = [None] * len(jobs)
    order, taking = iter(range(len(jobs))), threading.Lock()

    def run(slot: int) -> None:
        ev = Evaluator(module, name=name, timeout_s=timeout_s, target=AS_OPT, worker=workers[slot], memo=memo)
        while True:
            with taking:
                i = next(order, None)
            if i is None:
                return
            try:
                results[i] = jobs[i](ev)
            except EvaluationError as exc:
                results[i] = exc

    if len(workers) == 1:
        run(0)
        return results
    with ThreadPoolExecutor(len(workers)) as pool:
        for done in [pool.submit(run, slot) for slot in range(len(workers))]:
            done.result()  # an error that is not an EvaluationError surfaces here
    return results


def refine(module: bytes, pipeline: str, base: dict[str, tuple[int, int]], objective: str, *,
           input_functions: set[str], cleanups: Sequence[str] = CLEANUPS, name: str = "<module>",
           timeout_s: float = 60.0, workers: Sequence[Isolated | None] = (None,),
           memo: CodegenMemo | None = None) -> Refined | None:
    """``pipeline`` then the best of ``cleanups`` per function (no ``functions`` when no function
    gains; None when there was nothing to try).

    ``base``: ``pipeline``'s own per-function (instructions, code bytes); ``input_functions``:
    the functions the input defines (the plugin applies an entry's ``"functions"`` only to
    those, so only they are given one).  ``len(cleanups) + 1`` compiles at most; ``memo``: the
    objects the caller has measured (a cleanup that changes nothing is not compiled again).
    """
    memo = memo if memo is not None else CodegenMemo()
    if not cleanups or not base:
        return None
    names = sorted(set(base) & input_functions)
    object_file = objective == "size"

    def trial(cleanup: str) -> Callable[[Evaluator], Any]:
        return lambda ev: ev.evaluate(pipeline, object_file=object_file, per_function=True,
                                      functions={f: cleanup for f in names})

    outcomes = evaluate_parallel([trial(c) for c in cleanups], module, name, timeout_s, workers, memo)
    tried: list[dict[str, Any]] = []
    best = {f: (_metric(base[f], objective), "") for f in names}
    for cleanup, outcome in zip(cleanups, outcomes):
        if isinstance(outcome, EvaluationError):
            tried.append({"pipeline": pipeline, "cleanup": cleanup, "error": str(outcome).splitlines()[0][:300]})
            continue
        m, raw = outcome
        tried.append({"pipeline": pipeline, "cleanup": cleanup, "metric": m.metric(objective)})
        for f, counts in raw["per_function"].items():
            if f in best and _metric(counts, objective) < best[f][0]:
                best[f] = (_metric(counts, objective), cleanup)
    chosen = {f: c for f, (_, c) in best.items() if c}
    if not chosen:
        return Refined({}, float("inf"), b"", tried)
    try:
        m, raw = Evaluator(module, name=name, timeout_s=timeout_s, target=AS_OPT, worker=workers[0],
                           memo=memo).evaluate(
            pipeline, object_file=object_file, bitcode=True, functions=chosen)
    except EvaluationError as exc:
        tried.append({"pipeline": pipeline, "functions": chosen, "error": str(exc).splitlines()[0][:300]})
        return Refined(chosen, float("inf"), b"", tried)
    tried.append({"pipeline": pipeline, "functions": chosen, "metric": m.metric(objective)})
    return Refined(chosen, m.metric(objective), raw["bitcode"], tried)
