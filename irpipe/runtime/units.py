"""Units of work over a dataset's module shards, shared by the per-module jobs.

A unit is a row range of one input shard.  Its outputs are one Parquet file per
kind (``OUT/<kind>/<unit id>.parquet``) and, written LAST, a done marker
``OUT/done/<unit id>.json`` naming the input shard's sha256: a re-run skips a
unit only when it finished against the same bytes.  :class:`UnitOutputs` is that
layout for :func:`irpipe.runtime.cluster.run_stage`; :class:`ModuleStage` the
stage shape of ``irpipe featurize``, ``label``, ``measure`` and ``measure-mlir``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Iterable

import pyarrow as pa

from irpipe.runtime import files
from irpipe.errors import IrpipeError, SchemaError
from irpipe.runtime import shards
from irpipe.runtime.failures import failure_row
from irpipe.runtime.stage import Row, StageResult
from irpipe.schema import TABLES, stamped, to_table

DEFAULT_UNIT_ROWS = 256
#: MODULES columns every output row carries along (splits are by package).
KEYS = ("package_name", "recipe_id", "language")


@dataclass(frozen=True)
class Unit:
    """Rows [start, stop) of one input shard; ``id`` is stable across runs."""

    shard: str          # absolute path of the input shard
    relpath: str        # shard path relative to the dataset, e.g. "c/train-00000.parquet"
    start: int
    stop: int
    shard_sha256: str

    @property
    def id(self) -> str:
        return f"{self.relpath[:-len('.parquet')]}-r{self.start:07d}"

    def output(self, out: Path, kind: str) -> Path:
        return Path(out) / kind / f"{self.id}.parquet"

    def marker(self, out: Path) -> Path:
        return Path(out) / "done" / (self.id.replace("/", "__") + ".json")


def plan_units(dataset: str | Path, rows_per_unit: int = DEFAULT_UNIT_ROWS) -> list[Unit]:
    """Cut every module shard of ``dataset`` into units of at most ``rows_per_unit`` rows."""
    dataset = Path(dataset)
    units = []
    for f in shards.shard_files(dataset):
        with shards.open_shard(f, "modules", allow_compile=True) as pf:  # checked before any job starts
            rows = pf.metadata.num_rows
        rel = str(f.relative_to(dataset)) if f != dataset else f.name
        digest = shards.sha256_file(f)
        units += [Unit(str(f.resolve()), rel, s, min(rows, s + rows_per_unit), digest)
                  for s in range(0, rows, rows_per_unit)]
    return units


def is_done(out: Path, unit: Unit) -> bool:
    """True when ``unit`` finished against the same input bytes."""
    m = unit.marker(out)
    return m.is_file() and json.loads(m.read_text()).get("shard_sha256") == unit.shard_sha256


def write_unit(out: Path, unit: Unit, outputs: dict[str, list[dict]], info: dict[str, Any]
               ) -> dict[str, Any]:
    """Write a unit's tables (kind -> rows) atomically, then its done marker; return the marker."""
    info = {"unit": unit.id, "input": unit.relpath, "start": unit.start, "stop": unit.stop,
            "shard_sha256": unit.shard_sha256, **info, "files": {}}
    for kind, rows in outputs.items():
        path = unit.output(out, kind)
        info["files"][kind] = {"path": str(path.relative_to(out)), "rows": len(rows),
                               "sha256": shards.write_parquet(to_table(rows, kind), path)}
    files.atomic_write_bytes(unit.marker(out), json.dumps(info, indent=1).encode())
    return info


@dataclass(frozen=True)
class UnitOutputs:
    """A unit job's output directory as :func:`irpipe.runtime.cluster.run_stage` writes it: per unit
    one file per table kind of the result, ``failures`` always, then the done marker."""

    root: Path
    desc: str = "modules"
    unit: str = "mod"

    def key(self, unit: Unit) -> str:
        return unit.id

    def size(self, unit: Unit) -> int:
        return unit.stop - unit.start

    def is_done(self, unit: Unit) -> bool:
        return is_done(self.root, unit)

    def clean(self) -> None:
        shards.clean_temporaries(self.root)

    def write(self, unit: Unit, result: StageResult) -> dict[str, Any]:
        return write_unit(self.root, unit, {**result.rows, "failures": result.failures}, result.stats)

    def lost(self, unit: Unit, error: str) -> list[Row]:
        """One "worker" row, in the unit's failures file (no done marker: a re-run redoes the unit
        and replaces the file)."""
        rows = [failure_row(unit.id, "worker", error)]
        if not is_done(self.root, unit):
            shards.write_parquet(to_table(rows, "failures"), unit.output(self.root, "failures"))
        return rows


