"""What do per-loop decisions buy over -O3, by the cachegrind cycle proxy?

    nice -n 10 .venv/bin/python benchmarks/loop_label_bench.py [--count 24] [--seed 1] [--families search,shortrow]
                                                               [--out benchmarks/results/loops/sSEED]
                                                               [--work out/loop-labels/sSEED]

Generates ``count`` programs (irpipe.label.programs, seed ``seed``), labels every loop of each
with irpipe.label.loops (each decision of its space alone, proxy cycles on ``count_args``, output
checked against the -O3 build's) and reports, per family, geometric means of proxy-cycle ratios
to -O3 (the plugin loaded, no advice; = 1.0):

* ``oracle-1``: the best single (loop, decision) of each program;
* ``oracle``: every loop's best decision (only those that beat -O3 alone) combined in one advice
  file, re-built, re-measured and output-checked (a wrong output counts as 1.0 and is listed);
* ``static``: the best single static rule (one decision applied to every loop whose space has
  it), chosen by geomean on half of the families and evaluated on the other half (both ways);
* ``loops>1%``: loops where some decision moves the proxy by more than 1% either way.

Writes ``loop-labels.json`` (summary and per-program figures) and ``loop_labels.parquet``
(schema LOOP_LABELS) to ``out``.  Resumable: each program's rows and figures go to
``--work`` (default ``out/loop-labels/sSEED``, not committed) as ``PROGRAM.{parquet,json}`` as
soon as it is labelled (a failed one to ``PROGRAM.failed.json``: delete it to try again), and a
re-run with the same seed takes those instead of labelling the program again (program ``i`` of a
seed does not depend on ``--count``, so a larger ``--count`` extends a finished run).  ``seconds`` adds up every run's labelling time.  ``--shard I/N``
labels only programs ``i`` with ``i % N == I`` and writes nothing but those files, so N processes
can share the cores; a run without ``--shard`` then gathers them and writes the results.

    .venv/bin/python benchmarks/loop_label_bench.py --refresh-facts benchmarks/results/loops/s1/loop_labels.parquet

rewrites a labels file's loop facts from today's plugin listing (each program regenerated and
built once, nothing run: seconds), e.g. to give labels of schema v2 the loop body facts.

    nice -n 10 .venv/bin/python benchmarks/loop_label_bench.py --suite benchmarks/suite --hot 6
                                                               [--out benchmarks/results/loops-suite]

labels real programs instead: every program of a ``irpipe bench`` suite whose sources are in its
folder and that has ``count_args`` (Debian programs, whose sources are fetched, and multi-step
workloads are skipped and listed).  A real program has dozens of loops, so a counting build
(``-irpipe-profile-loops``) runs first and only the ``--hot`` loops that run the most iterations
(each at least 1% of all) are labelled.  Per program: the oracle over those loops; every static
rule and the released loop policy (``--loop-model``, default models/loop-decisions), each applied to
every loop and measured by the proxy.  These are evaluation labels for the suite that
``irpipe bench`` measures, not training data: no model reads benchmarks/results/loops-suite.

"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from irpipe.label.loops import (BASIC_DECISIONS, MISMATCH, OUTER_DECISIONS, LoopLabeler, decision_key,
                                decision_space, load_program, refresh_facts)
from irpipe.label.programs import FAMILIES, LOOP_NESTS, generate, parse_families
from irpipe.runtime.shards import read_shard, write_parquet
from irpipe.schema import to_table

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
SENSITIVE = 0.01  # a decision "matters" beyond a 1% proxy difference


def geomean(xs: list[float]) -> float | None:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def scored(got: dict[str, Any]) -> float:
    """A measured build's ratio; a failed or wrong-output build counts as -O3 (1.0)."""
    return got["ratio"] if got["output_ok"] and got["ratio"] is not None else 1.0


