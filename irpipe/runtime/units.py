"""Units of work over a dataset's module shards, shared by the per-module jobs.

A unit is a row range of one input shard.  Its outputs are one Parquet file per
kind (``OUT/<kind>/<unit id>.parquet``) and, written LAST, a done marker
``OUT/done/<unit id>.json`` naming the input shard's sha256: a re-run skips a
unit only when it finished against the same bytes.  Used by ``irpipe
featurize`` and ``irpipe label``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa

from irpipe.runtime import files
from irpipe.errors import SchemaError
from irpipe.runtime import shards
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
    shards.atomic_write_bytes(unit.marker(out), json.dumps(info, indent=1).encode())
    return info


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
