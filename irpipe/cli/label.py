"""``irpipe label``: autotune pass pipelines for every module of a dataset (Ray job)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("label", help="search the best pass pipeline per module (Ray job, resumable)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory (or one shard) of MODULES rows")
    p.add_argument("--out", required=True, type=OUT_DIR, help="output directory (resumable)")
    p.add_argument("--objective", choices=("instcount", "size", "runtime"), default="instcount")
    p.add_argument("--method", choices=("random", "greedy", "evolutionary"), default="evolutionary")
    p.add_argument("--budget", type=int, default=200, help="evaluations per module (baselines included)")
    p.add_argument("--seconds", type=float, help="wall-clock budget per module")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per evaluation")
    p.add_argument("--address", help="Ray cluster address, or auto: the one RAY_ADDRESS names (default: a private local Ray)")
    p.add_argument("--num-cpus", type=int)
    p.add_argument("--rows-per-unit", type=int, default=32)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.label.job import run_label
    from irpipe.label.stages import LabelOptions

    options = LabelOptions(objective=args.objective, method=args.method, budget=args.budget,
                           seconds=args.seconds, seed=args.seed, top_k=args.top_k,
                           timeout_s=args.timeout)
    manifest = run_label(args.dataset, args.out, options, address=args.address,
                         num_cpus=args.num_cpus, rows_per_unit=args.rows_per_unit,
                         retries=args.retries, progress=not args.no_progress)
    print(json.dumps(manifest["totals"]))
    return 0 if not manifest["not_finished"] else 1
