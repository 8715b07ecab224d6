"""Pipeline evaluation speed and search quality.

    USAGE: .venv/bin/python benchmarks/eval_bench.py [--dataset datasets/default/sample] [--budget 300]

1. Evaluations/s on the dataset's median module (by instruction count), side by side in one run,
   over the same 12 pipelines (the six O levels and six seeded random action sequences):
   * in-process: irpipe's Evaluator (LLVM 22 PassBuilder in the isolated child, IPC included),
     instruction count only, and with the object file (.text size);
   * subprocess: `opt-22 -passes=P in.bc -disable-output` per evaluation (pipeline only, nothing
     measured: a lower bound on what a subprocess evaluation costs), and `opt-22 -passes=P | llc-22
     -filetype=obj` for the .text case.
2. Search quality on benchmarks/programs/*.c (irpipe's own programs): IR instruction count of
   -Oz divided by the best found (geomean over programs, > 1 is better than -Oz) for random,
   greedy and evolutionary search at the same budget of evaluations, seed 0.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc

from irpipe.runtime.shards import read_modules
from irpipe.label.actions import ACTIONS, O_LEVELS, baseline, pipeline
from irpipe.label.measure import Evaluator
from irpipe.label.runtime import Program, RuntimeEvaluator
from irpipe.label.measure import EvaluationError
from irpipe.label.search import METHODS, search
from irpipe.llvm.tools import Toolchain

PROGRAMS = Path(__file__).resolve().parent / "programs"
#: Small arguments for the output check of each best pipeline.
CHECK_ARGS = {"crc": ["200000"], "hashmap": ["50000"], "matmul": ["64"], "nbody": ["2000"],
              "sieve": ["200000"], "sort": ["20000"], "strsearch": ["100000"]}


def pipelines(n_random: int = 6, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    seqs = [pipeline([rng.choice(ACTIONS[6:]) for _ in range(rng.randint(3, 10))]) for _ in range(n_random)]
    return [baseline(o) for o in O_LEVELS] + seqs


def rate(fn, items: list[str], rounds: int) -> float:
    """Evaluations per second of ``fn`` over ``items`` (median of rounds)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for p in items:
            fn(p)
        times.append(time.perf_counter() - t0)
    return len(items) / statistics.median(times)


def speed(dataset: str, rounds: int) -> None:
    table = read_modules(dataset, columns=["content", "instruction_count", "recipe_id"])
    table = table.filter(pc.greater(table["instruction_count"], 0))
    i = pc.sort_indices(table["instruction_count"]).to_pylist()[table.num_rows // 2]
    data, n = table["content"][i].as_py(), table["instruction_count"][i].as_py()
    tools = Toolchain()
    items = pipelines()
    ev = Evaluator(data, name="median")
    for p in items:  # warm the child and skip pipelines LLVM rejects on this module
        ev.evaluate(p, object_file=True)
    with tempfile.TemporaryDirectory() as tmp:
        bc = Path(tmp) / "m.bc"
        bc.write_bytes(data)
        obj = Path(tmp) / "m.o"

        def opt_only(p: str) -> None:
            tools.run("opt", [f"-passes={p}", str(bc), "-disable-output"])

        def opt_llc(p: str) -> None:
            tools.run("opt", [f"-passes={p}", str(bc), "-o", str(Path(tmp) / "o.bc")])
            tools.run("llc", ["-O2", "-mcpu=x86-64-v3", "-relocation-model=pic", "-filetype=obj",
                              str(Path(tmp) / "o.bc"), "-o", str(obj)])

        rows = [("instruction count", rate(lambda p: ev.evaluate(p), items, rounds),
                 rate(opt_only, items, rounds)),
                (".text size", rate(lambda p: ev.evaluate(p, object_file=True), items, rounds),
                 rate(opt_llc, items, rounds))]
    print(f"median module of {dataset}: {table['recipe_id'][i].as_py()}, {n} instructions; "
          f"{len(items)} pipelines x {rounds} rounds\n")
    print("| measurement | in-process evals/s | opt-22 subprocess evals/s | speed-up |")
    print("|---|---:|---:|---:|")
    for what, ours, theirs in rows:
        print(f"| {what} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.1f}x |")


def quality(budget: int) -> None:
    programs = sorted(PROGRAMS.glob("*.c"))
    results: dict[str, list[float]] = {m: [] for m in METHODS}
    seconds: dict[str, float] = {m: 0.0 for m in METHODS}
    print(f"\nsearch quality, budget {budget} evaluations per program, seed 0, IR instruction count "
          "(-Oz count / best count; > 1 beats -Oz)\n")
    print("| program | -Oz | " + " | ".join(METHODS) + " |")
    print("|---|---:|" + "---:|" * len(METHODS))
    broken = []
    for path in programs:
        program = Program.from_c(path, args=CHECK_ARGS.get(path.stem, []))
        ev = Evaluator(program.bitcode, name=path.name)
        runner = RuntimeEvaluator(program, repeats=1, evaluator=ev)
        cells = []
        for method in METHODS:
            r = search(lambda p: ev.evaluate(p).metric("instcount"), objective="instcount",
                       method=method, budget=budget, seed=0)
            results[method].append(r.improvement)
            seconds[method] += r.seconds
            try:  # the winner must not change the program's output
                runner.measure(r.best_pipeline)
                cells.append(f"{r.improvement:.3f}")
            except EvaluationError as exc:
                cells.append(f"{r.improvement:.3f} (output differs!)")
                broken.append(f"{path.stem}/{method}: {exc}")
        runner.close()
        print(f"| {path.stem} | {int(r.baselines['Oz'])} | " + " | ".join(cells) + " |")
    geo = {m: math.exp(sum(map(math.log, v)) / len(v)) for m, v in results.items()}
    print("| **geomean** | | " + " | ".join(f"**{geo[m]:.3f}**" for m in METHODS) + " |")
    print("| seconds (all programs) | | " + " | ".join(f"{seconds[m]:.1f}" for m in METHODS) + " |")
    print(f"\nevery best pipeline was built and run against the -O0 output: "
          f"{len(programs) * len(METHODS) - len(broken)} of {len(programs) * len(METHODS)} identical")
    for b in broken:
        print(f"  {b}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="datasets/default/sample")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=300)
    args = ap.parse_args()
    speed(args.dataset, args.rounds)
    quality(args.budget)


if __name__ == "__main__":
    main()
