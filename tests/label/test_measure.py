"""irpipe.label.measure: in-process results equal opt-22/llc-22's; faults cost one evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import IRError
from irpipe.extract.bitcode import elf_sections
from irpipe.label.measure import EvaluationError, Evaluator, mark_mca_regions
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.testing import faults
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, sample_modules

LOOPS = SIMPLE_IR + GRAPH_IR  # no names in common


def md2hl() -> bytes:
    """A real module on which `default<Oz>,function(loop-mssa(loop-unroll-full))` aborts LLVM 22."""
    return next(d for n, d in sample_modules(12, max_instructions=3000, languages=("c",))
                if n.endswith("md2hl.o"))


@pytest.mark.parametrize("pipeline", ["default<O0>", "default<Oz>", "default<O3>",
                                      "function(mem2reg,instcombine<no-verify-fixpoint>),cgscc(inline)"])
def test_matches_opt_and_llc_subprocesses(tmp_path: Path, pipeline: str) -> None:
    tools = Toolchain()
    src = tmp_path / "in.ll"
    src.write_text(LOOPS)
    m = Evaluator(LOOPS).evaluate(pipeline, object_file=True)
    tools.run("opt", [f"-passes={pipeline}", str(src), "-o", str(tmp_path / "out.bc")])
    optimized = (tmp_path / "out.bc").read_bytes()
    assert m.instructions == ir.inspect(optimized).instruction_count
    tools.run("llc", ["-O2", "-mcpu=x86-64-v3", "-relocation-model=pic", "-filetype=obj",
                      "-mtriple=x86_64-unknown-linux-gnu", str(tmp_path / "out.bc"), "-o", str(tmp_path / "o.o")])
    text = elf_sections((tmp_path / "o.o").read_bytes(), (".text",))
    assert m.text_bytes == len(text[".text"])


def test_invalid_pipeline_is_one_clear_error() -> None:
    with pytest.raises(EvaluationError, match="unknown pass name 'no-such-pass'"):
        Evaluator(SIMPLE_IR).evaluate("no-such-pass")


def test_llvm_abort_costs_one_evaluation() -> None:
    ev = Evaluator(md2hl(), name="md2hl")
    before = ev.worker.restarts
    with pytest.raises(EvaluationError, match=r"LLVM crashed.*does not preserve MemorySSA"):
        ev.evaluate("default<Oz>,function(loop-mssa(loop-unroll-full))")
    assert ev.worker.restarts == before + 1
    assert ev.evaluate("default<Oz>").instructions > 0      # the module is reloaded in the new child
    assert (ev.evaluations, ev.failures) == (2, 1)


def test_hang_and_crash_then_recovery() -> None:
    want = Evaluator(md2hl()).evaluate("default<O3>").instructions
    ev = Evaluator(md2hl() + b"", timeout_s=1e-4)
    ev.key += "-fresh"  # not in the child's cache: parse + O3 take far longer than 0.1 ms
    with pytest.raises(EvaluationError, match="did not finish"):
        ev.evaluate("default<O3>")
    ev.timeout_s = 60
    assert ev.evaluate("default<O3>").instructions == want
    with pytest.raises(IRError, match="crashed"):
        ev.worker.call(faults.segfault)                   # the child dies with its cached module
    assert ev.evaluate("default<O3>").instructions == want


def test_mca_throughput_per_function() -> None:
    rt = Evaluator(SIMPLE_IR).mca_throughput("default<O2>")
    assert set(rt) == {"add", "loop"} and all(v > 0 for v in rt.values())
    assert mark_mca_regions("\t.type f,@function\nf:\n\tret\n.Lfunc_end0:\n").count("LLVM-MCA") == 2


def test_output_bytes_do_not_depend_on_earlier_evaluations(tmp_path: Path) -> None:
    """Each evaluation runs in a fresh LLVMContext: metadata kinds an earlier pipeline registered
    (irce's loop_constrainer.loop.clone, ...) never reach a later output's bitcode."""
    from irpipe.testing.factories import generated_module

    module = generated_module(tmp_path)
    first = Evaluator(module).evaluate("default<Oz>", bitcode=True)[1]["bitcode"]  # type: ignore[index]
    ev = Evaluator(module)
    for pipeline in ("function(irce)", "function(loop-mssa(licm),irce,loop-versioning-licm)", "default<O3>"):
        ev.evaluate(pipeline, bitcode=True)
    again = ev.evaluate("default<Oz>", bitcode=True)[1]["bitcode"]  # type: ignore[index]
    assert again == first


def test_an_output_already_compiled_is_not_compiled_again(tmp_path: Path) -> None:
    """Two pipelines that leave the module the same: the second reuses the first's object
    (no codegen), with the same .text and per-function bytes a fresh evaluator measures."""
    from irpipe.label.measure import CodegenMemo
    from irpipe.testing.factories import generated_module

    module = generated_module(tmp_path, 3)
    memo = CodegenMemo()
    ev = Evaluator(module, memo=memo)
    first, raw1 = ev.evaluate("default<Oz>", object_file=True, per_function=True)  # type: ignore[misc]
    again, raw2 = Evaluator(module, memo=memo).evaluate("default<Oz>,verify", object_file=True,
                                                        per_function=True)  # type: ignore[misc]
    fresh, raw3 = Evaluator(module).evaluate("default<Oz>,verify", object_file=True, per_function=True)  # type: ignore[misc]
    assert memo.skipped == 1 and first.codegen_seconds > 0 and again.codegen_seconds == 0
    assert again.text_bytes == first.text_bytes == fresh.text_bytes
    assert raw2["per_function"] == raw1["per_function"] == raw3["per_function"]
    assert all(b > 0 for _, b in raw2["per_function"].values())
    other = ev.evaluate("default<O0>", object_file=True)
    assert memo.skipped == 1 and other.codegen_seconds > 0 and other.text_bytes != first.text_bytes
    # an entry without per-function bytes does not answer a per-function request
    plain = CodegenMemo()
    Evaluator(module, memo=plain).evaluate("default<Oz>", object_file=True)
    _, raw4 = Evaluator(module, memo=plain).evaluate("default<Oz>", object_file=True, per_function=True)  # type: ignore[misc]
    assert plain.skipped == 0 and raw4["per_function"] == raw1["per_function"]


def test_the_digest_covers_the_code_target() -> None:
    """The same bitcode compiled for another CPU is another object: it is compiled again."""
    no_cpu = "define i32 @f(i32 %x) {\n  %a = mul i32 %x, 12\n  ret i32 %a\n}\n"  # no attributes
    a = ir.native_module(no_cpu.encode(), name="t").evaluate("verify", object_file=True, digest=True)
    b = ir.native_module(no_cpu.encode(), name="t").evaluate("verify", object_file=True, digest=True,
                                                             cpu="znver4", known=[a["digest"]])
    assert a["digest"] != b["digest"] and not b["codegen_skipped"] and b["text_bytes"] > 0
    c = ir.native_module(no_cpu.encode(), name="t").evaluate("verify", object_file=True, known=[a["digest"]])
    assert c["codegen_skipped"] and c["text_bytes"] == -1
