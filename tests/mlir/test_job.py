"""MLIR through the same Ray jobs as LLVM: one extract run over a JAX and a C recipe, then measure-mlir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from irpipe.runtime.units import read_table
from irpipe.runtime.shards import read_modules
from irpipe.testing.factories import c_tree, recipe
from irpipe.testing.gates import requires_llvm, requires_root
from irpipe.testing.jobs import extract

PROGRAM = '''
import jax.numpy as jnp

def softmax(x):
    e = jnp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def fails(x):
    raise RuntimeError("cannot trace")
'''


@requires_llvm
@requires_root
def test_mixed_dataset_then_measure_mlir(tmp_path: Path) -> None:
    r = tmp_path / "recipes"
    c_tree(tmp_path / "c", {"a.c": "int a(int x) { return x + 1; }\n"})
    recipe(r / "c.toml", "cpkg", src="../c")
    (tmp_path / "jx").mkdir()
    (tmp_path / "jx" / "k.py").write_text(PROGRAM)
    recipe(r / "jx.toml", "jxpkg", src="../jx", build="jax",
           extra='[jax.functions]\n"k:softmax" = ["f32[4,8]", "f32[16,32]"]\n"k:fails" = ["f32[2]"]')
    proc = extract(r, tmp_path / "ds")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mods = read_modules(tmp_path / "ds").to_pylist()
    kinds = {(m["package_name"], m["ir_kind"]) for m in mods}
    assert kinds == {("cpkg", "llvm"), ("jxpkg", "mlir")}
    sources = [m for m in mods if m["mlir_level"] == "source"]
    assert len(sources) == 2 and all(m["dialects"] == ["func", "stablehlo"] for m in sources)
    info = subprocess.run([sys.executable, "-m", "irpipe.cli.main", "info", str(tmp_path / "ds")],
                          capture_output=True, text=True, check=True).stdout
    assert "| source | 2 |" in info and "| vm | 2 |" in info

    argv = [sys.executable, "-m", "irpipe.cli.main", "measure-mlir", "--dataset", str(tmp_path / "ds"),
            "--out", str(tmp_path / "runs"), "--configs", "default", "unroll", "--no-callgrind",
            "--repetitions", "1", "--min-time", "0.01", "--no-progress"]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = read_table(tmp_path / "runs", "mlir_runs").to_pylist()
    assert len(runs) == 4 and all(r["error"] is None and r["seconds"] > 0 for r in runs)
    assert {r["source_path"] for r in runs} == {"k:softmax"}
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)  # resumable: nothing new
    assert again.returncode == 0 and len(read_table(tmp_path / "runs", "mlir_runs")) == 4