def label_one(stage: LoopLabeler, d: Path, parts: Path,
              policy: Any = None) -> tuple[list[dict], dict | None, dict | None, float]:
    """(rows, figures, failure, labelling seconds) of program folder ``d``: from ``parts`` when an
    earlier run labelled it, else labelled now and written there (atomically, rows first)."""
    rows_file, fig_file, failed_file = (parts / f"{d.name}{ext}" for ext in (".parquet", ".json", ".failed.json"))
    if fig_file.exists() and rows_file.exists():
        fig = json.loads(fig_file.read_text())
        return read_shard(rows_file, "loop_labels").to_pylist(), fig, None, fig["seconds"]
    if failed_file.exists():
        failure = json.loads(failed_file.read_text())
        return [], None, failure, failure.get("seconds", 0.0)
    t0 = time.monotonic()
    result = stage.process(d)
    if result.failures:
        failure = {**result.failures[0], "seconds": round(time.monotonic() - t0, 1)}
        _write_json(failed_file, failure)
        return [], None, failure, failure["seconds"]
    got = result.rows["loop_labels"]
    fig = program_figures(stage, d, got, policy)
    fig["seconds"] = round(time.monotonic() - t0, 1)
    write_parquet(to_table(got, "loop_labels"), rows_file)
    _write_json(fig_file, fig)
    return got, fig, None, fig["seconds"]


def label_all(stage: LoopLabeler, dirs: list[Path], work: Path, shard: tuple[int, int] | None,
              policy: Any = None) -> tuple[list[dict], list[dict], list[dict], float]:
    """(rows, figures, failures, labelling seconds) of the program folders ``dirs`` (only
    ``i % N == I`` of them with ``shard`` (I, N)), each by :func:`label_one`, with a progress line."""
    rows, programs, failures, spent = [], [], [], 0.0
    for i, d in enumerate(dirs):
        if shard and i % shard[1] != shard[0]:
            continue
        got, fig, failure, seconds = label_one(stage, d, work, policy)
        spent += seconds
        if failure is not None:
            failures.append(failure)
            print(f"  [{i + 1}/{len(dirs)}] {d.name}: FAILED {failure['error']}", flush=True)
            continue
        rows += got
        programs.append(fig)
        print(f"  [{i + 1}/{len(dirs)}] {fig['line']}", flush=True)
    return rows, programs, failures, spent


