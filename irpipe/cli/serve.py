"""``irpipe serve``: serve a model on a Unix socket (batched; health/stats; clean SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import threading


def register(sub: argparse._SubParsersAction) -> None:
    from irpipe.cli.optimize import DEFAULT_MODEL

    p = sub.add_parser("serve", help="serve the model on a Unix socket (0600) for the pass plugin")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="checkpoint directory")
    p.add_argument("--socket", required=True, help="Unix socket path to create")
    p.add_argument("--max-batch", type=int, default=16)
    p.add_argument("--batch-wait-ms", type=float, default=5.0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.optimize.predict import Predictor
    from irpipe.optimize.serve import Server

    server = Server(Predictor.load(args.model), args.socket, max_batch=args.max_batch,
                    batch_wait_s=args.batch_wait_ms / 1000)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    print(f"irpipe serve: {args.model} on {args.socket}", flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    print("irpipe serve: stopped", flush=True)
    return 0
