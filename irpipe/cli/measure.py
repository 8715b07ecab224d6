"""``irpipe measure``: measure modules under a fixed list of pipelines (Ray job, resumable)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, OUT_DIR, PIPELINES_FILE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measure", help="measure every module under each pipeline of a pipeline set "
                                       "(MEASUREMENTS table; Ray job, resumable)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory (or one shard) of MODULES rows")
    p.add_argument("--pipelines", required=True, type=PIPELINES_FILE, help="pipeline set JSON (irpipe vocab pool|select)")
    p.add_argument("--out", required=True, type=OUT_DIR, help="output directory (resumable)")
    p.add_argument("--no-object", action="store_true", help="IR instruction counts only (no .text size)")
    p.add_argument("--split", default="all", choices=("all", "train", "val", "test"),
                   help="only modules of this package split (irpipe.data.splits)")
    p.add_argument("--sample", type=int, help="at most this many modules (a stable choice)")
    p.add_argument("--seed", type=int, default=0, help="split and sample seed")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per evaluation")
    p.add_argument("--address", help="Ray cluster address, or auto: the one RAY_ADDRESS names (default: a private local Ray)")
    p.add_argument("--num-cpus", type=int)
    p.add_argument("--rows-per-unit", type=int, default=16)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules
    from irpipe.label import vocab
    from irpipe.label.job import run_measure
    from irpipe.label.matrix import MeasureOptions

    pset = vocab.load(args.pipelines)
    only = None
    if args.split != "all" or args.sample is not None:
        keys = read_modules(args.dataset, columns=["structural_hash", "recipe_id", "package_name"])
        only = frozenset(select_hashes(keys, args.split, sample=args.sample, seed=args.seed))
    options = MeasureOptions(tuple(pset.pipelines), object_file=not args.no_object,
                             timeout_s=args.timeout, only=only)
    manifest = run_measure(args.dataset, args.out, options, address=args.address,
                           num_cpus=args.num_cpus, rows_per_unit=args.rows_per_unit,
                           progress=not args.no_progress)
    print(json.dumps(manifest["totals"]))
    return 0 if not manifest["not_finished"] else 1
