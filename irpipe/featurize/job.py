"""The featurize job: one Ray task per unit (a row range of a module shard).

The :class:`~irpipe.featurize.stages.Featurizer` stage runs through
:func:`irpipe.runtime.cluster.run_stage`, on a private local Ray by default, or an existing
cluster (``address``; ``auto`` under ``ray job submit``); OUT must be visible to every node.  A
task lost with its node is retried; finished units are skipped on a re-run (their done markers
name the input's sha256).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irpipe.featurize.stages import Featurizer, finalize, plan_units
from irpipe.llvm import native
from irpipe.runtime.cluster import run_stage
from irpipe.runtime.units import UnitOutputs


def run_featurize(dataset: str | Path, out: str | Path, *, address: str | None = None,
                  num_cpus: int | None = None, rows_per_unit: int = 256, retries: int = 3,
                  timeout_s: float = 300.0, max_module_bytes: int | None = 64 << 20,
                  object_store_mb: int = 512, progress: bool = True) -> dict[str, Any]:
    """Features and graphs of every module in ``dataset``, written under ``out``; return the manifest."""
    native.load()  # a missing or stale native library fails here, not in every task
    units = plan_units(dataset, rows_per_unit)  # every shard checked before OUT or Ray
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    run_stage(Featurizer(timeout_s=timeout_s, max_module_bytes=max_module_bytes), units, UnitOutputs(out),
              address=address, num_cpus=num_cpus, retries=retries, object_store_mb=object_store_mb,
              progress=progress)
    return finalize(out, dataset, units)
