"""`irpipe optimize` against the user's own -Oz, measured with the user's own tools.

    python benchmarks/optimize_bench.py [--model models/default] [--dataset datasets/default/sample]
                                        [--verify 10] [--out out/optimize-bench.json]

Modules: irpipe's C programs (benchmarks/programs, `clang-22 -O0 -Xclang -disable-O0-optnone`)
and the test split (by package) of the dataset sample.  For each module and objective the
reference is `opt-22 -passes='default<Oz>'` run as a child process on the same input, and
both sides are measured outside irpipe: IR instructions by counting instruction lines of
`llvm-dis-22` output, .text as every executable (AX) section of `llc-22 -filetype=obj`'s
object (`llvm-readelf-22 -S`).  Ratios are reference / optimize (> 1: optimize is better);
"worse" counts modules where optimize lost to plain -Oz (must be 0).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def sh(*cmd: str, data: bytes | None = None) -> bytes:
    return subprocess.run(cmd, input=data, check=True, capture_output=True).stdout


def instructions(bitcode: bytes) -> int:
    """IR instructions of a module, counted in llvm-dis-22's text (one per body line)."""
    text = sh("llvm-dis-22", "-", "-o", "-", data=bitcode).decode()
    count, inside = 0, False
    for line in text.splitlines():
        if line.startswith("define "):
            inside = True
        elif line.startswith("}"):
            inside = False
        elif inside and line.startswith("  ") and not line.startswith("   ") and line.strip() != "]" \
                and not line.lstrip().startswith(";"):  # switch cases and #dbg records sit deeper
            count += 1
    return count


def text_bytes(bitcode: bytes) -> int:
    """Bytes of every executable section of llc-22's object for the module's own target."""
    with tempfile.TemporaryDirectory() as tmp:
        obj = Path(tmp) / "m.o"
        sh("llc-22", "-filetype=obj", "-", "-o", str(obj), data=bitcode)
        total = 0
        for line in sh("llvm-readelf-22", "-S", "-W", str(obj)).decode().splitlines():
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+)\s+\S+\s+(\S+)", line)
            if m and "X" in m.group(3):
                total += int(m.group(2), 16)
        return total


def modules(dataset: str) -> list[tuple[str, bytes]]:
    """(name, module) for the C programs and the dataset's test split."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in sorted((ROOT / "benchmarks" / "programs").glob("*.c")):
            bc = Path(tmp) / (c.stem + ".bc")
            sh("clang-22", "-c", "-emit-llvm", "-O0", "-Xclang", "-disable-O0-optnone", str(c), "-o", str(bc))
            out.append((f"programs/{c.name}", bc.read_bytes()))
    if dataset:
        from irpipe.data.splits import assign_splits
        from irpipe.runtime.shards import read_modules

        table = assign_splits(read_modules(dataset))
        for row in table.to_pylist():
            if row["split"] == "test":
                out.append((f"{row['package_name']}/{row['structural_hash'][:10]}", row["content"]))
    return out


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--dataset", default=str(ROOT / "datasets" / "default" / "sample"))
    ap.add_argument("--verify", type=int, default=10)
    ap.add_argument("--out", default="out/optimize-bench.json")
    args = ap.parse_args()

    from irpipe.optimize.apply import optimize
    from irpipe.train.predict import Predictor

    predictor = Predictor.load(args.model)
    rows = []
    for name, data in modules(args.dataset):
        oz = sh("opt-22", "-passes=default<Oz>", "-", "-o", "-", data=data)
        row = {"module": name, "oz_instructions": instructions(oz), "oz_text": text_bytes(oz)}
        for objective, measure, key in (("instcount", instructions, "instructions"), ("size", text_bytes, "text")):
            r = optimize(data, predictor, objective=objective, verify=args.verify, name=name)
            row[f"optimize_{key}"] = measure(r.bitcode)
            row[f"ratio_{key}"] = max(row[f"oz_{key}"], 1) / max(row[f"optimize_{key}"], 1)
        rows.append(row)
        print(f"{name:<32} instr {row['oz_instructions']:>7} -> {row['optimize_instructions']:>7} "
              f"({row['ratio_instructions']:.3f}x)   .text {row['oz_text']:>7} -> {row['optimize_text']:>7} "
              f"({row['ratio_text']:.3f}x)", flush=True)
    print()
    print("| modules | objective | geomean opt-22 -Oz / optimize | better | equal | worse |")
    print("|---|---|---:|---:|---:|---:|")
    for group, pick in (("C programs", lambda r: r["module"].startswith("programs/")),
                        ("sample test split", lambda r: not r["module"].startswith("programs/")),
                        ("all", lambda r: True)):
        part = [r for r in rows if pick(r)]
        for key, label in (("instructions", "IR instructions"), ("text", ".text bytes")):
            ratios = [r[f"ratio_{key}"] for r in part]
            print(f"| {group} ({len(part)}) | {label} | {geomean(ratios):.3f} | "
                  f"{sum(x > 1 for x in ratios)} | {sum(x == 1 for x in ratios)} | {sum(x < 1 for x in ratios)} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
