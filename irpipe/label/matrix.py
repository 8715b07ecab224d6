"""Measure every module of a unit under a fixed list of pipelines, Ray-free.

The result is the MEASUREMENTS table: one row per (module, pipeline), the data that
cost models learn from and policies are judged on (a full matrix, not only the
winners search reported).  Output layout (:class:`irpipe.runtime.units.UnitOutputs`)::

    OUT/measurements/<lang>/train-NNNNN-rRRRRRR.parquet
    OUT/failures/<lang>/train-NNNNN-rRRRRRR.parquet   modules that could not be loaded
    OUT/done/<unit id>.json, OUT/manifest.json

A pipeline that crashes or hangs LLVM becomes a row with ``error`` set; a module
whose input cannot be parsed becomes one failure row; the job goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection

from irpipe.runtime.units import KEYS
from irpipe.label.actions import parse
from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.stages import LlvmStage


@dataclass(frozen=True)
class MeasureOptions:
    """What to measure: the pipelines, whether to build objects (.text size), which modules."""

    pipelines: tuple[str, ...]
    object_file: bool = True
    timeout_s: float = 60.0
    only: frozenset[str] | None = None   # structural hashes to measure (None: all)


def measure_module(ev: Evaluator, keys: dict[str, Any], structural_hash: str,
                   pipelines: Collection[str], object_file: bool) -> list[dict[str, Any]]:
    """MEASUREMENTS rows of one module (input instruction count first, then each pipeline)."""
    base = ev.evaluate("verify")
    rows = []
    for text in pipelines:
        row = {"structural_hash": structural_hash, **keys, "pipeline": text,
               "actions": [a.name for a in parse(text)],
               "input_instructions": base.instructions, "instructions": None,
               "text_bytes": None, "opt_seconds": None, "error": None}
        try:
            m = ev.evaluate(text, object_file=object_file)
            row.update(instructions=m.instructions, text_bytes=m.text_bytes,
                       opt_seconds=m.opt_seconds)
        except EvaluationError as exc:
            row["error"] = str(exc).splitlines()[0][:400]
        rows.append(row)
    return rows


class Measurer(LlvmStage):
    """Measure the modules of one unit under every pipeline of the options."""

    name = "measure"
    outputs = ("measurements",)

    def wanted(self, row: dict[str, Any]) -> bool:
        return super().wanted(row) and (self.options.only is None or row.get("structural_hash") in self.options.only)

    def module(self, row: dict[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
        ev = Evaluator(row["content"], name=name, timeout_s=self.options.timeout_s, worker=self.worker)
        return {"measurements": measure_module(ev, {k: row.get(k) for k in KEYS}, row.get("structural_hash") or name,
                                               self.options.pipelines, self.options.object_file)}

    def stats(self, rows: dict[str, list[dict]], failures: list[dict]) -> dict[str, Any]:
        found = rows["measurements"]
        return {"modules": len({r["structural_hash"] for r in found}), "failed": len(failures),
                "evaluations": len(found), "failed_evaluations": sum(r["error"] is not None for r in found)}
