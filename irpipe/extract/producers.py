"""Producers: how each build kind turns a package's fetched sources into modules, one per kind.

A producer is a function of a :class:`Build` (the recipe, its fetched and license-checked sources,
a work folder, the build log and limits, the tools) that returns the modules the package yields:
:class:`LlvmModules` (bitcode to inspect) or :class:`MlirModules` (programs lowered through every
MLIR level).  ``@producer("kind", ...)`` registers one for the build kinds it serves; a new kind is
a new function here, not a new branch in :class:`~irpipe.extract.stages.PackageExtractor`.
A producer raises :class:`BuildError` (or a subclass) when the package yields nothing.

    USAGE: made = produce(Build(recipe, src, work, log, limits, options, tools, iree))
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Union

from irpipe.errors import BuildError
from irpipe.extract import bitcode, build, licenses, sources
from irpipe.extract.mlir_lower import LoweredModule, lower_jax
from irpipe.extract.recipes import Recipe
from irpipe.extract.sandbox import Limits, run_step
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.mlir.tools import IreeTools

RUSTC_FLAGS = "rustc --emit=llvm-bc -C no-prepopulate-passes -C codegen-units=1 -C opt-level=3"


@dataclass(frozen=True)
class ExtractOptions:
    """Job-wide settings every worker needs (picklable: plain values only)."""

    work_root: str
    license_allow: frozenset[str] = licenses.PERMISSIVE
    install_build_deps: bool = True
    embed: bool = True
    jobs: int = 1
    keep_work: bool = False
    constraints: str | None = None


@dataclass(frozen=True)
class Build:
    """What a producer gets for one package."""

    recipe: Recipe
    src: Path                       # the fetched source tree
    work: Path                      # the package's scratch folder (removed afterwards)
    log: Path                       # build output goes here (its tail goes into failure rows)
    limits: Limits                  # deadline and memory of every build process
    options: ExtractOptions
    tools: Toolchain                # the checked LLVM tools
    iree: Callable[[], IreeTools]   # IREE's tools, found on first use (LLVM-only workers need none)


@dataclass
class LlvmModules:
    """LLVM modules a build produced, each inspected (in an isolated child) into a MODULES row."""

    ir_kind: ClassVar[str] = "llvm"
    modules: list[bitcode.EmbeddedModule]
    language: str | None = None      # every module's language; None: from its source file's suffix
    llvm_version: str | None = None  # the LLVM that made them; None: the toolchain's clang


@dataclass
class MlirModules:
    """Programs lowered through every MLIR level, and one ``{"program", "error"}`` per program that
    could not be lowered (a "lower" failure row each; the others go on)."""

    ir_kind: ClassVar[str] = "mlir"
    modules: list[LoweredModule]
    errors: list[dict[str, str]]


Produced = Union[LlvmModules, MlirModules]
Producer = Callable[[Build], Produced]
PRODUCERS: dict[str, Producer] = {}


def producer(*kinds: str) -> Callable[[Producer], Producer]:
    """Register the decorated function as the producer of the build ``kinds``."""
    def register(fn: Producer) -> Producer:
        for kind in kinds:
            if kind in PRODUCERS:
                raise ValueError(f"build kind {kind!r} already has a producer ({PRODUCERS[kind].__name__})")
            PRODUCERS[kind] = fn
        return fn
    return register


def produce(b: Build) -> Produced:
    """The modules of ``b``'s package, made by the producer of its build kind."""
    fn = PRODUCERS.get(b.recipe.build_kind)
    if fn is None:
        raise BuildError(f"{b.recipe.id}: no producer for build kind {b.recipe.build_kind!r}; "
                         f"known: {', '.join(sorted(PRODUCERS))}")
    return fn(b)


def _native_build(b: Build, buildreq: Path | None = None) -> Path:
    """Build the package with the toolchain (bitcode embedded); the tree to scan."""
    if b.recipe.source_kind == "debian" and b.recipe.install_build_deps and b.options.install_build_deps:
        build.install_build_deps(b.src, b.log, b.limits)
    return build.build(b.recipe, b.src, b.work, b.tools, limits=b.limits, log=b.log, embed=b.options.embed,
                       jobs=b.options.jobs, buildreq=buildreq)


@producer("autoconf", "make", "cmake", "meson", "debian-rules")
def native(b: Build) -> LlvmModules:
    """A C/C++ build: every module embedded in its objects and archives."""
    return LlvmModules(list(bitcode.scan_tree(_native_build(b))))


@producer("setuptools")
def setuptools(b: Build) -> LlvmModules:
    """A Python extension build: its PyPI build requirements first, then the build offline."""
    consts = Path(b.options.constraints) if b.options.constraints else None
    buildreq = sources.install_build_requires(b.recipe.build_requires, b.work, consts)
    return LlvmModules(list(bitcode.scan_tree(_native_build(b, buildreq))))


@producer("cargo")
def cargo(b: Build) -> LlvmModules:
    """A Rust crate: the .bc files rustc wrote for the crate itself (not its dependencies)."""
    tree = _native_build(b)
    prefix = b.recipe.name.replace("-", "_") + "-"
    found = [m for m in bitcode.scan_tree(tree / "release" / "deps", only_suffix=(".bc",))
             if Path(m.object_path).name.startswith(prefix)]
    return LlvmModules([bitcode.EmbeddedModule(m.object_path, m.bitcode, RUSTC_FLAGS) for m in found],
                       language="rust")


@producer("numba")
def numba(b: Build) -> LlvmModules:
    """Numba functions compiled for their signatures (in a sandboxed child); llvmlite's LLVM made them."""
    out = b.work / "numba-ir"
    specs = [f"{fn}={sig}" for fn, sigs in b.recipe.numba_functions for sig in sigs]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(b.work), "NUMBA_CACHE_DIR": str(b.work / "numba-cache"),
           "PYTHONNOUSERSITE": "1", "NUMBA_DISABLE_PERFORMANCE_WARNINGS": "1"}
    run_step([sys.executable, "-m", "irpipe.extract.numba_dump", "--path", str(b.src), "--out", str(out), *specs],
             cwd=b.work, env=env, log=b.log, limits=b.limits, what=f"{b.recipe.id}: numba jit")
    index = json.loads((out / "index.json").read_text())
    if not index["modules"]:
        errs = "; ".join(e["error"] for e in index["errors"])[:300]
        raise BuildError(f"{b.recipe.id}: numba compiled no function: {errs}", json.dumps(index["errors"])[-2000:])
    mods = []
    for entry in index["modules"]:
        text = (out / entry["file"]).read_text()
        bc = ir.parse(text, name=entry["function"]).as_bitcode()
        mods.append(bitcode.EmbeddedModule(f"{entry['function']}[{entry['signature']}]", bc,
                                           f"numba.njit({entry['signature']})"))
    return LlvmModules(mods, language="python-numba", llvm_version=ir.llvm_version())


@producer("jax")
def jax(b: Build) -> MlirModules:
    """JAX functions lowered for their input variants through every MLIR level (IREE)."""
    lowered, errors = lower_jax(b.recipe, b.src, b.work, log=b.log, limits=b.limits, tools=b.iree())
    if not lowered:
        detail = "; ".join(e["error"] for e in errors)[:300]
        raise BuildError(f"{b.recipe.id}: no function could be lowered: {detail}", json.dumps(errors)[-2000:])
    return MlirModules(lowered, errors)
