"""Plugin compile-time overhead on a real Debian source package (zlib), its own test suite as the check.

    python benchmarks/plugin_bench.py [--rounds 3] [--model models/default] [--live-model models/live]

Builds Debian's zlib source (``apt-get source``, deb-src) with ``./configure && make`` four ways,
interleaved round by round (ABCD ABCD ...), and runs ``make test`` after each build:

  plain    CC=clang-22, CFLAGS=-O2
  plugin   + -fpass-plugin=libIRPipe.so (no advice: the hook stays out of the pipeline)
  advice   + -mllvm -irpipe-advice=FILE: per-TU advice, recorded by `irpipe serve --record` during
           one untimed live build first (replays the model's decisions with no server)
  live     + -mllvm -irpipe-server=SOCK with a fresh `irpipe serve` per build (one request per module;
           its answer cache only helps within the build, e.g. the static and -fPIC compiles of a file),
           started and warmed before the build as a running server would be; ``--live-model DIR``
           adds one more live build per model (``live NAME``), in the same rounds

The figure is the CPU time (user+sys of all children) of ``make`` (compiling and linking only),
median over rounds, and its ratio to the plain build measured in the same run; for the live build
the CPU time of the server's whole process tree (it and its LLVM children) during the build is
added: the model's inference is part of the cost; starting the server is not (it is reported).
With advice, the plugin *replaces* the default -O2 pipeline of each advised module by the advised
one (see passes/README.md), so the compile pays for that pipeline instead of -O2 plus it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZLIB = ("zlib", "1:1.2.13.dfsg-1")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def build(tree: Path, work: Path, cc: str, env: dict[str, str]) -> tuple[float, bool, str]:
    """(CPU seconds of make, make test passed, last output line) for one clean build."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(tree, work, symlinks=True)
    env = {**os.environ, **env, "CC": cc, "CFLAGS": "-O2"}
    subprocess.run(["./configure"], cwd=work, env=env, check=True, capture_output=True)
    before = children_cpu()
    subprocess.run(["make", "-j1"], cwd=work, env=env, check=True, capture_output=True)
    seconds = children_cpu() - before
    test = subprocess.run(["make", "test"], cwd=work, env=env, capture_output=True, text=True)
    ok = test.returncode == 0 and "*** zlib test OK ***" in test.stdout
    return seconds, ok, (test.stdout.strip().splitlines() or [""])[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=str(ROOT / "models" / "default"),
                    help="the model of the recording build (advice) and of the first live build")
    ap.add_argument("--live-model", action="append", default=[], metavar="DIR",
                    help="one more live build with this model (repeatable), e.g. models/live")
    ap.add_argument("--work", default=str(ROOT / "out" / "plugin-bench"))
    args = ap.parse_args()

    from irpipe.extract.sources import PrivateApt
    from irpipe.llvm import native
    from irpipe.llvm.tools import Toolchain
    from irpipe.optimize import advice
    from irpipe.optimize.protocol import request
    from irpipe.testing.serve import settle, start, tree_cpu

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    src = work / "src"
    trees = [p for p in src.iterdir() if p.is_dir()] if src.is_dir() else []
    tree = trees[0] if trees else PrivateApt(work / "apt").source(*ZLIB, src)
    clang = str(Toolchain().find("clang").path)
    plugin = native.library_path().parent / "libIRPipe.so"
    sockdir = Path(tempfile.mkdtemp(prefix="irpipe-bench-"))
    live = (f"{clang} -fpass-plugin={plugin} -mllvm -irpipe-server={sockdir / 'serve.sock'} "
            "-mllvm -irpipe-timeout-ms=2000")
    # per-TU advice for the whole package: one recording live build (untimed) writes it
    adv = work / "advice.json"
    server = start(sockdir / "serve.sock", "--model", args.model, "--record", str(adv))
    build(tree, work / "build-record", live, {})
    server.terminate()
    server.wait(timeout=60)
    entries = advice.read(adv)
    print(f"recorded advice for {len(entries)} translation units: "
          f"{sum(e['pipeline'] != 'default<Oz>' for e in entries)} not -Oz", file=sys.stderr)
    configs = {
        "plain": clang,
        "plugin": f"{clang} -fpass-plugin={plugin}",
        "advice": f"{clang} -fpass-plugin={plugin} -mllvm -irpipe-advice={adv}",
        "live": live,
        **{f"live {Path(m).name}": live for m in args.live_model},
    }
    models = {"live": args.model, **{f"live {Path(m).name}": m for m in args.live_model}}
    times: dict[str, list[float]] = {k: [] for k in configs}
    served: dict[str, list[float]] = {k: [] for k in models}  # the server's CPU during each live build
    startup: list[float] = []  # the server's CPU from its start until it is warm and idle
    requests: list[int] = []  # advise requests the server answered during each live build
    tests: dict[str, list[bool]] = {k: [] for k in configs}
    for r in range(args.rounds):
        for name, cc in configs.items():
            server = start(sockdir / "serve.sock", "--model", models[name]) if name in models else None
            try:
                if server:
                    settle(server.pid)
                    startup.append(tree_cpu(server.pid))
                before = tree_cpu(server.pid) if server else 0.0
                seconds, ok, _ = build(tree, work / f"build-{name}", cc, {})
                if server:  # a fresh server each live build: its cache holds only this build's modules
                    served[name].append(tree_cpu(server.pid) - before)
                    requests.append(request(sockdir / "serve.sock", {"op": "health"})["stats"]["modules"])
                    seconds += served[name][-1]
            finally:
                if server:
                    server.terminate()
                    server.wait(timeout=60)
            times[name].append(seconds)
            tests[name].append(ok)
            print(f"round {r + 1} {name}: {seconds:.2f} s CPU, make test {'ok' if ok else 'FAILED'}",
                  file=sys.stderr, flush=True)
    base = statistics.median(times["plain"])
    print(f"zlib {ZLIB[1]} (Debian source package): ./configure && make (CFLAGS=-O2), {args.rounds} "
          f"interleaved rounds, CPU user+sys of make (live: + the CPU of the server's process tree during "
          f"the build, for {statistics.median(requests):.0f} advise requests; its start-up, not counted, "
          f"{statistics.median(startup):.2f} s); advice: {len(entries)} per-TU entries recorded by irpipe serve")
    for name, cpu in served.items():
        print(f"  {name} ({models[name]}): server CPU median {statistics.median(cpu):.2f} s, "
              f"{1e3 * statistics.median(cpu) / max(1, statistics.median(requests)):.1f} ms per request")
    print()
    print("| build | make CPU s (median) | vs plain | make test |")
    print("|---|---:|---:|---|")
    for name in configs:
        med = statistics.median(times[name])
        print(f"| {name} | {med:.2f} | {med / base:.3f}x | "
              f"{'passed' if all(tests[name]) else 'FAILED'} ({sum(tests[name])}/{len(tests[name])}) |")
    (work / "result.json").write_text(json.dumps({"times": times, "tests": tests, "server_cpu": served, "models": models,
                                                  "server_startup_cpu": startup, "server_requests": requests,
                                                  "date": time.strftime("%Y-%m-%d")}, indent=1))


if __name__ == "__main__":
    main()
