"""``irpipe optimize --objective speed``: -O3, the model's pipelines and the loop policy's
per-loop decisions, chosen by running the program -- or the loop decisions alone, model only.

With a program to run (the module defines ``main``): -O3 is built and run first; its runs set
the noise floor.  Then each pipeline candidate and, with a loop policy, -O3 with the policy's
per-loop decisions (:mod:`irpipe.optimize.loops`) are built, run and their output checked
against the -O0 build, and with ``loop_search`` (``--loop-search K``) so are the decisions a
search of the K hottest loops found by running the program (:mod:`irpipe.optimize.loopsearch`),
with ``polly`` (the default; ``--no-polly`` leaves it out) -O3 with LLVM's polyhedral optimizer
(:mod:`irpipe.optimize.polly`), with ``pgo`` (``--pgo``) -O3 with the profile of one run
(:mod:`irpipe.optimize.pgo`), and with ``whole_program`` (``--whole-program``) the module as
``clang-22 -flto -O3`` builds a whole program (:mod:`irpipe.optimize.wholeprogram`);
the two fastest go to interleaved confirmation rounds, and those that stay faster by more than
the floor there run fresh rounds, best confirmed first: the first that holds in those too
replaces -O3, and they are the speedup reported.

Model only (``run=False``, ``irpipe optimize --no-run``, or a module without ``main``): nothing
runs; the answer is -O3 with the loop policy's decisions, built by opt-22 with the pass plugin
and verified by it, not measured (say so in the note).  With no decision, -O3 itself.

    USAGE: optimize_speed(data, advice, name="p.ll", run_args=[], repeats=5, timeout_s=60,
                          started=time.monotonic(), loops=LoopAdviser.load())
"""

from __future__ import annotations

import math
import statistics
import time
from typing import TYPE_CHECKING, Any, Callable

from irpipe.errors import IRError
from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.runtime import CONFIRM_ROUNDS, confirmed, first_holding
from irpipe.llvm.target import AS_OPT
from irpipe.optimize.protocol import Advice
from irpipe.optimize.result import SPEED_BASELINE, OptimizeResult

if TYPE_CHECKING:
    from irpipe.optimize.loops import LoopAdviser

#: how a pipeline with per-loop decisions is named in reports
LOOPS_SUFFIX = " + loop decisions"
#: how the screen names the loop policy's candidate (its pipeline is -O3)
LOOPS_LABEL = SPEED_BASELINE + LOOPS_SUFFIX
#: how many of the fastest screened candidates go to confirmation
CONFIRM_TOP = 2


def optimize_speed(data: bytes, advice: Advice, *, name: str, run_args: list[str], repeats: int,
                   timeout_s: float, started: float, loops: LoopAdviser | None = None,
                   run: bool = True, loop_search: int = 0, search_by: str = "proxy", pgo: bool = False,
                   polly: bool = True, whole_program: bool = False) -> OptimizeResult:
    """Speed (see the module docstring).  With ``loop_search`` (and a run), the decisions a search
    by running the program finds for its ``loop_search`` hottest loops, scored ``search_by``
    (:mod:`irpipe.optimize.loopsearch`), are one more candidate.  A program that runs less than
    :data:`~irpipe.label.runtime.MIN_RUN_S` of CPU is refused (kept at -O3, said in the note): its
    timings are scheduler ticks, not speed.  Repeats and the floor a winner must clear scale with
    the spread of the baseline's own runs."""
    from irpipe.label.runtime import Program, RuntimeEvaluator

    ev = Evaluator(data, name=name, timeout_s=timeout_s, target=AS_OPT)
    decisions, loop_note = _decide(loops, data, name, timeout_s)

    def result(pipeline: str, bitcode: bytes, tried: list[dict[str, Any]], note: str, base: float = math.nan,
               metric: float = math.nan, chosen_loops: dict | None = None) -> OptimizeResult:
        return OptimizeResult("speed", pipeline, metric, SPEED_BASELINE, base, advice.instructions, bitcode, tried,
                              time.monotonic() - started, note=note, loops=chosen_loops or {})

    def keep_o3(note: str, tried: list[dict[str, Any]], base: float = math.nan) -> OptimizeResult:
        return result(SPEED_BASELINE, ev.evaluate(SPEED_BASELINE, bitcode=True)[1]["bitcode"], tried, note, base, base)

    if not run or not advice.has_main:
        why = ("model only (--no-run)" if not run else
               "speed is measured by running the program and this module defines no main()")
        if not decisions:
            return keep_o3(f"{why}: kept default<O3> ({loop_note})", [])
        from irpipe.optimize.loops import apply_loops

        try:
            bitcode = apply_loops(data, decisions, name=name, timeout_s=timeout_s)
        except IRError as exc:  # e.g. unrolling past the time limit: -O3 stays, said in the note
            tried = [{"pipeline": SPEED_BASELINE, "loops": decisions, "error": str(exc).splitlines()[0][:300]}]
            return keep_o3(f"{why}: kept default<O3> ({loop_note} did not build)", tried)
        return result(SPEED_BASELINE, bitcode, [{"pipeline": SPEED_BASELINE, "loops": decisions, "by": "opt-22 + plugin"}],
                      f"{why}: default<O3> with {loop_note}; built and verified, not measured", chosen_loops=decisions)
    runner = RuntimeEvaluator(Program(data, name=name, args=run_args, timeout_s=timeout_s),
                              repeats=repeats, evaluator=ev)
    try:
        screen = _SpeedScreen(runner, name)
        if screen.refused:
            return keep_o3(screen.refused, screen.tried, screen.base)
        for pipeline in advice.candidates[1:]:  # [0] is -O3, measured by the screen
            screen.measure(pipeline)
        screen.measure_more(data, timeout_s, decisions=decisions, loop_search=loop_search, search_by=search_by,
                            polly=polly, pgo=pgo, whole_program=whole_program)
        chosen, base, metric, note = screen.confirm()
        if chosen == SPEED_BASELINE:  # confirm() gives -O3's own seconds as its metric
            return keep_o3(note, screen.tried, base)
        if chosen in screen.bitcodes:  # built outside the evaluator: loop decisions, Polly, the profile, ...
            out = result(SPEED_BASELINE, screen.bitcodes[chosen], screen.tried, f"{chosen}: {note}", base, metric,
                         screen.loops.get(chosen))
            out.build = "" if chosen in screen.loops else chosen  # loop decisions are advice; the rest is not
            return out
        return result(chosen, ev.evaluate(chosen, bitcode=True)[1]["bitcode"], screen.tried, note, base, metric)
    finally:
        runner.close()


