"""Per-function cleanups after the module pipeline: what they add, and what they cost at equal compiles.

    python benchmarks/function_bench.py [--objective instcount|size] [--splits val test]
                                        [--dataset datasets/default/sample] [--cache out/function_bench]
    python benchmarks/function_bench.py --derive [--objective instcount]   # the CLEANUPS order, from train

Per module of the split (packages no model and no vocabulary mining saw), on the module as
``irpipe optimize`` takes it (its own target, optnone kept): -Oz, the vocabulary's static order
(no model), and per row the module pipeline P that the first n candidates choose, then
:func:`irpipe.optimize.functions.refine` with the first k of
:data:`~irpipe.optimize.functions.CLEANUPS` -- the code ``irpipe optimize`` runs, its final
compile included, so every figure is a measured metric, not a sum of parts.  Each row is the
geomean of -Oz's metric over the row's (higher is better) with its compile count: 10+0 is
``--verify 10`` (the default), 10+5 is ``--verify 16``, and 6+3 / 5+4 spend the same 10
compiles on cleanups instead of module candidates.

``--derive`` runs every function pipeline of :data:`VOCABULARY` once on every train module's
static choice and prints the greedy set cover of per-function gains: the CLEANUPS order.
Modules are cached in ``--cache`` (one JSON line each, resumable; delete it to re-measure).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
IC = "instcombine<no-verify-fixpoint>"
#: Function pipelines --derive chooses from (each in the action space, so advice files can carry it).
VOCABULARY = (
    f"function({IC},simplifycfg)", f"function(gvn,{IC})", f"function(newgvn,{IC},simplifycfg)",
    f"function(early-cse<memssa>,{IC},simplifycfg,dce)", f"function(reassociate,{IC},gvn)",
    f"function(jump-threading,simplifycfg,{IC})", f"function(sroa<modify-cfg>,{IC})",
    "function(mldst-motion,gvn-sink,simplifycfg)", f"function(aggressive-instcombine,{IC},bdce,adce,simplifycfg)",
    f"function(correlated-propagation,{IC},simplifycfg)", "function(gvn-hoist,simplifycfg)",
    "function(sink,simplifycfg)", "function(simplifycfg<hoist-common-insts;sink-common-insts>)",
    f"function(dse,{IC},adce)", f"function(sccp,{IC},adce,simplifycfg)", f"function(gvn<no-pre>,{IC},simplifycfg)",
)
#: (module compiles with -Oz's, cleanups): rows of the table; compiles = n + k + (1 if k).
ROWS = ((10, 0), (10, 5), (6, 3), (5, 4), (6, 0))


def modules(dataset: str, split: str) -> list[dict]:
    """The split's modules (hash, package, content)."""
    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules

    table = read_modules(dataset, columns=["structural_hash", "package_name", "content"])
    keep = select_hashes(table, split)
    return [r for r in table.to_pylist() if r["structural_hash"] in keep]


def cached(path: Path, rows: list[dict], measure) -> list[dict]:
    """measure(row) for each row, kept one JSON line per module in ``path`` (resumable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            done[rec["hash"]] = rec
    with path.open("a") as out:
        for i, row in enumerate(rows):
            if row["structural_hash"] not in done:
                rec = {"hash": row["structural_hash"], **measure(row)}
                out.write(json.dumps(rec) + "\n")
                out.flush()
                done[rec["hash"]] = rec
            if i % 25 == 0:
                print(f"  {path.name}: {i}/{len(rows)}", flush=True)
    return [done[r["structural_hash"]] for r in rows]


def static_choice(ev, objective: str, static: list[str]) -> dict:
    """-Oz's metric and, per budget n, the chosen pipeline, its metric and per-function measures."""
    from irpipe.label.measure import EvaluationError

    size = objective == "size"
    oz = ev.evaluate("default<Oz>", object_file=size).metric(objective)
    cand = {}
    for p in static:
        try:
            m, raw = ev.evaluate(p, object_file=size, per_function=True)
            cand[p] = (m.metric(objective), raw["per_function"])
        except EvaluationError:
            pass
    choice = {}
    for n in sorted({n for n, _ in ROWS}):
        ok = [(cand[p][0], i, p) for i, p in enumerate(static[:n]) if p in cand]
        if ok:
            _, _, p = min(ok)
            choice[n] = (p, cand[p][0], cand[p][1])
    return {"oz": oz, "choice": choice}


