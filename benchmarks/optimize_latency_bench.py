"""Latency of `irpipe optimize` on a ~1k-instruction module: cold, and through a running server.

    python benchmarks/optimize_latency_bench.py [--runs 7] [--functions 12] [--model models/default]
                                                [--verify 10] [--objective size]

Modules: generated C (``--functions`` small loop/switch kernels and a caller), compiled with
``clang-22 -O0 -Xclang -disable-O0-optnone``; run i gets its own module (its constants
differ) so the server's answer cache never hits.  Each row is the median over ``--runs``:

  * cold: ``irpipe optimize FILE`` as a fresh process (imports, model load, one model call,
    the opt-22 baseline and the verifying compiles);
  * server: ``irpipe optimize FILE --server SOCK`` as a fresh process while one
    ``irpipe serve`` runs (no model in the client; the compiles still run in it).

"inference" is the model's share of that wall time: cold, load + parse + forward pass timed
in a process of the same shape; server, one advise round trip for a fresh module of the
same shape.  "in optimize()" is the ``seconds`` the command reports (after its imports).
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


def c_source(functions: int, seed: int) -> str:
    """``functions`` kernels and a caller; ``seed`` changes every constant."""
    body = []
    for i in range(functions):
        k = seed * 101 + i
        body.append(f"""
int f{i}(int *a, int n, int k) {{
  int s = {k};
  for (int j = 0; j < n; j++) {{
    if (a[j] % {i + 3} == 0) s += a[j] * k; else s ^= a[j] + {k % 97};
    a[j] = s >> 2;
  }}
  switch (s & 3) {{ case 0: s += {k}; break; case 1: s *= 3; break; default: s -= k; }}
  return s;
}}""")
    calls = "".join(f" s += f{i}(a, n, {i + seed});" for i in range(functions))
    body.append(f"int all(int *a, int n) {{ int s = 0;{calls} return s; }}")
    return "\n".join(body) + "\n"


def make_module(directory: Path, functions: int, seed: int) -> Path:
    """The module of ``seed`` as IR text (unoptimized, optnone off)."""
    src, out = directory / f"m{seed}.c", directory / f"m{seed}.ll"
    src.write_text(c_source(functions, seed))
    subprocess.run(["clang-22", "-O0", "-Xclang", "-disable-O0-optnone", "-S", "-emit-llvm",
                    str(src), "-o", str(out)], check=True)
    return out


def timed(cmd: list[str]) -> tuple[float, dict]:
    """(wall seconds, the command's --json) of one run."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return wall, json.loads(proc.stdout)


INFERENCE = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from irpipe.optimize.predict import Predictor
p = Predictor.load(sys.argv[1])
x = p.inputs(Path(sys.argv[2]).read_bytes(), sys.argv[2])
p.predict_inputs([x])
print(time.perf_counter() - t0, x.instructions)
"""


def cold_inference(model: str, module: Path) -> tuple[float, int]:
    """Seconds to import, load, parse and predict in a fresh process; the module's instructions."""
    out = subprocess.run([sys.executable, "-c", INFERENCE, model, str(module)], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout.split()
    return float(out[0]), int(out[1])


def server_round_trip(sock: Path, module: Path, objective: str, verify: int) -> float:
    """Seconds of one advise request (a module the server has not seen)."""
    from irpipe.optimize.protocol import RemoteModel

    t0 = time.perf_counter()
    RemoteModel(sock).advise(module.read_bytes(), objective=objective, verify=verify, name=str(module))
    return time.perf_counter() - t0


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


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--functions", type=int, default=12, help="kernels in the module (12: ~1,000 instructions)")
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--verify", type=int, default=10)
    ap.add_argument("--objective", default="size", choices=("size", "instcount"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="irpipe-lat-") as tmp:
        d = Path(tmp)
        mods = [make_module(d, args.functions, seed) for seed in range(2 * args.runs + 2)]
        common = ["--json", "--objective", args.objective, "--verify", str(args.verify), "--model", args.model]
        cold = [timed([*IRPIPE, "optimize", str(m), *common]) for m in mods[:args.runs]]
        inf_cold, instructions = zip(*(cold_inference(args.model, m) for m in mods[:3]))
        sock = d / "s.sock"
        server = start_server(sock, args.model)
        try:
            served = [timed([*IRPIPE, "optimize", str(m), *common, "--server", str(sock)])
                      for m in mods[args.runs:2 * args.runs]]
            rtt = [server_round_trip(sock, m, args.objective, args.verify) for m in mods[2 * args.runs:]]
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = [("cold `irpipe optimize`", cold, statistics.median(inf_cold)),
            ("`irpipe optimize --server`", served, statistics.median(rtt))]
    print(f"module: {args.functions} kernels, {statistics.median(instructions)} IR instructions; "
          f"objective {args.objective}, verify {args.verify}; median of {args.runs} runs")
    print(f"{'path':30} {'wall s':>8} {'in optimize() s':>16} {'inference s':>12} {'share':>7} {'compiles':>9}")
    for label, runs, inference in rows:
        wall = statistics.median(w for w, _ in runs)
        inside = statistics.median(j["seconds"] for _, j in runs)
        print(f"{label:30} {wall:8.3f} {inside:16.3f} {inference:12.3f} {inference / wall:7.1%} "
              f"{statistics.median(j['compiles'] for _, j in runs):9.0f}")


if __name__ == "__main__":
    main()
