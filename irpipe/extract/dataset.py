"""Where an extraction's results go: per-package parts, then the final shards, failures table and
manifest made from the finished parts (Ray-free; :mod:`irpipe.extract.job` runs them on Ray).

:class:`PackageParts` is the :class:`~irpipe.runtime.stage.Outputs` of the extract stage (one part
per package, done.json last); :class:`ShardWriter` with :class:`FinalShards` is the shard-writing
step (one planned shard per item).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from irpipe.errors import JobError
from irpipe.runtime import shards
from irpipe.runtime.failures import failure_row
from irpipe.runtime.stage import Row, StageResult
from irpipe.extract.recipes import Recipe
from irpipe.extract.stages import ExtractOptions, PackageResult


def status_of(out: Path, recipe_id: str) -> str:
    """'ok', 'failed' or 'excluded' for a finished package."""
    return json.loads((shards.part_dir(out, recipe_id) / "done.json").read_text()).get("status", "ok")


@dataclass(frozen=True)
class PackageParts:
    """The extract stage's outputs: one part per package (``OUT/parts/<recipe>/``, done.json last).

    With ``retry_failed`` a package that failed or was excluded counts as not done (re-extracted).
    """

    root: Path
    retry_failed: bool = False
    desc: str = "packages"
    unit: str = "pkg"

    def key(self, recipe: Recipe) -> str:
        return recipe.id

    def size(self, recipe: Recipe) -> int:
        return 1

    def is_done(self, recipe: Recipe) -> bool:
        return shards.is_done(self.root, recipe.id) and not (
            self.retry_failed and status_of(self.root, recipe.id) in ("failed", "excluded"))

    def clean(self) -> None:
        shards.clean_temporaries(self.root)

    def write(self, recipe: Recipe, result: StageResult) -> dict[str, Any]:
        assert isinstance(result, PackageResult)
        summary = result.summary(recipe)
        shards.write_part(self.root, recipe.id, result.modules, result.failures, summary)
        return {"recipe_id": recipe.id, **summary}

    def lost(self, recipe: Recipe, error: str) -> list[Row]:
        """A "worker" row; the package stays unfinished (finalize puts the row in failures.parquet)."""
        return [failure_row(recipe.id, "worker", error, recipe=recipe)]


@dataclass(frozen=True)
class ShardWriter:
    """The shard-writing step as a stage: ``process(plan)`` writes one planned final shard
    (atomically; the same plan, the same bytes) and returns its manifest entry as ``stats``."""

    out: Path
    name: str = "shards"

    def setup(self) -> None:
        """Nothing to find: the parts are Parquet files."""

    def close(self) -> None:
        """Nothing to stop."""

    def process(self, plan: shards.ShardPlan) -> StageResult:
        return StageResult(stats=shards.write_shard(self.out, plan))


@dataclass(frozen=True)
class FinalShards:
    """Where :class:`ShardWriter`'s entries go: back to the driver (the shards are rewritten on each
    run, so none is done beforehand); a shard whose task keeps failing stops the job."""

    desc: str = "shards"
    unit: str = "shard"

    def key(self, plan: shards.ShardPlan) -> str:
        return plan.path

    def size(self, plan: shards.ShardPlan) -> int:
        return 1

    def is_done(self, plan: shards.ShardPlan) -> bool:
        return False

    def clean(self) -> None:
        """The parts' temporaries were removed before the packages ran."""

    def write(self, plan: shards.ShardPlan, result: StageResult) -> dict[str, Any]:
        return result.stats

    def lost(self, plan: shards.ShardPlan, error: str) -> list[Row]:
        raise JobError(f"shard {plan.path} could not be written: {error}")


def finalize(out: Path, recipes: list[Recipe], extra_failures: list[dict[str, Any]], *,
             max_shard_bytes: int = shards.DEFAULT_SHARD_BYTES, skipped: int = 0,
             options: ExtractOptions | None = None,
             write_shards: Callable[[list[shards.ShardPlan]], Iterable[dict[str, Any]]] | None = None
             ) -> dict[str, Any]:
    """Plan, write and index the final shards of the finished parts; return the manifest.

    ``write_shards(plans)`` writes the planned shards and returns their manifest entries in
    order (the job runs :class:`ShardWriter` on Ray; the default writes them here, in order).
    """
    done = [r for r in recipes if shards.is_done(out, r.id)]
    plans, dedup = shards.plan_shards(out, [r.id for r in done], max_shard_bytes)
    entries = list(write_shards(plans) if write_shards else (shards.write_shard(out, p) for p in plans))
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
