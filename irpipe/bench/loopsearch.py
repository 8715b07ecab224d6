"""``irpipe bench --loop-search K``: the per-loop search (:mod:`irpipe.optimize.loopsearch`) on a
benchmark of several translation units, as one more candidate of ``optimize``'s speed selection.

The counting build is every TU's -O3 with the plugin's counters (:class:`TUPlan` ``profile``), run
once on the timed workload; each TU's loops are listed by the same opt-22 pipeline
(:func:`irpipe.optimize.loops.loop_listing`), which says which TU holds each hot loop (an id found
in two TUs, a static function's, is left alone).  A variant differs from -O3 in one TU, and only
that TU is compiled again (:meth:`Builder.build` ``reuse``).  Scores: ``proxy``, the cachegrind
cycle estimate of the count workload (:meth:`Runner.proxy_cycles`; a build byte-identical to one
run before is not run again), or ``time``, an A B B A screen like every speed candidate's.

    USAGE: found = search_loops(builder, runner, baseline, reference, top=3, by="proxy", log=print)
           builder.build("searched", plan_of_search(found))
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from irpipe.bench.build import Binary, Builder, TUPlan
from irpipe.bench.candidates import screen
from irpipe.bench.run import RunFailed, Runner
from irpipe.errors import BuildError, IRError
from irpipe.optimize.loopsearch import (SEARCH_DECISIONS, SEARCH_LABEL, HotLoop, LoopSearch, check_measure,
                                        search_decisions)
from irpipe.optimize.result import SPEED_BASELINE

__all__ = ["SEARCH_LABEL", "hot_units", "label_rows", "plan_of_search", "search_labels", "search_loops"]


def plan_of_search(found: LoopSearch) -> Callable[[str, Path], TUPlan]:
    """-O3 for every TU, with the decisions ``found`` chose for its loops."""
    return lambda rel, _bc: TUPlan(SPEED_BASELINE, loops=found.decided.get(rel) or None)


def hot_units(builder: Builder, runner: Runner, reference: str, top: int) -> tuple[list[HotLoop], dict[str, list[str]]]:
    """(the ``top`` hot loops as (TU, listing entry, iterations), hottest first; per TU its loop ids).
    :class:`BuildError` / :class:`RunFailed` when the counting build fails or prints other output."""
    from irpipe.llvm.loops import hot_loops
    from irpipe.optimize.loops import loop_listing

    counting = builder.build("loop-profile", lambda rel, bc: TUPlan(SPEED_BASELINE, profile=True))
    counts, sha = runner.profile(counting.exe)
    if sha != reference:
        raise RunFailed("the counting build prints other output than the baseline")
    units = builder.frontend()

    def listed(rel: str) -> list[dict[str, Any]]:
        try:
            return loop_listing(units[rel].read_bytes(), name=rel)
        except IRError as exc:
            raise BuildError(str(exc).splitlines()[0]) from None
    with ThreadPoolExecutor(max(1, builder.jobs)) as pool:
        listings = dict(zip(units, pool.map(listed, units)))
    where: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for rel, loops in listings.items():
        for loop in loops:
            where.setdefault(loop["id"], []).append((rel, loop))
    chosen = [lid for lid in hot_loops(counts, len(counts)) if len(where.get(lid, ())) == 1][:top]
    ids = {rel: [loop["id"] for loop in loops] for rel, loops in listings.items()}
    return [(*where[lid][0], counts[lid][1]) for lid in chosen], ids


def search_loops(builder: Builder, runner: Runner, baseline: Binary, reference: str, top: int, *,
                 by: str = "proxy", margin: float = 0.01, decisions: tuple[dict[str, Any], ...] = SEARCH_DECISIONS,
                 log: Callable[[str], None] = lambda m: None) -> LoopSearch:
    """The search on one benchmark whose baseline is -O3 (``baseline``, its output hash
    ``reference``).  A failing counting build or listing gives an empty search (recorded in
    ``tried``), never a failed program."""
    check_measure(by)
    found = LoopSearch()
    try:
        hot, ids = hot_units(builder, runner, reference, top)
    except (BuildError, RunFailed) as exc:
        return found.failed(str(exc), log)

    def score(rel: str, loop_id: str, decision: dict[str, Any]) -> dict[str, Any]:
        name = f"{SPEED_BASELINE} + {rel}:{loop_id} {sorted(decision.items())}"
        plan = lambda r, _bc: TUPlan(SPEED_BASELINE, loops={loop_id: decision} if r == rel else None)  # noqa: E731
        if by == "time":
            record, built = screen(builder, runner, baseline, name, reference, plan, reuse=True)
            record.pop("pipeline")
            return {**record, "speedup": record.get("screen_speedup") if built is not None else None}
        try:
            base_cycles, base_out = runner.proxy_cycles(baseline.exe)
            built = builder.build("search-" + hashlib.sha1(name.encode()).hexdigest()[:10], plan, reuse=True)
            got, out = runner.proxy_cycles(built.exe)
        except (BuildError, RunFailed) as exc:
            return {"error": str(exc).splitlines()[0][:200], "speedup": None}
        counts = {"cycles": got, "baseline_cycles": base_cycles,
                  "same_binary": built.exe.read_bytes() == baseline.exe.read_bytes()}
        if out != base_out:
            return {"error": "output differs from the baseline's (never chosen)", **counts, "speedup": None}
        return {"proxy_speedup": round(base_cycles / got, 4), **counts, "speedup": base_cycles / got}
    return search_decisions(hot, ids, score, decisions=decisions, margin=margin, log=log, found=found)


def label_rows(name: str, summary: dict[str, Any], count_steps: list[list[str]]) -> list[dict[str, Any]]:
    """LOOP_LABELS rows (:data:`irpipe.schema.LOOP_LABELS`) of one program's proxy-scored search
    (``summary``: :meth:`LoopSearch.summary`; ``count_steps``: the count workload's arguments, one
    list per step): one row per (hot loop, decision) it scored, as :class:`irpipe.label.loops.LoopLabeler`
    writes them.  ``program`` is ``NAME/UNIT`` (a loop id is unique within a unit), ``family`` the
    program's name (a real program is its own family: split by it), ``count_args`` one string per
    step.  A search scored by time, or recorded without the loops' facts and cycles, gives none."""
    from irpipe.label.loops import LOOP_FACTS, MISMATCH, decision_key

    scores = summary.get("scores", ())
    if not any("baseline_cycles" in s for s in scores):
        return []
    facts = {(h["unit"], h["loop"]): h.get("facts") for h in summary.get("hot", ())}
    rows = []
    for score in scores:
        fact = facts.get((score.get("unit"), score.get("loop")))
        if fact is None:
            continue
        cycles, base = score.get("cycles"), score.get("baseline_cycles")
        error = score.get("error")
        rows.append({"program": f"{name}/{score['unit']}", "family": name, "loop_id": score["loop"],
                     **{k: fact.get(k) for k in LOOP_FACTS}, "subloops": fact.get("subloops"),
                     "decision": decision_key(score["decision"]),
                     "count_args": [" ".join(step) for step in count_steps],
                     "cycles": cycles, "baseline_cycles": base, "ratio": cycles / base if cycles and base else None,
                     "same_binary": score.get("same_binary"), "output_ok": error is None,
                     "error": MISMATCH if error and "output differs" in error else error})
    return rows


def search_labels(programs: list[Any], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`label_rows` of every result of a bench run whose ``optimize`` searched by proxy
    (``programs``: the run's :class:`~irpipe.bench.suite.Benchmark` list)."""
    steps = {b.name: [list(step.args) for step in b.count_steps] for b in programs}
    rows: list[dict[str, Any]] = []
    for result in results:
        for cand in result.get("candidates", ()):
            if cand.get("loop_search") and result["name"] in steps:
                rows += label_rows(result["name"], cand["loop_search"], steps[result["name"]])
    return rows
