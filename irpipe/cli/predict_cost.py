"""``irpipe predict-cost FILE.mlir``: the predicted CPU time and instructions per call under each config.

An alias of ``irpipe predict --problem mlir-cost`` (:mod:`irpipe.problems.mlir_cost`), kept
with its own name and output."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import MODEL_DIR
from irpipe.cli.features import add_module_arguments, read_mlir_input
from irpipe.paths import model_dir

DEFAULT_MODEL = str(model_dir("mlir-cost"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict-cost", help="alias of `predict --problem mlir-cost`: predict the native cost "
                                            "of a StableHLO module under each IREE compile config (the MLIR "
                                            "cost model)")
    add_module_arguments(p, mlir_only=True)
    p.add_argument("--model", default=DEFAULT_MODEL, type=MODEL_DIR, help="MLIR cost model directory (default: the committed models/mlir-cost)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.problems import get

    problem = get("mlir-cost")
    result = problem.predict(args.model, args.file, read_mlir_input(args))
    print(json.dumps(result, indent=1) if args.json else problem.format_prediction(result))
    return 0
