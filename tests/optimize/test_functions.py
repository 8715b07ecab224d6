"""Per-function pipelines after the module pipeline: the native run, refine(), optimize() and the plugin agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import IRError
from irpipe.label.measure import Evaluator
from irpipe.llvm import ir, native
from irpipe.llvm.tools import Toolchain
from irpipe.optimize import advice
from irpipe.optimize.apply import cleanup_count, optimize
from irpipe.optimize.functions import CLEANUPS, refine
from irpipe.testing.factories import generated_module

CLEAN = "function(instcombine<no-verify-fixpoint>,simplifycfg)"
IR = """target triple = "x86_64-pc-linux-gnu"
define internal i32 @g(i32 %x) {
  %a = add i32 %x, 0
  %b = mul i32 %a, 1
  ret i32 %b
}
define i32 @f(i32 %x) {
  %c = call i32 @g(i32 %x)
  ret i32 %c
}
define i32 @h(i32 %x) {
  ret i32 %x
}
"""


def test_native_per_function_and_function_pipelines() -> None:
    mod = ir.native_module(IR.encode(), name="t")
    raw = mod.evaluate("verify", object_file=True, per_function=True)
    assert list(raw["per_function"]) == ["g", "f", "h"]   # module order
    assert raw["per_function"]["g"][0] == 3 and all(b > 0 for _, b in raw["per_function"].values())
    assert sum(n for n, _ in raw["per_function"].values()) == raw["instructions"]
    only_g = mod.evaluate("verify", per_function=True, functions={"g": CLEAN})
    assert only_g["per_function"] == {"g": (1, -1), "f": (2, -1), "h": (1, -1)}   # bytes: no object
    bare = mod.evaluate("verify", per_function=True, functions={"g": "instcombine<no-verify-fixpoint>"})
    assert bare["per_function"]["g"] == (1, -1)   # the unwrapped form reads the same
    # a function the module pipeline removed is skipped, as the plugin skips it
    gone = mod.evaluate("globaldce", per_function=True, functions={"nope": CLEAN})
    assert set(gone["per_function"]) == {"g", "f", "h"}
    with pytest.raises(IRError, match="invalid function pipeline 'bogus' for 'g'"):
        mod.evaluate("verify", functions={"g": "bogus"})


def test_refine_takes_each_functions_best_and_is_measured() -> None:
    base = Evaluator(IR).evaluate("verify", per_function=True)[1]["per_function"]
    better = refine(IR.encode(), "verify", base, "instcount", input_functions={"g", "f", "h"},
                    cleanups=[CLEAN, "function(sink,simplifycfg)"])
    assert better is not None and better.functions == {"g": CLEAN}   # only g gains; the first of equals
    assert better.metric == 4.0 and len(better.tried) == 3           # two trials and the mix
    assert Evaluator(better.bitcode).evaluate("verify").instructions == 4
    # a function the input does not define is never given a pipeline (the plugin could not find it)
    assert refine(IR.encode(), "verify", base, "instcount", input_functions={"f", "h"},
                  cleanups=[CLEAN]).functions == {}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generated_module(tmp_path_factory.mktemp("gen"), 3, seed=0)


def test_optimize_mixes_cleanups_within_the_budget(generated: str, tmp_path: Path) -> None:
    from irpipe.train.predict import Predictor

    result = optimize(generated, Predictor.load(Path(__file__).parents[2] / "models" / "default"), objective="size",
                      verify=16)
    assert cleanup_count(16) == 5 and len(result.tried) <= 16
    assert [t["cleanup"] for t in result.tried if "cleanup" in t] == list(CLEANUPS[:5])
    assert result.functions and set(result.functions.values()) <= set(CLEANUPS)
    modules = [t for t in result.tried if "cleanup" not in t and "functions" not in t and "error" not in t]
    assert result.metric < min(t["metric"] for t in modules)   # kept because the mix measured smaller
    assert result.summary()["functions"] == result.functions
    # the plugin, given the emitted advice, builds exactly what optimize measured
    info = ir.inspect(generated.encode(), name="gen.ll")
    entry = advice.optimized_advice(result, info.structural_hash, "*")
    assert entry["functions"] == result.functions and entry["verified"] is True
    adv = advice.write(tmp_path / "a.json", [entry])
    (tmp_path / "in.ll").write_text(generated)
    proc = Toolchain().run("opt", [f"-load-pass-plugin={native.plugin_path()}", "-passes=irpipe-apply",
                                   f"-irpipe-advice={adv}", str(tmp_path / "in.ll"), "-o", "-"], timeout=120)
    assert b"irpipe: warning" not in proc.stderr
    via_plugin = Evaluator(proc.stdout).evaluate("verify", object_file=True)
    assert via_plugin.text_bytes == result.metric


def test_the_first_ten_compiles_stay_module_pipelines() -> None:
    assert [cleanup_count(v) for v in (1, 2, 10, 11, 12, 13, 16, 40)] == [0, 0, 0, 0, 1, 2, 5, 5]
