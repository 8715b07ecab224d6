"""The MLIR cost model: examples split by program, training, the analytical baseline, prediction, CLI."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from irpipe.cli.main import main
from irpipe.errors import ModelError
from irpipe.runtime.shards import write_parquet
from irpipe.mlir import ir
from irpipe.mlir.configs import CONFIGS
from irpipe.data.mlir_cost import AnalyticalBaseline, load_examples
from irpipe.schema import to_table
from irpipe.train.mlir_cost import MlirCostConfig, MlirCostPredictor, load_config, train

MATMUL = """module @jit_{name} {{
  func.func public @main(%arg0: tensor<{m}x{k}xf32>, %arg1: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32>
    %1 = stablehlo.{op} %0 : tensor<{m}x{n}xf32>
    return %1 : tensor<{m}x{n}xf32>
  }}
}}
"""


def _dataset(tmp_path: Path) -> tuple[Path, Path]:
    """24 programs x 2 sizes of matmul+elementwise, with synthetic costs ~ flops (config-dependent)."""
    modules, runs = [], []
    for p in range(24):
        op = ("tanh", "exponential", "negate", "abs")[p % 4]
        for size in (8 * (p % 6 + 1), 16 * (p % 6 + 1)):
            m, k, n = size, 2 * size, size + 4 * (p // 6)
            text = ir.inspect(MATMUL.format(name=f"p{p}", m=m, k=k, n=n, op=op)).text
            h = hashlib.sha256(text.encode()).hexdigest()
            modules.append({"content": text.encode(), "structural_hash": h, "package_name": "synthetic",
                            "recipe_id": "jax/synthetic", "language": "python-jax", "source_path": f"prog{p}:f",
                            "object_path": f"prog{p}:f[{size}]", "ir_kind": "mlir", "mlir_level": "source",
                            "dialects": ["func", "stablehlo"]})
            flops = 2.0 * m * k * n
            for i, config in enumerate(CONFIGS):
                runs.append({"structural_hash": h, "package_name": "synthetic", "recipe_id": "jax/synthetic",
                             "language": "python-jax", "source_path": f"prog{p}:f", "config": config,
                             "seconds": 1e-9 * flops * (1 + 0.3 * i), "instructions": int(flops / (1 + i)),
                             "error": None})
    write_parquet(to_table(modules, "modules"), tmp_path / "ds" / "python-jax" / "train-00000.parquet")
    write_parquet(to_table(runs, "mlir_runs"), tmp_path / "runs" / "mlir_runs" / "u0.parquet")
    return tmp_path / "ds", tmp_path / "runs"


def test_examples_are_split_by_program(tmp_path):
    ds, runs = _dataset(tmp_path)
    examples = load_examples(ds, runs)
    assert len(examples) == 48
    split_of = {}
    for e in examples:
        assert split_of.setdefault(e.program, e.split) == e.split   # both sizes of a program together
    assert set(split_of.values()) == {"train", "val", "test"}
    assert examples[0].targets["seconds"].shape == (len(CONFIGS),)


def test_analytical_baseline_fits_flops(tmp_path):
    examples = load_examples(*_dataset(tmp_path))
    base = AnalyticalBaseline().fit(examples)
    pred = base.predict(examples, "instructions")
    err = max(abs(pred[i, 0] - e.targets["instructions"][0]) for i, e in enumerate(examples))
    assert err < 0.2   # log instructions are linear in log flops here


def test_train_save_predict_and_cli(tmp_path, capsys):
    ds, runs = _dataset(tmp_path)
    cfg = MlirCostConfig(dataset=str(ds), runs=str(runs), epochs=30, hidden=16, layers=2)
    metrics = train(cfg, tmp_path / "model", log=lambda _msg: None)
    assert metrics["counts"]["train"]["programs"] > 0 and "test" in metrics
    assert metrics["test"]["seconds_tau_all"] > 0.5
    assert {"seconds_mape", "seconds_tau_configs", "instructions_tau_all"} <= set(metrics["test_analytical"])
    assert (tmp_path / "model" / "model.safetensors").is_file()
    pred = MlirCostPredictor.load(tmp_path / "model").predict(MATMUL.format(name="x", m=32, k=64, n=40, op="tanh"))
    assert set(pred) == set(CONFIGS) and all(v["seconds"] > 0 for v in pred.values())
    src = tmp_path / "x.mlir"
    src.write_text(MATMUL.format(name="x", m=32, k=64, n=40, op="tanh"))
    assert main(["predict-cost", str(src), "--model", str(tmp_path / "model"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"] in CONFIGS and math.isfinite(out["predictions"]["default"]["seconds"])


def test_predict_cost_refuses_other_levels_and_non_models(tmp_path, capsys):
    linalg = tmp_path / "l.mlir"
    linalg.write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                      "  %0 = math.tanh %a : tensor<4xf32>\n  return %0 : tensor<4xf32>\n}\n")
    assert main(["predict-cost", str(linalg), "--model", str(tmp_path)]) == 1
    assert "source-level MLIR" in capsys.readouterr().err
    with pytest.raises(ModelError):
        MlirCostPredictor.load(tmp_path)


def test_config_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('epochs = 3\nhidden = 8\n')
    assert load_config(path, ["lr=0.01"]) == MlirCostConfig(epochs=3, hidden=8, lr=0.01)
    with pytest.raises(Exception, match="unknown config key"):
        path.write_text("epoch = 3\n")
        load_config(path)


def test_the_ranking_loss_sees_what_the_plain_loss_misses():
    """Two predictions with the same plain MSE: the one that ranks one module's configs wrongly costs
    more once the within-module (centred) term is on; NaN targets (failed runs) are masked."""
    import torch

    from irpipe.train.mlir_cost import CostTrainable, _centred

    y = torch.tensor([[[0.0], [1.0], [float("nan")]]])                     # [1 module, 3 configs, 1 target]
    mask = torch.isfinite(y)
    assert torch.allclose(_centred(torch.nan_to_num(y), mask)[mask], torch.tensor([-0.5, 0.5]))
    shifted = torch.tensor([[[0.5], [1.5], [9.0]]])                          # right order, off by 0.5
    swapped = torch.tensor([[[0.5], [0.5], [9.0]]])                          # same plain MSE, order lost
    loss = CostTrainable._objective
    plain, ranked = type("T", (), {"rank_scale": 0.0})(), type("T", (), {"rank_scale": 1.0})()
    assert math.isclose(loss(plain, shifted, y).item(), loss(plain, swapped, y).item())
    assert loss(ranked, shifted, y).item() < loss(ranked, swapped, y).item()
