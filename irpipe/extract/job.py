"""The extraction job: one Ray task per package, then the shards written in parallel.

Both steps run through :func:`irpipe.runtime.cluster.run_stage`: the
:class:`~irpipe.extract.stages.PackageExtractor` stage over recipes into
:class:`~irpipe.extract.dataset.PackageParts`, then :class:`~irpipe.extract.dataset.ShardWriter`
over the planned shards.  It runs on a private local Ray by default, or on an existing cluster
given ``address`` (``auto`` under ``ray job submit``: see :mod:`irpipe.runtime.cluster`).  The
output directory must be visible to every node (local disk for one machine, a shared filesystem
for a cluster).

Fault tolerance: a task lost with its node is retried elsewhere (``retries``); a package is
finished only when its done.json exists, so a re-run after a killed driver skips finished
packages and redoes the rest; the final shards are a pure function of the finished parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from irpipe.extract.dataset import FinalShards, PackageParts, ShardWriter, finalize
from irpipe.extract.recipes import Recipe, collect_recipes
from irpipe.extract.stages import ExtractOptions, PackageExtractor
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import shards
from irpipe.runtime.cluster import run_stage
from irpipe.runtime.failures import failure_row


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
    opts = options or ExtractOptions(work_root=str(out / ".work"))
    Toolchain().check(("clang", "clang++", "llvm-ar", "llvm-ranlib", "llvm-nm"))
    recipes, bad = load_recipes(recipe_paths)
    ray_args = {"address": address, "num_cpus": num_cpus, "object_store_mb": object_store_mb,
                "progress": progress}
    run = run_stage(PackageExtractor(opts), recipes, PackageParts(out, retry_failed), retries=retries,
                    cpus=lambda r: max(r.cpus, opts.jobs), **ray_args)

    def write_shards(plans: list[shards.ShardPlan]) -> list[dict[str, Any]]:
        return run_stage(ShardWriter(out), plans, FinalShards(), **ray_args).results  # type: ignore[return-value]

    return finalize(out, recipes, bad + run.failures, max_shard_bytes=max_shard_bytes,
                    skipped=run.skipped, options=opts, write_shards=write_shards)
