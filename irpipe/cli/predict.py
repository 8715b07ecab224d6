"""``irpipe predict --problem NAME FILE``: a learning problem's model on one file.

``phase-order`` (default): the pipelines to compile for an .ll/.bc, per objective, with the
predicted metric; ``inliner``: the policy's inlining decisions and .text bytes against LLVM's
inliner; ``mlir-cost``: what ``irpipe predict-cost`` prints."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import MODEL_DIR
from irpipe.cli.features import add_module_arguments
from irpipe.problems.base import DEFAULT, names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a learning problem's model on one file (phase-order: the pipelines "
                                       "to compile for an .ll/.bc; inliner; mlir-cost: as predict-cost)")
    p.add_argument("--problem", default=DEFAULT, metavar="NAME",
                   help=f"the learning problem: {', '.join(names())} (default: {DEFAULT})")
    add_module_arguments(p)
    p.add_argument("--model", type=MODEL_DIR, help="model directory (default: the problem's released model, "
                                                   "models/default, models/inliner or models/mlir-cost)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.cli.features import read_input, read_mlir_input
    from irpipe.problems.base import default_model, get

    problem = get(args.problem)
    data = (read_mlir_input(args) if problem.input_kind == "mlir" else None if problem.input_kind == "source"
            else read_input(args)[0])  # "source": C or IR that the problem compiles itself
    result = problem.predict(args.model or default_model(problem), args.file, data)
    print(json.dumps(result, indent=1) if args.json else problem.format_prediction(result))
    return 0
