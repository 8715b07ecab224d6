"""One package, end to end, without Ray: fetch -> license -> build -> scan -> rows.

Shaped like gematria's pipeline stages: a cheap ``__init__``, ``setup()`` that
finds the tools once per worker, and ``process(recipe)`` that handles one
package and never raises for a package-level problem: it returns a
:class:`PackageResult` whose failures say what went wrong, at which stage.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from irpipe import __version__
from irpipe.errors import BuildError, BuildTimeout, FetchError, IRError, LicenseError, ToolError
from irpipe.extract import bitcode, build, licenses, sources
from irpipe.extract.recipes import Recipe
from irpipe.extract.sandbox import Limits, run_step
from irpipe.llvm import ir, isolate
from irpipe.llvm.tools import REQUIRED_FOR_EXTRACT, Toolchain, tail
from irpipe.mlir import ir as mlir_ir
from irpipe.extract.mlir_lower import LoweredModule, lower_jax
from irpipe.mlir.tools import IreeTools
from irpipe.runtime.failures import failure_row

_LANG_BY_SUFFIX = {".c": "c", ".cc": "c++", ".cpp": "c++", ".cxx": "c++", ".c++": "c++", ".C": "c++",
                   ".m": "objective-c", ".mm": "objective-c", ".rs": "rust", ".f90": "fortran", ".f": "fortran"}
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


@dataclass
class PackageResult:
    """What one package yielded: module rows, failure rows and counters."""

    recipe_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no package-level stage failed (module-level failures may exist)."""
        return not any(f["object_path"] is None for f in self.failures)

    def summary(self, recipe: Recipe) -> dict[str, Any]:
        """The package's done.json record: status (ok|failed|excluded), first error, counters."""
        errors = [f for f in self.failures if f["object_path"] is None]
        status = "ok" if not errors else "excluded" if errors[0]["stage"] == "license" else "failed"
        return {**self.stats, "status": status, "name": recipe.name, "version": recipe.version,
                "source_kind": recipe.source_kind, "build_kind": recipe.build_kind,
                "error": errors[0]["error"] if errors else None, "stage": errors[0]["stage"] if errors else None,
                "module_failures": len(self.failures) - len(errors)}


def language_of(source_filename: str, default: str = "c") -> str:
    """Language of a module from its source file's suffix."""
    suffix = Path(source_filename).suffix
    return _LANG_BY_SUFFIX.get(suffix, _LANG_BY_SUFFIX.get(suffix.lower(), default))


