"""irpipe.featurize.stages: one unit analyzed directly (setup/process), failures as rows, written by UnitOutputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from irpipe.featurize import stages
from irpipe.llvm import features, graph
from irpipe.runtime.units import UnitOutputs
from irpipe.schema import validate
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, module_rows, write_dataset


def test_process_unit_matches_the_library_and_records_bad_rows(tmp_path: Path) -> None:
    bad = dict(module_rows({"bad.c": SIMPLE_IR})[0], structural_hash="bad", object_path="bad.o")
    bad["content"] = bad["content"][: len(bad["content"]) // 2]   # truncated bitcode
    ds = write_dataset(tmp_path / "ds", {"a.c": SIMPLE_IR, "g.c": GRAPH_IR}, extra_rows=[bad])
    units = stages.plan_units(ds, rows_per_unit=2)
    assert [(u.start, u.stop) for u in units] == [(0, 2), (2, 3)]
    f = stages.Featurizer()
    f.setup()
    try:
        res = f.process(units[0])
        more = f.process(units[1]).failures
    finally:
        f.close()
    feats, graphs, fails = res.rows["features"], res.rows["graphs"], res.failures
    assert len(feats) == len(graphs) == 2 and not fails
    assert len(more) == 1 and more[0]["stage"] == "featurize" and "bitcode" in more[0]["error"]
    assert more[0]["object_path"] == "bad.o" and f.counters["failed"] == 1
    want = features.compute(GRAPH_IR)
    row = next(r for r in feats if "main" in r["functions"])
    assert row["instcount"] == want.instcount.tolist() and row["autophase"] == want.autophase.tolist()
    g = graph.build_graph(GRAPH_IR)
    grow = next(r for r in graphs if r["structural_hash"] == row["structural_hash"])
    assert grow["num_nodes"] == g.num_nodes and np.array_equal(grow["edge_target"], g.edge_target)

    out = tmp_path / "out"
    info = UnitOutputs(out).write(units[0], res)
    assert stages.is_done(out, units[0]) and not stages.is_done(out, units[1])
    assert info["modules"] == 2 and info["instructions"] == sum(r["instcount"][0] for r in feats)
    for kind in ("features", "graphs", "failures"):
        validate(pq.read_table(out / info["files"][kind]["path"]), kind)
    table = stages.read_table(out, "graphs")
    assert table.num_rows == 2
    back = graph.ProgramGraph.from_row(next(r for r in table.to_pylist()
                                            if r["structural_hash"] == row["structural_hash"]))
    assert back.texts == g.texts and np.array_equal(back.edge_position, g.edge_position)
    assert back.to_heterodata()["instruction"].num_nodes == g.count(node_type="instruction")


def test_compile_format_rows_get_a_hash(tmp_path: Path) -> None:
    row = module_rows({"a.c": SIMPLE_IR})[0]
    compile_cols = ["content", "license_expression", "license_source", "license_files",
                    "package_source", "language"]
    path = tmp_path / "compile.parquet"
    pq.write_table(pa.Table.from_pylist([{k: row[k] for k in compile_cols}]), path)
    unit = stages.plan_units(path)[0]
    f = stages.Featurizer()
    f.setup()
    try:
        res = f.process(unit)
    finally:
        f.close()
    assert not res.failures and res.rows["features"][0]["structural_hash"] == row["structural_hash"]