def _decide(loops: LoopAdviser | None, data: bytes, name: str, timeout_s: float) -> tuple[dict, str]:
    """(the loop policy's decisions, a few words on them for the note)."""
    if loops is None:
        return {}, "no loop policy"
    try:
        decisions = loops.advise(data, name=name, timeout_s=timeout_s)
    except IRError as exc:  # the plugin missing, opt-22 failing on the module: -O3 stays
        return {}, f"no loop decisions: {str(exc).splitlines()[0][:200]}"
    if not decisions:
        return {}, f"the loop policy {loops.directory} keeps -O3 on every loop"
    return decisions, f"{len(decisions)} loop decisions of {loops.directory}"


class _SpeedScreen:
    """Runs of -O3 and the candidates of one program; the noise floor comes from -O3's own runs."""

    def __init__(self, run: Any, name: str):
        from irpipe.label.runtime import MIN_RUN_S, scaled_repeats, speed_floor, spread

        self.run, self.name, self.tried, self.medians = run, name, [], {}
        self.bitcodes: dict[str, bytes] = {}  #: candidates built outside the evaluator (the loop decisions)
        self.loops: dict[str, dict[str, Any]] = {}  #: per label (LOOPS_LABEL, SEARCH_LABEL): its decisions
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

    def measure(self, label: str, record: dict[str, Any] | None = None) -> None:
        """One candidate's median; a miscompile, crash or timeout is recorded, never chosen."""
        record = record or {"pipeline": label}
        try:
            self.medians[label] = self.run.measure(label, bitcode=self.bitcodes.get(label)).median
            self.tried.append({**record, "metric": self.medians[label]})
        except EvaluationError as exc:
            self.tried.append({**record, "error": str(exc).splitlines()[0][:300]})

    def measure_loops(self, data: bytes, decisions: dict[str, dict[str, Any]], timeout_s: float,
                      label: str = LOOPS_LABEL) -> None:
        """-O3 with per-loop decisions (the loop policy's, or ``label``'s), as one more candidate."""
        from irpipe.optimize.loops import apply_loops

        self.loops[label] = decisions
        record = {"pipeline": SPEED_BASELINE, "loops": decisions}
        try:
            self.bitcodes[label] = apply_loops(data, decisions, name=self.name, timeout_s=timeout_s)
        except IRError as exc:
            self.tried.append({**record, "error": str(exc).splitlines()[0][:300]})
            return
        self.measure(label, record)

    def measure_more(self, data: bytes, timeout_s: float, *, decisions: dict[str, dict[str, Any]], loop_search: int,
                     search_by: str, polly: bool, pgo: bool, whole_program: bool = False) -> None:
        """The candidates beyond the model's pipelines: the loop policy's ``decisions``, a loop
        search, Polly, the profile-guided build and the whole-program build, each as asked."""
        from irpipe.optimize.pgo import PGO_LABEL, profiled
        from irpipe.optimize.polly import POLLY_LABEL, polly_module

        if decisions:
            self.measure_loops(data, decisions, timeout_s)
        if loop_search > 0:
            self.search_loops(data, loop_search, search_by, timeout_s)
        if polly:
            self.measure_built(POLLY_LABEL, lambda: polly_module(data, name=self.name, timeout_s=timeout_s))
        if pgo:
            self.measure_built(PGO_LABEL, lambda: profiled(data, self.run, name=self.name, timeout_s=timeout_s))
        if whole_program:
            from irpipe.optimize.wholeprogram import LTO_LABEL, whole_module

            self.measure_built(LTO_LABEL, lambda: whole_module(data, name=self.name, timeout_s=timeout_s))

    def measure_built(self, label: str, build: Callable[[], bytes]) -> None:
        """A candidate built outside the evaluator (``build()``: its bitcode, e.g. -O3 with the
        profile of one run, :mod:`irpipe.optimize.pgo`, or with Polly, :mod:`irpipe.optimize.polly`)."""
        record = {"pipeline": label}
        try:
            self.bitcodes[label] = build()
        except (IRError, EvaluationError) as exc:
            self.tried.append({**record, "error": str(exc).splitlines()[0][:300]})
            return
        self.measure(label, record)

    def search_loops(self, data: bytes, top: int, by: str, timeout_s: float) -> None:
        """The decisions a search of the ``top`` hottest loops finds (scored ``by``), as one more
        candidate; the search itself is recorded (:mod:`irpipe.optimize.loopsearch`)."""
        from irpipe.optimize.loopsearch import SEARCH_LABEL, search_module

        found = search_module(data, self.run, top, by=by, name=self.name, timeout_s=timeout_s)
        self.tried.append({"pipeline": SEARCH_LABEL, "loop_search": found.summary()})
        if found.decided:
            self.measure_loops(data, found.decided[self.name], timeout_s, label=SEARCH_LABEL)

    def confirm(self) -> tuple[str, float, float, str]:
        """(chosen, baseline seconds, chosen seconds, note): a winner must hold in interleaved rounds.

        The :data:`CONFIRM_TOP` fastest candidates that beat -O3 by more than the floor go to
        confirmation, fastest first: one lucky median cannot cost the real winner its place.  Those
        that hold run :data:`CONFIRM_ROUNDS` fresh rounds, best confirmed first, until one holds
        there too (:func:`~irpipe.label.runtime.first_holding`, as in ``irpipe bench``): it replaces
        -O3, and its fresh rounds are what is reported."""
        base = self.medians[SPEED_BASELINE]
        floor_note = f"floor {self.floor:.1%} from -O3's spread {self.noise:.1%}, {self.run.repeats} runs each"
        ahead = sorted((m, label) for label, m in self.medians.items()
                       if label != SPEED_BASELINE and m < base * (1 - self.floor))[:CONFIRM_TOP]
        if not ahead:
            return SPEED_BASELINE, base, base, f"no candidate beat -O3 by more than the noise floor ({floor_note})"
        held, failed = [], []
        for _, label in ahead:
            ratio, holds, _pairs = self._confirm_one(label)
            (held if holds else failed).append((ratio, label))
        if not held:
            ratios = ", ".join(f"{r:.3f}x" for r, _ in failed)
            return SPEED_BASELINE, base, base, f"no candidate held in confirmation ({ratios}; {floor_note})"
        confirmed_at = dict((label, r) for r, label in held)
        chosen, fresh = first_holding(held, lambda label: self._confirm_one(label, fresh=True)[2], self.floor)
        who = ("the fastest ", "the next ") if chosen is None or len(fresh) > 1 else ("",)
        rounds = "; ".join(f"{w}confirmed at {confirmed_at[label]:.3f}x, then {ratio:.3f}x in {CONFIRM_ROUNDS} "
                           "fresh interleaved rounds" for w, (label, ratio, _) in zip(who, fresh))
        if chosen is None:
            return SPEED_BASELINE, base, base, f"{rounds}: kept default<O3> ({floor_note})"
        pairs = fresh[-1][2]
        return (chosen, statistics.median(b for b, _ in pairs), statistics.median(c for _, c in pairs),
                f"{rounds} (reported; {floor_note})")

    def _confirm_one(self, label: str, fresh: bool = False) -> tuple[float, bool, list[tuple[float, float]]]:
        """(speedup, whether it holds over the floor, the (-O3, candidate) medians) of ``label``
        in :data:`CONFIRM_ROUNDS` interleaved rounds; recorded in ``tried`` (``fresh``: the
        chosen one's re-measurement)."""
        pairs = [(self.run.measure(SPEED_BASELINE).median, self.run.measure(label, bitcode=self.bitcodes.get(label)).median)
                 for _ in range(CONFIRM_ROUNDS)]
        ratio, holds = confirmed(pairs, self.floor)
        self.tried.append({"pipeline": SPEED_BASELINE if label in self.loops else label,
                           **({"loops": self.loops[label]} if label in self.loops else {}),
                           "confirm_rounds": [[round(b, 5), round(c, 5)] for b, c in pairs],
                           "confirmed_speedup": round(ratio, 4), **({"fresh": True} if fresh else {})})
        return ratio, holds, pairs
