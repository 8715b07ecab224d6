"""Per-loop search by running the program: what ``irpipe bench --loop-search`` and ``irpipe
optimize --objective speed --loop-search`` share, and the one-module search of the latter.

The loop policy decides from a loop's facts alone; the search decides from the program's own
runs, as an autotuner would, within a budget of a few builds per hot loop:

1. a counting build (the plugin's ``-irpipe-profile-loops``: the same loops and ids as -O3) runs
   once; the hot loops are the ``top`` that ran the most iterations, each at least 1% of all
   (:func:`irpipe.llvm.loops.hot_loops`);
2. each hot loop gets each decision of :data:`SEARCH_DECISIONS` it may take
   (:func:`irpipe.label.loops.takes_decision`), alone, scored against -O3 ``by`` one of
   :data:`MEASURES`: ``proxy``, the deterministic cycle estimate under cachegrind
   (:mod:`irpipe.label.proxy`), or ``time``, CPU time (one screen of a memory-bound program spreads
   by 10% and more, so a loop's winner by time is often noise); a build whose output differs is
   never chosen;
3. each loop's best decision, when it beat -O3 by more than ``margin``, goes into one combined set
   of decisions (:func:`search_decisions`).

The combined decisions are one more candidate of the speed selection (:data:`SEARCH_LABEL`),
timed and confirmed in interleaved rounds like the others: a decision picked by a lucky score
survives only if the whole program holds its speedup.  No decision forces a vector width, so none
reorders an FP reduction (the policy's guarantee).

    USAGE: found = search_module(module, runner, top=3, by="proxy", name="p.ll")
           found.decided[name]                          # {"main/L0.1": {"unroll": 4}, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from irpipe.errors import IRError
from irpipe.optimize.result import SPEED_BASELINE

if TYPE_CHECKING:
    from irpipe.label.runtime import RuntimeEvaluator

#: how each decision is scored (step 2 of the module docstring)
MEASURES = ("proxy", "time")
#: how the selection and the reports name the searched decisions (their pipeline is -O3)
SEARCH_LABEL = SPEED_BASELINE + " + searched loop decisions"
#: the decisions each hot loop is scored with: no unrolling or a forced count, a forced interleave
#: count, no vectorization (of :data:`irpipe.label.loops.BASIC_DECISIONS`, those that reorder no
#: strict FP reduction and build quickly on any loop)
SEARCH_DECISIONS: tuple[dict[str, Any], ...] = (
    {"unroll": "off"}, {"unroll": 2}, {"unroll": 4}, {"unroll": 8},
    {"interleave": 1}, {"interleave": 2}, {"interleave": 4}, {"vectorize": "off"},
)
#: a hot loop: (unit, its listing entry, iterations in the counting run)
HotLoop = tuple[str, dict[str, Any], int]
#: scores one decision of one loop: a record with ``speedup`` (None: failed, or other output)
Score = Callable[[str, str, dict[str, Any]], dict[str, Any]]


@dataclass
class LoopSearch:
    """What a search found: per unit, loop id -> decision, and every score it took."""

    decided: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)
    hot: list[dict[str, Any]] = field(default_factory=list)  # unit, loop, iterations, facts (hottest first)

    def failed(self, what: str, log: Callable[[str], None]) -> "LoopSearch":
        """Record that the search could not start (``what``: one line) and return self."""
        self.tried.append({"error": "loop search: " + what.splitlines()[0][:200]})
        log(f"  {self.tried[-1]['error']}")
        return self

    def summary(self) -> dict[str, Any]:
        """The JSON a result records: hot loops, scores and the chosen decisions."""
        return {"hot": self.hot, "scores": self.tried, "decided": {u: d for u, d in self.decided.items() if d}}


def check_measure(by: str) -> str:
    """``by`` when it is one of :data:`MEASURES`, else :class:`ValueError` naming them."""
    if by not in MEASURES:
        raise ValueError(f"loop search by {by!r}: choose from {', '.join(MEASURES)}")
    return by


def search_decisions(hot: list[HotLoop], ids: dict[str, list[str]], score: Score, *,
                     decisions: tuple[dict[str, Any], ...] = SEARCH_DECISIONS, margin: float = 0.01,
                     log: Callable[[str], None] = lambda m: None, found: LoopSearch | None = None) -> LoopSearch:
    """Steps 2-3 of the module docstring over ``hot`` (``ids``: each unit's loop ids, which says
    whether a loop has subloops)."""
    from irpipe.label.loops import decision_key, loop_facts, takes_decision

    found = found or LoopSearch()
    for unit, loop, iterations in hot:
        subloops = sum(other.startswith(loop["id"] + ".") for other in ids[unit])  # the policy's features need it
        found.hot.append({"unit": unit, "loop": loop["id"], "iterations": iterations,
                          "facts": {**loop_facts(loop), "subloops": subloops}})
        best: tuple[float, dict[str, Any]] | None = None
        for decision in decisions:
            if not takes_decision(loop, ids[unit], decision):
                continue
            got = score(unit, loop["id"], dict(decision))
            speedup = got.pop("speedup")
            found.tried.append({"unit": unit, "loop": loop["id"], "decision": decision, **got})
            if speedup is not None and (best is None or speedup > best[0]):
                best = (speedup, decision)
        won = best is not None and best[0] > 1 + margin
        if won:
            found.decided.setdefault(unit, {})[loop["id"]] = dict(best[1])  # type: ignore[index]
        log(f"  loop search: {unit}:{loop['id']} ({iterations:,} iterations): "
            + (f"{decision_key(best[1])} at {best[0]:.3f}x" if won else "-O3's own"))  # type: ignore[index]
    return found


def search_module(module: bytes, runner: RuntimeEvaluator, top: int, *, by: str = "proxy", name: str = "<module>",
                  timeout_s: float = 300.0, decisions: tuple[dict[str, Any], ...] = SEARCH_DECISIONS,
                  log: Callable[[str], None] = lambda m: None) -> LoopSearch:
    """The search on one module with ``main`` (``irpipe optimize --objective speed``): the counting
    build and every variant run with ``runner``'s arguments; decisions keyed by ``name``."""
    from irpipe.llvm.loops import hot_loops
    from irpipe.optimize.loops import apply_loops, counting_build, loop_listing

    check_measure(by)
    found = LoopSearch()
    try:
        counts = runner.profile(counting_build(module, name=name, timeout_s=timeout_s))
        listing = {lp["id"]: lp for lp in loop_listing(module, name=name, timeout_s=timeout_s)}
        base = runner.proxy_cycles() if by == "proxy" else runner.measure(SPEED_BASELINE).median
    except IRError as exc:  # a failed build or run, a changed output
        return found.failed(str(exc), log)
    hot = [(name, listing[lid], counts[lid][1]) for lid in hot_loops(counts, top) if lid in listing]

    def score(unit: str, loop_id: str, decision: dict[str, Any]) -> dict[str, Any]:
        try:
            bitcode = apply_loops(module, {loop_id: decision}, name=name, timeout_s=timeout_s)
            if by == "proxy":
                speedup = base / runner.proxy_cycles(bitcode)
                return {"proxy_speedup": round(speedup, 4), "speedup": speedup}
            speedup = base / runner.measure(f"{SPEED_BASELINE} + {loop_id}", bitcode=bitcode).median
            return {"time_speedup": round(speedup, 4), "speedup": speedup}
        except IRError as exc:  # a failed build or run, a changed output
            return {"error": str(exc).splitlines()[0][:200], "speedup": None}
    return search_decisions(hot, {name: list(listing)}, score, decisions=decisions, log=log, found=found)
