"""Staged per-package parts, deterministic final shards, the manifest, and the reader.

Layout of an output directory::

    OUT/parts/<recipe>/modules.parquet   one package's rows (written by its worker)
    OUT/parts/<recipe>/failures.parquet
    OUT/parts/<recipe>/done.json         written LAST: the package is finished
    OUT/<language>/train-NNNNN.parquet   final shards (zstd, bounded content bytes)
    OUT/failures.parquet                 every failure row
    OUT/manifest.json                    packages, shards (rows, bytes, sha256), dedup counts

Every file is written to a temporary name in the same directory, fsynced and
renamed, so no reader ever sees a partial file.  The final shards depend only
on the set of finished parts (packages in recipe-id order, rows in part
order, first occurrence of a structural hash wins), so a re-run or a run
disturbed by a lost worker yields the same dataset as an undisturbed one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from irpipe import __version__
from irpipe.runtime import files
from irpipe.runtime.files import atomic_write_bytes
from irpipe.errors import SchemaError
from irpipe.schema import MODULES, SCHEMA_VERSION, check_schema, stamped, to_table

ROW_GROUP_SIZE = 128
ZSTD_LEVEL = 3
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024


def part_dir(out: Path, recipe_id: str) -> Path:
    """Where one package's staged part lives."""
    return Path(out) / "parts" / recipe_id.replace("/", "__")


def write_parquet(table: pa.Table, path: Path) -> str:
    """Atomically write a zstd Parquet file; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as fh:  # a Python file: any file name (pyarrow's paths must be UTF-8)
        pq.write_table(table, fh, compression="zstd", compression_level=ZSTD_LEVEL,
                       row_group_size=ROW_GROUP_SIZE, write_statistics=["structural_hash", "recipe_id"]
                       if "structural_hash" in table.schema.names else True)
        fh.flush()
        os.fsync(fh.fileno())
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    return digest


def read_part(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file this job wrote, opened by Python (any file name: pyarrow's own path
    arguments must be UTF-8)."""
    with open(path, "rb") as fh:
        return pq.read_table(fh, columns=columns)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_done(out: Path, recipe_id: str) -> bool:
    """True when the package's part is complete (its done.json exists)."""
    return (part_dir(out, recipe_id) / "done.json").is_file()


def write_part(out: Path, recipe_id: str, rows: list[dict[str, Any]], failures: list[dict[str, Any]],
               stats: dict[str, Any]) -> None:
    """Stage one package's rows; done.json goes last, so a half-written part is never 'done'."""
    d = part_dir(out, recipe_id)
    write_parquet(to_table(rows, "modules"), d / "modules.parquet")
    write_parquet(to_table(failures, "failures"), d / "failures.parquet")
    atomic_write_bytes(d / "done.json", json.dumps({"recipe_id": recipe_id, **stats}, indent=1).encode())


