"""Latency of `irpipe optimize` on a ~1k-instruction module: cold, and through a running server.

    python benchmarks/optimize_latency_bench.py [--runs 7] [--functions 10] [--model models/default]
                                                [--verify 10] [--objective size]

Modules: :func:`irpipe.testing.factories.generated_module` (``--functions`` generated kernels
and a main, ``clang-22 -O0 -Xclang -disable-O0-optnone``; 10 give ~1,000 IR instructions);
run i gets its own module (seed i: other constants and operators).  Each row is the median
wall time of ``--runs`` fresh ``irpipe optimize FILE --json`` processes:

  * cold: in-process (imports, model load, check, the opt-22 baseline, one model call and
    the verifying compiles, all in this process and its LLVM child);
  * --server, first request: the same with ``--server SOCK`` on a module the running
    ``irpipe serve`` has not seen (a cache miss: the server does the whole job, warm);
  * --server, repeat: the same modules again (an unchanged module, as in a rebuild: a
    cache hit, nothing compiled).

The server has answered one other module before the first timed request.  "in optimize()"
is the ``seconds`` of the reply: the job's time in optimize() (cold, miss), the lookup (hit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
IRPIPE = [sys.executable, "-m", "irpipe.cli.main"]


def make_modules(directory: Path, functions: int, count: int) -> list[Path]:
    """``count`` generated modules (seeds 0..count-1) as .ll files."""
    from irpipe.testing.factories import generated_module

    out = []
    for seed in range(count):
        path = directory / f"m{seed}.ll"
        path.write_text(generated_module(directory, functions, seed=seed))
        out.append(path)
    return out


def timed(cmd: list[str]) -> tuple[float, dict]:
    """(wall seconds, the command's --json) of one run."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return wall, json.loads(proc.stdout)


def start_server(sock: Path, model: str) -> subprocess.Popen:
    """``irpipe serve`` on ``sock``, returned once it accepts."""
    proc = subprocess.Popen([*IRPIPE, "serve", "--socket", str(sock), "--model", model], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"irpipe serve did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    return proc


def row(label: str, runs: list[tuple[float, dict]]) -> str:
    """One table line: median, min and max wall; median seconds in optimize(); compiles."""
    walls = [w for w, _ in runs]
    inside = statistics.median(j["seconds"] for _, j in runs)
    return (f"{label:32} {statistics.median(walls):8.3f} {min(walls):7.3f} {max(walls):7.3f} {inside:15.3f} "
            f"{statistics.median(j['compiles'] for _, j in runs):9.0f}")


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--functions", type=int, default=10, help="kernels in the module (10: ~1,000 instructions)")
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--verify", type=int, default=10)
    ap.add_argument("--objective", default="size", choices=("size", "instcount"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="irpipe-lat-") as tmp:
        d = Path(tmp)
        *mods, spare = make_modules(d, args.functions, args.runs + 1)
        common = ["--json", "--objective", args.objective, "--verify", str(args.verify), "--model", args.model]
        cold = [timed([*IRPIPE, "optimize", str(m), *common]) for m in mods]
        sock = d / "s.sock"
        server = start_server(sock, args.model)
        try:
            served = [*common, "--server", str(sock)]
            timed([*IRPIPE, "optimize", str(spare), *served])  # the server's first job: not timed
            miss = [timed([*IRPIPE, "optimize", str(m), *served]) for m in mods]
            hit = [timed([*IRPIPE, "optimize", str(m), *served]) for m in mods]
        finally:
            server.terminate()
            server.wait(timeout=30)
    same = all(a["pipeline"] == b["pipeline"] == c["pipeline"] for (_, a), (_, b), (_, c) in zip(cold, miss, hit))
    print(f"module: {args.functions} kernels, {statistics.median(j['input_instructions'] for _, j in cold):.0f} IR "
          f"instructions; objective {args.objective}, verify {args.verify}; {args.runs} runs, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'path':32} {'wall s':>8} {'min':>7} {'max':>7} {'in optimize() s':>15} {'compiles':>9}")
    print(row("cold `irpipe optimize`", cold))
    print(row("--server, first request (miss)", miss))
    print(row("--server, repeat (cache hit)", hit))
    print(f"same pipeline on every path: {same}")


if __name__ == "__main__":
    main()
