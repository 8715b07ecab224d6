"""``irpipe train``: train a cost model + policy from a model folder's config.toml."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import CONFIG_FILE, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a GNN or transformer cost model and policy "
                                     "(one process, or Ray Train DDP with train.workers > 1)")
    p.add_argument("--config", required=True, type=CONFIG_FILE, help="models/<name>/config.toml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=5 --set model.arch=transformer")
    p.add_argument("--out", type=OUT_DIR, help="checkpoint directory (default: out/models/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last")
    p.add_argument("--address", help="Ray cluster address for train.workers > 1, or auto (default: a private local Ray)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.train.config import load_config
    from irpipe.train.job import run_train

    cfg = load_config(args.config, args.set)
    out = args.out or f"out/models/{cfg.name}"
    metrics = run_train(cfg, out, resume=args.resume, progress=not args.no_progress,
                        address=args.address)
    print(json.dumps({"out": out, "best": metrics}))
    return 0
