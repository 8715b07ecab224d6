"""``irpipe featurize``: InstCount, Autophase and program graphs of every module of a dataset."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("featurize", help="features and ProGraML graphs of a dataset (Ray job)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory (or one shard) of MODULES rows")
    p.add_argument("--out", required=True, type=OUT_DIR, help="output directory (resumable)")
    p.add_argument("--address", help="Ray cluster address, or auto: the one RAY_ADDRESS names (default: a private local Ray)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the embedded Ray")
    p.add_argument("--rows-per-unit", type=int, default=256, help="modules per Ray task")
    p.add_argument("--retries", type=int, default=3, help="retries of a task lost with its worker")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per module before giving up")
    p.add_argument("--max-module-mb", type=float, default=64.0, help="refuse larger modules")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.featurize.job import run_featurize

    manifest = run_featurize(args.dataset, args.out, address=args.address, num_cpus=args.num_cpus,
                             rows_per_unit=args.rows_per_unit, retries=args.retries,
                             timeout_s=args.timeout, max_module_bytes=int(args.max_module_mb * 2**20),
                             progress=not args.no_progress)
    print(json.dumps(manifest["totals"]))
    return 0 if not manifest["not_finished"] else 1
