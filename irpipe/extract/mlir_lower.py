"""Lower JAX programs to StableHLO, then through every IREE phase to native code (Ray-free).

One recipe function variant yields one module per level: the StableHLO that
``jax.jit(f).lower(...)`` prints ("source"), then the module at the end of each
of IREE's compilation phases (:data:`irpipe.mlir.ir.LEVELS`), all from a single
``iree-compile --dump-compilation-phases-to`` run for the x86-64-v3 CPU.

    USAGE: mods, errors = lower_jax(recipe, src, work, log=log, limits=limits, tools=IreeTools())
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from irpipe.errors import LoweringError, ToolError
from irpipe.extract.recipes import Recipe
from irpipe.extract.sandbox import Limits, run_step
from irpipe.mlir.configs import TARGET_FLAGS
from irpipe.mlir.ir import LEVELS
from irpipe.mlir.tools import IreeTools

_PHASE_FILE = re.compile(r"\.(\d+)\.([a-z-]+)\.mlir$")


@dataclass(frozen=True)
class LoweredModule:
    """One MLIR module of a program at one level."""

    target: str        # "module:function"
    variant: str       # its argument specs, e.g. "f32[64,128] f32[128]"
    level: str         # one of irpipe.mlir.ir.LEVELS
    text: str
    command: str       # how it was produced

    @property
    def program_id(self) -> str:
        """The function variant every level of this module shares."""
        return f"{self.target}[{self.variant}]"


def first_error(stderr: str) -> str:
    """The first ``error:`` line of a compiler's stderr (else its last line), without the file prefix."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln] or lines[-1:] or ["no output"]
    return errors[0].split("error:", 1)[-1].strip() if "error:" in errors[0] else errors[0]


def lower_phases(tools: IreeTools, source: str, work: Path, *, flags: tuple[str, ...] = TARGET_FLAGS,
                 timeout: float = 600.0) -> list[tuple[str, str]]:
    """Compile ``source`` MLIR with iree-compile; return ``(phase, text)`` for every phase, in order.

    Raises :class:`LoweringError` with the compiler's first error when IREE cannot lower it.
    """
    work.mkdir(parents=True, exist_ok=True)
    src, phases = work / "source.mlir", work / "phases"
    src.write_text(source)
    try:
        tools.run("iree-compile", [str(src), *flags, f"--dump-compilation-phases-to={phases}",
                                   "-o", str(work / "module.vmfb")], timeout=timeout)
    except ToolError as exc:
        raise LoweringError(f"iree-compile cannot lower it: {first_error(str(exc))}") from exc
    found = []
    for path in phases.glob("*.mlir"):
        match = _PHASE_FILE.search(path.name)
        if match and match.group(2) in LEVELS:
            found.append((int(match.group(1)), match.group(2), path.read_text()))
    return [(phase, text) for _, phase, text in sorted(found)]


def lower_jax(recipe: Recipe, src: Path, work: Path, *, log: Path, limits: Limits, tools: IreeTools
              ) -> tuple[list[LoweredModule], list[dict[str, str]]]:
    """Lower every [jax] function variant of ``recipe`` (sources in ``src``) through every level.

    Returns the modules and one ``{"program", "error"}`` per variant that JAX or IREE could not
    lower (its StableHLO is still returned when only IREE failed).
    """
    out = work / "jax-mlir"
    specs = [f"{fn}={variant}" for fn, variants in recipe.jax_functions for variant in variants]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "PYTHONNOUSERSITE": "1", "JAX_PLATFORMS": "cpu"}
    run_step([sys.executable, "-m", "irpipe.extract.jax_dump", "--path", str(src), "--out", str(out), *specs],
             cwd=work, env=env, log=log, limits=limits, what=f"{recipe.id}: jax lowering")
    index = json.loads((out / "index.json").read_text())
    errors = [{"program": f"{e['function']}[{e['variant']}]", "error": f"jax: {e['error']}"}
              for e in index["errors"]]
    modules: list[LoweredModule] = []
    for n, entry in enumerate(index["modules"]):
        target, variant = entry["function"], entry["variant"]
        args = ", ".join(variant.split())
        source = (out / entry["file"]).read_text()
        modules.append(LoweredModule(target, variant, "source", source,
                                     f"jax.jit({target}).lower({args}) (jax {index['jax']})"))
        try:
            phases = lower_phases(tools, source, work / "iree" / f"{n:04d}",
                                  timeout=max(30.0, min(600.0, limits.deadline - time.monotonic())))
        except LoweringError as exc:
            errors.append({"program": f"{target}[{variant}]", "error": str(exc)})
            continue
        flags = " ".join(TARGET_FLAGS)
        modules.extend(LoweredModule(target, variant, phase, text,
                                     f"iree-compile --compile-to={phase} {flags} (IREE {tools.version()})")
                       for phase, text in phases)
    return modules, errors
