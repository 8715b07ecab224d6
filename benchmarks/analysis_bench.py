"""IR analysis speed: features and program graphs vs opt-22 per module, instructions/s.

    USAGE: .venv/bin/python benchmarks/analysis_bench.py [--dataset datasets/default/sample] [--rounds 5]

Picks the dataset's median and largest modules (by instruction count) and
measures, side by side in one run, CPU seconds of one core (process time of
this process, or user+sys of the child for subprocesses):

  parse+features     native parse + verify + InstCount + Autophase, in-process
  graph (parse+build) native parse + verify + ProGraML graph with type nodes
  graph (build only)  the graph of an already parsed module
  isolated features   the same as the CLI runs it: in the crash-isolated child (IPC included)
  llvmlite walk       llvmlite parse + a walk over every instruction's operands
                      (what a pure-llvmlite graph builder must at least do)
  opt-22 subprocess   `opt-22 -passes=print<func-properties> -disable-output` per module

Each figure is the median over --rounds; ratios are against the opt subprocess.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import pyarrow.compute as pc

from irpipe.runtime.shards import read_modules
from irpipe.llvm import features, ir, native
from irpipe.llvm.tools import Toolchain


def cpu_of(fn: Callable[[], object], rounds: int) -> float:
    """Median CPU seconds of ``fn`` in this process."""
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def child_cpu_of(fn: Callable[[], object], rounds: int) -> float:
    """Median user+sys CPU seconds of the subprocesses ``fn`` runs (plus our own)."""
    times = []
    for _ in range(rounds):
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.process_time()
        fn()
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime + time.process_time() - t0)
    return statistics.median(times)


def wall_of(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def llvmlite_walk(data: bytes) -> int:
    """Parse with llvmlite and touch every operand of every instruction (value kinds)."""
    mod = ir.parse(data)
    n = 0
    for fn in mod.functions:
        for block in fn.blocks:
            for inst in block.instructions:
                for op in inst.operands:
                    n += op.value_kind is not None
    return n


def measure(name: str, data: bytes, instructions: int, rounds: int, tools: Toolchain,
            tmp: Path) -> list[tuple[str, float, float]]:
    """(method, seconds, instructions/s) rows for one module."""
    parsed = native.NativeModule.parse(data)
    bc = tmp / f"{name}.bc"
    bc.write_bytes(data)
    isolated = features.compute(data)  # warm the child once
    assert isolated.instcount[0] == instructions
    methods: list[tuple[str, Callable[[], object], Callable]] = [
        ("parse+features", lambda: (lambda m: (m.instcount(), m.autophase(), m.close()))(
            native.NativeModule.parse(data)), cpu_of),
        ("graph (parse+build)", lambda: (lambda m: (m.graph_arrays(), m.close()))(
            native.NativeModule.parse(data)), cpu_of),
        ("graph (build only)", lambda: parsed.graph_arrays(), cpu_of),
        ("isolated features (wall)", lambda: features.compute(data), wall_of),
        ("llvmlite walk", lambda: llvmlite_walk(data), cpu_of),
        ("opt-22 subprocess", lambda: tools.run(
            "opt", ["-passes=print<func-properties>", "-disable-output", str(bc)]), child_cpu_of),
    ]
    rows = []
    for label, fn, timer in methods:
        fn()  # warm-up
        seconds = timer(fn, rounds)
        rows.append((label, seconds, instructions / seconds if seconds else float("inf")))
    parsed.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="datasets/default/sample")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    table = read_modules(args.dataset, columns=["content", "instruction_count", "recipe_id"])
    table = table.filter(pc.greater(table["instruction_count"], 0))
    order = pc.sort_indices(table["instruction_count"]).to_pylist()
    picks = {"median": order[len(order) // 2], "largest": order[-1]}
    tools = Toolchain()
    print(f"dataset {args.dataset}: {table.num_rows} modules; libIRPipeAnalysis on LLVM "
          f"{native.llvm_version()}, opt-22 {tools.find('opt').version}; median of {args.rounds} rounds, "
          "one core\n")
    print("| module | instructions | method | seconds | instructions/s | vs opt-22 subprocess |")
    print("|---|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, i in picks.items():
            data = table["content"][i].as_py()
            n = int(native.NativeModule.parse(data).instruction_count)
            rows = measure(label, data, n, args.rounds, tools, Path(tmp))
            opt_rate = rows[-1][2]
            for method, seconds, rate in rows:
                print(f"| {label} ({table['recipe_id'][i].as_py()}) | {n} | {method} | {seconds:.5f} | "
                      f"{rate:,.0f} | {rate / opt_rate:.1f}x |")


if __name__ == "__main__":
    main()
