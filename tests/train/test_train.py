"""irpipe train on the committed sample: checkpoint, plots, resume, reload; DDP equals one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from irpipe.errors import ModelError
from irpipe.train.predict import Predictor
from irpipe.testing.factories import SIMPLE_IR

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny" / "config.toml"
SMALL = ["data.max_modules=48", "train.epochs=2"]


def train(out: Path, *sets: str, resume: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "irpipe.cli.main", "train", "--config", str(TINY), "--out", str(out),
            "--no-progress", *[a for s in sets for a in ("--set", s)]] + (["--resume"] if resume else [])
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    train(out, *SMALL)
    return out


def test_checkpoint_files_and_no_pickle(tiny: Path) -> None:
    names = {p.name for p in tiny.iterdir()}
    assert {"model.safetensors", "model.json", "pipelines.json", "metrics.jsonl", "plots", "last"} <= names
    assert {p.name for p in (tiny / "plots").iterdir()} == {"loss.png", "pred_vs_measured.png"}
    assert not [p for p in tiny.rglob("*") if p.suffix in (".pt", ".pth", ".pkl", ".pickle", ".bin")]
    rows = history(tiny)
    assert [r["epoch"] for r in rows] == [1, 2]
    policy = json.loads((tiny / "model.json").read_text())["policy"]  # calibrated on val
    assert policy["verify"] == 10 and set(policy["picks"]) == {"instcount", "size"}
    assert all(0 <= p <= 9 for p in policy["picks"].values())
    assert all(k in rows[-1] for k in ("train_loss", "val_loss", "val_instcount_tau", "val_size_mape"))


def test_predictor_loads_and_ranks(tiny: Path) -> None:
    p = Predictor.load(tiny)
    pred = p.predict(SIMPLE_IR)
    ranking = pred.ranking("instcount")
    assert sorted(ranking) == sorted(p.pset.pipelines)
    assert pred.predicted("size").shape == (len(p.pset.pipelines),)


def test_resume_continues(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    train(out, *SMALL[:1], "train.epochs=1")
    proc = train(out, *SMALL[:1], "train.epochs=2", resume=True)
    assert "resuming" in proc.stdout
    a, b = history(out), history(tiny)
    assert [r["epoch"] for r in a] == [1, 2]
    assert a[-1]["val_loss"] == pytest.approx(b[-1]["val_loss"], rel=1e-4)  # as if never stopped


def test_refuses_mismatched_or_corrupt_checkpoints(tiny: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    meta = json.loads((bad / "model.json").read_text())
    (bad / "model.json").write_text(json.dumps({**meta, "schema_version": "0"}))
    with pytest.raises(ModelError, match="schema v0"):
        Predictor.load(bad)
    (bad / "model.json").write_text(json.dumps(meta))
    (bad / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="cannot read weights"):
        Predictor.load(bad)
    (bad / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt"):
        Predictor.load(bad)
    with pytest.raises(ModelError, match="does not exist"):
        Predictor.load(tmp_path / "missing")


def test_ray_train_ddp_matches_one_process(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    train(out, *SMALL, "train.workers=2")
    one, two = history(tiny), history(out)
    assert [r["epoch"] for r in two] == [1, 2]
    for a, b in zip(one, two):
        # the same global batches; DDP averages the two half-batch gradients, which equals the
        # whole batch's gradient up to float summation order and unequal halves (odd batches)
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.02)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.01)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "irpipe.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_evaluate_with_committed_measurements(tiny: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = run_cli("evaluate", "--model", str(tiny), "--dataset", "datasets/default/sample",
                   "--measurements", "datasets/default/measurements", "--max-modules", "5",
                   "--baselines", "random", "--json", str(report), "--no-progress")
    assert "cost Kendall tau" in proc.stdout and "random search, 10 compiles" in proc.stdout
    doc = json.loads(report.read_text())
    m = doc["models"][str(tiny)]
    assert doc["modules"] == 5 and m["arch"] == "gnn"
    assert doc["failed"] == 0 and "failed: 0 (0 not measured, 0 not predicted)" in proc.stdout
    for objective in ("instcount", "size"):
        assert m[f"{objective}_policy_top10"] >= 1.0  # -Oz is among the compiles: never worse
        assert m[f"{objective}_oracle"] >= m[f"{objective}_policy_top10"]
        assert doc["baselines"][f"{objective}_random_10"] >= 1.0


def test_evaluate_measures_a_held_out_dataset(tiny: Path, tmp_path: Path) -> None:
    from irpipe.testing.factories import many_ir, write_dataset

    ds = write_dataset(tmp_path / "held-out", many_ir(3))
    proc = run_cli("evaluate", "--model", str(tiny), "--dataset", str(ds), "--split", "all",
                   "--work", str(tmp_path / "work"), "--baselines", "", "--no-progress")
    assert "3 modules of 1 packages (split all)" in proc.stdout
    assert (tmp_path / "work" / "manifest.json").is_file()
