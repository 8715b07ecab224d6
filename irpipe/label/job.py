"""The label job: one Ray task per unit, through irpipe.jobs; resumable like extraction."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from irpipe.data.units import finalize, plan_units
from irpipe.jobs import run_units
from irpipe.label.stages import Labeler, LabelOptions, write_labels
from irpipe.llvm import native


def _label_unit(unit: Any, out: str, options: LabelOptions) -> dict[str, Any]:
    """Ray task body: label one unit and write its files (idempotent)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    labeler = Labeler(options)
    labeler.setup()
    try:
        labels, failures = labeler.process(unit)
    finally:
        labeler.close()
    return write_labels(Path(out), unit, labels, failures)


def run_label(dataset: str | Path, out: str | Path, options: LabelOptions, *,
              address: str | None = None, num_cpus: int | None = None, rows_per_unit: int = 32,
              retries: int = 3, progress: bool = True) -> dict[str, Any]:
    """Label every module of ``dataset`` into ``out``; return the manifest."""
    native.load()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    units = plan_units(dataset, rows_per_unit)
    run_units(out, units, _label_unit, (str(out), options), name="label", address=address,
              num_cpus=num_cpus, retries=retries, progress=progress)
    return finalize(out, dataset, units, "label", ("modules", "failed", "evaluations"),
                    {"options": asdict(options)})
