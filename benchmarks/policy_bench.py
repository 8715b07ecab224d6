"""Which candidates to compile: the models' policies, retrieval and the static order, at equal compiles.

    python benchmarks/policy_bench.py [--models models/default models/default-transformer]
                                      [--dataset datasets/default/sample]
                                      [--measurements datasets/default/measurements] [--neighbours 15]
                                      [--pipelines POOL.json] [--objectives instcount size]

No compiles: every module of the sample has been measured under every candidate
(``datasets/default/measurements``), so any choice of n candidates (-Oz first) can be scored
exactly as the geomean of -Oz's metric over the best chosen one.  Per objective, split (val,
test: packages no model and no vocabulary mining saw) and budget n:

  * static: the vocabulary's set-cover order, no model (what ``picks = 0`` gives);
  * MODEL policy: the model's policy head chooses all n - 1 (its ``picks`` are calibrated on val);
  * cover-all: a greedy set cover of the *training* modules' gains, recomputed for n;
  * knn-mean: the candidates with the best mean gain over the ``--neighbours`` training modules
    nearest in standardized log(1 + Autophase);
  * knn-cover: a greedy set cover over those neighbours' gains (a per-module coreset, the
    retrieval idea of Coreset-NVP without its learned value model);
  * oracle: the best of all candidates (the ceiling of any choice from this vocabulary).

Neighbours come from the train split only; val/test modules never see each other.
With ``--pipelines`` (a larger candidate set measured into ``--measurements``, e.g. the mined
128-pipeline pool) the models' policies are left out: they rank their own 24 candidates.

After each table, one line scores a single pipeline applied with *no* compile to check it, as the
pass plugin's live mode does (``irpipe serve``'s answer: the policy's first choice unless the cost
head predicts no gain over -Oz): -Oz itself, the static order's first candidate, the one candidate
with the best mean gain over the training modules (the no-model rule for a blind pick), each model's
top-1, its served answer, the kNN cover's first pick and the oracle (below 1 = worse than -Oz).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
BUDGETS = (2, 3, 5, 10)


def cover(gains: np.ndarray, n: int, reference: int) -> list[int]:
    """Greedy set cover: ``reference``, then each next candidate that adds most summed gain
    over the rows of ``gains`` [J, K] (log gain vs the reference; failures -1)."""
    best, chosen = np.maximum(gains[:, reference], 0.0), [reference]
    while len(chosen) < min(n, gains.shape[1]):
        value = np.maximum(best[:, None], gains).sum(0)
        value[chosen] = -np.inf
        k = int(np.argmax(value))
        chosen.append(k)
        best = np.maximum(best, gains[:, k])
    return chosen


def load(models: list[str], dataset: str, measurements: str,
         pipeline_file: str | None = None) -> tuple[list[dict], list[str], int]:
    """Per module: split, standardizable Autophase, measured log metrics [K, O] and each model's scores."""
    from irpipe.data.examples import module_input, targets
    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules
    from irpipe.runtime.units import read_table
    from irpipe.train.predict import Predictor

    from irpipe.label import vocab

    predictors = [Predictor.load(m) for m in models]
    if pipeline_file:
        pipelines, predictors, models = vocab.load(Path(pipeline_file)).pipelines, [], []
        reference = pipelines.index("default<Oz>")
    else:
        pipelines, reference = predictors[0].pset.pipelines, predictors[0].meta["reference"]
    if any(p.pset.pipelines != pipelines for p in predictors):
        raise SystemExit("the models rank different candidate lists")
    table = read_modules(dataset, columns=["structural_hash", "recipe_id", "package_name", "content"])
    splits = {s: select_hashes(table, s) for s in ("train", "val", "test")}
    rows: dict[str, list[dict]] = {}
    for r in read_table(measurements, "measurements").to_pylist():
        rows.setdefault(r["structural_hash"], []).append(r)
    out = []
    for r in table.to_pylist():
        h = r["structural_hash"]
        if h not in rows:
            continue
        x = module_input(r["content"], name=h[:12], texts=False)
        predictions = {Path(m).name: p.predict(r["content"], h[:12]) for m, p in zip(models, predictors)}
        scores = {name: pr.scores for name, pr in predictions.items()}
        costs = {name: pr.cost for name, pr in predictions.items()}
        out.append({"split": next(s for s, hs in splits.items() if h in hs), "scores": scores, "costs": costs,
                    "features": np.log1p(np.asarray(x.autophase, dtype=float)),
                    "true": targets(rows[h], pipelines)})
    return out, pipelines, reference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["models/default", "models/default-transformer"])
    ap.add_argument("--dataset", default="datasets/default/sample")
    ap.add_argument("--measurements", default="datasets/default/measurements")
    ap.add_argument("--neighbours", type=int, default=15)
    ap.add_argument("--pipelines", help="candidate set JSON measured into --measurements (models left out)")
    ap.add_argument("--objectives", nargs="+", default=["instcount", "size"])
    args = ap.parse_args()

    from irpipe.data.examples import OBJECTIVES
    from irpipe.label.vocab import choose

    modules, pipelines, ref = load(args.models, args.dataset, args.measurements, args.pipelines)
    if args.pipelines:
        args.models = []
    train = [m for m in modules if m["split"] == "train"]
    feats = np.stack([m["features"] for m in train])
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    z_train = (feats - mu) / sd
    names = [Path(m).name for m in args.models]
    static = "static" if names else "first n of the file"
    print(f"{len(modules)} modules ({len(train)} train), {len(pipelines)} candidates, -Oz first; geomean of "
          "-Oz's metric / the best of the n compiled (higher is better)")
    for o, (objective, _) in enumerate(OBJECTIVES):
        if objective not in args.objectives:
            continue

        def gains(m: dict) -> np.ndarray:
            g = m["true"][ref, o] - m["true"][:, o]
            return np.where(np.isfinite(g), g, -1.0)

        g_train = np.stack([gains(m) for m in train])

        def neighbours(m: dict) -> np.ndarray:
            return np.argsort(np.sqrt((((m["features"] - mu) / sd - z_train) ** 2).sum(1)))[:args.neighbours]

        ways: dict[str, Callable[[dict, int], list[int]]] = {
            static: lambda m, n: choose(np.zeros(len(pipelines)), n, ref, 0),
            **{f"{name} policy": (lambda m, n, name=name: choose(m["scores"][name][o], n, ref, n - 1))
               for name in names},
            "cover-all": lambda m, n: cover(g_train, n, ref),
            "knn-mean": lambda m, n: choose(g_train[neighbours(m)].mean(0), n, ref, n - 1),
            "knn-cover": lambda m, n: cover(g_train[neighbours(m)], n, ref),
        }
        for split in ("val", "test"):
            held = [m for m in modules if m["split"] == split and np.isfinite(m["true"][ref, o])]

            def geomean(pick: Callable[[dict], list[int]]) -> float:
                return math.exp(np.mean([m["true"][ref, o] - np.nanmin(m["true"][pick(m), o]) for m in held]))

            print(f"\n{objective}, {split} split ({len(held)} modules): oracle "
                  f"{geomean(lambda m: list(range(len(pipelines)))):.4f}\n")
            print("| compiles | " + " | ".join(ways) + " |")
            print("|---:|" + "---:|" * len(ways))
            for n in BUDGETS:
                print(f"| {n} | " + " | ".join(f"{geomean(lambda m, f=f: f(m, n)):.4f}" for f in ways.values()) + " |",
                      flush=True)
            if names:
                blind(held, names, ref, o, lambda m, n: cover(g_train[neighbours(m)], n, ref),
                      int(np.argmax(g_train.mean(0))))


