"""irpipe measure: the full candidate matrix, bad modules as failure rows, equal to opt-22."""

from __future__ import annotations

import json
from pathlib import Path

from irpipe.runtime.units import read_table
from irpipe.label import vocab
from irpipe.label.matrix import MeasureOptions, Measurer
from irpipe.runtime.units import plan_units
from irpipe.llvm.tools import Toolchain
from irpipe.schema import validate
from irpipe.testing.factories import SIMPLE_IR, many_ir, module_rows, write_dataset
from irpipe.testing.jobs import measure

PIPELINES = ["default<Oz>", "default<O3>", "function(mem2reg),default<Oz>", "verify"]


def test_measure_job_matrix_and_bad_rows(tmp_path: Path) -> None:
    bad = dict(module_rows({"bad.c": SIMPLE_IR})[0], structural_hash="bad", object_path="bad.o")
    bad["content"] = bad["content"][:40]
    ds = write_dataset(tmp_path / "ds", many_ir(3), extra_rows=[bad])
    pfile = vocab.save(vocab.PipelineSet(PIPELINES), tmp_path / "p.json")
    proc = measure(ds, pfile, tmp_path / "out", "--rows-per-unit", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = read_table(tmp_path / "out", "measurements")
    validate(table, "measurements")
    rows = table.to_pylist()
    assert len(rows) == 3 * len(PIPELINES)
    assert all(r["error"] is None and r["text_bytes"] > 0 for r in rows)
    assert {tuple(r["actions"]) for r in rows if r["pipeline"] == PIPELINES[2]} == {("mem2reg", "default<Oz>")}
    fails = read_table(tmp_path / "out", "failures").to_pylist()
    assert [f["object_path"] for f in fails] == ["bad.o"] and fails[0]["stage"] == "measure"
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["evaluations"] == 12


def test_measurer_counts_equal_opt(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", {"a.c": SIMPLE_IR})
    m = Measurer(MeasureOptions(tuple(PIPELINES[:2]), object_file=False))
    m.setup()
    try:
        res = m.process(plan_units(ds)[0])
    finally:
        m.close()
    rows, fails = res.rows["measurements"], res.failures
    assert not fails and [r["text_bytes"] for r in rows] == [None, None]
    tools = Toolchain()
    for r in rows:
        proc = tools.run("opt", [f"-passes={r['pipeline']}", "-S", "-", "-o", "-"], input=SIMPLE_IR.encode())
        text = proc.stdout.decode()
        body = [ln for ln in text.splitlines() if ln.startswith("  ") and not ln.strip().startswith(";")]
        assert r["instructions"] == len(body)
        assert r["input_instructions"] == 8  # add ret | br phi add icmp br ret
