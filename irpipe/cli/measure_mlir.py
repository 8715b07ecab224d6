"""``irpipe measure-mlir``: run MLIR modules natively under IREE compile configs (Ray job, resumable)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, JOB_OUTPUT, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    from irpipe.mlir.configs import CONFIGS

    p = sub.add_parser("measure-mlir", help="compile every source-level MLIR module under each IREE config "
                                            "and run it natively: CPU time and callgrind instructions "
                                            "(MLIR_RUNS table; Ray job, resumable)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory (or one shard) of MODULES rows")
    p.add_argument("--out", required=True, type=OUT_DIR, help="output directory (resumable)")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS),
                   help="compile configurations (default: all)")
    p.add_argument("--repetitions", type=int, default=5, help="benchmark repetitions per config")
    p.add_argument("--min-time", type=float, default=0.05, help="seconds per repetition, at least")
    p.add_argument("--no-callgrind", action="store_true", help="CPU time only (no instruction counts)")
    p.add_argument("--reuse", type=JOB_OUTPUT, help="an earlier measure-mlir output: modules measured there (same structural "
                                   "hash, config, no error) are copied, not re-run")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per compile or run")
    p.add_argument("--address", help="Ray cluster address, or auto: the one RAY_ADDRESS names (default: a private local Ray)")
    p.add_argument("--num-cpus", type=int, default=1, help="local Ray CPUs (1: timings undisturbed)")
    p.add_argument("--rows-per-unit", type=int, default=8)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from irpipe.label.job import run_measure_mlir
    from irpipe.label.measure_mlir import MlirRunner

    known = None
    if args.reuse:
        from irpipe.runtime.units import read_table

        known = {(r["structural_hash"], r["config"]): r for r in read_table(args.reuse, "mlir_runs").to_pylist()
                 if r["error"] is None and (r["instructions"] is not None or args.no_callgrind)}
    runner = MlirRunner(work=Path(args.out) / "work", configs=tuple(args.configs), repetitions=args.repetitions,
                        min_time=args.min_time, callgrind=not args.no_callgrind, timeout=args.timeout, known=known)
    manifest = run_measure_mlir(args.dataset, args.out, runner, address=args.address, num_cpus=args.num_cpus,
                                rows_per_unit=args.rows_per_unit, progress=not args.no_progress)
    print(json.dumps(manifest["totals"]))
    return 0 if not manifest["not_finished"] else 1
