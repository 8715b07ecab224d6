"""``irpipe train-mlir-cost``: train the MLIR cost model on measured MLIR modules.

An alias of ``irpipe train --problem mlir-cost`` (:mod:`irpipe.problems.mlir_cost`), kept with
its own name and output."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import CONFIG_FILE, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-mlir-cost", help="alias of `train --problem mlir-cost`: train the MLIR cost model "
                                               "(GNN over the op graph) on measure-mlir runs; evaluates against "
                                               "the analytical baseline")
    p.add_argument("--config", default="models/mlir-cost/config.toml", type=CONFIG_FILE, help="config TOML (flat keys)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--out", required=True, type=OUT_DIR, help="checkpoint directory")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from irpipe.problems import get

    problem = get("mlir-cost")
    metrics = problem.train(problem.load_config(args.config, args.set), Path(args.out))
    print(json.dumps(metrics, indent=1))
    return 0
