"""Featurize one unit of work (a row range of one module shard), Ray-free.

Layout of a featurize output directory::

    OUT/features/<lang>/train-NNNNN-rRRRRRR.parquet   FEATURES rows of one unit
    OUT/graphs/<lang>/train-NNNNN-rRRRRRR.parquet     GRAPHS rows of the same unit
    OUT/failures/<lang>/train-NNNNN-rRRRRRR.parquet   modules LLVM could not analyze
    OUT/done/<unit id>.json                            written LAST: the unit is finished
    OUT/manifest.json                                  units, files, counts

A unit is finished only when its done marker exists and names the sha256 of
the input shard it read; a re-run skips finished units and redoes the rest,
so a killed run loses no rows and duplicates none (:class:`irpipe.runtime.units.UnitOutputs`).
Every module is analyzed in an :class:`irpipe.llvm.isolate.Isolated` child: a module that crashes LLVM
becomes a failure row, not a lost task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irpipe.llvm import analysis, graph, ir, isolate, native
from irpipe.runtime.stage import Row
from irpipe.runtime.units import KEYS, ModuleStage, Unit, is_done, plan_units, read_table  # noqa: F401 (re-exported)
from irpipe.runtime.units import finalize as finalize_units

class Featurizer(ModuleStage):
    """Features and graphs of the LLVM modules of one unit; cheap ``__init__``, ``setup()`` once per worker."""

    name = "featurize"
    ir_kind = "llvm"  # MLIR has its own features and graphs (irpipe.mlir)
    outputs = ("features", "graphs")

    def __init__(self, *, timeout_s: float = 300.0, memory_mb: int | None = 8192,
                 max_module_bytes: int | None = ir.MAX_MODULE_BYTES):
        super().__init__()
        self.timeout_s, self.memory_mb, self.max_module_bytes = timeout_s, memory_mb, max_module_bytes
        self.counters["instructions"] = 0

    def resources(self) -> isolate.Isolated:
        """Load the native library here (fail fast) and start the isolated LLVM worker."""
        native.load()
        return isolate.Isolated(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    def module(self, row: Row, name: str) -> dict[str, list[Row]]:
        """The FEATURES and GRAPHS rows of one module, analyzed in the isolated child."""
        data = ir.check_input(row["content"], name=name, max_bytes=self.max_module_bytes)
        res = self.worker.call(analysis.analyze, data, name, per_function=True,
                               need_hash=not row.get("structural_hash"), label=name)
        hashed, g = res.pop("structural_hash"), res.pop("graph")
        key = row.get("structural_hash") or hashed
        keys = {k: row.get(k) for k in KEYS}
        self.counters["instructions"] += int(res["instcount"][0])
        return {"features": [{"structural_hash": key, **keys, **res}],
                "graphs": [{"structural_hash": key, **keys, **graph.ProgramGraph(**g).to_row()}]}

    def stats(self, rows: dict[str, list[Row]], failures: list[Row]) -> dict[str, Any]:
        return {"modules": len(rows["features"]), "failed": len(failures),
                "instructions": int(sum(r["instcount"][0] for r in rows["features"]))}


def finalize(out: Path, dataset: str | Path, units: list[Unit]) -> dict[str, Any]:
    """Write OUT/manifest.json from the done markers of ``units``."""
    return finalize_units(out, dataset, units, "featurize", ("modules", "failed", "instructions"),
                          {"feature_names": {"instcount": list(native.instcount_names()),
                                             "autophase": list(native.autophase_names())}})
