"""The featurize job: one Ray task per unit (a row range of a module shard).

The only featurize module that imports ray.  Embedded local Ray by default,
or an existing cluster (``address`` / RAY_ADDRESS); OUT must be visible to
every node.  A task lost with its node is retried (``max_retries``); finished
units are skipped on a re-run (their done markers name the input's sha256).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import ray
from tqdm import tqdm

from irpipe.extract import shards
from irpipe.featurize.stages import Featurizer, Unit, finalize, is_done, plan_units, write_unit
from irpipe.jobs import as_completed, init_ray
from irpipe.llvm import native


def _featurize_unit(unit: Unit, out: str, timeout_s: float, max_module_bytes: int | None
                    ) -> dict[str, Any]:
    """Ray task body: analyze one unit and write its files (idempotent)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    featurizer = Featurizer(timeout_s=timeout_s, max_module_bytes=max_module_bytes)
    featurizer.setup()
    try:
        feats, graphs, failures = featurizer.process(unit)
    finally:
        featurizer.close()
    return write_unit(Path(out), unit, feats, graphs, failures)


def run_featurize(dataset: str | Path, out: str | Path, *, address: str | None = None,
                  num_cpus: int | None = None, rows_per_unit: int = 256, retries: int = 3,
                  timeout_s: float = 300.0, max_module_bytes: int | None = 64 << 20,
                  object_store_mb: int = 512, progress: bool = True) -> dict[str, Any]:
    """Features and graphs of every module in ``dataset``, written under ``out``; return the manifest."""
    native.load()  # a missing or stale native library fails here, not in every task
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shards.clean_temporaries(out)
    units = plan_units(dataset, rows_per_unit)
    pending = [u for u in units if not is_done(out, u)]
    init_ray(address, num_cpus, object_store_mb)
    task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_featurize_unit)
    futures = {task.options(name=f"featurize:{u.id}").remote(u, str(out), timeout_s, max_module_bytes): u
               for u in pending}
    total_rows = sum(u.stop - u.start for u in units)
    bar = tqdm(total=total_rows, initial=total_rows - sum(u.stop - u.start for u in pending),
               desc="modules", unit="mod", disable=not progress, file=sys.stderr)
    for unit, info, exc in as_completed(futures):
        if exc is None:
            bar.set_postfix_str(f"{unit.id}: {info['modules']} ok, {info['failed']} failed")
        else:  # stays in the manifest's not_finished; a re-run redoes it
            print(f"featurize: unit {unit.id} lost after {retries} retries: {exc}", file=sys.stderr)
        bar.update(unit.stop - unit.start)
    bar.close()
    return finalize(out, dataset, units)
