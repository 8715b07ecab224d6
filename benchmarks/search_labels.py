"""Per-loop labels of real programs: the bench's loop search, without the timing.

    nice -n 10 .venv/bin/python benchmarks/search_labels.py --suite benchmarks/suite [--top 3]
                                                            [--only NAME ...] [--out benchmarks/results/loops-real]
                                                            [--work out/search-labels]

For each program of an ``irpipe bench`` suite (Debian programs and multi-step workloads included):
the -O3 build (output checked against ``expected_sha256``), then the search of ``irpipe bench
--loop-search TOP`` (:func:`irpipe.bench.loopsearch.search_loops`, scored by the cachegrind proxy
on the count workload, outputs checked), and its scores as LOOP_LABELS rows
(:func:`irpipe.bench.loopsearch.label_rows`: ``program`` = NAME/UNIT, ``family`` = NAME).  Nothing
is timed, so it runs beside other work.

Writes ``loop_labels.parquet`` (schema LOOP_LABELS) and ``search-labels.json`` (per program: its
hot loops, the best decision of each and its proxy speedup, the seconds it took) to ``out``, and
prints, over the labelled loops, geomean proxy-cycle ratios to -O3 (each decision alone on one
loop, so these are per-loop figures, not a program's): the oracle (each loop's best decision, or
-O3), every static rule (one decision on every loop; a failed or mismatching build counts as -O3),
and the released loop policy (``--policy``; its choice among the searched decisions, from the
loop's facts, with its margin and support guard but not its nest budget, which needs the whole
listing; trained on generated programs only).
Resumable: each program's rows and figures go to ``--work`` as soon as it is searched, and a
re-run takes them instead of searching again (delete ``NAME.json`` to redo one).  A suite folder
holding a file named ``HELD_OUT`` (benchmarks/heldout) is refused: held-out programs are never
labelled for training.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from irpipe.bench.build import Builder, TUPlan
from irpipe.bench.stats import geomean
from irpipe.bench.loopsearch import label_rows, search_loops
from irpipe.bench.run import Runner
from irpipe.bench.suite import HELD_OUT, Benchmark, discover, is_held_out, source_tree
from irpipe.errors import IrpipeError
from irpipe.nn.loop_policy import DECISIONS, NumpyLoopPolicy, allowed_mask, choose, loop_features
from irpipe.optimize.result import SPEED_BASELINE
from irpipe.runtime.shards import read_shard, write_parquet
from irpipe.schema import to_table

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path.home() / ".cache" / "irpipe" / "bench"


def search_one(b: Benchmark, top: int, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(LOOP_LABELS rows, figures) of one program's search; figures carry ``error`` when it failed."""
    started = time.monotonic()
    builder = Builder(b, source_tree(b, CACHE), CACHE / "work" / b.name)
    runner = Runner(b, CACHE)
    try:
        base = builder.build("baseline", lambda rel, bc: TUPlan(SPEED_BASELINE))
        reference = runner.run(base.exe).sha256
        if reference != b.expected_for(None):
            return [], {"name": b.name, "error": f"the -O3 build prints sha256 {reference}, not the expected one"}
        found = search_loops(builder, runner, base, reference, top, by="proxy", log=print)
    finally:
        runner.close()
    summary = found.summary()
    rows = label_rows(b.name, summary, [list(step.args) for step in b.count_steps])
    best: dict[str, float] = {}
    for row in rows:
        if row["output_ok"] and row["ratio"]:
            key = f"{row['program']}:{row['loop_id']}"
            best[key] = min(best.get(key, 1.0), row["ratio"])
    figures = {"name": b.name, "hot": summary["hot"], "decided": summary["decided"], "rows": len(rows),
               "best_ratio": best, "errors": [t["error"] for t in summary["scores"] if "error" in t][:5],
               "seconds": round(time.monotonic() - started, 1)}
    return rows, figures


def _geomean(xs: list[float]) -> float | None:
    g = geomean(xs)
    return None if g is None else round(g, 4)


