"""The MLIR cost model against its baselines, on programs it never saw (split by source program).

    python benchmarks/mlir_cost_bench.py [--model models/mlir-cost] [--dataset datasets/mlir]
                                         [--runs datasets/mlir-runs] [--split test]

Prints one table per target (CPU seconds per call, instructions per call):
  * model       the trained GNN cost model (irpipe train-mlir-cost)
  * analytical  per config, log cost ~ a + b log FLOPs + c log bytes, fitted on train
  * config-mean per config, the train mean of log cost: knows nothing of the module, so its
                within-module ranking is the fixed "usual order" of the configs
Columns: MAPE, Kendall tau of the configs within each module (mean over modules), its difference
from config-mean's with a 95% bootstrap interval over the split's programs (2,000 resamples of
programs, all sizes of a program together), and tau over all (module, config) pairs; plus the
model's prediction latency per module.

Then one table per target of what each ranking buys when it chooses configs: geomean over the
split's modules of the default config's cost / the chosen config's (> 1: faster or fewer
instructions than default), with one compile (the top-ranked config alone, unverified: a loss
counts, a failed compile falls back to default), and with 2 and 3 compiles (default plus the 1 or
2 top-ranked others, all measured, the best kept).  Beside the rankings: random search at equal
compiles (the expectation over 200 seeded draws) and the oracle (every config measured).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def tau_gain(pred, other, held, k: int, *, rounds: int = 2000) -> str:
    """Mean within-module tau of ``pred`` minus ``other``'s on target ``k``, with a 95% bootstrap
    interval over programs (resampled with replacement, each with all its modules)."""
    import numpy as np

    from irpipe.data.mlir_cost import TARGETS
    from irpipe.train.metrics import module_taus

    true = [e.targets[TARGETS[k]] for e in held]
    diff = module_taus([p[:, k] for p in pred], true) - module_taus([p[:, k] for p in other], true)
    programs = sorted({e.program for e in held})
    rows = [np.array([d for d, e in zip(diff, held) if e.program == p and np.isfinite(d)]) for p in programs]
    sums, counts = np.array([r.sum() for r in rows]), np.array([r.size for r in rows])
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(programs), size=(rounds, len(programs)))
    boot = sums[draws].sum(1) / np.maximum(counts[draws].sum(1), 1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return f"{sums.sum() / max(counts.sum(), 1):+.3f} [{lo:+.3f}, {hi:+.3f}]"


def main() -> int:
    import numpy as np
    import torch

    from irpipe.data.mlir_cost import TARGETS, AnalyticalBaseline, load_examples
    from irpipe.train.metrics import blind_gain, oracle_gain, random_gain, top_n_gain
    from irpipe.train.mlir_cost import MlirCostPredictor, score

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/mlir-cost")
    ap.add_argument("--dataset", default="datasets/mlir")
    ap.add_argument("--runs", default="datasets/mlir-runs")
    ap.add_argument("--split", default="test", choices=("val", "test"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    predictor = MlirCostPredictor.load(args.model)
    seed = predictor.split_seed
    examples = load_examples(args.dataset, args.runs, seed=seed)
    train = [e for e in examples if e.split == "train"]
    held = [e for e in examples if e.split == args.split]
    latencies, preds = [], []
    for e in held:
        started = time.perf_counter()
        p = predictor.predict(e.text, name=e.variant)
        latencies.append(time.perf_counter() - started)
        preds.append([[np.log(p[c][t]) for t in TARGETS] for c in predictor.configs])
    model = np.array(preds)                                                    # [N, C, T]
    base = AnalyticalBaseline().fit(train)
    analytical = np.stack([base.predict(held, t) for t in TARGETS], -1)
    means = np.stack([np.nanmean(np.stack([e.targets[t] for e in train]), 0) for t in TARGETS], -1)   # [C, T]
    config_mean = np.broadcast_to(means, model.shape)
    rows = {"model": score(model, held), "analytical": score(analytical, held),
            "config-mean": score(config_mean, held)}
    print(f"MLIR cost model on the {args.split} split: {len(held)} modules of "
          f"{len({e.program for e in held})} programs never seen in training "
          f"({len(train)} train modules of {len({e.program for e in train})} programs)\n")
    rankers = {"model": model, "analytical": analytical, "config-mean": config_mean}
    for k, t in enumerate(TARGETS):
        print(f"| {t} per call | MAPE | tau within module (configs) | minus config-mean's [95% CI] "
              f"| tau over all pairs |")
        print("|---|---:|---:|---:|---:|")
        for name, s in rows.items():
            gain = tau_gain(rankers[name], config_mean, held, k) if name != "config-mean" else ""
            print(f"| {name} | {s[f'{t}_mape']:.1%} | {s[f'{t}_tau_configs']:.3f} | {gain} | {s[f'{t}_tau_all']:.3f} |")
        print()
    default = predictor.configs.index("default")
    for k, t in enumerate(TARGETS):
        true = [e.targets[t] for e in held]
        print(f"| choosing configs, {t}: default / chosen | 1 compile (top-1 alone) | 2 compiles | 3 compiles |")
        print("|---|---:|---:|---:|")
        for name, pred in rankers.items():
            name = "config-mean (no model)" if name == "config-mean" else name
            scores = [-pred[i, :, k] for i in range(len(held))]
            print(f"| {name} | {blind_gain(scores, true, default):.3f} | "
                  f"{top_n_gain(scores, true, 2, default):.3f} | {top_n_gain(scores, true, 3, default):.3f} |")
        print(f"| random search | {random_gain(true, 1, default, blind=True):.3f} | "
              f"{random_gain(true, 2, default):.3f} | {random_gain(true, 3, default):.3f} |")
        oracle = oracle_gain(true, default)
        print(f"| oracle (all {len(predictor.configs)} configs) | {oracle:.3f} | {oracle:.3f} | {oracle:.3f} |\n")
    print(f"prediction latency per module (parse + graph + features + forward, 1 thread): "
          f"median {statistics.median(latencies) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
