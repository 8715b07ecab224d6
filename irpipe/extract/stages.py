"""One package end to end, without Ray: fetch -> license -> produce modules -> rows.

Shaped like gematria's pipeline stages: a cheap ``__init__``, ``setup()`` that
finds the tools once per worker, and ``process(recipe)`` that handles one
package and never raises for a package-level problem: it returns a
:class:`PackageResult` whose failures say what went wrong, at which stage.
:class:`PackageExtractor` is the extract job's :class:`~irpipe.runtime.stage.Stage`; how
each build kind makes its modules is its producer (:mod:`irpipe.extract.producers`).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from irpipe import __version__
from irpipe.errors import BuildError, BuildTimeout, FetchError, IRError, LicenseError, ToolError
from irpipe.extract import licenses, producers, sources
from irpipe.extract.producers import Build, ExtractOptions, LlvmModules, MlirModules  # noqa: F401 (re-exported)
from irpipe.extract.recipes import Recipe
from irpipe.extract.sandbox import Limits
from irpipe.llvm import ir, isolate
from irpipe.llvm.tools import REQUIRED_FOR_EXTRACT, Toolchain
from irpipe.runtime.process import tail
from irpipe.mlir import ir as mlir_ir
from irpipe.mlir.tools import IreeTools
from irpipe.runtime.failures import failure_row
from irpipe.runtime.stage import StageResult

_LANG_BY_SUFFIX = {".c": "c", ".cc": "c++", ".cpp": "c++", ".cxx": "c++", ".c++": "c++", ".C": "c++",
                   ".m": "objective-c", ".mm": "objective-c", ".rs": "rust", ".f90": "fortran", ".f": "fortran"}


@dataclass
class PackageResult(StageResult):
    """What one package yielded: MODULES rows (``rows["modules"]``), failure rows and counters."""

    recipe_id: str = ""

    @property
    def modules(self) -> list[dict[str, Any]]:
        """The package's MODULES rows."""
        return self.rows.setdefault("modules", [])

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


def _crate_license(recipe: Recipe, src: Path) -> licenses.License:
    return licenses.from_cargo(next(iter(sorted(src.glob(f"{recipe.name}-*"))), src))


#: How the license of a package without a [license] expression is read, by source kind (jax and
#: numba code comes from PyPI too); local sources have no metadata to read it from.
LICENSE_READERS: dict[str, Callable[[Recipe, Path], licenses.License]] = {
    "debian": lambda recipe, src: licenses.from_debian(src), "debian-crate": _crate_license,
    "pypi": lambda recipe, src: licenses.from_pypi(src), "numba": lambda recipe, src: licenses.from_pypi(src),
}


class PackageExtractor:
    """Turns one recipe into MODULES and FAILURES rows: the extract job's stage."""

    name = "extract"

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
        if self.iree is None:
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
        assert self.tools is not None
        result = PackageResult({"modules": []}, recipe_id=recipe.id)
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
            made = producers.produce(Build(recipe, src, work, log, limits, self.options, self.tools, self._iree))
            stage = "extract"
            rows_of = {"llvm": self._llvm_rows, "mlir": self._mlir_rows}[made.ir_kind]  # by IR kind
            rows_of(recipe, lic, made, result)  # type: ignore[operator]
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
        reader = LICENSE_READERS.get(recipe.source_kind)
        if reader is None:
            raise LicenseError(f"{recipe.id}: local sources need [license] expression in the recipe")
        return reader(recipe, src)

    def _llvm_rows(self, recipe: Recipe, lic: licenses.License, made: LlvmModules, result: PackageResult) -> None:
        """MODULES rows (ir_kind "llvm") of the distinct modules that LLVM reads, each inspected in
        the isolated child; one it cannot read is an "extract" failure row."""
        assert self.tools is not None and self.llvm is not None
        llvm = self.llvm
        llvm_version = made.llvm_version or self.tools.find("clang").version
        seen_bytes: set[bytes] = set()
        distinct = []
        for mod in made.modules:  # byte-identical twins (an archive member of an object) skip the parse
            digest = hashlib.sha256(mod.bitcode).digest()
            if digest not in seen_bytes:
                seen_bytes.add(digest)
                distinct.append(mod)

        def inspect(mod: Any) -> Any:
            name = f"{recipe.id}:{mod.object_path}"
            return llvm.call(ir.inspect, mod.bitcode, name=name, label=name)

        unique, dropped = _inspect_unique(recipe, result, distinct, inspect, lambda m: m.object_path)
        dropped += len(made.modules) - len(distinct)
        for mod, info in unique:
            result.modules.append({
                **_package_columns(recipe, lic), "content": mod.bitcode,
                "language": made.language or language_of(info.source_filename),
                "source_path": info.source_filename, "object_path": mod.object_path,
                "compile_command": mod.command, "target_triple": info.target_triple,
                "llvm_version": llvm_version,
                "structural_hash": info.structural_hash, "bitcode_size": len(mod.bitcode),
                "function_count": info.function_count, "instruction_count": info.instruction_count,
                "ir_kind": "llvm",
            })
        result.stats.update(objects=len(made.modules), modules=len(result.modules), dropped_in_package=dropped,
                            irpipe_version=__version__)

    def _mlir_rows(self, recipe: Recipe, lic: licenses.License, made: MlirModules, result: PackageResult) -> None:
        """MODULES rows (ir_kind "mlir") for every level of every lowered program; a program that
        JAX or IREE could not lower is a "lower" failure row, the others go on."""
        for err in made.errors:
            result.failures.append(_failure(recipe, "lower", f"{err['program']}: {err['error']}", "",
                                            err["program"]))
        version = mlir_ir.bindings_version()
        unique, dropped = _inspect_unique(
            recipe, result, made.modules,
            lambda m: mlir_ir.inspect(m.text, name=f"{m.program_id}@{m.level}", level=m.level),
            lambda m: m.program_id)
        for mod, info in unique:
            content = info.text.encode()
            result.modules.append({
                **_package_columns(recipe, lic), "content": content, "language": "python-jax",
                "source_path": mod.target, "object_path": mod.program_id, "compile_command": mod.command,
                "target_triple": None, "llvm_version": version, "structural_hash": info.structural_hash,
                "bitcode_size": len(content), "function_count": info.function_count,
                "instruction_count": info.op_count, "ir_kind": "mlir", "dialects": list(info.dialects),
                "mlir_level": info.level,
            })
        programs = {m.program_id for m in made.modules}
        result.stats.update(objects=len(programs), modules=len(result.modules), dropped_in_package=dropped,
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
