"""Model speed: inference latency per module (numpy and torch backends), cold `irpipe optimize`,
training throughput; GNN and transformer side by side.

    python benchmarks/model_bench.py [--models models/default models/default-transformer]
                                     [--dataset datasets/default/sample] [--modules 60]
                                     [--cold-runs 5] [--no-train]

Inference (CPU, one thread, batch of one module, as ``irpipe optimize`` runs it), per
backend (``Predictor.load(backend=...)``: numpy, torch-free, is what ``irpipe optimize`` uses):
  * total: bitcode -> parse + graph/features/tokens (isolated LLVM) -> model -> ranking
  * model: encoding the parsed module + the forward pass only
Cold ``irpipe optimize`` (a new process each run, --objective size, 10 compiles) on a generated
~1,000-instruction C module (``clang-22 -O0 -Xclang -disable-O0-optnone``): wall time of the
command, and the part ``optimize`` reports for itself (model call + compiles), median of
``--cold-runs``; with the environment as given, with one BLAS thread, and the same library
calls with the torch backend (what the command did before the numpy backend).
Training (one thread): forward + backward + AdamW step over batches of the model's
config size; graphs/s for both, tokens/s for the transformer (non-padding tokens).
Modules are the test split of the dataset (by package), spread over sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = dict(os.environ)  # for the cold runs: the environment as given, before the line below
os.environ.setdefault("OMP_NUM_THREADS", "1")


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bench_inference(model_dir: str, contents: list[bytes], backend: str) -> dict[str, float]:
    from irpipe.train.predict import Predictor

    p = Predictor.load(model_dir, backend=backend)
    p.predict(contents[0])  # warm-up (child process, first allocations)
    total, model = [], []
    for data in contents:
        t0 = time.perf_counter()
        x = p.inputs(data)
        t1 = time.perf_counter()
        p.predict_inputs([x])
        t2 = time.perf_counter()
        total.append(t2 - t0)
        model.append(t2 - t1)
    params = (sum(t.numel() for t in p.model.parameters()) if backend == "torch"
              else int(p.meta.get("parameters", 0)))
    return {"arch": p.arch, "params": params,
            "total_median_ms": 1e3 * statistics.median(total), "total_p95_ms": 1e3 * percentile(total, 0.95),
            "model_median_ms": 1e3 * statistics.median(model), "model_p95_ms": 1e3 * percentile(model, 0.95)}


# the torch backend through the same library calls as `irpipe optimize` (cli/optimize.py)
TORCH_OPTIMIZE = """\
import json, sys
from irpipe.label.measure import Target
from irpipe.llvm import ir
from irpipe.optimize.apply import optimize
from irpipe.train.predict import Predictor
data = ir.read_module(sys.argv[1])
r = optimize(data, Predictor.load(sys.argv[2], backend="torch"), objective="size", name=sys.argv[1],
             target=Target())
print(json.dumps(r.summary()))
"""


def bench_cold(model_dir: str, runs: int) -> tuple[int, list[tuple[str, float, float]]]:
    """(instructions of the generated module, [(how, median wall s, median optimize s)])."""
    from irpipe.llvm import ir
    from irpipe.testing.factories import generated_module

    work = Path(tempfile.mkdtemp(prefix="irpipe-cold-"))
    src = work / "gen1k.ll"
    src.write_text(generated_module(work))
    count = ir.inspect(ir.parse(src.read_text()).as_bitcode()).instruction_count
    cli = [sys.executable, "-m", "irpipe.cli.main", "optimize", str(src), "--model", model_dir,
           "--objective", "size", "--json", "-o", str(work / "out.ll")]
    ways = [("irpipe optimize (numpy backend)", cli, ENV),
            ("irpipe optimize, OPENBLAS_NUM_THREADS=1", cli, {**ENV, "OPENBLAS_NUM_THREADS": "1"}),
            ("same calls, torch backend (before)",
             [sys.executable, "-c", TORCH_OPTIMIZE, str(src), model_dir], ENV)]
    out = []
    for how, argv, env in ways:
        walls, own = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - t0)
            own.append(json.loads(proc.stdout)["seconds"])
        out.append((how, statistics.median(walls), statistics.median(own)))
    return count, out


def bench_training(model_dir: str, batches: int) -> dict[str, float]:
    import dataclasses

    import torch

    from irpipe.train.predict import Predictor
    from irpipe.train.data import build_examples, collate, example_items
    from irpipe.train.phase_order import build_model, loss_fn

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
    ap.add_argument("--cold-runs", type=int, default=5, help="cold `irpipe optimize` runs per row")
    ap.add_argument("--no-train", action="store_true", help="skip the training throughput table")
    args = ap.parse_args()

    import torch

    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules

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
    print("| model | arch | params | backend | total p50 ms | total p95 ms | model p50 ms | model p95 ms |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for m in args.models:
        for backend in ("numpy", "torch"):
            inf = bench_inference(m, [r["content"] for r in rows], backend)
            print(f"| {Path(m).name} | {inf['arch']} | {inf['params']:,} | {backend} | "
                  f"{inf['total_median_ms']:.1f} | {inf['total_p95_ms']:.1f} | {inf['model_median_ms']:.1f} | "
                  f"{inf['model_p95_ms']:.1f} |", flush=True)
    if args.cold_runs > 0:
        count, cold = bench_cold(args.models[0], args.cold_runs)
        print()
        print(f"Cold `irpipe optimize --objective size` of a generated {count}-instruction module with "
              f"{Path(args.models[0]).name}, median of {args.cold_runs} runs:")
        print()
        print("| run | wall s | optimize's own s (model call + 10 compiles) |")
        print("|---|---:|---:|")
        for how, wall, own in cold:
            print(f"| {how} | {wall:.2f} | {own:.2f} |", flush=True)
    if not args.no_train:
        print()
        print("| model | train graphs/s | train tokens/s |")
        print("|---|---:|---:|")
        for m in args.models:
            tr = bench_training(m, args.train_batches)
            print(f"| {Path(m).name} | {tr['graphs_per_s']:.1f} | {tr['tokens_per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
