"""Plugin compile-time overhead on a real Debian source package (zlib), its own test suite as the check.

    python benchmarks/plugin_bench.py [--rounds 3] [--model models/default]

Builds Debian's zlib source (``apt-get source``, deb-src) with ``./configure && make`` four ways,
interleaved round by round (ABCD ABCD ...), and runs ``make test`` after each build:

  plain    CC=clang-22, CFLAGS=-O2
  plugin   + -fpass-plugin=libIRPipe.so (no advice: the hook stays out of the pipeline)
  advice   + -mllvm -irpipe-advice=FILE (every module runs the model's most frequent choice)
  live     + -mllvm -irpipe-server=SOCK with `irpipe serve` running (one request per module)

The figure is the CPU time (user+sys of all children) of ``make`` (compiling and linking only),
median over rounds, and its ratio to the plain build measured in the same run; for the live build
the server's own CPU time during the build is added (the model's inference is part of the cost).
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


def process_cpu(pid: int) -> float:
    """User+sys CPU seconds of a running process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--work", default=str(ROOT / "out" / "plugin-bench"))
    args = ap.parse_args()

    from irpipe.extract.sources import PrivateApt
    from irpipe.label import vocab
    from irpipe.llvm import native
    from irpipe.llvm.tools import Toolchain
    from irpipe.optimize import advice
    from irpipe.testing.serve import start

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    src = work / "src"
    trees = [p for p in src.iterdir() if p.is_dir()] if src.is_dir() else []
    tree = trees[0] if trees else PrivateApt(work / "apt").source(*ZLIB, src)
    clang = str(Toolchain().find("clang").path)
    plugin = native.library_path().parent / "libIRPipe.so"
    first = vocab.load(Path(args.model) / "pipelines.json").pipelines[1]
    adv = advice.write(work / "advice.json", [advice.module_advice("*", "*", "size", first)])
    sock = Path(tempfile.mkdtemp(prefix="irpipe-bench-")) / "serve.sock"
    server = start(sock, "--model", args.model)
    configs = {
        "plain": (clang, {}),
        "plugin": (f"{clang} -fpass-plugin={plugin}", {}),
        "advice": (f"{clang} -fpass-plugin={plugin} -mllvm -irpipe-advice={adv}", {}),
        "live": (f"{clang} -fpass-plugin={plugin} -mllvm -irpipe-server={sock} "
                 "-mllvm -irpipe-timeout-ms=2000", {}),
    }
    times: dict[str, list[float]] = {k: [] for k in configs}
    tests: dict[str, list[bool]] = {k: [] for k in configs}
    try:
        for r in range(args.rounds):
            for name, (cc, env) in configs.items():
                served = process_cpu(server.pid)
                seconds, ok, _ = build(tree, work / f"build-{name}", cc, env)
                seconds += process_cpu(server.pid) - served  # 0 unless the build asked the server
                times[name].append(seconds)
                tests[name].append(ok)
                print(f"round {r + 1} {name}: {seconds:.2f} s CPU, make test {'ok' if ok else 'FAILED'}",
                      file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    base = statistics.median(times["plain"])
    print(f"zlib {ZLIB[1]}: ./configure && make (CFLAGS=-O2), {args.rounds} interleaved rounds, "
          f"CPU user+sys of make; advice pipeline: {first}")
    print()
    print("| build | make CPU s (median) | vs plain | make test |")
    print("|---|---:|---:|---|")
    for name in configs:
        med = statistics.median(times[name])
        print(f"| {name} | {med:.2f} | {med / base:.3f}x | "
              f"{'passed' if all(tests[name]) else 'FAILED'} ({sum(tests[name])}/{len(tests[name])}) |")
    (work / "result.json").write_text(json.dumps({"times": times, "tests": tests,
                                                  "date": time.strftime("%Y-%m-%d")}, indent=1))


if __name__ == "__main__":
    main()
