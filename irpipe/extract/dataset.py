"""Finalize a dataset from its finished parts: shards, failures table, manifest (Ray-free)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable

from irpipe.runtime import shards
from irpipe.extract.recipes import Recipe
from irpipe.extract.stages import ExtractOptions


def status_of(out: Path, recipe_id: str) -> str:
    """'ok', 'failed' or 'excluded' for a finished package."""
    return json.loads((shards.part_dir(out, recipe_id) / "done.json").read_text()).get("status", "ok")


def finalize(out: Path, recipes: list[Recipe], extra_failures: list[dict[str, Any]], *,
             max_shard_bytes: int = shards.DEFAULT_SHARD_BYTES, skipped: int = 0,
             options: ExtractOptions | None = None,
             map_shards: Callable[..., Iterable[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Plan, write and index the final shards of the finished parts; return the manifest.

    ``map_shards(fn, plans)`` writes the planned shards (the job passes a Ray
    map that writes them in parallel; the default writes them here, in order).
    """
    done = [r for r in recipes if shards.is_done(out, r.id)]
    plans, dedup = shards.plan_shards(out, [r.id for r in done], max_shard_bytes)
    if map_shards is None:
        entries = [shards.write_shard(out, p) for p in plans]
    else:
        entries = list(map_shards(shards.write_shard, plans))
    shards.remove_stale_shards(out, {e["path"] for e in entries})
    n_failures = shards.write_failures(out, [r.id for r in done], extra_failures)
    packages = []
    for r in done:
        info = json.loads((shards.part_dir(out, r.id) / "done.json").read_text())
        info["modules_kept"] = dedup["kept_per_package"].get(r.id, 0)
        packages.append(info)
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "options": {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(options).items()
                    if k not in ("work_root",)} if options else {},
        "packages": packages,
        "not_finished": sorted(r.id for r in recipes if not shards.is_done(out, r.id)),
        "shards": entries,
        "totals": {
            "packages": len(recipes), "packages_ok": sum(p["status"] == "ok" for p in packages),
            "packages_failed": sum(p["status"] == "failed" for p in packages),
            "packages_excluded": sum(p["status"] == "excluded" for p in packages),
            "packages_skipped_as_done": skipped, "modules": sum(e["rows"] for e in entries),
            "content_bytes": sum(e["content_bytes"] for e in entries),
            "dedup_dropped_in_package": sum(p.get("dropped_in_package", 0) for p in packages),
            "dedup_dropped_across_packages": dedup["dropped_across_packages"], "failures": n_failures,
        },
        "excluded": [{"recipe_id": p["recipe_id"], "reason": p["error"]} for p in packages
                     if p["status"] == "excluded"],
    }
    return shards.write_manifest(out, manifest)