def write_results(out: Path, argv: list[str] | None, head: dict[str, Any], rows: list[dict], programs: list[dict],
                  failures: list[dict], spent: float, show: Any, started: float) -> int:
    """Write ``loop-labels.json`` (``head``, the row counts, the per-program figures) and
    ``loop_labels.parquet`` to ``out``; print them with ``show``."""
    doc = {"command": " ".join(["benchmarks/loop_label_bench.py", *(argv if argv is not None else sys.argv[1:])]),
           **head, "rows": len(rows), "wrong_outputs": sum(r["error"] == MISMATCH for r in rows),
           "failed_builds": sum(not r["output_ok"] and r["error"] != MISMATCH for r in rows),
           "failed": {f["recipe_id"]: f["error"] for f in failures}, "seconds": round(spent, 1),
           "programs": [{k: v for k, v in p.items() if k != "line"} for p in programs]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "loop-labels.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_parquet(to_table(rows, "loop_labels"), out / "loop_labels.parquet")
    show(doc)
    print(f"({doc['seconds']} s of labelling, {time.monotonic() - started:.1f} s this run) -> {out}")
    return 0


def _shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as (I, N), 0 <= I < N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise SystemExit(f"--shard {text!r}: expected I/N, e.g. 0/2") from None
    if not 0 <= i < n:
        raise SystemExit(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


def program_figures(stage: LoopLabeler, d: Path, rows: list[dict], policy: Any = None) -> dict[str, Any]:
    """Oracle (single and combined) and every static rule's ratio of one labelled program
    (``line``: the progress line that reports them); with ``policy`` (a loop policy with
    ``advice(listing)``), its decisions for every loop measured too; with the stage's ``hot``, the
    share of all loop iterations that the labelled loops run."""
    program = load_program(d)
    base, listed = stage.baseline(program)
    ok = [r for r in rows if r["output_ok"] and r["ratio"] is not None]
    best: dict[str, dict] = {}
    for r in ok:
        if r["ratio"] < 1.0 and (r["loop_id"] not in best or r["ratio"] < best[r["loop_id"]]["ratio"]):
            best[r["loop_id"]] = r
    oracle_loops = {lid: json.loads(r["decision"]) for lid, r in best.items()}
    combined = stage.measure_advice(program, oracle_loops, base) if oracle_loops else {
        "ratio": 1.0, "output_ok": True, "error": None}
    ids = [loop["id"] for loop in listed]
    static = {}
    for decision in (*BASIC_DECISIONS, *OUTER_DECISIONS):
        loops = {loop["id"]: decision for loop in listed if decision in decision_space(loop, ids)}
        got = stage.measure_advice(program, loops, base) if loops else {"ratio": 1.0, "output_ok": True, "error": None}
        static[decision_key(decision)] = {"ratio": scored(got), "output_ok": got["output_ok"], "error": got["error"]}
    sensitive = {r["loop_id"] for r in rows if r["ratio"] is not None and abs(r["ratio"] - 1) > SENSITIVE}
    fig = {"program": program.name, "family": program.family, "loops": len(listed),
           "loops_sensitive": len(sensitive), "wrong_outputs": sum(r["error"] == MISMATCH for r in rows),
           "failed_builds": sum(not r["output_ok"] and r["error"] != MISMATCH for r in rows),
           "oracle_single": min([r["ratio"] for r in ok] + [1.0]),
           "oracle": scored(combined), "oracle_output_ok": combined["output_ok"], "oracle_error": combined["error"],
           "oracle_decisions": oracle_loops, "static": static}
    fig["line"] = (f"{program.name:28s} loops={len(listed)} sensitive={len(sensitive)} "
                   f"oracle-1={fig['oracle_single']:.4f} oracle={fig['oracle']:.4f}"
                   + ("" if combined["output_ok"] else f" (combined: {combined['error']})"))
    if stage.hot is not None:
        counts = stage.profile(program)
        labelled = sorted({r["loop_id"] for r in rows})
        total = sum(it for _, it in counts.values()) or 1
        fig.update(loops_labelled=len(labelled), hot_share=sum(counts.get(lid, (0, 0))[1] for lid in labelled) / total,
                   hot={lid: list(counts.get(lid, (0, 0))) for lid in labelled})
        fig["line"] += f" labelled={len(labelled)} ({fig['hot_share']:.0%} of iterations)"
    if policy is not None:
        decided = policy.advice(listed)
        got = stage.measure_advice(program, decided, base) if decided else {"ratio": 1.0, "output_ok": True,
                                                                             "error": None}
        fig.update(policy=scored(got), policy_output_ok=got["output_ok"], policy_error=got["error"],
                   policy_decisions=decided)
        fig["line"] += f" policy={fig['policy']:.4f} ({len(decided)} loops)"
    return fig


def choose_rule(programs: list[dict], families: list[str]) -> tuple[str | None, float | None]:
    """The static rule with the best geomean over the programs of ``families`` (None: no programs)."""
    pool = [p for p in programs if p["family"] in families]
    if not pool:
        return None, None
    rules = {k: geomean([p["static"][k]["ratio"] for p in pool]) for k in pool[0]["static"]}
    key = min(rules, key=lambda k: (rules[k], k))
    return key, rules[key]


def summarize(programs: list[dict]) -> dict[str, Any]:
    """Per family and overall: the oracle, the held-out static rule, loops that matter."""
    names = [f for f in FAMILIES if any(p["family"] == f for p in programs)]
    halves = (names[0::2], names[1::2])
    rule_for: dict[str, tuple[str, float]] = {}
    for train, test in (halves, halves[::-1]):
        key, train_gm = choose_rule(programs, train)
        rule_for.update({f: (key, train_gm) for f in test})
    table = {}
    for fam in [*names, "all"]:
        ps = [p for p in programs if fam in ("all", p["family"])]
        table[fam] = {
            "programs": len(ps), "loops": sum(p["loops"] for p in ps),
            "loops_sensitive": sum(p["loops_sensitive"] for p in ps),
            "oracle_single": geomean([p["oracle_single"] for p in ps]),
            "oracle": geomean([p["oracle"] for p in ps]),
            "static_heldout": geomean([p["static"][rule_for[p["family"]][0]]["ratio"] for p in ps
                                       if rule_for[p["family"]][0] is not None]),
            "static_rule": rule_for[fam][0] if fam != "all" else None, "O3": 1.0}
    best_all, gm_all = choose_rule(programs, names)
    return {"halves": halves, "rules": {f: k for f, (k, _) in rule_for.items()}, "table": table,
            "best_static_in_sample": {"rule": best_all, "geomean": gm_all},
            "oracle_wrong_outputs": [p["program"] for p in programs if not p["oracle_output_ok"]]}


def _f(x: float | None, width: int) -> str:
    return f"{x:{width}.4f}" if x is not None else f"{'n/a':>{width}s}"


def report(doc: dict[str, Any]) -> None:
    print(f"\n{'family':10s} {'progs':>5s} {'loops':>5s} {'>1%':>4s} {'oracle-1':>8s} {'oracle':>7s} "
          f"{'static':>7s} {'O3':>4s}  static rule (chosen on the other half)")
    for fam, t in doc["table"].items():
        print(f"{fam:10s} {t['programs']:5d} {t['loops']:5d} {t['loops_sensitive']:4d} {_f(t['oracle_single'], 8)} "
              f"{_f(t['oracle'], 7)} {_f(t['static_heldout'], 7)} {t['O3']:4.1f}  {t['static_rule'] or ''}")
    b = doc["best_static_in_sample"]
    print(f"best static rule over all families (in-sample): {b['rule']} {_f(b['geomean'], 6)}")
    if doc["oracle_wrong_outputs"]:
        print(f"combined oracle with wrong output: {', '.join(doc['oracle_wrong_outputs'])}")


def suite_programs(suite: Path) -> tuple[list[Path], dict[str, str]]:
    """The program folders of ``suite`` this script can label (sources in the folder, one
    ``count_args`` run), and why each other one is skipped."""
    keep, skipped = [], {}
    for toml in sorted(suite.glob("*/benchmark.toml")):
        doc = tomllib.loads(toml.read_text())
        d, why = toml.parent, None
        if "source" in doc:
            why = "sources fetched from Debian"
        elif "count_args" not in doc or "count_run" in doc or "run" in doc:
            why = "no single count_args run"
        elif any(any(c in src for c in "*?[") or not (d / src).is_file() for src in doc.get("sources", [])):
            why = "sources not plain files in its folder"
        if why:
            skipped[d.name] = why
        else:
            keep.append(d)
    return keep, skipped


def summarize_suite(programs: list[dict]) -> dict[str, Any]:
    """Geomeans over a suite's programs: the oracle over the labelled loops, each static rule on
    every loop, the policy; the best static rule in-sample (it is chosen on the suite itself)."""
    rules = {k: geomean([p["static"][k]["ratio"] for p in programs]) for k in (programs[0]["static"] if programs else {})}
    best = min(rules, key=lambda k: (rules[k], k)) if rules else None
    return {"table": {"programs": len(programs), "loops": sum(p["loops"] for p in programs),
                      "loops_labelled": sum(p.get("loops_labelled", p["loops"]) for p in programs),
                      "hot_share": geomean([p["hot_share"] for p in programs if p.get("hot_share")]),
                      "oracle_single": geomean([p["oracle_single"] for p in programs]),
                      "oracle": geomean([p["oracle"] for p in programs]),
                      "policy": geomean([p["policy"] for p in programs if "policy" in p]),
                      "static": rules, "O3": 1.0},
            "best_static_in_sample": {"rule": best, "geomean": rules.get(best) if best else None},
            "oracle_wrong_outputs": [p["program"] for p in programs if not p["oracle_output_ok"]],
            "policy_wrong_outputs": [p["program"] for p in programs if not p.get("policy_output_ok", True)]}


def report_suite(doc: dict[str, Any]) -> None:
    print(f"\n{'program':16s} {'loops':>5s} {'hot':>3s} {'iters':>5s} {'oracle':>7s} {'policy':>7s} {'unroll:8':>8s} "
          f"{'best rule':>9s}")
    best = doc["best_static_in_sample"]["rule"]
    for p in doc["programs"]:
        print(f"{p['program']:16s} {p['loops']:5d} {p.get('loops_labelled', 0):3d} {p.get('hot_share', 0):5.0%} "
              f"{_f(p['oracle'], 7)} {_f(p.get('policy'), 7)} {_f(p['static'][U8]['ratio'], 8)} "
              f"{_f(p['static'][best]['ratio'] if best else None, 9)}")
    t = doc["table"]
    print(f"{'geomean':16s} {t['loops']:5d} {t['loops_labelled']:3d} {t['hot_share'] or 0:5.0%} {_f(t['oracle'], 7)} "
          f"{_f(t['policy'], 7)} {_f(t['static'].get(U8), 8)} {_f(doc['best_static_in_sample']['geomean'], 9)}")
    print(f"best static rule on these programs (in-sample): {best}; -O3 = 1.0; skipped: "
          + (", ".join(f"{k} ({v})" for k, v in doc["skipped"].items()) or "none"))
    for key in ("oracle_wrong_outputs", "policy_wrong_outputs"):
        if doc[key]:
            print(f"{key.replace('_', ' ')}: {', '.join(doc[key])}")


#: the static rule the generated corpus picks (benchmarks/results/loops): unroll 8 on every loop
U8 = decision_key({"unroll": 8})


def suite_main(a: argparse.Namespace, argv: list[str] | None, stage: LoopLabeler, started: float) -> int:
    """``--suite``: label the hot loops of real programs (see the module docstring)."""
    from irpipe.optimize.loops import LoopAdviser

    policy = LoopAdviser.load(a.loop_model).policy if a.loop_model != "none" else None
    out = Path(a.out or ROOT / "benchmarks" / "results" / "loops-suite")
    work = Path(a.work or ROOT / "out" / "loop-labels" / "suite")
    dirs, skipped = suite_programs(Path(a.suite))
    try:
        rows, programs, failures, spent = label_all(stage, dirs, work, _shard(a.shard) if a.shard else None, policy)
    finally:
        stage.close()
    if a.shard:
        print(f"shard {a.shard}: {len(programs)} programs labelled, {len(failures)} failed -> {work}")
        return 0
    head = {"suite": a.suite, "hot": a.hot, "loop_model": a.loop_model, **summarize_suite(programs), "skipped": skipped}
    return write_results(out, argv, head, rows, programs, failures, spent, report_suite, started)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", default=",".join(LOOP_NESTS),
                    help="comma-separated program families, or all (default: the seven loop nests; seed 5: search,shortrow)")
    ap.add_argument("--out", help="default: benchmarks/results/loops/sSEED (the models' labels read every seed there)")
    ap.add_argument("--work", help="finished programs, for a re-run to resume from (default out/loop-labels/sSEED)")
    ap.add_argument("--shard", metavar="I/N", help="label only programs i with i %% N == I (no results written)")
    ap.add_argument("--refresh-facts", metavar="FILE", help="only rewrite FILE's loop facts (see above)")
    ap.add_argument("--suite", metavar="DIR", help="label the hot loops of a benchmark suite's programs (see above)")
    ap.add_argument("--hot", type=int, default=6, help="--suite: loops labelled per program, the busiest")
    ap.add_argument("--loop-model", default=str(ROOT / "models" / "loop-decisions"),
                    help="--suite: the loop policy measured beside the oracle and the static rules (none: not measured)")
    a = ap.parse_args(argv)
    try:
        families = parse_families(a.families)
    except ValueError as exc:
        ap.error(str(exc))
    shard = _shard(a.shard) if a.shard else None
    started, stage = time.monotonic(), LoopLabeler(hot=a.hot if a.suite else None)
    stage.setup()
    if a.suite:
        return suite_main(a, argv, stage, started)
    if a.refresh_facts:
        try:
            with tempfile.TemporaryDirectory(prefix="irpipe-loopfacts-") as tmp:
                table = refresh_facts(read_shard(a.refresh_facts, "loop_labels"), stage, Path(tmp))
        finally:
            stage.close()
        write_parquet(table, Path(a.refresh_facts))
        print(f"{a.refresh_facts}: {table.num_rows} rows, facts refreshed ({time.monotonic() - started:.1f} s)")
        return 0
    out = Path(a.out or ROOT / "benchmarks" / "results" / "loops" / f"s{a.seed}")
    work = Path(a.work or ROOT / "out" / "loop-labels" / f"s{a.seed}")
    try:
        with tempfile.TemporaryDirectory(prefix="irpipe-loopbench-") as tmp:
            dirs = generate(Path(tmp) / "programs", a.count, a.seed, families)
            rows, programs, failures, spent = label_all(stage, dirs, work, shard)
    finally:
        stage.close()
    if shard:
        print(f"shard {a.shard}: {len(programs)} programs labelled, {len(failures)} failed -> {work}")
        return 0
    head = {"count": a.count, "seed": a.seed, **summarize(programs)}
    return write_results(out, argv, head, rows, programs, failures, spent, report, started)


if __name__ == "__main__":
    sys.exit(main())
