"""``irpipe optimize``: choose and apply a pipeline for one module with a trained model."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from irpipe.cli.args import MODEL_DIR, MODULE_FILE, OUT_FILE
from irpipe.paths import model_dir

DEFAULT_MODEL = model_dir("default")  # the checkout's models/default, or the installed copy


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimize", help="optimize a .ll/.bc file with the model: predict, verify, "
                                        "never worse than -Oz (size) or -O3 (speed)")
    p.add_argument("file", type=MODULE_FILE, help="LLVM 22 module (.ll or .bc)")
    p.add_argument("-o", "--output", type=OUT_FILE, help="write the optimized module here (.ll text, else bitcode)")
    p.add_argument("--objective", default="size", choices=("size", "instcount", "speed"),
                   help="size: .text bytes vs -Oz; instcount: IR instructions vs -Oz; speed: CPU time "
                        "of the program (needs main) vs -O3, output checked")
    p.add_argument("--run-args", default="", help="speed: the program's arguments (one string)")
    p.add_argument("--repeats", type=int, default=5, help="speed: runs per candidate")
    p.add_argument("--model", default=str(DEFAULT_MODEL), type=MODEL_DIR, help="checkpoint directory")
    p.add_argument("--verify", type=int, default=10, help="compiles after the model call (-Oz included)")
    p.add_argument("--target-cpu", default="", metavar="CPU",
                   help="compile for this CPU (written into every function of the output); default: "
                        "keep the input's target-cpu/target-features")
    p.add_argument("--mtriple", default="", metavar="TRIPLE",
                   help="compile for this triple (written into the output); default: keep the input's")
    p.add_argument("--strip-optnone", action="store_true",
                   help="optimize clang -O0 functions too (drops optnone/noinline first, for the baseline "
                        "as well); opt-22 leaves optnone functions alone, and so does irpipe by default")
    p.add_argument("--server", metavar="SOCK",
                   help="ask a running `irpipe serve --socket SOCK` instead of loading the model here "
                        "(no torch in this process; --model is then the server's); the verifying "
                        "compiles still run here")
    p.add_argument("--emit-advice", type=OUT_FILE, help="write the choice as an advice file (JSON)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # one BLAS thread: the model's matrices are small, and a second thread on a busy machine
    # costs 4-8x per call (the isolated LLVM children inherit it); a user's setting wins
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from irpipe.label.measure import Evaluator, Target
    from irpipe.llvm import ir
    from irpipe.optimize import advice
    from irpipe.optimize.apply import UNITS, optimize

    data = ir.read_module(args.file)
    # reject what LLVM cannot read before anything heavy loads (the module stays cached in
    # the isolated LLVM child, so the candidates' evaluator does not parse it again)
    Evaluator(data, name=args.file).check()
    if args.server:
        from irpipe.optimize.protocol import RemoteModel

        predictor = RemoteModel(args.server)
    else:
        from irpipe.optimize.predict import Predictor

        predictor = Predictor.load(args.model)
    target = Target(triple=args.mtriple, cpu=args.target_cpu, strip_optnone=args.strip_optnone)
    result = optimize(data, predictor, objective=args.objective, verify=args.verify, name=args.file,
                      run_args=shlex.split(args.run_args), repeats=args.repeats, target=target)
    if args.output:
        out = Path(args.output)
        if out.suffix == ".ll":
            out.write_text(str(ir.parse(result.bitcode, name=args.file)))
        else:
            out.write_bytes(result.bitcode)
    if args.emit_advice:
        # the plugin matches entries by the module's source_filename (what clang compiles)
        info = ir.inspect(data, name=args.file)
        advice.write(args.emit_advice, [advice.optimized_advice(result, info.structural_hash,
                                                                info.source_filename or args.file)])
    if args.json:
        json.dump({**result.summary(), "target": target.describe()}, sys.stdout, indent=1)
        print()
    else:
        unit = UNITS[args.objective]
        print(f"pipeline: {result.pipeline}")
        if result.summary()["metric"] is not None:
            print(f"{unit}: {result.baseline_metric:g} with {result.baseline}, {result.metric:g} chosen "
                  f"({result.improvement:.3f}x); {len(result.tried)} compiles, {result.seconds:.2f} s")
        if result.note:
            print(f"note: {result.note}")
    return 0
