"""Dataset cards and samples: what a dataset directory holds, in numbers and one small shard."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from irpipe.runtime import files
from irpipe.errors import SchemaError
from irpipe.runtime import shards
from irpipe.extract.sandbox import first_error_line
from irpipe.mlir.ir import LEVELS
from irpipe.schema import MODULES, stamped

_STAT_COLUMNS = ["language", "package_name", "source_kind", "license_expression", "bitcode_size",
                 "function_count", "instruction_count", "ir_kind", "mlir_level", "object_path"]


def summarize(out: Path) -> dict[str, Any]:
    """Per-language totals, license mix, dedup and failures of the dataset at ``out``."""
    out = Path(out)
    t = shards.read_modules(out, columns=_STAT_COLUMNS)
    manifest = _manifest(out)
    per_lang: dict[str, dict[str, int]] = defaultdict(lambda: Counter())
    per_level: dict[str, dict[str, int]] = defaultdict(lambda: Counter())
    programs: set[str] = set()
    for row in t.to_pylist():
        if row["ir_kind"] == "mlir":
            per_level[row["mlir_level"] or "unknown"]["modules"] += 1
            per_level[row["mlir_level"] or "unknown"]["ops"] += row["instruction_count"] or 0
            programs.add(f"{row['package_name']}:{row['object_path']}")
        d = per_lang[row["language"] or "unknown"]
        d["modules"] += 1
        d["bitcode_bytes"] += row["bitcode_size"] or 0
        d["functions"] += row["function_count"] or 0
        d["instructions"] += row["instruction_count"] or 0
    totals = manifest.get("totals", {})
    causes: dict[str, str] = {}
    if (out / "failures.parquet").exists():
        for f in shards.read_shard(out / "failures.parquet", "failures").to_pylist():
            if f["object_path"] is None and f["stage"] == "build":
                causes[f["recipe_id"]] = first_error_line(f["log_tail"] or "")
    dropped = totals.get("dedup_dropped_in_package", 0) + totals.get("dedup_dropped_across_packages", 0)
    kept = t.num_rows
    return {
        "languages": {k: dict(v) for k, v in sorted(per_lang.items())},
        "mlir_levels": {k: dict(per_level[k]) for k in (*LEVELS, "unknown") if k in per_level},
        "mlir_programs": len(programs),
        "modules": kept,
        "packages_by_source": dict(Counter(p["source_kind"] for p in manifest.get("packages", [])
                                           if p["status"] == "ok")),
        "licenses": dict(Counter(t.column("license_expression").to_pylist()).most_common()),
        "dedup": {"found": kept + dropped, "kept": kept, "dropped": dropped,
                  "ratio": round(kept / (kept + dropped), 4) if kept + dropped else 1.0},
        "failed": [(p["recipe_id"], p["stage"], _with_cause(p["error"], causes.get(p["recipe_id"], "")))
                   for p in manifest.get("packages", [])
                   if p["status"] == "failed"] + [(r, "not finished", "") for r in manifest.get("not_finished", [])],
        "excluded": [(e["recipe_id"], e["reason"]) for e in manifest.get("excluded", [])],
        "totals": totals,
    }


def _manifest(out: Path) -> dict[str, Any]:
    """OUT/manifest.json (``{}`` when there is none); :class:`SchemaError` naming a damaged one."""
    path = out / "manifest.json"
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        doc = json.loads(files.read_bounded(path, 256 << 20, error=SchemaError, what="a dataset manifest"))
    except ValueError as exc:
        raise SchemaError(f"{files.shown(path)}: not a JSON dataset manifest ({exc})") from None
    if not isinstance(doc, dict):
        raise SchemaError(f"{files.shown(path)}: not a JSON dataset manifest (not an object)")
    return doc


def _with_cause(error: str, cause: str) -> str:
    return f"{error}: {cause}" if cause and cause not in error else error


def render_card(name: str, s: dict[str, Any], command: str) -> str:
    """A Markdown dataset card from :func:`summarize`'s numbers."""
    lines = [f"# Dataset `{name}`", "", f"Built with: `{command}`", "",
             f"{s['modules']} unique modules (LLVM 22 bitcode; MLIR text) from {sum(s['packages_by_source'].values())} packages "
             f"({', '.join(f'{v} {k}' for k, v in sorted(s['packages_by_source'].items()))}).", "",
             "| language | modules | bitcode MB | functions | instructions |", "|---|---:|---:|---:|---:|"]
    for lang, d in s["languages"].items():
        lines.append(f"| {lang} | {d['modules']} | {d['bitcode_bytes'] / 1e6:.1f} | {d['functions']} | {d['instructions']} |")
    if s.get("mlir_levels"):
        lines += ["", f"MLIR: {s['mlir_programs']} program variants, each at every lowering level "
                  "(\"source\" = StableHLO from JAX, then IREE's phases):", "",
                  "| MLIR level | modules | ops |", "|---|---:|---:|"]
        lines += [f"| {lvl} | {d['modules']} | {d['ops']} |" for lvl, d in s["mlir_levels"].items()]
    dd = s["dedup"]
    lines += ["", f"Dedup (structural hash): {dd['found']} modules found, {dd['kept']} kept, {dd['dropped']} dropped "
              f"(kept ratio {dd['ratio']:.3f}).", "", "| license (SPDX) | modules |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in s["licenses"].items()]
    lines += ["", "## Packages that failed", "", "| recipe | stage | error |", "|---|---|---|"]
    lines += [f"| {r} | {st} | {e[:160].replace('|', '/')} |" for r, st, e in s["failed"]]
    lines += ["", "## Packages excluded by license", "", "| recipe | reason |", "|---|---|"]
    lines += [f"| {r} | {why.replace('|', '/')} |" for r, why in s["excluded"]]
    return "\n".join(lines) + "\n"


def write_sample(out: Path, dest: Path, max_bytes: int = 15 * 1024 * 1024, per_package: int = 12) -> int:
    """Write a small stratified sample as shards: each package's smallest modules first, round-robin
    over packages, at most ``per_package`` each and ``max_bytes`` of bitcode in all."""
    t = shards.read_modules(out)
    order = pc.sort_indices(t, sort_keys=[("recipe_id", "ascending"), ("bitcode_size", "ascending")]).to_pylist()
    recipe_ids = t.column("recipe_id").to_pylist()
    sizes = t.column("bitcode_size").to_pylist()
    rank: Counter[str] = Counter()
    ranked = []  # (rank within its package, recipe, row): round k takes every package's k-th smallest
    for i in order:
        ranked.append((rank[recipe_ids[i]], recipe_ids[i], i))
        rank[recipe_ids[i]] += 1
    keep: list[int] = []
    size = 0
    for r, _, i in sorted(ranked):
        if r < per_package and size + sizes[i] <= max_bytes:
            keep.append(i)
            size += sizes[i]
    sample = t.take(pa.array(sorted(keep))).replace_schema_metadata(stamped(MODULES, "modules").metadata)
    for lang in sorted(set(sample.column("language").to_pylist())):
        part = sample.filter(pc.equal(sample.column("language"), lang))
        shards.write_parquet(part, Path(dest) / lang / "train-00000.parquet")
    return sample.num_rows