class PackageExtractor:
    """Turns one recipe into MODULES and FAILURES rows."""

    def __init__(self, options: ExtractOptions) -> None:
        self.options = options
        self.tools: Toolchain | None = None
        self.llvm: isolate.Isolated | None = None
        self.iree: IreeTools | None = None   # found on the first jax recipe: LLVM-only workers need no IREE

    def setup(self) -> None:
        """Find and check the tools once per worker; start the isolated LLVM reader.

        Builds run untrusted code, so an embedded .llvmbc may be anything: it is
        parsed in a child process, where a crash costs one module, not the worker.
        """
        self.tools = Toolchain()
        self.tools.check(REQUIRED_FOR_EXTRACT)
        self.llvm = isolate.Isolated(timeout_s=600)

    def _iree(self) -> IreeTools:
        self.iree = IreeTools()
        return self.iree

    def close(self) -> None:
        """Stop the isolated LLVM reader (a new one starts on the next process())."""
        if self.llvm is not None:
            self.llvm.close()

    def process(self, recipe: Recipe) -> PackageResult:
        """Extract one package; package-level problems become failure rows, never exceptions."""
        if self.tools is None or self.llvm is None:
            self.setup()
        result = PackageResult(recipe.id)
        work = Path(self.options.work_root) / recipe.id.replace("/", "__")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        log = work / "build.log"
        started = time.monotonic()
        limits = Limits(deadline=started + recipe.timeout, memory_mb=recipe.memory_mb)
        stage = "fetch"
        try:
            src = sources.fetch(recipe, work, sources.PrivateApt(Path(self.options.work_root) / ".apt"))
            stage = "license"
            lic = self._license(recipe, src)
            if not licenses.is_allowed(lic.expression, self.options.license_allow):
                raise LicenseError(f"license {lic.expression!r} ({lic.source}) is not in the allow-list")
            stage = "build"
            if recipe.build_kind == "jax":
                lowered, errors = lower_jax(recipe, src, work, log=log, limits=limits,
                                           tools=self.iree or self._iree())
                stage = "extract"
                self._mlir_rows(recipe, lic, lowered, errors, result)
            else:
                modules = self._build_and_scan(recipe, src, work, log, limits)
                stage = "extract"
                self._rows(recipe, lic, modules, result)
        except BuildTimeout as exc:
            result.failures.append(_failure(recipe, "timeout", str(exc), exc.log_tail))
        except BuildError as exc:
            result.failures.append(_failure(recipe, "build", str(exc), exc.log_tail))
        except (FetchError, LicenseError, ToolError, IRError) as exc:
            result.failures.append(_failure(recipe, stage, str(exc).splitlines()[0], tail(str(exc))))
        result.stats["seconds"] = round(time.monotonic() - started, 2)
        if not self.options.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        return result

    def _license(self, recipe: Recipe, src: Path) -> licenses.License:
        if recipe.license_expression:
            return licenses.License(recipe.license_expression, "recipe",
                                    licenses.license_texts(src, recipe.license_files))
        if recipe.source_kind == "debian":
            return licenses.from_debian(src)
        if recipe.source_kind == "debian-crate":
            crate = next(iter(sorted(src.glob(f"{recipe.name}-*"))), src)
            return licenses.from_cargo(crate)
        if recipe.source_kind in ("pypi", "numba"):  # jax code from PyPI too
            return licenses.from_pypi(src)
        raise LicenseError(f"{recipe.id}: local sources need [license] expression in the recipe")

    def _build_and_scan(self, recipe: Recipe, src: Path, work: Path, log: Path,
                        limits: Limits) -> list[bitcode.EmbeddedModule]:
        assert self.tools is not None
        opts = self.options
        if recipe.build_kind == "numba":
            return self._numba(recipe, src, work, log, limits)
        buildreq = None
        if recipe.source_kind == "debian" and recipe.install_build_deps and opts.install_build_deps:
            build.install_build_deps(src, log, limits)
        if recipe.build_kind == "setuptools":
            consts = Path(opts.constraints) if opts.constraints else None
            buildreq = sources.install_build_requires(recipe.build_requires, work, consts)
        tree = build.build(recipe, src, work, self.tools, limits=limits, log=log, embed=opts.embed,
                           jobs=opts.jobs, buildreq=buildreq)
        if recipe.build_kind == "cargo":
            prefix = recipe.name.replace("-", "_") + "-"
            deps = tree / "release" / "deps"
            found = [m for m in bitcode.scan_tree(deps, only_suffix=(".bc",))
                     if Path(m.object_path).name.startswith(prefix)]
            return [bitcode.EmbeddedModule(m.object_path, m.bitcode, RUSTC_FLAGS) for m in found]
        return list(bitcode.scan_tree(tree))

    def _numba(self, recipe: Recipe, src: Path, work: Path, log: Path,
               limits: Limits) -> list[bitcode.EmbeddedModule]:
        out = work / "numba-ir"
        specs = [f"{fn}={sig}" for fn, sigs in recipe.numba_functions for sig in sigs]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "NUMBA_CACHE_DIR": str(work / "numba-cache"),
               "PYTHONNOUSERSITE": "1", "NUMBA_DISABLE_PERFORMANCE_WARNINGS": "1"}
        run_step([sys.executable, "-m", "irpipe.extract.numba_dump", "--path", str(src), "--out", str(out), *specs],
                 cwd=work, env=env, log=log, limits=limits, what=f"{recipe.id}: numba jit")
        index = json.loads((out / "index.json").read_text())
        if not index["modules"]:
            errs = "; ".join(e["error"] for e in index["errors"])[:300]
            raise BuildError(f"{recipe.id}: numba compiled no function: {errs}", json.dumps(index["errors"])[-2000:])
        mods = []
        for entry in index["modules"]:
            text = (out / entry["file"]).read_text()
            bc = ir.parse(text, name=entry["function"]).as_bitcode()
            mods.append(bitcode.EmbeddedModule(f"{entry['function']}[{entry['signature']}]", bc,
                                               f"numba.njit({entry['signature']})"))
        return mods

    def _rows(self, recipe: Recipe, lic: licenses.License, modules: list[bitcode.EmbeddedModule],
              result: PackageResult) -> None:
        default_lang = {"cargo": "rust", "numba": "python-numba"}.get(recipe.build_kind, "c")
        llvm_version = self.tools.find("clang").version if self.tools else ir.llvm_version()
        seen_bytes: set[bytes] = set()
        distinct = []
        for mod in modules:  # byte-identical twins (an archive member of an object) skip the parse
            digest = hashlib.sha256(mod.bitcode).digest()
            if digest not in seen_bytes:
                seen_bytes.add(digest)
                distinct.append(mod)

        def inspect(mod: bitcode.EmbeddedModule) -> Any:
            name = f"{recipe.id}:{mod.object_path}"
            return self.llvm.call(ir.inspect, mod.bitcode, name=name, label=name)

        unique, dropped = _inspect_unique(recipe, result, distinct, inspect, lambda m: m.object_path)
        dropped += len(modules) - len(distinct)
        for mod, info in unique:
            result.rows.append({
                **_package_columns(recipe, lic), "content": mod.bitcode,
                "language": default_lang if default_lang != "c" else language_of(info.source_filename),
                "source_path": info.source_filename, "object_path": mod.object_path,
                "compile_command": mod.command, "target_triple": info.target_triple,
                "llvm_version": llvm_version if recipe.build_kind != "numba" else ir.llvm_version(),
                "structural_hash": info.structural_hash, "bitcode_size": len(mod.bitcode),
                "function_count": info.function_count, "instruction_count": info.instruction_count,
                "ir_kind": "llvm",
            })
        result.stats.update(objects=len(modules), modules=len(result.rows), dropped_in_package=dropped,
                            irpipe_version=__version__)


    def _mlir_rows(self, recipe: Recipe, lic: licenses.License, modules: list[LoweredModule],
                   errors: list[dict[str, str]], result: PackageResult) -> None:
        """MODULES rows (ir_kind "mlir") for every level of every lowered program; a program that
        JAX or IREE could not lower is a "lower" failure row, the others go on."""
        if not modules:
            detail = "; ".join(e["error"] for e in errors)[:300]
            raise BuildError(f"{recipe.id}: no function could be lowered: {detail}",
                             json.dumps(errors)[-2000:])
        for err in errors:
            result.failures.append(_failure(recipe, "lower", f"{err['program']}: {err['error']}", "",
                                            err["program"]))
        version = mlir_ir.bindings_version()
        unique, dropped = _inspect_unique(
            recipe, result, modules,
            lambda m: mlir_ir.inspect(m.text, name=f"{m.program_id}@{m.level}", level=m.level),
            lambda m: m.program_id)
        for mod, info in unique:
            content = info.text.encode()
            result.rows.append({
                **_package_columns(recipe, lic), "content": content, "language": "python-jax",
                "source_path": mod.target, "object_path": mod.program_id, "compile_command": mod.command,
                "target_triple": None, "llvm_version": version, "structural_hash": info.structural_hash,
                "bitcode_size": len(content), "function_count": info.function_count,
                "instruction_count": info.op_count, "ir_kind": "mlir", "dialects": list(info.dialects),
                "mlir_level": info.level,
            })
        programs = {m.program_id for m in modules}
        result.stats.update(objects=len(programs), modules=len(result.rows), dropped_in_package=dropped,
                            irpipe_version=__version__)


