"""irpipe featurize as a Ray job: progress to the end, resume after a SIGKILLed driver."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from irpipe.featurize import stages
from irpipe.testing.factories import many_ir, write_dataset
from irpipe.testing.jobs import featurize, run_with_a_node_killed


def hashes(out: Path, kind: str) -> list[str]:
    return sorted(stages.read_table(out, kind).column("structural_hash").to_pylist())


def test_killed_driver_then_rerun_equals_undisturbed_run(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds", many_ir(24))
    ref = featurize(ds, tmp_path / "ref", "--rows-per-unit", "2")
    assert ref.returncode == 0, ref.stderr[-3000:]
    expected = hashes(tmp_path / "ref", "features")
    assert len(expected) == len(set(expected)) == 24
    assert hashes(tmp_path / "ref", "graphs") == expected
    totals = json.loads((tmp_path / "ref" / "manifest.json").read_text())["totals"]
    assert totals["units_done"] == 12 and totals["modules"] == 24 and totals["failed"] == 0

    out = tmp_path / "out"
    proc = featurize(ds, out, "--rows-per-unit", "2", wait=False)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "done").glob("*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = len(list((out / "done").glob("*.json")))
    again = featurize(ds, out, "--rows-per-unit", "2")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert hashes(out, "features") == expected and hashes(out, "graphs") == expected
    assert finished_before >= 1
    # a second re-run has nothing to do and changes nothing
    assert featurize(ds, out, "--rows-per-unit", "2").returncode == 0
    assert hashes(out, "features") == expected


def test_worker_node_killed_mid_job(tmp_path: Path) -> None:
    """A node SIGKILLed mid-job: its units are retried elsewhere; the output equals an undisturbed run."""
    import shutil

    from irpipe.testing.factories import SAMPLE_DIR

    ds = tmp_path / "ds" / "c"
    ds.mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "c" / "train-00000.parquet", ds / "train-00000.parquet")
    ref = featurize(ds.parent, tmp_path / "ref", "--rows-per-unit", "40")
    assert ref.returncode == 0, ref.stderr[-3000:]
    out = tmp_path / "out"
    run_with_a_node_killed(lambda address: featurize(ds.parent, out, "--rows-per-unit", "40",
                                                     "--address", address, wait=False),
                           "done/*.json", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["not_finished"] and manifest["totals"]["modules"] == 537
    assert hashes(out, "features") == hashes(tmp_path / "ref", "features")
    assert hashes(out, "graphs") == hashes(tmp_path / "ref", "graphs")