class ModuleStage:
    """A stage over units that handles each wanted MODULES row on its own; ``setup()`` once per worker.

    Subclasses set ``name`` (the FAILURES stage), ``ir_kind`` (the rows they read), ``outputs``
    (the table kinds they write) and implement :meth:`resources` (what their IR kind needs on a
    worker, e.g. an isolated LLVM child), :meth:`module` and :meth:`stats`.  A module that raises
    :class:`IrpipeError` becomes one failure row; the unit goes on.
    """

    name = "?"
    ir_kind = "llvm"
    outputs: tuple[str, ...] = ()

    def __init__(self, options: Any = None):
        self.options = options
        self.worker: Any = None  # what resources() made, while set up
        self.counters = {"modules": 0, "failed": 0}
        self._stack: contextlib.ExitStack | None = None

    def resources(self) -> ContextManager[Any]:
        """A context manager whose value :meth:`module` uses as ``self.worker``."""
        raise NotImplementedError

    def setup(self) -> None:
        """Make the stage's resources (kept until :meth:`close`)."""
        if self._stack is None:
            stack = contextlib.ExitStack()
            self.worker = stack.enter_context(self.resources())
            self._stack = stack

    def close(self) -> None:
        """Release the resources (idempotent)."""
        stack, self._stack, self.worker = self._stack, None, None
        if stack is not None:
            stack.close()

    def wanted(self, row: Row) -> bool:
        """Whether to process ``row``: rows of the stage's IR kind (a null ir_kind is a v1 LLVM row)."""
        return (row.get("ir_kind") or "llvm") == self.ir_kind

    def module(self, row: Row, name: str) -> dict[str, list[Row]]:
        """Output rows, by table kind, of one MODULES row."""
        raise NotImplementedError

    def stats(self, rows: dict[str, list[Row]], failures: list[Row]) -> dict[str, Any]:
        """The counters of a unit's done marker."""
        raise NotImplementedError

    def process(self, unit: Unit) -> StageResult:
        """Rows (by kind) and failure rows of ``unit``."""
        assert self._stack is not None, "call setup() first"
        table = shards.read_rows(unit.shard, unit.start, unit.stop, allow_compile=True)
        result = StageResult({kind: [] for kind in self.outputs})
        for row in table.to_pylist():
            if not self.wanted(row):
                continue
            name = f"{row.get('recipe_id') or unit.relpath}:{row.get('object_path') or '?'}"
            try:
                made = self.module(row, name)
            except IrpipeError as exc:  # bad module, not runnable, baseline failed: one row
                self.counters["failed"] += 1
                result.failures.append(failure_row(row.get("recipe_id") or unit.relpath, self.name, str(exc),
                                                   object_path=row.get("object_path")))
                continue
            self.counters["modules"] += 1
            for kind, rows in made.items():
                result.rows.setdefault(kind, []).extend(rows)
        result.stats = self.stats(result.rows, result.failures)
        return result


def finalize(out: Path, dataset: str | Path, units: list[Unit], kind: str,
             sums: Iterable[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write OUT/manifest.json from the done markers (the last file a job writes)."""
    out = Path(out)
    done = [json.loads(u.marker(out).read_text()) for u in units if is_done(out, u)]
    manifest = {
        "kind": kind, "dataset": str(Path(dataset).resolve()), **(extra or {}), "units": done,
        "not_finished": sorted(u.id for u in units if not is_done(out, u)),
        "totals": {"units": len(units), "units_done": len(done),
                   **{k: sum(d.get(k, 0) for d in done) for k in sums}},
    }
    return shards.write_manifest(out, manifest)


def read_table(out: str | Path, kind: str) -> pa.Table:
    """All ``kind`` rows of a job's output directory (one stamped table)."""
    out = Path(out)
    if not any((out / name).exists() for name in (kind, "manifest.json", "done")):
        raise SchemaError(f"{files.shown(out)}: not the output of an irpipe job (no {kind}/, no "
                          "manifest.json); give the directory irpipe label, measure or measure-mlir wrote")
    tables = [shards.read_shard(f, kind) for f in sorted((out / kind).rglob("*.parquet"))]  # each checked
    if not tables:
        return stamped(TABLES[kind], kind).empty_table()
    return pa.concat_tables(tables)
