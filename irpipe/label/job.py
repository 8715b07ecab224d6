"""The label and measure jobs: their stages run through irpipe.runtime.cluster.run_stage, one Ray task
per unit; resumable like extraction."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from irpipe.label.matrix import MeasureOptions, Measurer
from irpipe.label.stages import Labeler, LabelOptions
from irpipe.llvm import native
from irpipe.runtime.cluster import run_stage
from irpipe.runtime.units import ModuleStage, UnitOutputs, finalize, plan_units


def _run(dataset: str | Path, out: str | Path, stage: ModuleStage, sums: tuple[str, ...], info: dict[str, Any],
         *, address: str | None, num_cpus: int | None, rows_per_unit: int, retries: int,
         progress: bool) -> dict[str, Any]:
    native.load()
    units = plan_units(dataset, rows_per_unit)  # every shard checked before OUT or Ray
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    run_stage(stage, units, UnitOutputs(out), address=address, num_cpus=num_cpus, retries=retries,
              progress=progress)
    return finalize(out, dataset, units, stage.name, sums, {"options": info})


def run_label(dataset: str | Path, out: str | Path, options: LabelOptions, *,
              address: str | None = None, num_cpus: int | None = None, rows_per_unit: int = 32,
              retries: int = 3, progress: bool = True) -> dict[str, Any]:
    """Label every module of ``dataset`` into ``out``; return the manifest."""
    return _run(dataset, out, Labeler(options), ("modules", "failed", "evaluations"), asdict(options),
                address=address, num_cpus=num_cpus, rows_per_unit=rows_per_unit, retries=retries,
                progress=progress)


def run_measure_mlir(dataset: str | Path, out: str | Path, runner: Any, *, address: str | None = None,
                     num_cpus: int | None = 1, rows_per_unit: int = 8, retries: int = 3,
                     progress: bool = True) -> dict[str, Any]:
    """Run every "source"-level MLIR module of ``dataset`` under ``runner``'s configs
    (irpipe.label.measure_mlir.MlirRunner); one CPU by default, so timings do not disturb each other."""
    from irpipe.label.measure_mlir import MlirMeasurer

    info = {k: v for k, v in asdict(runner).items() if k not in ("tools", "work", "known")}
    info["reusable_runs"] = len(runner.known or {})
    return _run(dataset, out, MlirMeasurer(runner), ("modules", "failed", "runs", "failed_runs"), info,
                address=address, num_cpus=num_cpus, rows_per_unit=rows_per_unit, retries=retries,
                progress=progress)


def run_measure(dataset: str | Path, out: str | Path, options: MeasureOptions, *,
                address: str | None = None, num_cpus: int | None = None, rows_per_unit: int = 16,
                retries: int = 3, progress: bool = True) -> dict[str, Any]:
    """Measure every module of ``dataset`` (or ``options.only``) under ``options.pipelines``."""
    info = asdict(options)
    info["only"] = None if options.only is None else len(options.only)
    return _run(dataset, out, Measurer(options), ("modules", "failed", "evaluations", "failed_evaluations"),
                info, address=address, num_cpus=num_cpus, rows_per_unit=rows_per_unit, retries=retries,
                progress=progress)
