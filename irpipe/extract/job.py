"""The extraction job: one Ray task per package, shards written in parallel.

This is the only extraction module that imports ray.  It runs on a private
local Ray by default, or on an existing cluster given ``address`` (``auto``
under ``ray job submit``: see :mod:`irpipe.runtime.cluster`).  The output directory must
be visible to every node (local disk for one machine, a shared filesystem for
a cluster).

Fault tolerance: a task lost with its node is retried elsewhere
(``max_retries``); a package is finished only when its done.json exists, so a
re-run after a killed driver skips finished packages and redoes the rest; the
final shards are a pure function of the finished parts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import ray
from tqdm import tqdm

from irpipe.runtime import shards
from irpipe.extract.recipes import Recipe, collect_recipes
from irpipe.extract.dataset import finalize, status_of
from irpipe.extract.stages import ExtractOptions, PackageExtractor
from irpipe.runtime.failures import failure_row
from irpipe.runtime.cluster import as_completed, init_ray
from irpipe.llvm.tools import Toolchain


def _extract_package(recipe: Recipe, options: ExtractOptions, out: str) -> dict[str, Any]:
    """Ray task body: extract one package and stage its part (idempotent)."""
    extractor = PackageExtractor(options)
    extractor.setup()
    try:
        res = extractor.process(recipe)
    finally:
        extractor.close()
    summary = res.summary(recipe)
    shards.write_part(Path(out), recipe.id, res.rows, res.failures, summary)
    return {"recipe_id": recipe.id, **summary}


def load_recipes(paths: Sequence[str]) -> tuple[list[Recipe], list[dict[str, Any]]]:
    """Parse every recipe; a bad one becomes a failure row instead of stopping the job
    (``irpipe extract`` refuses bad recipes before this, unless given --keep-going)."""
    recipes, bad = collect_recipes(paths)
    return recipes, [failure_row(where, "recipe", error) for where, error in bad]


def run_extract(
    recipe_paths: Sequence[str],
    out: str | Path,
    *,
    options: ExtractOptions | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    retries: int = 3,
    retry_failed: bool = False,
    max_shard_bytes: int = shards.DEFAULT_SHARD_BYTES,
    object_store_mb: int = 512,
    progress: bool = True,
) -> dict[str, Any]:
    """Extract every recipe under ``recipe_paths`` into the dataset at ``out``; return the manifest."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    options = options or ExtractOptions(work_root=str(out / ".work"))
    Toolchain().check(("clang", "clang++", "llvm-ar", "llvm-ranlib", "llvm-nm"))
    recipes, bad = load_recipes(recipe_paths)
    shards.clean_temporaries(out)
    pending = [r for r in recipes if not shards.is_done(out, r.id)
               or (retry_failed and status_of(out, r.id) in ("failed", "excluded"))]
    skipped = len(recipes) - len(pending)
    init_ray(address, num_cpus, object_store_mb)
    task = ray.remote(max_retries=retries, retry_exceptions=False)(_extract_package)
    futures = {task.options(num_cpus=max(r.cpus, options.jobs), name=f"extract:{r.id}").remote(r, options, str(out)): r
               for r in pending}
    worker_failures: list[dict[str, Any]] = []
    bar = tqdm(total=len(recipes), initial=skipped, desc="packages", unit="pkg", disable=not progress,
               file=sys.stderr)
    for recipe, info, exc in as_completed(futures):
        if exc is None:
            bar.set_postfix_str(f"{recipe.id}: {info['status']} {info.get('modules', 0)} modules")
        else:
            worker_failures.append(failure_row(recipe.id, "worker", f"worker lost or crashed: {exc}",
                                               recipe=recipe))
        bar.update(1)
    bar.close()

    def ray_map(fn: Callable[[Path, shards.ShardPlan], dict[str, Any]], plans: list[shards.ShardPlan]) -> list:
        remote = ray.remote(max_retries=3)(fn)  # the shard writers run as parallel Ray tasks
        return ray.get([remote.remote(out, p) for p in plans])

    return finalize(out, recipes, bad + worker_failures, max_shard_bytes=max_shard_bytes,
                    skipped=skipped, options=options, map_shards=ray_map)


