"""``irpipe optimize``: choose and apply a pipeline for one module with a trained model.

With ``--server SOCK`` (size, instcount) the whole job runs in the warm server (op optimize:
check, baseline, model, compiles, a result cache) and this process only reads the file,
sends it and writes what comes back: no torch, no model code, no LLVM child here.  Speed
runs the program, so it asks the server for the ranking only and compiles here, as does
a server that is busy or predates op optimize.  The outputs are the in-process path's.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from irpipe.cli.args import MODEL_DIR, MODULE_FILE, OUT_FILE, add_loop_search, add_polly
from irpipe.optimize.protocol import SUMMARY, UNITS
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
    p.add_argument("--no-run", action="store_true",
                   help="speed: model only, run nothing: -O3 with the loop policy's per-loop decisions "
                        "(also what a module without main() gets)")
    p.add_argument("--loop-model", default=str(model_dir("loop-decisions")), metavar="DIR",
                   help="speed: the per-loop policy (irpipe train --problem loop-decisions); 'none': no "
                        "per-loop decisions")
    p.add_argument("--repeats", type=int, default=5, help="speed: runs per candidate")
    add_loop_search(p, "optimize")
    add_polly(p, "optimize")
    p.add_argument("--whole-program", action="store_true",
                   help="speed: the module is the whole program; also screen it as clang-22 -flto -O3 builds one "
                        "(every symbol but main internal: the output can then not be linked with code that "
                        "calls its functions)")
    p.add_argument("--pgo", action="store_true",
                   help="speed: also screen -O3 built with the profile of one run of the program (LLVM IR "
                        "instrumentation; the profile comes from the --run-args run it is timed on)")
    p.add_argument("--model", default=str(DEFAULT_MODEL), type=MODEL_DIR, help="checkpoint directory")
    p.add_argument("--verify", type=int, default=10, help="compiles after the model call (-Oz included); past 10 they buy per-function "
                        "cleanups (16: 10 module pipelines, 5 cleanups, 1 to compile the mix)")
    p.add_argument("--target-cpu", default="", metavar="CPU",
                   help="compile for this CPU (written into every function of the output); default: "
                        "keep the input's target-cpu/target-features")
    p.add_argument("--mtriple", default="", metavar="TRIPLE",
                   help="compile for this triple (written into the output); default: keep the input's")
    p.add_argument("--strip-optnone", action="store_true",
                   help="optimize clang -O0 functions too (drops optnone/noinline first, for the baseline "
                        "as well); opt-22 leaves optnone functions alone, and so does irpipe by default")
    p.add_argument("--server", metavar="SOCK",
                   help="let a running `irpipe serve --socket SOCK` do the job, warm and cached (no model "
                        "or compiles in this process; --model is then the server's); speed asks it for "
                        "the ranking and runs the program here")
    p.add_argument("--emit-advice", type=OUT_FILE, help="write the choice as an advice file (JSON)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def _check_speed_flags(args: argparse.Namespace) -> None:
    """One :class:`ConfigError` line for a flag that needs ``--objective speed`` (and a run)."""
    from irpipe.errors import ConfigError

    if args.no_run and args.objective != "speed":
        raise ConfigError("--no-run is for --objective speed (size and instcount never run the program)")
    if args.loop_search < 0 or (args.loop_search and (args.objective != "speed" or args.no_run)):
        raise ConfigError(f"--loop-search {args.loop_search}: give a number of loops, 0 or more, with "
                          "--objective speed and a run (not --no-run)")
    if args.pgo and (args.objective != "speed" or args.no_run):
        raise ConfigError("--pgo: a profile comes from running the program: use --objective speed, not --no-run")
    if not args.polly and (args.objective != "speed" or args.no_run):
        raise ConfigError("--no-polly: Polly is a speed candidate that runs: use it with --objective speed, not --no-run")
    if args.whole_program and (args.objective != "speed" or args.no_run):
        raise ConfigError("--whole-program: the whole-program build is a speed candidate that runs: use it with "
                          "--objective speed, not --no-run")


def run(args: argparse.Namespace) -> int:
    _check_speed_flags(args)
    if args.server and args.objective != "speed":
        from irpipe.optimize.protocol import NotServed

        try:
            return _run_on_server(args)
        except NotServed:  # busy, or a server without op optimize: its ranking, compiles here
            pass
    # one BLAS thread: the model's matrices are small, and a second thread on a busy machine
    # costs 4-8x per call (the isolated LLVM children inherit it); a user's setting wins
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from irpipe.label.measure import Evaluator, Target
    from irpipe.llvm import ir
    from irpipe.optimize import advice
    from irpipe.optimize.apply import optimize

    data = ir.read_module(args.file)
    # reject what LLVM cannot read before anything heavy loads (the module stays cached in
    # the isolated LLVM child, so the candidates' evaluator does not parse it again)
    Evaluator(data, name=args.file).check()
    if args.server:
        from irpipe.optimize.protocol import RemoteModel

        predictor = RemoteModel(args.server)
    else:
        from irpipe.train.predict import Predictor

        predictor = Predictor.load(args.model)
    target = Target(triple=args.mtriple, cpu=args.target_cpu, strip_optnone=args.strip_optnone)
    loops = None
    if args.objective == "speed" and args.loop_model != "none":
        from irpipe.optimize.loops import LoopAdviser

        loops = LoopAdviser.load(args.loop_model)
    result = optimize(data, predictor, objective=args.objective, verify=args.verify, name=args.file,
                      run_args=shlex.split(args.run_args), repeats=args.repeats, target=target, loops=loops,
                      run=not args.no_run, loop_search=args.loop_search, search_by=args.loop_search_by,
                      pgo=args.pgo, polly=args.polly, whole_program=args.whole_program)
    if args.output:
        Path(args.output).write_bytes(
            ir.to_text(result.bitcode, name=args.file).encode() if _is_text(args.output) else result.bitcode)
    if args.emit_advice:
        # the plugin matches entries by the module's source_filename (what clang compiles)
        info = ir.inspect(data, name=args.file)
        advice.write(args.emit_advice, [advice.optimized_advice(result, info.structural_hash,
                                                                info.source_filename or args.file)])
    _report(args, result.summary(), target.describe())
    return 0


def _run_on_server(args: argparse.Namespace) -> int:
    """The job done by the server (op optimize); the same files and report as in-process."""
    from irpipe.runtime import files
    from irpipe.errors import IRError
    from irpipe.llvm.target import Target
    from irpipe.optimize.protocol import MAX_MODULE, RemoteModel

    data = files.read_bounded(args.file, MAX_MODULE, error=IRError, what="LLVM IR or bitcode")
    if not data:  # the in-process message (only this case loads LLVM here)
        from irpipe.llvm import ir

        ir.check_input(data, name=files.shown(args.file))
    target = Target(triple=args.mtriple, cpu=args.target_cpu, strip_optnone=args.strip_optnone).describe()
    text = bool(args.output) and _is_text(args.output)
    reply = RemoteModel(args.server).optimize(data, objective=args.objective, verify=args.verify, name=args.file,
                                              target=target, text=text, advice=bool(args.emit_advice))
    if args.output:
        Path(args.output).write_bytes(reply["text"].encode() if text else reply["bitcode"])
    if args.emit_advice:
        from irpipe.optimize import advice

        advice.write(args.emit_advice, [reply["advice"]])
    _report(args, {k: reply[k] for k in SUMMARY if k in reply}, target)
    return 0


def _is_text(output: str) -> bool:
    return Path(output).suffix == ".ll"


def _report(args: argparse.Namespace, summary: dict, target: dict) -> None:
    """Print the result (``--json``: the summary and the target) from its summary."""
    if args.json:
        json.dump({**summary, "target": target}, sys.stdout, indent=1)
        print()
        return
    print(f"pipeline: {summary['pipeline']}")
    if summary.get("build"):
        print(f"built as: {summary['build']}")
    if summary.get("loops"):
        print(f"with per-loop decisions: {json.dumps(summary['loops'], sort_keys=True)}")
    if summary.get("functions"):
        print(f"then per function: {len(summary['functions'])} of them get their own cleanup "
              f"({', '.join(sorted(set(summary['functions'].values())))})")
    if summary["metric"] is not None:
        base = summary["baseline_metric"]
        print(f"{UNITS[args.objective]}: {float('nan') if base is None else base:g} with {summary['baseline']}, "
              f"{summary['metric']:g} chosen ({summary['improvement']:.3f}x); {summary['compiles']} compiles, "
              f"{summary['seconds']:.2f} s")
    if summary.get("note"):
        print(f"note: {summary['note']}")
