"""Inference through a running ``irpipe serve``: what one advise request costs, as the plugin sees it.

    python benchmarks/serve_bench.py [--model models/default] [--dataset datasets/default/sample]
                                     [--modules 60] [--rounds 2]

A real ``irpipe serve`` process is started and warmed (its optimize workers' LLVM children
included: the bench waits until the server's process tree stops using CPU).  Then one client
sends the test-split modules of the dataset (by package, spread over sizes, as
``model_bench.py`` picks them), one advise request per fresh connection, the way the pass plugin
does (``-irpipe-server``): bitcode in, pipeline out.  Round 1 is every module the first time
(parse + features + graph + model); later rounds send the same bytes again (the answer cache:
a rebuild, or the static and -fPIC compiles of one file).  Per round:

  * round trip p50 / p95 ms: connect, send, answer, wall time in the client;
  * server CPU ms per request: user+sys of the server's whole process tree (the server and its
    LLVM children, from /proc) over the round, divided by the requests: what a build pays.

The issue's target is p50 <= 10 ms per module on this CPU.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def test_modules(dataset: str, count: int) -> list[bytes]:
    """``count`` test-split modules, spread over sizes (model_bench.py's choice)."""
    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules

    table = read_modules(dataset, columns=["structural_hash", "recipe_id", "package_name", "content",
                                           "instruction_count"])
    test = select_hashes(table, "test")
    rows = sorted((r for r in table.to_pylist() if r["structural_hash"] in test and r["instruction_count"]),
                  key=lambda r: r["instruction_count"])
    return [r["content"] for r in rows[::max(1, len(rows) // count)][:count]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--dataset", default="datasets/default/sample")
    ap.add_argument("--modules", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from irpipe.optimize.protocol import request
    from irpipe.testing.serve import settle, start, tree_cpu

    modules = test_modules(args.dataset, args.modules)
    sock = Path(tempfile.mkdtemp(prefix="irpipe-serve-bench-")) / "serve.sock"
    server = start(sock, "--model", args.model)
    try:
        request(sock, {"op": "advise", "module": base64.b64encode(modules[0]).decode(), "objective": "size",
                       "verify": 10, "source": "warm-up"})
        settle(server.pid)
        print(f"{len(modules)} test-split modules of {args.dataset}, {args.model}, one client, one request "
              f"per connection; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print()
        print("| round | requests | round trip p50 ms | p95 ms | max ms | server CPU ms per request |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in range(args.rounds):
            walls = []
            cpu0 = tree_cpu(server.pid)
            for i, data in enumerate(modules):
                message = {"op": "advise", "module": base64.b64encode(data).decode(), "objective": "size",
                           "verify": 10, "source": f"m{i}.c"}
                t0 = time.perf_counter()
                request(sock, message)
                walls.append(time.perf_counter() - t0)
            cpu = tree_cpu(server.pid) - cpu0
            what = "first (cache miss)" if r == 0 else f"{r + 1} (same modules: cache hit)"
            print(f"| {what} | {len(walls)} | {1e3 * statistics.median(walls):.1f} | "
                  f"{1e3 * percentile(walls, 0.95):.1f} | {1e3 * max(walls):.1f} | "
                  f"{1e3 * cpu / len(walls):.1f} |", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
