"""``irpipe predict-cost FILE.mlir``: the predicted CPU time and instructions per call under each config."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import MODEL_DIR
from irpipe.cli.features import add_module_arguments, read_mlir_input
from irpipe.paths import model_dir

DEFAULT_MODEL = str(model_dir("mlir-cost"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict-cost", help="predict the native cost of a StableHLO module under each IREE "
                                            "compile config (the MLIR cost model)")
    add_module_arguments(p, mlir_only=True)
    p.add_argument("--model", default=DEFAULT_MODEL, type=MODEL_DIR, help="MLIR cost model directory (default: the committed models/mlir-cost)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.errors import MLIRError
    from irpipe.mlir import ir

    data = read_mlir_input(args)
    module = ir.parse(data, name=args.file, isolate=True)  # a parser crash costs one error line
    dialects = ir.dialects_of(module)
    level = ir.guess_level(dialects)
    if level != "source":
        raise MLIRError(f"{args.file}: predict-cost reads source-level MLIR (stablehlo/tosa), this module is at "
                        f"level {level!r} (dialects {', '.join(dialects)})")
    ir.entry_arguments(module)  # the model was trained on @main entry points
    from irpipe.train.mlir_cost import MlirCostPredictor  # torch: only for a module worth predicting

    pred = MlirCostPredictor.load(args.model).predict(module, name=args.file)
    best = min(pred, key=lambda c: pred[c]["seconds"])
    if args.json:
        print(json.dumps({"file": args.file, "best": best, "predictions": pred}, indent=1))
        return 0
    print(f"{'config':<16}{'seconds/call':>14}{'instructions':>16}")
    for config, p in sorted(pred.items(), key=lambda kv: kv[1]["seconds"]):
        mark = "  <- best" if config == best else ""
        print(f"{config:<16}{p['seconds']:>14.3e}{p['instructions']:>16.0f}{mark}")
    return 0
