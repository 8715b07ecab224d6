"""Labels by native execution: IREE compiles a module per config; CPU time and callgrind counts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from irpipe.errors import LoweringError
from irpipe.mlir.configs import CONFIGS, config_flags
from irpipe.label.measure_mlir import MlirRunner, make_inputs
from irpipe.testing.gates import requires_llvm

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")


def _row(text: str) -> dict:
    return {"content": text.encode(), "structural_hash": hashlib.sha256(text.encode()).hexdigest(),
            "package_name": "p", "recipe_id": "r", "language": "python-jax", "source_path": "m:f",
            "object_path": "m:f[...]"}


@requires_llvm
@needs_valgrind
def test_runs_give_time_and_deterministic_instruction_counts(tmp_path, mlp_text, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative work directory (as `--out runs` gives) must work too
    runner = MlirRunner(work=Path("work"), configs=("default", "unroll"), repetitions=2, min_time=0.01)
    rows = runner.process(_row(mlp_text))
    assert [r["config"] for r in rows] == ["default", "unroll"]
    for r in rows:
        assert r["error"] is None, r["error"]
        assert 0 < r["seconds"] < 0.01 and r["repetitions"] == 2
        assert r["instructions"] > 100 and r["vmfb_bytes"] > 0
        assert r["flags"] == config_flags(r["config"])
    again = runner.process(_row(mlp_text))
    for a, b in zip(rows, again):  # callgrind inside iree_vm_invoke only: the same to a few instructions
        assert abs(a["instructions"] - b["instructions"]) <= 0.01 * a["instructions"]
    assert not list((tmp_path / "work").iterdir())  # scratch removed


@requires_llvm
def test_a_module_that_cannot_run_gives_error_rows_not_exceptions(tmp_path, mlp_text):
    runner = MlirRunner(work=tmp_path, configs=("default",), repetitions=1, min_time=0.01, callgrind=False)
    bad = runner.process(_row("func.func @main( {"))
    assert bad[0]["error"].startswith("m:f[...]: ") and bad[0].get("seconds") is None
    custom = mlp_text.replace("stablehlo.tanh %0 : tensor<8x4xf32>",
                              'stablehlo.custom_call @no_such_kernel(%0) : (tensor<8x4xf32>) -> tensor<8x4xf32>')
    rows = runner.process(_row(custom))
    assert rows[0]["error"].startswith("compile: ") and rows[0].get("seconds") is None


def test_inputs_are_seeded_and_typed(tmp_path):
    paths = make_inputs(["tensor<4x3xf32>", "tensor<5xi32>", "tensor<i1>"], tmp_path, seed=7)
    a, b, c = (np.load(p) for p in paths)
    assert a.shape == (4, 3) and a.dtype == np.float32 and b.dtype == np.int32 and c.shape == ()
    again = make_inputs(["tensor<4x3xf32>"], tmp_path / "x", seed=7)
    assert np.array_equal(np.load(again[0]), a)
    with pytest.raises(LoweringError, match="static tensors"):
        make_inputs(["tensor<?x3xf32>"], tmp_path, seed=0)


def test_configs_are_named_flag_sets():
    assert "default" in CONFIGS and config_flags("default")[-1].startswith("--iree-llvmcpu-target-cpu")
    with pytest.raises(KeyError, match="unknown MLIR compile config"):
        config_flags("O9")


def test_known_runs_are_reused_not_rerun(tmp_path, mlp_text):
    row = _row(mlp_text)
    known = {(row["structural_hash"], "default"): {"config": "default", "seconds": 1.0, "instructions": 5,
                                                    "error": None, "source_path": "old"}}
    runner = MlirRunner(work=tmp_path, configs=("default",), callgrind=False, known=known)
    runner.tools = object()  # type: ignore[assignment] - a reuse must not touch any tool
    out = runner.process(row)
    assert out == [{"config": "default", "seconds": 1.0, "instructions": 5, "error": None,
                    **{k: row[k] for k in ("structural_hash", "package_name", "recipe_id", "language",
                                           "source_path")}}]
