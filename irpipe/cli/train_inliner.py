"""``irpipe train-inliner``: learn an inlining policy for size, run inside stock clang-22 (MLGO protocol).

An alias of ``irpipe train --problem inliner`` (:mod:`irpipe.problems.inliner`) with the
config given as flags, kept with its own name and output."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-inliner", help="alias of `train --problem inliner`: train the inlining policy "
                                             "that `irpipe serve --inliner-channel` answers clang-22's ML "
                                             "inliner with")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory of MODULES shards")
    p.add_argument("--out", required=True, type=OUT_DIR, help="policy directory (model.safetensors + model.json)")
    p.add_argument("--train-modules", type=int, default=30)
    p.add_argument("--eval-modules", type=int, default=60, help="held-out (val+test) modules for the report")
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--pairs", type=int, default=4, help="antithetic pairs per iteration")
    p.add_argument("--sigma", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from irpipe.problems import get
    from irpipe.train.inliner import InlinerConfig

    cfg = InlinerConfig(dataset=args.dataset, train_modules=args.train_modules, eval_modules=args.eval_modules,
                        iterations=args.iterations, pairs=args.pairs, sigma=args.sigma, lr=args.lr, seed=args.seed)
    report = get("inliner").train(cfg, Path(args.out))
    print(json.dumps({"train": report["train"], "held_out": report["held_out"]}, indent=1))
    return 0
