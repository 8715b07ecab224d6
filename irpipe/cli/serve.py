"""``irpipe serve``: the model on a Unix socket (batched; health/stats; clean SIGTERM), and the
learned inliner on LLVM's interactive ML-advisor pipes (MLGO protocol) for stock clang-22."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from irpipe.cli.args import MODEL_DIR, OUT_FILE
from irpipe.paths import model_dir

INLINER_MODEL = model_dir("inliner")


def register(sub: argparse._SubParsersAction) -> None:
    from irpipe.cli.optimize import DEFAULT_MODEL

    p = sub.add_parser("serve", help="serve the model on a Unix socket (0600) for the pass plugin, "
                                     "and the inliner on MLGO's interactive pipes")
    p.add_argument("--model", default=str(DEFAULT_MODEL), type=MODEL_DIR, help="checkpoint directory")
    p.add_argument("--socket", type=OUT_FILE, help="Unix socket path to create (the pass plugin's live mode)")
    p.add_argument("--loop-model", default=str(model_dir("loop-decisions")), metavar="DIR",
                   help="the per-loop policy that answers the plugin's live loop requests (clang -O3 -mllvm "
                        "-irpipe-objective=speed); 'none': refuse them")
    p.add_argument("--max-batch", type=int, default=16)
    p.add_argument("--batch-wait-ms", type=float, default=5.0)
    p.add_argument("--max-connections", type=int, default=64,
                   help="clients served at once; one more gets an error reply and is closed")
    p.add_argument("--idle-timeout", type=float, default=60.0, metavar="S",
                   help="close a connection that sends nothing for S seconds")
    p.add_argument("--record", type=OUT_FILE, help="on stop, write every answer as an advice file (replay a build "
                                     "with -irpipe-advice and no server)")
    p.add_argument("--inliner-channel", metavar="BASE",
                   help="answer clang-22's ML inliner on BASE.in/BASE.out (clang-22 -mllvm "
                        "-enable-ml-inliner=release -mllvm -inliner-interactive-channel-base=BASE "
                        "-mllvm -inliner-interactive-include-default); one compiler at a time")
    p.add_argument("--inliner-model", default=str(INLINER_MODEL), type=MODEL_DIR, help="inliner policy directory")
    p.add_argument("--compile-children", type=int, default=min(os.cpu_count() or 2, 4), metavar="N",
                   help="LLVM children an optimize job compiles its candidates in, side by side "
                        "(default: the CPUs, at most 4)")
    p.add_argument("--regalloc-channel", metavar="BASE",
                   help="answer the regalloc eviction advisor (-regalloc-enable-advisor=release "
                        "-regalloc-evict-interactive-channel-base=BASE) with a valid no-eviction choice")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # one BLAS thread, as in irpipe optimize (before numpy loads): the model's matrices are small,
    # and a second thread on a busy machine costs 4-8x per call; a user's setting wins
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from irpipe.errors import ConfigError
    from irpipe.nn.inliner import InlinerPolicy, NoEviction
    from irpipe.llvm.mlgo import Channel

    if not (args.socket or args.inliner_channel or args.regalloc_channel):
        raise ConfigError("nothing to serve: give --socket, --inliner-channel and/or --regalloc-channel")
    if args.max_connections < 1 or not args.idle_timeout > 0 or args.compile_children < 1:
        raise ConfigError("--max-connections and --compile-children must be >= 1 and --idle-timeout > 0")
    channels = []
    if args.inliner_channel:
        channels.append(Channel(args.inliner_channel, InlinerPolicy.load(args.inliner_model)))
    if args.regalloc_channel:
        channels.append(Channel(args.regalloc_channel, NoEviction()))
    server = None
    if args.socket:
        from irpipe.train.predict import Predictor
        from irpipe.optimize.serve import Server

        loop_policy = None
        if args.loop_model != "none":
            from irpipe.nn.loop_policy import NumpyLoopPolicy

            loop_policy = NumpyLoopPolicy.load(args.loop_model)
        server = Server(Predictor.load(args.model), args.socket, max_batch=args.max_batch, loop_policy=loop_policy,
                        batch_wait_s=args.batch_wait_ms / 1000, record=args.record,
                        max_connections=args.max_connections, idle_timeout_s=args.idle_timeout,
                        compile_children=args.compile_children)
        server.channels = channels
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        for ch in channels:
            ch.open()
            threading.Thread(target=ch.serve_forever, daemon=True).start()
        if server is not None:
            server.start()
        models = f"{args.model} + {args.loop_model}" if server and server.loop_policy else args.model
        what = [f"{models} on {args.socket}"] if server else []
        what += [f"{ch.policy.kind} advisor on {ch.base}.in/.out" for ch in channels]
        print(f"irpipe serve: {'; '.join(what)}", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        if server is not None:
            server.stop()
        for ch in channels:
            ch.stop()
    print("irpipe serve: stopped", flush=True)
    return 0
