"""The user's baseline, exactly: ``opt-22 -passes='default<Oz>'`` on the same input.

``irpipe optimize`` promises "never worse than -Oz"; that promise is only worth
something against the command users run.  The baseline runs that pipeline in the
isolated LLVM child, in the same libLLVM-22 that opt-22 links, the way opt-22 runs
it: a TargetMachine only for a module that names its triple, the input's use-list
order kept through every copy and in the bitcode written (as opt-22's
``-preserve-bc-uselistorder`` default does).  Its output prints the same IR as
opt-22's, tested on real and generated modules (``tests/optimize/test_target.py``);
in the child it costs no process start-up and no second parse.  Its output is
measured with the same code generator as every candidate (the object ``llc-22 -O2``
emits for the module's own target, every executable section counted, as
``llvm-size`` sees it), in the same evaluation.

    USAGE: base = user_baseline(data, "default<Oz>", target=Target(strip_optnone=False))
           base.module (what candidates start from), base.bitcode, base.measurement
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from irpipe.label.measure import CodegenMemo, Evaluator, Measurement
from irpipe.llvm.target import AS_OPT, Target
from irpipe.llvm import ir

if TYPE_CHECKING:
    from irpipe.llvm.isolate import Isolated


@dataclass(frozen=True)
class Baseline:
    """The module candidates start from and the user's pipeline's result on it."""

    module: bytes        #: the input, retargeted / optnone-stripped only if the user asked
    pipeline: str        #: what was passed to ``opt-22 -passes=``
    bitcode: bytes       #: the pipeline's output (prints what opt-22's prints)
    measurement: Measurement
    per_function: dict[str, tuple[int, int]] = field(default_factory=dict)  #: of the output: (instructions, code bytes)


def prepare(data: bytes, target: Target, *, name: str = "<module>", timeout_s: float = 60.0,
            worker: Isolated | None = None) -> bytes:
    """The input with only what the user asked changed (``--mtriple``, ``--target-cpu``,
    ``--strip-optnone``); the input itself when nothing was asked.  ``worker``: the isolated
    LLVM child to use (default: the process-wide one)."""
    if target == AS_OPT:
        return data
    _, raw = Evaluator(data, name=name, timeout_s=timeout_s, target=target, worker=worker).evaluate(
        "verify", bitcode=True)
    return raw["bitcode"]


def user_baseline(data: bytes | str, pipeline: str, *, target: Target = AS_OPT, name: str = "<module>",
                  timeout_s: float = 60.0, object_file: bool = True, worker: Isolated | None = None,
                  memo: CodegenMemo | None = None) -> Baseline:
    """``opt-22 -passes=PIPELINE`` on ``data`` (after :func:`prepare`), measured (``memo``: shared
    with the candidates' evaluators, so an identical candidate output is not compiled twice).

    Raises :class:`~irpipe.label.measure.EvaluationError` naming the module when LLVM fails.
    """
    module = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s, worker=worker)
    measured, raw = Evaluator(module, name=name, timeout_s=timeout_s, target=AS_OPT, worker=worker,
                              memo=memo).evaluate(pipeline, object_file=object_file, bitcode=True, per_function=True)
    return Baseline(module, pipeline, raw["bitcode"], measured, raw["per_function"])
