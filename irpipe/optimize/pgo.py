"""``irpipe optimize --objective speed --pgo``: -O3 with the program's own profile, one more
speed candidate (``irpipe bench --pgo`` does the same for a benchmark of several TUs:
:mod:`irpipe.bench.pgo`).

The module goes through opt-22's ``default<O3>`` with LLVM's IR profile instrumentation
(``-pgo-kind=pgo-instr-gen-pipeline``), is linked with the profile runtime and run once on
``--run-args`` (its output checked against the -O0 build's); ``llvm-profdata-22 merge`` writes the
profile, and the module goes through ``default<O3>`` again with it
(``-pgo-kind=pgo-instr-use-pipeline``).  The result keeps the module's triple, target-cpu and
target-features, and nothing reorders floating-point operations.  The profile comes from the
very run the candidate is then timed on (``optimize`` has one workload; the bench trains on its
count workload instead), so a winner here is in-sample: confirm it on other inputs.

    USAGE: bitcode = profiled(module, runner, name="p.ll")
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from irpipe.errors import IRError, ToolError
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.result import SPEED_BASELINE

if TYPE_CHECKING:
    from irpipe.label.runtime import RuntimeEvaluator

#: how the screen and the reports name the profile-guided candidate (its pipeline is -O3)
PGO_LABEL = SPEED_BASELINE + " + profile (PGO)"


def o3_with(module: bytes, args: list[str], *, name: str, timeout_s: float) -> bytes:
    """``module`` through ``opt-22 -passes='default<O3>' ARGS`` (through the one runner); a
    failure is one :class:`IRError` line naming the module and the first flag."""
    try:
        return Toolchain().run("opt", [f"-passes={SPEED_BASELINE}", *args, "-", "-o", "-"], input=module,
                               timeout=timeout_s).stdout
    except ToolError as exc:
        raise IRError(f"{name}: opt-22 -passes='{SPEED_BASELINE}' {' '.join(args[:1])}: "
                      f"{str(exc).splitlines()[-1]}") from None


def profiled(module: bytes, runner: RuntimeEvaluator, *, name: str = "<module>", timeout_s: float = 300.0) -> bytes:
    """``module`` built by -O3 with the profile of one run of its instrumented build (see the
    module docstring); :class:`IRError` (a failed build) or the runner's errors (a failed run, a
    changed output) when there is none."""
    gen = o3_with(module, ["-pgo-kind=pgo-instr-gen-pipeline"], name=name, timeout_s=timeout_s)
    with tempfile.TemporaryDirectory(prefix="irpipe-pgo-") as tmp:
        profile = runner.pgo_profile(gen, Path(tmp) / "run.profdata")
        return o3_with(module, ["-pgo-kind=pgo-instr-use-pipeline", f"-profile-file={profile}"], name=name,
                    timeout_s=timeout_s)