def measure_rows(row: dict, objective: str, static: list[str]) -> dict:
    """Each ROWS entry's measured metric on one module (refine's final compile included)."""
    from irpipe.label.measure import EvaluationError, Evaluator
    from irpipe.llvm.target import AS_OPT
    from irpipe.optimize.functions import CLEANUPS, refine

    ev = Evaluator(row["content"], name=row["structural_hash"][:12], target=AS_OPT)
    try:
        base = static_choice(ev, objective, static)
        names = set(ev.evaluate("verify", per_function=True)[1]["per_function"])
    except EvaluationError as exc:
        return {"error": str(exc).splitlines()[0]}
    out = {"oz": base["oz"]}
    for n, k in ROWS:
        if n not in base["choice"]:
            continue
        p, metric, per_function = base["choice"][n]
        better = refine(row["content"], p, per_function, objective, input_functions=names,
                        cleanups=CLEANUPS[:k], name=row["structural_hash"][:12]) if k else None
        if better is not None and better.functions:
            metric = min(metric, better.metric)
        out[f"{n}+{k}"] = metric
    return out


def geomean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def table(split: str, recs: list[dict]) -> None:
    """Print one split's rows."""
    recs = [r for r in recs if "error" not in r and r["oz"] > 0 and all(r.get(f"{n}+{k}", 0) > 0 for n, k in ROWS)]
    print(f"\n{split}: {len(recs)} modules (with code)")
    print(f"{'choice':52} {'compiles':>8} {'geomean vs -Oz':>15} {'modules better':>15}")
    first = f"{ROWS[0][0]}+{ROWS[0][1]}"
    for n, k in ROWS:
        key = f"{n}+{k}"
        what = f"static order, first {n}" + (f", then {k} per-function cleanups + the mix" if k else "")
        better = sum(r[key] < r[first] for r in recs)
        print(f"{what:52} {n + k + bool(k):8d} {geomean([r['oz'] / r[key] for r in recs]):15.4f} {better:15d}")


def derive(dataset: str, objective: str, static: list[str], cache: Path) -> None:
    """Greedy set cover of per-function gains of VOCABULARY on train: the CLEANUPS order."""
    from irpipe.label.measure import EvaluationError, Evaluator
    from irpipe.llvm.target import AS_OPT

    def measure(row: dict) -> dict:
        ev = Evaluator(row["content"], name=row["structural_hash"][:12], target=AS_OPT)
        try:
            base = static_choice(ev, objective, static)
        except EvaluationError as exc:
            return {"error": str(exc).splitlines()[0]}
        if 10 not in base["choice"]:
            return {"error": "no candidate compiled"}
        p, _, per_function = base["choice"][10]
        k = 0 if objective == "instcount" else 1
        trials = []
        for f in VOCABULARY:
            try:
                raw = ev.evaluate(p, object_file=objective == "size", per_function=True,
                                  functions={name: f for name in per_function})[1]
                trials.append({n: v[k] for n, v in raw["per_function"].items()})
            except EvaluationError:
                trials.append({})
        return {"base": {n: v[k] for n, v in per_function.items()}, "trials": trials}

    tag = hashlib.sha256(json.dumps([VOCABULARY, static, "as-opt"]).encode()).hexdigest()[:10]
    recs = [r for r in cached(cache / f"derive-{objective}-train-{tag}.jsonl", modules(dataset, "train"), measure)
            if "error" not in r and sum(r["base"].values()) > 0]

    def score(chosen: list[int]) -> float:
        return geomean([sum(r["base"].values()) / max(1, sum(min([v] + [r["trials"][j].get(n, v) for j in chosen])
                                                               for n, v in r["base"].items())) for r in recs])

    order: list[int] = []
    print(f"train: {len(recs)} modules; static@10 alone 1.0000")
    while len(order) < 8:
        j = max((j for j in range(len(VOCABULARY)) if j not in order), key=lambda j: score(order + [j]))
        order.append(j)
        print(f"  + {VOCABULARY[j]:80} {score(order):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objective", default="instcount", choices=("instcount", "size"))
    ap.add_argument("--splits", nargs="+", default=["val", "test"])
    ap.add_argument("--dataset", default=str(ROOT / "datasets" / "default" / "sample"))
    ap.add_argument("--cache", default=str(ROOT / "out" / "function_bench"))
    ap.add_argument("--derive", action="store_true", help="print the CLEANUPS order from the train split")
    args = ap.parse_args()
    from irpipe.label import vocab

    static = vocab.load(ROOT / "models" / "default" / "pipelines.json").pipelines[:10]
    cache = Path(args.cache)
    if args.derive:
        derive(args.dataset, args.objective, static, cache)
        return
    from irpipe.optimize.functions import CLEANUPS

    tag = hashlib.sha256(json.dumps([CLEANUPS, ROWS, static, "as-opt"]).encode()).hexdigest()[:10]  # what the rows depend on
    for split in args.splits:
        recs = cached(cache / f"rows-{args.objective}-{split}-{tag}.jsonl", modules(args.dataset, split),
                      lambda row: measure_rows(row, args.objective, static))
        table(split, recs)


if __name__ == "__main__":
    main()
