"""irpipe.runtime.shards + dataset: staged parts, deterministic dedup'd shards, manifest, readers."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from irpipe.errors import SchemaError
from irpipe.runtime import shards
from irpipe.extract.dataset import finalize
from irpipe.extract.recipes import Recipe
from irpipe.schema import COMPILE_COLUMNS, SCHEMA_VERSION, validate
from irpipe.testing.factories import SIMPLE_IR, module_rows

IR_A = "define i32 @a(i32 %x) {\n  %y = mul i32 %x, 7\n  ret i32 %y\n}\n"
IR_B = "define i32 @b(i32 %x) {\n  %y = sub i32 %x, 7\n  ret i32 %y\n}\n"


def _recipe(rid: str) -> Recipe:
    return Recipe(id=rid, name=rid.split("/")[-1], version="1", source_kind="local", build_kind="make")


def _dataset(out: Path) -> dict:
    shards.write_part(out, "t/p1", module_rows({"simple": SIMPLE_IR, "a": IR_A}, package="p1"), [],
                      {"status": "ok"})
    # p2 repeats IR_A (renamed values): dropped across packages; its IR_B is kept
    rows = module_rows({"a2": IR_A.replace("%y", "%z"), "b": IR_B}, package="p2", language="c++")
    shards.write_part(out, "t/p2", rows, [], {"status": "ok"})
    return finalize(out, [_recipe("t/p1"), _recipe("t/p2")], [], max_shard_bytes=1)


def test_finalize_dedups_and_writes_manifest(tmp_path: Path) -> None:
    m = _dataset(tmp_path)
    assert m["totals"]["modules"] == 3 and m["totals"]["dedup_dropped_across_packages"] == 1
    assert m["schema_version"] == SCHEMA_VERSION
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/train-*.parquet"))
    assert files == ["c++/train-00000.parquet", "c/train-00000.parquet", "c/train-00001.parquet"]  # 1-byte bound
    for entry in m["shards"]:
        assert shards.sha256_file(tmp_path / entry["path"]) == entry["sha256"]
        validate(pq.read_table(tmp_path / entry["path"]), "modules")
    assert json.loads((tmp_path / "manifest.json").read_text())["totals"] == m["totals"]
    meta = pq.read_metadata(tmp_path / "c/train-00000.parquet")
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_finalize_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    m1 = _dataset(tmp_path / "x")
    m2 = _dataset(tmp_path / "y")
    again = finalize(tmp_path / "x", [_recipe("t/p1"), _recipe("t/p2")], [], max_shard_bytes=1)
    sha = lambda m: [(s["path"], s["sha256"]) for s in m["shards"]]  # noqa: E731
    assert sha(m1) == sha(m2) == sha(again)


def test_no_temporaries_survive(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".train-00000.parquet.tmp-dead").write_bytes(b"partial")
    assert shards.clean_temporaries(tmp_path) == 1
    _dataset(tmp_path)
    assert not list(tmp_path.rglob(".*.tmp-*"))


def test_reader_accepts_compile_release_format(tmp_path: Path) -> None:
    rows = module_rows({"a": IR_A})
    compile_only = pa.table({c: [rows[0][c]] for c in COMPILE_COLUMNS})  # no irpipe metadata
    pq.write_table(compile_only, tmp_path / "compile.parquet")
    t = shards.read_modules(tmp_path / "compile.parquet")
    assert t.num_rows == 1 and t.column("content")[0].as_py() == rows[0]["content"]
    assert t.column("structural_hash").null_count == 1


def test_reader_refuses_other_versions(tmp_path: Path) -> None:
    t = pa.table({"x": [1]}).replace_schema_metadata({b"irpipe.schema": b"modules", b"irpipe.schema_version": b"0"})
    pq.write_table(t, tmp_path / "old.parquet")
    with pytest.raises(SchemaError, match="schema version 0"):
        shards.read_modules(tmp_path / "old.parquet")


def test_interop_pyarrow_duckdb_hf(tmp_path: Path) -> None:
    _dataset(tmp_path)
    files = [str(p) for p in sorted(tmp_path.glob("*/train-*.parquet"))]
    import duckdb
    import pyarrow.dataset as ds

    assert ds.dataset(files, format="parquet").count_rows() == 3
    ((n,),) = duckdb.sql(f"SELECT count(DISTINCT structural_hash) FROM read_parquet({files!r})").fetchall()
    assert n == 3
    from datasets import load_dataset

    hf = load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert hf.num_rows == 3 and set(COMPILE_COLUMNS) <= set(hf.column_names)


def test_read_rows_reads_only_the_row_groups_of_the_range(tmp_path, monkeypatch) -> None:
    """A unit's rows come from the row groups that hold them, equal to slicing the whole shard."""
    import pyarrow.parquet as pq

    from irpipe.runtime import shards as shards_mod
    from irpipe.schema import to_table

    monkeypatch.setattr(shards_mod, "ROW_GROUP_SIZE", 10)
    rows = [{"content": f"m{i}".encode(), "structural_hash": f"{i:032x}", "recipe_id": "r", "ir_kind": "llvm"}
            for i in range(45)]
    path = tmp_path / "train-00000.parquet"
    shards_mod.write_parquet(to_table(rows, "modules"), path)
    whole = shards_mod.read_shard(path)
    read_groups = []
    real = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups",
                        lambda self, groups, *a, **k: read_groups.append(list(groups)) or real(self, groups, *a, **k))
    for start, stop in ((0, 10), (12, 27), (40, 45), (44, 60), (5, 5)):
        got = shards_mod.read_rows(path, start, stop)
        assert got.to_pylist() == whole.slice(start, max(0, min(stop, 45) - start)).to_pylist()
    assert read_groups[:3] == [[0], [1, 2], [4]]
