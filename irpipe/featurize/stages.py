"""Featurize one unit of work (a row range of one module shard), Ray-free.

Layout of a featurize output directory::

    OUT/features/<lang>/train-NNNNN-rRRRRRR.parquet   FEATURES rows of one unit
    OUT/graphs/<lang>/train-NNNNN-rRRRRRR.parquet     GRAPHS rows of the same unit
    OUT/failures/<lang>/train-NNNNN-rRRRRRR.parquet   modules LLVM could not analyze
    OUT/done/<unit id>.json                            written LAST: the unit is finished
    OUT/manifest.json                                  units, files, counts

A unit is finished only when its done marker exists and names the sha256 of
the input shard it read; a re-run skips finished units and redoes the rest,
so a killed run loses no rows and duplicates none.  Every module is analyzed
in an :class:`irpipe.llvm.isolate.Isolated` child: a module that crashes LLVM
becomes a failure row, not a lost task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irpipe.errors import IRError
from irpipe.runtime import shards
from irpipe.runtime.failures import failure_row
from irpipe.llvm import graph, ir, isolate, native
from irpipe.runtime.units import KEYS, Unit, is_done, plan_units, read_table  # noqa: F401 (re-exported)
from irpipe.runtime.units import finalize as finalize_units
from irpipe.runtime.units import write_unit as write_outputs

def analyze_module(data: bytes, name: str, need_hash: bool) -> dict[str, Any]:
    """Child-side body: one parse, then features (module + per function) and the graph."""
    hashed = ir.inspect(data, name=name).structural_hash if need_hash else None
    with ir.native_module(data, name=name) as mod:
        functions = mod.functions
        g = mod.graph_arrays(-1, types=True)
        return {
            "structural_hash": hashed,
            "instcount": mod.instcount().tolist(), "autophase": mod.autophase().tolist(),
            "functions": functions,
            "function_instcount": [mod.instcount(i).tolist() for i in range(len(functions))],
            "function_autophase": [mod.autophase(i).tolist() for i in range(len(functions))],
            "graph": g,
        }


class Featurizer:
    """Analyze the modules of one unit; cheap ``__init__``, ``setup()`` once per worker."""

    def __init__(self, *, timeout_s: float = 300.0, memory_mb: int | None = 8192,
                 max_module_bytes: int | None = ir.MAX_MODULE_BYTES):
        self.timeout_s, self.memory_mb, self.max_module_bytes = timeout_s, memory_mb, max_module_bytes
        self.worker: isolate.Isolated | None = None
        self.counters = {"modules": 0, "failed": 0, "instructions": 0}

    def setup(self) -> None:
        """Load the native library here (fail fast) and start the isolated LLVM worker."""
        native.load()
        self.worker = isolate.Isolated(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    def close(self) -> None:
        if self.worker:
            self.worker.close()

    def process(self, unit: Unit) -> tuple[list[dict], list[dict], list[dict]]:
        """(feature rows, graph rows, failure rows) of ``unit``."""
        assert self.worker is not None, "call setup() first"
        table = shards.read_shard(unit.shard, allow_compile=True).slice(unit.start, unit.stop - unit.start)
        have_hash = "structural_hash" in table.schema.names
        feats, graphs, failures = [], [], []
        for row in table.to_pylist():
            if row.get("ir_kind") == "mlir":  # MLIR has its own features and graphs (irpipe.mlir)
                continue
            keys = {k: row.get(k) for k in KEYS}
            name = f"{row.get('recipe_id') or unit.relpath}:{row.get('object_path') or '?'}"
            try:
                data = ir.check_input(row["content"], name=name, max_bytes=self.max_module_bytes)
                res = self.worker.call(analyze_module, data, name,
                                       not (have_hash and row.get("structural_hash")), label=name)
            except IRError as exc:
                self.counters["failed"] += 1
                failures.append(failure_row(row.get("recipe_id") or unit.relpath, "featurize", str(exc),
                                            object_path=row.get("object_path")))
                continue
            key = row.get("structural_hash") if have_hash and row.get("structural_hash") \
                else res["structural_hash"]
            g = res.pop("graph")
            res.pop("structural_hash")
            feats.append({"structural_hash": key, **keys, **res})
            graphs.append({"structural_hash": key, **keys, **graph.ProgramGraph(**g).to_row()})
            self.counters["modules"] += 1
            self.counters["instructions"] += int(res["instcount"][0])
        return feats, graphs, failures


def write_unit(out: Path, unit: Unit, feats: list[dict], graphs: list[dict],
               failures: list[dict]) -> dict[str, Any]:
    """Write a unit's features, graphs and failures, then its done marker."""
    return write_outputs(out, unit, {"features": feats, "graphs": graphs, "failures": failures},
                         {"modules": len(feats), "failed": len(failures),
                          "instructions": int(sum(r["instcount"][0] for r in feats))})


def finalize(out: Path, dataset: str | Path, units: list[Unit]) -> dict[str, Any]:
    """Write OUT/manifest.json from the done markers of ``units``."""
    return finalize_units(out, dataset, units, "featurize", ("modules", "failed", "instructions"),
                          {"feature_names": {"instcount": list(native.instcount_names()),
                                             "autophase": list(native.autophase_names())}})
