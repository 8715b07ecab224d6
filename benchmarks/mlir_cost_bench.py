"""The MLIR cost model against its baselines, on programs it never saw (split by source program).

    python benchmarks/mlir_cost_bench.py [--model models/mlir-cost] [--dataset datasets/mlir]
                                         [--runs datasets/mlir-runs] [--split test]

Prints one table per target (CPU seconds per call, instructions per call):
  * model       the trained GNN cost model (irpipe train-mlir-cost)
  * analytical  per config, log cost ~ a + b log FLOPs + c log bytes, fitted on train
  * config-mean per config, the train mean of log cost: knows nothing of the module, so its
                within-module ranking is the fixed "usual order" of the configs
Columns: MAPE, Kendall tau of the configs within each module (mean over modules) and tau over
all (module, config) pairs; plus the model's prediction latency per module.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> int:
    import numpy as np
    import torch

    from irpipe.data.mlir_cost import TARGETS, AnalyticalBaseline, load_examples
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
    for t in TARGETS:
        print(f"| {t} per call | MAPE | tau within module (configs) | tau over all pairs |")
        print("|---|---:|---:|---:|")
        for name, s in rows.items():
            print(f"| {name} | {s[f'{t}_mape']:.1%} | {s[f'{t}_tau_configs']:.3f} | {s[f'{t}_tau_all']:.3f} |")
        print()
    print(f"prediction latency per module (parse + graph + features + forward, 1 thread): "
          f"median {statistics.median(latencies) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
