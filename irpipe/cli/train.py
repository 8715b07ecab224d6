"""``irpipe train --problem NAME``: train a learning problem's model from a config on the one loop.

The problems (:mod:`irpipe.problems`): ``phase-order`` (default: the GNN or transformer cost
model + pipeline policy; one process, or Ray Train DDP with ``train.workers > 1``),
``inliner`` (= ``irpipe train-inliner``), ``mlir-cost`` (= ``irpipe train-mlir-cost``)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import CONFIG_FILE, OUT_DIR
from irpipe.problems.base import DEFAULT, names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a learning problem's model (--problem phase-order: the GNN or "
                                     "transformer cost model and policy, Ray Train DDP with train.workers > 1; "
                                     "inliner; mlir-cost)")
    p.add_argument("--problem", default=DEFAULT, metavar="NAME",
                   help=f"the learning problem: {', '.join(names())} (default: {DEFAULT})")
    p.add_argument("--config", type=CONFIG_FILE,
                   help="config TOML, e.g. models/tiny/config.toml (default: the problem's released model's "
                        "models/<name>/config.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=5 --set model.arch=transformer "
                        "(mlir-cost, inliner: flat keys, --set epochs=5)")
    p.add_argument("--out", type=OUT_DIR, help="checkpoint directory (default: out/models/<config name or problem>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last (phase-order, mlir-cost)")
    p.add_argument("--address", help="phase-order with train.workers > 1: Ray cluster address, or auto "
                                     "(default: a private local Ray)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from irpipe.problems.base import TrainOptions, default_config, get

    problem = get(args.problem)
    cfg = problem.load_config(args.config or default_config(problem), args.set)
    out = args.out or f"out/models/{getattr(cfg, 'name', problem.name)}"
    metrics = problem.train(cfg, Path(out), TrainOptions(resume=args.resume, progress=not args.no_progress,
                                                         address=args.address))
    print(json.dumps({"problem": problem.name, "out": str(out), "metrics": metrics}))
    return 0
