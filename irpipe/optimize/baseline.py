"""The user's baseline, exactly: ``opt-22 -passes='default<Oz>'`` on the same input.

``irpipe optimize`` promises "never worse than -Oz"; that promise is only worth
something against the command users run.  So the baseline is not an in-process
re-creation of -Oz but ``opt-22`` itself, as a child process, on the module as the
user asked it to be targeted; its output is measured with the same code generator
as every candidate (the object ``llc-22 -O2`` emits for the module's own target,
every executable section counted, as ``llvm-size`` sees it).

    USAGE: base = user_baseline(data, "default<Oz>", target=Target(strip_optnone=False))
           base.module (what candidates start from), base.bitcode, base.measurement
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from irpipe.errors import ToolError
from irpipe.label.measure import CodegenMemo, EvaluationError, Evaluator, Measurement
from irpipe.llvm.target import AS_OPT, Target
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain

if TYPE_CHECKING:
    from irpipe.llvm.isolate import Isolated


@dataclass(frozen=True)
class Baseline:
    """The module candidates start from and opt-22's result on it."""

    module: bytes        #: the input, retargeted / optnone-stripped only if the user asked
    pipeline: str        #: what was passed to ``opt-22 -passes=``
    bitcode: bytes       #: opt-22's output, byte for byte
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
                  timeout_s: float = 60.0, object_file: bool = True,
                  tools: Toolchain | None = None, worker: Isolated | None = None,
                  memo: CodegenMemo | None = None) -> Baseline:
    """Run ``opt-22 -passes=PIPELINE`` on ``data`` (after :func:`prepare`) and measure the result
    (``memo``: shared with the candidates' evaluators, so an identical candidate output is not
    compiled twice).

    Raises :class:`~irpipe.label.measure.EvaluationError` naming the module when opt-22 fails.
    """
    module = prepare(ir.check_input(data, name=name), target, name=name, timeout_s=timeout_s, worker=worker)
    try:
        proc = (tools or Toolchain()).run("opt", [f"-passes={pipeline}", "-", "-o", "-"], input=module,
                                          timeout=timeout_s)
    except ToolError as exc:  # failed or timed out: one line naming the module
        raise EvaluationError(f"{name}: opt-22 -passes='{pipeline}': {str(exc).splitlines()[-1]}") from None
    measured, raw = Evaluator(proc.stdout, name=name, timeout_s=timeout_s, target=AS_OPT, worker=worker,
                              memo=memo).evaluate(
        "verify", object_file=object_file, per_function=True)
    return Baseline(module, pipeline, proc.stdout, Measurement(pipeline, measured.instructions,
                                                               measured.text_bytes, measured.opt_seconds,
                                                               measured.codegen_seconds), raw["per_function"])
