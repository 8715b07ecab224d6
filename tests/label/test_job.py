"""irpipe label as a Ray job: bad rows recorded, driver killed and resumed, a node lost."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from irpipe.runtime.units import read_table
from irpipe.schema import validate
from irpipe.testing.factories import SIMPLE_IR, many_ir, module_rows, write_dataset
from irpipe.testing.jobs import label, run_with_a_node_killed

ARGS = ("--budget", "30", "--rows-per-unit", "2", "--seed", "5")


def labels_of(out: Path) -> dict[str, tuple[str, float]]:
    t = read_table(out, "labels")
    validate(t, "labels")
    return {r["structural_hash"]: (r["best_pipeline"], r["best_metric"]) for r in t.to_pylist()}


def test_labels_resume_and_bad_rows(tmp_path: Path) -> None:
    bad = dict(module_rows({"bad.c": SIMPLE_IR})[0], structural_hash="bad", object_path="bad.o")
    bad["content"] = bad["content"][:40]
    ds = write_dataset(tmp_path / "ds", many_ir(9), extra_rows=[bad])
    ref = label(ds, tmp_path / "ref", *ARGS)
    assert ref.returncode == 0, ref.stderr[-3000:]
    expected = labels_of(tmp_path / "ref")
    assert len(expected) == 9
    rows = read_table(tmp_path / "ref", "labels").to_pylist()
    assert all(r["best_metric"] <= r["baselines"]["Oz"] and r["evaluations"] <= 30 for r in rows)
    fails = read_table(tmp_path / "ref", "failures").to_pylist()
    assert [f["object_path"] for f in fails] == ["bad.o"] and fails[0]["stage"] == "label"

    out = tmp_path / "out"
    proc = label(ds, out, *ARGS, wait=False)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "done").glob("*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    again = label(ds, out, *ARGS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert labels_of(out) == expected                  # seeded search: the same labels


def test_runtime_objective_on_libraries_records_failures(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", many_ir(2))
    proc = label(ds, tmp_path / "out", "--objective", "runtime", "--budget", "8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    fails = read_table(tmp_path / "out", "failures").to_pylist()
    assert len(fails) == 2 and all("does not build (no main()?)" in f["error"] for f in fails)


def test_worker_node_killed_mid_job(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", many_ir(8))
    ref = label(ds, tmp_path / "ref", *ARGS)
    assert ref.returncode == 0, ref.stderr[-3000:]
    out = tmp_path / "out"
    run_with_a_node_killed(lambda address: label(ds, out, *ARGS, "--address", address, wait=False),
                           "done/*.json", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["not_finished"]
    assert labels_of(out) == labels_of(tmp_path / "ref")
