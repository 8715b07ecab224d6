"""``irpipe evaluate --problem NAME``: a learning problem's models side by side on a dataset split.

``phase-order`` (default): cost-model and policy metrics against -Oz, random and greedy search
at equal compiles; ``inliner``: .text against LLVM's default inliner; ``mlir-cost``: MAPE and
Kendall tau against the analytical baseline.  Every report counts the items left out (``failed``)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, JOB_OUTPUT, MODEL_DIR, OUT_DIR, OUT_FILE
from irpipe.problems.base import DEFAULT, names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a learning problem's models on a dataset split (phase-order: "
                                        "against -Oz, random and greedy search at equal compiles)")
    p.add_argument("--problem", default=DEFAULT, metavar="NAME",
                   help=f"the learning problem: {', '.join(names())} (default: {DEFAULT})")
    p.add_argument("--model", action="append", type=MODEL_DIR,
                   help="checkpoint directory (repeat to compare models side by side; default: the problem's "
                        "released model)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory of MODULES rows")
    p.add_argument("--measurements", type=JOB_OUTPUT, help="phase-order: MEASUREMENTS of the candidates "
                                                           "(default: measured now); mlir-cost: MLIR_RUNS "
                                                           "(default: the model's)")
    p.add_argument("--work", type=OUT_DIR, help="phase-order: where to measure (default: out/eval/<dataset "
                                                "name>; resumable)")
    p.add_argument("--split", default="test", choices=("test", "val", "train", "all"),
                   help="package split to evaluate on (all: a held-out dataset)")
    p.add_argument("--verify", type=int, help="phase-order: compiles per module after the model call (default 10)")
    p.add_argument("--baselines", help="phase-order: search baselines at the same compiles (comma list; empty "
                                       "for none; default random,greedy)")
    p.add_argument("--max-modules", type=int, help="at most this many modules (a stable choice)")
    p.add_argument("--max-instructions", type=int, help="phase-order: skip modules with more IR instructions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=OUT_FILE, help="also write the report as JSON here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.errors import ConfigError
    from irpipe.problems.base import EvalRequest, get, unsupported

    problem = get(args.problem)
    request = EvalRequest(
        models=tuple(args.model or ()), dataset=args.dataset, measurements=args.measurements,
        split=args.split, max_modules=args.max_modules, seed=args.seed, progress=not args.no_progress,
        work=args.work, verify=args.verify, max_instructions=args.max_instructions,
        baselines=None if args.baselines is None else tuple(b for b in args.baselines.split(",") if b))
    bad = unsupported(problem, request)
    if bad:
        raise ConfigError(f"--{bad[0].replace('_', '-')} is not an option of --problem {problem.name}")
    report = problem.evaluate(request)
    print(problem.format_report(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0
