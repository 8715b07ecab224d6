"""The label and measure jobs: one Ray task per unit, through irpipe.runtime.cluster; resumable like extraction."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from irpipe.runtime.units import finalize, plan_units
from irpipe.runtime.cluster import run_units
from irpipe.label.matrix import MeasureOptions, Measurer, write_measurements
from irpipe.label.stages import Labeler, LabelOptions, ModuleStage, write_labels
from irpipe.llvm import native


def _unit_task(unit: Any, out: str, stage: ModuleStage, write: Callable[..., dict[str, Any]]
               ) -> dict[str, Any]:
    """Ray task body: run ``stage`` over one unit and write its files (idempotent)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    stage.setup()
    try:
        rows, failures = stage.process(unit)
    finally:
        stage.close()
    return write(Path(out), unit, rows, failures)


def _run(dataset: str | Path, out: str | Path, stage: ModuleStage, write: Callable[..., dict[str, Any]],
         sums: tuple[str, ...], info: dict[str, Any], *, address: str | None, num_cpus: int | None,
         rows_per_unit: int, retries: int, progress: bool) -> dict[str, Any]:
    native.load()
    units = plan_units(dataset, rows_per_unit)  # every shard checked before OUT or Ray
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    run_units(out, units, _unit_task, (str(out), stage, write), name=stage.stage, address=address,
              num_cpus=num_cpus, retries=retries, progress=progress)
    return finalize(out, dataset, units, stage.stage, sums, {"options": info})


def run_label(dataset: str | Path, out: str | Path, options: LabelOptions, *,
              address: str | None = None, num_cpus: int | None = None, rows_per_unit: int = 32,
              retries: int = 3, progress: bool = True) -> dict[str, Any]:
    """Label every module of ``dataset`` into ``out``; return the manifest."""
    return _run(dataset, out, Labeler(options), write_labels, ("modules", "failed", "evaluations"),
                asdict(options), address=address, num_cpus=num_cpus, rows_per_unit=rows_per_unit,
                retries=retries, progress=progress)


def run_measure_mlir(dataset: str | Path, out: str | Path, runner: Any, *, address: str | None = None,
                     num_cpus: int | None = 1, rows_per_unit: int = 8, retries: int = 3,
                     progress: bool = True) -> dict[str, Any]:
    """Run every "source"-level MLIR module of ``dataset`` under ``runner``'s configs
    (irpipe.label.measure_mlir.MlirRunner); one CPU by default, so timings do not disturb each other."""
    from irpipe.label.measure_mlir import MlirMeasurer, write_mlir_runs

    info = {k: v for k, v in asdict(runner).items() if k not in ("tools", "work", "known")}
    info["reusable_runs"] = len(runner.known or {})
    return _run(dataset, out, MlirMeasurer(runner), write_mlir_runs, ("modules", "failed", "runs", "failed_runs"),
                info, address=address, num_cpus=num_cpus, rows_per_unit=rows_per_unit, retries=retries,
                progress=progress)


def run_measure(dataset: str | Path, out: str | Path, options: MeasureOptions, *,
                address: str | None = None, num_cpus: int | None = None, rows_per_unit: int = 16,
                retries: int = 3, progress: bool = True) -> dict[str, Any]:
    """Measure every module of ``dataset`` (or ``options.only``) under ``options.pipelines``."""
    info = asdict(options)
    info["only"] = None if options.only is None else len(options.only)
    return _run(dataset, out, Measurer(options), write_measurements,
                ("modules", "failed", "evaluations", "failed_evaluations"), info, address=address,
                num_cpus=num_cpus, rows_per_unit=rows_per_unit, retries=retries, progress=progress)
