"""``irpipe evaluate``: cost-model and policy metrics of models side by side, with baselines."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, JOB_OUTPUT, MODEL_DIR, OUT_DIR, OUT_FILE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate models on a dataset split against -Oz, random "
                                        "and greedy search at equal compiles")
    p.add_argument("--model", action="append", required=True, type=MODEL_DIR,
                   help="checkpoint directory (repeat to compare models side by side)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory of MODULES rows")
    p.add_argument("--measurements", type=JOB_OUTPUT, help="MEASUREMENTS of the candidates (default: measured now)")
    p.add_argument("--work", type=OUT_DIR, help="where to measure (default: out/eval/<dataset name>; resumable)")
    p.add_argument("--split", default="test", choices=("test", "val", "train", "all"),
                   help="package split to evaluate on (all: a held-out dataset)")
    p.add_argument("--verify", type=int, default=10, help="compiles per module after the model call")
    p.add_argument("--baselines", default="random,greedy",
                   help="search baselines at the same compiles (comma list; empty for none)")
    p.add_argument("--max-modules", type=int, help="at most this many modules (a stable choice)")
    p.add_argument("--max-instructions", type=int, help="skip modules with more IR instructions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=OUT_FILE, help="also write the report as JSON here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.train.evaluate import EvalOptions, evaluate, format_report

    options = EvalOptions(split=args.split, verify=args.verify, seed=args.seed,
                          baselines=tuple(b for b in args.baselines.split(",") if b),
                          max_modules=args.max_modules, max_instructions=args.max_instructions)
    report = evaluate(args.model, args.dataset, measurements=args.measurements, work=args.work,
                      options=options, progress=not args.no_progress)
    print(format_report(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0
