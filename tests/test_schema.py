"""irpipe.schema: declared tables, version stamps, and the committed sample's conformance."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from irpipe.errors import SchemaError
from irpipe.extract.card import summarize
from irpipe.runtime.shards import read_modules
from irpipe.llvm import ir
from irpipe.schema import COMPILE_COLUMNS, MODULES, RUNTIME, SCHEMA_VERSION, to_table, validate
from irpipe.testing.factories import SIMPLE_IR, module_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets" / "default" / "sample"


def test_compile_columns_come_first() -> None:
    assert tuple(MODULES.names[:6]) == COMPILE_COLUMNS


def test_to_table_refuses_unknown_columns_and_bad_types() -> None:
    row = module_rows({"m": SIMPLE_IR})[0]
    with pytest.raises(SchemaError, match="unknown column"):
        to_table([{**row, "extra": 1}], "modules")
    with pytest.raises(SchemaError, match="do not fit"):
        to_table([{**row, "bitcode_size": "big"}], "modules")
    t = to_table([row], "modules")
    assert t.schema.metadata[b"irpipe.schema_version"] == SCHEMA_VERSION.encode()


def test_runtime_table() -> None:
    ok = {"program": "gen-s0-0000-stencil", "family": "stencil", "candidate": "O3", "pipeline": "-O3",
          "args": ["1000", "40"], "cpu_s": 0.41, "repeats": 5, "cpu_runs": [0.41, 0.4, 0.42, 0.41, 0.43],
          "count_args": ["1000", "1"], "proxy_cycles": 1.5e6, "ir": 10**6, "d1mr": 12, "dlmr": 3, "bcm": 40,
          "bim": 1, "output_sha256": "ab" * 32}
    failed = {"program": "gen-s0-0000-stencil", "candidate": "O1", "error": "output differs from the -O0 build's"}
    t = to_table([ok, failed], "runtime")
    validate(t, "runtime")
    assert t.schema.names[:3] == ["program", "family", "candidate"] and RUNTIME.field("cpu_s").type == "double"
    assert t.column("cpu_s").to_pylist() == [0.41, None]
    with pytest.raises(SchemaError, match="do not fit"):
        to_table([{**ok, "ir": "many"}], "runtime")
    with pytest.raises(SchemaError, match="nulls in a non-nullable"):
        validate(to_table([{**ok, "candidate": None}], "runtime"), "runtime")


def test_committed_sample_conforms() -> None:
    files = sorted(SAMPLE.glob("*/train-*.parquet"))
    assert files and sum(f.stat().st_size for f in files) < 20 * 1024 * 1024
    for f in files:
        validate(pq.read_table(f), "modules")
    t = read_modules(SAMPLE)
    assert set(t.column("language").to_pylist()) >= {"c", "c++", "rust", "python-numba"}
    assert len(set(t.column("structural_hash").to_pylist())) == t.num_rows
    for row in t.slice(0, 25).to_pylist():  # stored facts agree with a fresh parse
        info = ir.inspect(row["content"])
        assert (info.structural_hash, info.instruction_count) == (row["structural_hash"], row["instruction_count"])


def test_default_manifest_and_summary() -> None:
    manifest = json.loads((ROOT / "datasets" / "default" / "manifest.json").read_text())
    ok = [p for p in manifest["packages"] if p["status"] == "ok"]
    by_kind = {k: sum(p["source_kind"] == k for p in ok) for k in ("debian", "pypi", "debian-crate", "numba")}
    assert by_kind["debian"] >= 40 and by_kind["pypi"] >= 20 and by_kind["debian-crate"] >= 5
    s = summarize(SAMPLE)
    assert s["modules"] == read_modules(SAMPLE, columns=["language"]).num_rows
