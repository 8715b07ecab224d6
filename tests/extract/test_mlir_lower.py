"""JAX programs -> StableHLO -> every IREE phase, as MODULES rows, through the extraction stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import RecipeError
from irpipe.extract.recipes import parse_arg_spec, parse_recipe
from irpipe.extract.stages import ExtractOptions, PackageExtractor
from irpipe.mlir.ir import LEVELS
from irpipe.schema import to_table, validate
from irpipe.testing.gates import requires_llvm, requires_root

PROGRAM = '''
import jax.numpy as jnp

def mlp(x, w):
    return jnp.tanh(x @ w)

def solve(a, b):  # lowers to a LAPACK custom_call that IREE cannot compile
    return jnp.linalg.solve(a, b)

def broken(x):
    raise ValueError("broken on purpose")
'''

RECIPE = '''
[package]
name = "jaxtest"
version = "1"
[source]
kind = "local"
path = "src"
[build]
kind = "jax"
timeout = 600
[license]
expression = "MIT"
[jax.functions]
{functions}
'''


def _recipe(tmp_path: Path, functions: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "prog.py").write_text(PROGRAM)
    path = tmp_path / "jaxtest.toml"
    path.write_text(RECIPE.format(functions=functions))
    return path


@requires_llvm
@requires_root
def test_every_level_becomes_a_row_and_failures_do_not_stop_the_package(tmp_path):
    path = _recipe(tmp_path, '"prog:mlp" = ["f32[8,16] f32[16,4]"]\n"prog:solve" = ["f32[4,4] f32[4]"]\n'
                              '"prog:broken" = ["f32[3]"]')
    result = PackageExtractor(ExtractOptions(work_root=str(tmp_path / "work"))).process(parse_recipe(path))
    rows = [r for r in result.modules if r["object_path"] == "prog:mlp[f32[8,16] f32[16,4]]"]
    assert [r["mlir_level"] for r in rows] == list(LEVELS)
    by_level = {r["mlir_level"]: r for r in rows}
    assert by_level["source"]["dialects"] == ["func", "stablehlo"]
    assert "linalg" in by_level["input"]["dialects"]
    assert "llvm" in by_level["executable-targets"]["dialects"]
    assert by_level["vm"]["dialects"] == ["vm"]
    assert by_level["source"]["compile_command"].startswith("jax.jit(prog:mlp).lower(f32[8,16], f32[16,4])")
    assert all(r["ir_kind"] == "mlir" and r["language"] == "python-jax" and r["source_path"] == "prog:mlp"
               for r in rows)
    assert len({r["structural_hash"] for r in result.modules}) == len(result.modules)
    validate(to_table(result.modules, "modules"), "modules")
    stages = {(f["stage"], f["object_path"].split("[")[0]) for f in result.failures}
    assert ("lower", "prog:broken") in stages      # JAX could not trace it
    assert ("lower", "prog:solve") in stages       # IREE could not lower the custom_call
    assert result.ok and result.summary(parse_recipe(path))["status"] == "ok"


@requires_llvm
@requires_root
def test_a_package_where_nothing_lowers_fails_with_the_reason(tmp_path):
    path = _recipe(tmp_path, '"prog:broken" = ["f32[3]"]')
    result = PackageExtractor(ExtractOptions(work_root=str(tmp_path / "work"))).process(parse_recipe(path))
    assert not result.modules
    assert result.failures[0]["stage"] == "build"
    assert "broken on purpose" in result.failures[0]["error"]


@pytest.mark.parametrize("functions, message", [
    ('"prog:mlp" = ["f32[8,16] float[16,4]"]', "bad argument spec 'float\\[16,4\\]'"),
    ('"mlp" = ["f32[8]"]', "must be \"module:function\""),
    ('"prog:mlp" = []', "non-empty list"),
])
def test_bad_jax_recipes_name_the_key(tmp_path, functions, message):
    with pytest.raises(RecipeError, match=message):
        parse_recipe(_recipe(tmp_path, functions))


def test_arg_spec():
    assert parse_arg_spec("f32[64,128]") == ("f32", (64, 128))
    assert parse_arg_spec("i32[]") == ("i32", ())
