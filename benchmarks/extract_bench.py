"""Extraction overhead: a plain clang-22 build vs the same build embedding bitcode + extraction.

    USAGE: .venv/bin/python benchmarks/extract_bench.py [--recipes extractors/debian/zlib.toml ...] [--rounds 2]

For each package the sources are fetched once; then, interleaved for
``--rounds`` rounds, a fresh copy of the tree is built (a) plainly with the
same compiler wrappers minus ``-Xclang -fembed-bitcode=all`` and (b) with
embedding, followed by irpipe's scan + parse + hash + Parquet write of the
modules.  CPU time is user+sys of the build's child processes (getrusage),
plus the extraction's own CPU; wall time is printed beside it.  Ratios are
medians over rounds, measured side by side in one run.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from irpipe.extract import bitcode, build, shards, sources
from irpipe.extract.recipes import parse_recipe, recipe_root
from irpipe.extract.sandbox import Limits
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain

DEFAULT = ["extractors/debian/zlib.toml", "extractors/debian/libyaml.toml", "extractors/debian/lua5.4.toml",
           "extractors/debian/cjson.toml"]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_build(recipe, src: Path, tmp: Path, tools: Toolchain, embed: bool) -> dict:
    """Build a fresh copy of ``src``; with ``embed``, also extract and write the modules."""
    work = Path(tempfile.mkdtemp(dir=tmp))
    tree = work / "src"
    shutil.copytree(src, tree, symlinks=True)
    c0, w0 = _children_cpu(), time.monotonic()
    built = build.build(recipe, tree, work, tools, limits=Limits(deadline=time.monotonic() + 3600),
                        log=work / "build.log", embed=embed)
    c1, w1 = _children_cpu(), time.monotonic()
    res = {"build_cpu": c1 - c0, "build_wall": w1 - w0, "extract_cpu": 0.0, "modules": 0, "bytes": 0}
    if embed:
        p0, e0 = time.process_time(), time.monotonic()
        rows, seen, seen_bytes = [], set(), set()
        for mod in bitcode.scan_tree(built):
            digest = hashlib.sha256(mod.bitcode).digest()
            if digest in seen_bytes:
                continue
            seen_bytes.add(digest)
            info = ir.inspect(mod.bitcode)
            if info.structural_hash not in seen:
                seen.add(info.structural_hash)
                rows.append({"content": mod.bitcode, "structural_hash": info.structural_hash,
                             "bitcode_size": len(mod.bitcode), "language": "c", "recipe_id": recipe.id})
        shards.write_part(work / "out", recipe.id, rows, [], {})
        res.update(extract_cpu=time.process_time() - p0, extract_wall=time.monotonic() - e0, modules=len(rows),
                   bytes=(work / "out" / "parts" / recipe.id.replace("/", "__") / "modules.parquet").stat().st_size)
    shutil.rmtree(work, ignore_errors=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    tools = Toolchain()
    tmp = Path(tempfile.mkdtemp(prefix="irpipe-bench-"))
    print("| package | plain CPU s | embed+extract CPU s | CPU ratio | plain wall s | embed+extract wall s "
          "| wall ratio | modules | modules/s | MB/s written |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for path in args.recipes:
        recipe = parse_recipe(Path(path), root=recipe_root(Path(path)))
        fetch_dir = tmp / recipe.id.replace("/", "__")
        src = sources.fetch(recipe, fetch_dir, sources.PrivateApt(tmp / ".apt"))
        if recipe.source_kind == "debian" and recipe.install_build_deps:
            build.install_build_deps(src, fetch_dir / "deps.log", Limits(deadline=time.monotonic() + 1800))
        plain, embed = [], []
        for _ in range(args.rounds):  # interleaved: plain, embed, plain, embed, ...
            plain.append(one_build(recipe, src, tmp, tools, embed=False))
            embed.append(one_build(recipe, src, tmp, tools, embed=True))
        pc = statistics.median(r["build_cpu"] for r in plain)
        ec = statistics.median(r["build_cpu"] + r["extract_cpu"] for r in embed)
        pw = statistics.median(r["build_wall"] for r in plain)
        ew = statistics.median(r["build_wall"] + r["extract_wall"] for r in embed)
        ext = statistics.median(r["extract_wall"] for r in embed)
        mods, mb = embed[-1]["modules"], embed[-1]["bytes"] / 1e6
        ratios.append(ec / pc)
        print(f"| {recipe.id} | {pc:.2f} | {ec:.2f} | {ec / pc:.3f} | {pw:.2f} | {ew:.2f} | {ew / pw:.3f} | {mods} "
              f"| {mods / ext:.0f} | {mb / ext:.1f} |")
    print(f"\ngeomean CPU overhead ratio: {statistics.geometric_mean(ratios):.3f} (target <= 1.10)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