def clean_temporaries(out: Path) -> int:
    """Remove temporaries left by killed writers; return how many."""
    removed = 0
    for tmp in Path(out).rglob(".*.tmp-*"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


@dataclass
class ShardPlan:
    """Which (part, row) pairs go into which shard file."""

    path: str  # relative to OUT
    sources: list[tuple[str, list[int]]] = field(default_factory=list)  # (part modules.parquet, row indices)
    rows: int = 0
    content_bytes: int = 0


def plan_shards(out: Path, recipe_ids: Iterable[str], max_bytes: int = DEFAULT_SHARD_BYTES
                ) -> tuple[list[ShardPlan], dict[str, Any]]:
    """Deduplicate across packages and assign rows to shards; return plans and counters."""
    out = Path(out)
    seen: set[str] = set()
    plans: dict[str, list[ShardPlan]] = {}
    dropped = 0
    per_package: dict[str, int] = {}
    for rid in sorted(recipe_ids):
        f = part_dir(out, rid) / "modules.parquet"
        meta = read_part(f, columns=["structural_hash", "language", "bitcode_size"]).to_pylist()
        kept = 0
        for i, row in enumerate(meta):
            if row["structural_hash"] in seen:
                dropped += 1
                continue
            seen.add(row["structural_hash"])
            kept += 1
            lang = row["language"] or "other"
            shards = plans.setdefault(lang, [])
            if not shards or (shards[-1].rows and shards[-1].content_bytes + row["bitcode_size"] > max_bytes):
                shards.append(ShardPlan(path=f"{lang}/train-{len(shards):05d}.parquet"))
            shard = shards[-1]
            if not shard.sources or shard.sources[-1][0] != str(f):
                shard.sources.append((str(f), []))
            shard.sources[-1][1].append(i)
            shard.rows += 1
            shard.content_bytes += row["bitcode_size"]
        per_package[rid] = kept
    flat = [p for lang in sorted(plans) for p in plans[lang]]
    return flat, {"dropped_across_packages": dropped, "kept_per_package": per_package}


def write_shard(out: Path, plan: ShardPlan) -> dict[str, Any]:
    """Materialize one planned shard atomically; return its manifest entry."""
    tables = [read_part(src).take(pa.array(idx, pa.int64())) for src, idx in plan.sources]
    table = pa.concat_tables(tables).replace_schema_metadata(stamped(MODULES, "modules").metadata)
    path = Path(out) / plan.path
    digest = write_parquet(table, path)
    return {"path": plan.path, "rows": table.num_rows, "content_bytes": plan.content_bytes,
            "file_bytes": path.stat().st_size, "sha256": digest}


def remove_stale_shards(out: Path, keep: set[str]) -> None:
    """Delete shard files of earlier runs that the new plan does not contain."""
    for f in Path(out).glob("*/train-*.parquet"):
        if str(f.relative_to(out)) not in keep:
            f.unlink()


def write_failures(out: Path, recipe_ids: Iterable[str], extra: list[dict[str, Any]]) -> int:
    """Concatenate every part's failures (+ recipe-level ones) into OUT/failures.parquet."""
    tables = [read_part(part_dir(out, r) / "failures.parquet") for r in sorted(recipe_ids)]
    tables.append(to_table(extra, "failures"))
    table = pa.concat_tables(tables).replace_schema_metadata(tables[-1].schema.metadata)
    write_parquet(table, Path(out) / "failures.parquet")
    return table.num_rows


def write_manifest(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Atomically write OUT/manifest.json (the last file a finished job writes); return it."""
    manifest = {"schema_version": SCHEMA_VERSION, "irpipe_version": __version__, **manifest}
    atomic_write_bytes(Path(out) / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


def shard_files(path: str | Path) -> list[Path]:
    """The module shard files of a dataset directory (or a single file)."""
    p = Path(path)
    if not p.is_dir():
        files.stat_path(p, error=SchemaError, what="dataset")
        return [p]  # one shard; open_shard checks it
    found = sorted(p.glob("*/train-*.parquet")) or sorted(p.glob("*.parquet"))
    if not found:
        raise SchemaError(f"{files.shown(p)}: no Parquet shards found")
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def open_shard(path: str | Path, table_name: str = "modules", *, allow_compile: bool = False
               ) -> Iterator[pq.ParquetFile]:
    """Open one Parquet file of ``table_name`` and check it before any row is read: a regular
    file (not a FIFO or a device), readable Parquet, irpipe's schema at a version this irpipe
    reads, every column with its type (:func:`irpipe.schema.check_schema`; ``allow_compile``
    accepts ComPile's release shards).  Each failure is one :class:`SchemaError` naming the file.

        USAGE: with open_shard(f) as pf: pf.metadata.num_rows
    """
    what = f"a Parquet {table_name} file"
    with files.open_regular(path, error=SchemaError, what=what) as fh:  # any file name, not only UTF-8
        try:
            pf = pq.ParquetFile(fh)
            schema = pf.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise SchemaError(f"{files.shown(path)}: not {what} ({_first_line(exc)})") from None
        try:
            check_schema(schema, table_name, allow_compile=allow_compile)
        except SchemaError as exc:
            raise SchemaError(f"{files.shown(path)}: {exc}") from None
        yield pf


def read_shard(path: str | Path, table_name: str = "modules", *, columns: list[str] | None = None,
               allow_compile: bool = False) -> pa.Table:
    """The rows of one checked Parquet file (:func:`open_shard`), or of the ``columns`` it has;
    damaged pages raise :class:`SchemaError` naming the file."""
    with open_shard(path, table_name, allow_compile=allow_compile) as pf:
        if columns is not None:  # those the file has (a ComPile or older shard lacks some)
            columns = [c for c in columns if c in pf.schema_arrow.names]
        try:
            return pf.read(columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise SchemaError(f"{files.shown(path)}: damaged Parquet {table_name} file "
                              f"({_first_line(exc)})") from None


def read_rows(path: str | Path, start: int, stop: int, table_name: str = "modules", *,
              allow_compile: bool = False) -> pa.Table:
    """Rows ``[start, stop)`` of one checked Parquet file (:func:`open_shard`), reading only the
    row groups that hold them (a 256-row unit of a 256 MB shard reads a few MB, not the shard)."""
    with open_shard(path, table_name, allow_compile=allow_compile) as pf:
        meta, first, groups, skipped = pf.metadata, 0, [], 0
        for i in range(meta.num_row_groups):
            n = meta.row_group(i).num_rows
            if first < stop and first + n > start:
                groups.append(i)
            elif not groups:
                skipped += n  # rows of the groups before the first one read
            first += n
        if not groups:
            return pf.schema_arrow.empty_table()
        try:
            table = pf.read_row_groups(groups)
        except (pa.ArrowException, OSError) as exc:
            raise SchemaError(f"{files.shown(path)}: damaged Parquet {table_name} file "
                              f"({_first_line(exc)})") from None
        return table.slice(start - skipped, stop - start)


def read_modules(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """Read module shards (irpipe's, or ComPile's six-column release) as one MODULES table;
    every shard is checked when it is opened (:func:`open_shard`)."""
    tables = []
    for f in shard_files(path):
        t = read_shard(f, "modules", columns=columns or MODULES.names, allow_compile=True)
        cols = {}
        for field_ in MODULES:
            if columns and field_.name not in columns:
                continue
            if field_.name in t.schema.names:
                cols[field_.name] = t.column(field_.name).cast(field_.type)
            else:
                cols[field_.name] = pa.nulls(t.num_rows, field_.type)
        tables.append(pa.table(cols))
    return pa.concat_tables(tables)
