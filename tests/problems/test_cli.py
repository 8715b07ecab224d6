"""One CLI shape: irpipe train/predict/evaluate --problem NAME, and the aliases that remain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irpipe.cli.main import main
from irpipe.data.examples import OBJECTIVES
from irpipe.testing.factories import SIMPLE_IR

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "tests" / "lit" / "predict-cost.test"  # a StableHLO module behind `//` comments


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    """The JSON a command prints (train: its last line, after the epochs' lines)."""
    assert main(list(argv)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return json.loads(out.splitlines()[-1] if argv[0] == "train" else out)


def test_predict_phase_order_lists_the_pipelines_to_compile(tmp_path: Path, capsys) -> None:
    src = tmp_path / "m.ll"
    src.write_text(SIMPLE_IR)
    out = run_json(capsys, "predict", str(src), "--json")
    assert set(out["objectives"]) == {o for o, _ in OBJECTIVES} and out["arch"] == "gnn"
    for doc in out["objectives"].values():
        assert len(doc["verify"]) == 10 and doc["verify"][0]["pipeline"] == "default<Oz>"
        assert all(row["predicted"] > 0 for row in doc["verify"])
    assert main(["predict", "--problem", "phase-order", str(src)]) == 0
    assert "instcount: compile these 10 pipelines" in capsys.readouterr().out


def test_predict_mlir_cost_is_predict_cost(capsys) -> None:
    alias = run_json(capsys, "predict-cost", str(MLP), "--json")
    assert run_json(capsys, "predict", "--problem", "mlir-cost", str(MLP), "--json") == alias


def test_predict_inliner_compiles_with_the_policy(tmp_path: Path, capsys) -> None:
    src = tmp_path / "m.ll"
    src.write_text(SIMPLE_IR.replace("define i32 @add", "define internal i32 @add")
                   + "define i32 @use(i32 %x) {\n  %r = call i32 @add(i32 %x, i32 1)\n  ret i32 %r\n}\n")
    out = run_json(capsys, "predict", "--problem", "inliner", str(src), "--json")
    assert out["default"]["decisions"] >= 1 and out["policy"]["decisions"] >= 1
    assert out["default"]["text_bytes"] > 0 and out["gain"] > 0


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_unknown_problem_is_one_line(command: str, capsys) -> None:
    argv = [command, "--problem", "nope"] + {"predict": [str(MLP)], "evaluate": ["--dataset", str(ROOT)]}.get(command, [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"irpipe {command}: error: unknown problem 'nope'; known: inliner, loop-decisions, mlir-cost, phase-order\n"


def test_mlir_cost_train_resume_evaluate_on_the_one_loop(mlir_dataset: tuple[Path, Path], tmp_path: Path,
                                                        capsys) -> None:
    ds, runs = mlir_dataset
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'dataset = "{ds}"\nruns = "{runs}"\nhidden = 8\nlayers = 1\nepochs = 2\n')
    out = tmp_path / "model"
    done = run_json(capsys, "train", "--problem", "mlir-cost", "--config", str(cfg), "--out", str(out))
    assert done["problem"] == "mlir-cost" and "test" in done["metrics"]
    meta = json.loads((out / "model.json").read_text())
    assert (meta["format"], meta["version"], meta["problem"], meta["config"]["epochs"]) == ("irpipe-model", 2,
                                                                                         "mlir-cost", 2)
    assert (out / "last" / "train_state.json").is_file()
    run_json(capsys, "train", "--problem", "mlir-cost", "--config", str(cfg), "--out", str(out),
             "--set", "epochs=3", "--resume")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    report = tmp_path / "r.json"
    assert main(["evaluate", "--problem", "mlir-cost", "--model", str(out), "--dataset", str(ds), "--split", "all",
                 "--json", str(report)]) == 0
    assert "failed: 0" in capsys.readouterr().out
    doc = json.loads(report.read_text())
    assert doc["failed"] == 0 and doc["modules"] == 32 and doc["models"][str(out)]["modules"] == 32
    assert "seconds_tau_configs" in doc["analytical"]