def blind(held: list[dict], names: list[str], ref: int, o: int, knn: Callable[[dict, int], list[int]],
          fixed: int) -> None:
    """One pipeline applied with no compile to check it (the pass plugin's live answer): geomean of
    -Oz's metric over the pick's (below 1 when the pick is worse; a pipeline that fails counts as -Oz)."""
    def value(m: dict, k: int) -> float:
        d = m["true"][ref, o] - m["true"][k, o]
        return float(d) if np.isfinite(d) else 0.0

    def vetoed(m: dict, name: str) -> int:  # irpipe serve's answer: the policy's first unless the cost
        first = int(np.argmax(m["scores"][name][o]))  # head predicts no gain over -Oz
        return ref if m["costs"][name][first, o] >= m["costs"][name][ref, o] else first

    picks: dict[str, Callable[[dict], int]] = {
        "-Oz": lambda m: ref,
        "static first": lambda m: next(k for k in range(len(m["true"])) if k != ref),
        "best fixed on train": lambda m: fixed,  # the no-model rule for a blind pick
        **{f"{name} top-1": (lambda m, name=name: int(np.argmax(m["scores"][name][o]))) for name in names},
        **{f"{name} served (cost veto)": (lambda m, name=name: vetoed(m, name)) for name in names},
        "knn-cover first": lambda m: knn(m, 2)[1],
        "oracle": lambda m: int(np.nanargmin(np.where(np.isfinite(m["true"][:, o]), m["true"][:, o], np.inf))),
    }
    print("\none pipeline, no compile (the live plugin's answer): | " + " | ".join(picks) + " |")
    print("| " + " | ".join(f"{math.exp(np.mean([value(m, f(m)) for m in held])):.4f}" for f in picks.values()) + " |")


if __name__ == "__main__":
    main()
