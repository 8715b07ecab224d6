"""Model speed: inference latency per module and training throughput, GNN and transformer side by side.

    python benchmarks/model_bench.py [--models models/default models/default-transformer]
                                     [--dataset datasets/default/sample] [--modules 60]

Inference (CPU, one thread, batch of one module, as ``irpipe optimize`` runs it):
  * total: bitcode -> parse + graph/features/tokens (isolated LLVM) -> model -> ranking
  * model: encoding the parsed module into tensors + the forward pass only
Training (one thread): forward + backward + AdamW step over batches of the model's
config size; graphs/s for both, tokens/s for the transformer (non-padding tokens).
Modules are the test split of the dataset (by package), spread over sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_inference(model_dir: str, contents: list[bytes]) -> dict[str, float]:
    from irpipe.optimize.predict import Predictor
    from irpipe.train.data import encode
    from irpipe.train.loop import predict

    p = Predictor.load(model_dir)
    p.predict(contents[0])  # warm-up (child process, first allocations)
    total, model = [], []
    for data in contents:
        t0 = time.perf_counter()
        x = p.inputs(data)
        t1 = time.perf_counter()
        predict(p.model, [encode(x, p.encoders, p.arch)], batch_size=1)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        model.append(t2 - t1)
    return {"arch": p.arch, "params": sum(t.numel() for t in p.model.parameters()),
            "total_median_ms": 1e3 * statistics.median(total), "total_p95_ms": 1e3 * percentile(total, 0.95),
            "model_median_ms": 1e3 * statistics.median(model), "model_p95_ms": 1e3 * percentile(model, 0.95)}


def bench_training(model_dir: str, batches: int) -> dict[str, float]:
    import dataclasses

    import torch

    from irpipe.optimize.predict import Predictor
    from irpipe.train.data import build_examples, collate, example_items
    from irpipe.train.loop import build_model, loss_fn

    p = Predictor.load(model_dir)
    cfg = p.config
    data_cfg = dataclasses.replace(cfg.data, max_modules=cfg.train.batch_size * batches)
    examples, _, _ = build_examples(data_cfg, cfg.model.arch, encoders=p.encoders, progress=False)
    items = example_items(examples)
    model = build_model(cfg, p.encoders, p.pset)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    graphs = tokens = 0
    seconds = 0.0
    size = cfg.train.batch_size
    for i in range(0, len(items), size):
        batch = collate(items[i:i + size])
        t0 = time.perf_counter()
        loss, _ = loss_fn(model(batch), batch["target"], cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - t0
        graphs += len(items[i:i + size])
        if "tokens" in batch:
            tokens += int((batch["tokens"] > 0).sum())
    return {"graphs_per_s": graphs / seconds, "tokens_per_s": tokens / seconds if tokens else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["models/default", "models/default-transformer"])
    ap.add_argument("--dataset", default="datasets/default/sample")
    ap.add_argument("--modules", type=int, default=60)
    ap.add_argument("--train-batches", type=int, default=6)
    args = ap.parse_args()

    import torch

    from irpipe.data.splits import select_hashes
    from irpipe.extract.shards import read_modules

    torch.set_num_threads(1)
    table = read_modules(args.dataset, columns=["structural_hash", "recipe_id", "package_name",
                                                "content", "instruction_count"])
    test = select_hashes(table, "test")
    rows = sorted((r for r in table.to_pylist() if r["structural_hash"] in test and r["instruction_count"]),
                  key=lambda r: r["instruction_count"])
    step = max(1, len(rows) // args.modules)
    rows = rows[::step][:args.modules]
    sizes = [r["instruction_count"] for r in rows]
    print(f"{len(rows)} test-split modules of {args.dataset}: instructions median {statistics.median(sizes):.0f}, "
          f"max {max(sizes)}; CPU, 1 thread")
    print()
    print("| model | arch | params | total median ms | total p95 ms | model median ms | model p95 ms "
          "| train graphs/s | train tokens/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in args.models:
        inf = bench_inference(m, [r["content"] for r in rows])
        tr = bench_training(m, args.train_batches)
        print(f"| {Path(m).name} | {inf['arch']} | {inf['params']:,} | {inf['total_median_ms']:.1f} | "
              f"{inf['total_p95_ms']:.1f} | {inf['model_median_ms']:.1f} | {inf['model_p95_ms']:.1f} | "
              f"{tr['graphs_per_s']:.1f} | {tr['tokens_per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