def compare(figures: list[dict[str, Any]], rows: list[dict[str, Any]], policy: NumpyLoopPolicy) -> dict[str, Any]:
    """Per-loop geomean proxy ratios (see the module docstring) over the loops ``rows`` label."""
    ratios: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        got = ratios.setdefault((r["program"], r["loop_id"]), {})
        got[r["decision"]] = r["ratio"] if r["output_ok"] and r["ratio"] else 1.0
    facts = {(f"{f['name']}/{h['unit']}", h["loop"]): h.get("facts") or {}
             for f in figures for h in f.get("hot", ())}
    searched = sorted({d for got in ratios.values() for d in got})
    picks: list[float] = []
    agree = 0
    for (program, lid), got in ratios.items():
        fact = facts.get((program, lid), {})
        ids = [lid, *(f"{lid}.{i}" for i in range(int(fact.get("subloops") or 0)))]  # for the decision space
        x = loop_features({**fact, "id": lid}, ids)[None]
        pred = np.where(policy.supported(x)[:, None], policy.predict(x), 0.0)[0]
        allowed = allowed_mask({**fact, "id": lid}, ids) & np.array([d in got for d in DECISIONS])
        c = choose(pred, allowed, policy.margin)
        picks.append(got[DECISIONS[c]] if c >= 0 else 1.0)
        best = min(got, key=got.get)
        agree += (c >= 0 and DECISIONS[c] == best and got[best] < 1.0) or (c < 0 and got[best] >= 1.0)
    oracle = [min(1.0, *got.values()) for got in ratios.values()]
    static = {d: _geomean([got.get(d, 1.0) for got in ratios.values()]) for d in searched}
    return {"loops": len(ratios), "oracle": _geomean(oracle), "policy": _geomean(picks),
            "policy_picks_the_oracle_choice": agree, "static": static,
            "best_static": min(static, key=static.get) if static else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a directory of benchmark.toml programs")
    ap.add_argument("--top", type=int, default=3, help="hot loops searched per program (irpipe bench --loop-search)")
    ap.add_argument("--only", nargs="+", help="these programs only")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "loops-real"))
    ap.add_argument("--work", default=str(ROOT / "out" / "search-labels"))
    ap.add_argument("--policy", default=str(ROOT / "models" / "loop-decisions"),
                    help="the loop policy compared with the oracle and the static rules (none: not compared)")
    a = ap.parse_args(argv)
    if is_held_out(a.suite):
        sys.exit(f"{a.suite}: a held-out set (it holds {HELD_OUT}): its programs are never labelled for training")
    programs, problems = discover(a.suite, a.only)
    work, out = Path(a.work), Path(a.out)
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    figures: list[dict[str, Any]] = [{"name": n, "error": d.splitlines()[0]} for n, d in problems.items()]
    for i, b in enumerate(programs, 1):
        done, parquet = work / f"{b.name}.json", work / f"{b.name}.parquet"
        if done.exists():
            print(f"[{i}/{len(programs)}] {b.name}: searched in an earlier run")
            got = json.loads(done.read_text())
            rows += read_shard(parquet, "loop_labels").to_pylist() if parquet.exists() else []
        else:
            print(f"[{i}/{len(programs)}] {b.name}", flush=True)
            try:
                new, got = search_one(b, a.top, work)
            except IrpipeError as exc:  # a fetch or build failure: recorded, the others go on
                new, got = [], {"name": b.name, "error": str(exc).splitlines()[0][:300]}
            if new:
                write_parquet(to_table(new, "loop_labels"), parquet)
            done.write_text(json.dumps(got, indent=1) + "\n")
            rows += new
        figures.append(got)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(to_table(rows, "loop_labels"), out / "loop_labels.parquet")
    loops = sum(len(f.get("hot", ())) for f in figures)
    doc = {"command": " ".join(["benchmarks/search_labels.py", *(argv if argv is not None else sys.argv[1:])]),
           "programs": len(programs), "loops": loops, "rows": len(rows),
           "seconds": round(sum(f.get("seconds", 0) for f in figures), 1), "per_program": figures}
    if a.policy != "none":
        doc["per_loop"] = compare(figures, rows, NumpyLoopPolicy.load(a.policy))
        print(json.dumps(doc["per_loop"], indent=1))
    (out / "search-labels.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(programs)} programs, {loops} hot loops, {len(rows)} rows -> {out / 'loop_labels.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