def _inspect_unique(recipe: Recipe, result: PackageResult, modules: list[Any], inspect: Callable[[Any], Any],
                    object_path: Callable[[Any], str]) -> tuple[list[tuple[Any, Any]], int]:
    """(module, info) of each module that reads and whose structural hash is new in the package, and
    how many were dropped as duplicates; one that cannot be read is an "extract" failure row."""
    seen: set[str] = set()
    unique, dropped = [], 0
    for mod in modules:
        try:
            info = inspect(mod)
        except IRError as exc:
            result.failures.append(_failure(recipe, "extract", str(exc), "", object_path(mod)))
            continue
        if info.structural_hash in seen:
            dropped += 1
            continue
        seen.add(info.structural_hash)
        unique.append((mod, info))
    return unique, dropped


def _package_columns(recipe: Recipe, lic: licenses.License) -> dict[str, Any]:
    """The MODULES columns every module of one package shares."""
    return {"license_expression": lic.expression, "license_source": lic.source, "license_files": lic.files,
            "package_source": recipe.package_source, "package_name": recipe.name,
            "package_version": recipe.version, "recipe_id": recipe.id, "source_kind": recipe.source_kind,
            "build_kind": recipe.build_kind}


def _failure(recipe: Recipe, stage: str, error: str, log_tail: str, object_path: str | None = None) -> dict[str, Any]:
    return failure_row(recipe.id, stage, error, recipe=recipe, log_tail=log_tail, object_path=object_path)
