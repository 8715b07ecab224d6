"""The only importer of the MLIR Python bindings (``iree.compiler.ir``): parse, inspect, hash.

MLIR is produced and parsed with one MLIR version (IREE's): text printed by
Debian's mlir-opt-22 may use syntax IREE's newer parser rejects, and the other
way round.  A :class:`Module` keeps its context alive; keep the Module itself
referenced while you use its operations (the bindings do not tie an Operation's
lifetime to its module, and a dropped module's ops read as garbage).

Input from outside irpipe (a user's file) is parsed with ``isolate=True``: first
in a persistent child process (:class:`irpipe.llvm.isolate.Isolated`), so a crash
of the MLIR parser costs one error naming the file, then here.  Every parse
refuses text nested deeper than :data:`MAX_NESTING` brackets (the parser, and the
walks over the module, recurse once per level; 4000 levels overflow the stack).

    USAGE: info = inspect(text, name="mlp.mlir"); info.dialects, info.level
           module = parse(untrusted_bytes, name="a.mlir", isolate=True)
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import re
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from irpipe.errors import MLIRError
from irpipe.llvm import isolate as _isolate

#: IREE's compilation phases, in order; "source" is the module as the frontend (JAX) emitted it.
LEVELS = ("source", "input", "abi", "preprocessing", "global-optimization", "dispatch-creation", "flow",
          "stream", "executable-sources", "executable-configurations", "executable-targets", "hal", "vm")
#: Dialects of frontends (the "source" level).
FRONTEND_DIALECTS = frozenset({"stablehlo", "chlo", "mhlo", "tosa", "torch", "vhlo"})
FUNCTION_OPS = frozenset({"func.func", "util.func", "llvm.func", "vm.func"})

#: The deepest nesting of ``{ [ (`` brackets :func:`parse` accepts; IREE's and JAX's modules
#: nest under 10 (7 in datasets/mlir), the MLIR parser overflows its stack near 4000.
MAX_NESTING = 256

_local = threading.local()
_MODULE_NAME_RE = re.compile(r"^module @[\w$.\"-]+", re.M)
_STRINGS_AND_COMMENTS = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|//[^\n]*')
_worker: _isolate.Isolated | None = None


def _context() -> Any:
    """One MLIR context per thread (contexts are not thread-safe), with every IREE dialect."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        from iree.compiler import ir as mlir_ir

        ctx = _local.ctx = mlir_ir.Context()
    return ctx


def bindings_version() -> str:
    """The version of the MLIR bindings and compiler in use (IREE's release)."""
    from iree.compiler import version

    return f"iree {version.VERSION}"


@dataclass
class Module:
    """A parsed MLIR module; ``op`` is its top-level ``Operation``."""

    name: str
    op: Any
    _module: Any  # keeps the module (and, through it, the context) alive

    def operations(self) -> Iterator[tuple[Any, int]]:
        """Every operation nested in the module (the module op excluded), pre-order, with its depth."""
        stack = [(self.op, 0)]
        while stack:
            op, depth = stack.pop()
            if depth:
                yield op, depth
            children = [(o.operation, depth + 1) for r in op.regions for b in r.blocks for o in b.operations]
            stack.extend(reversed(children))

    def text(self) -> str:
        """The module printed in MLIR's custom form, without locations."""
        return self.op.get_asm(enable_debug_info=False)


def _first_error(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")] or lines[-1:]
    first = errors[0] if errors else "unreadable MLIR"
    if "not found for custom op" in first or "unregistered" in first:
        first += " (irpipe reads the dialects IREE registers: stablehlo, tosa, linalg, tensor, arith, " \
                 "scf, vector, memref, llvm and IREE's own)"
    return first


def nesting_depth(text: str | bytes) -> int:
    """The deepest nesting of ``{ [ (`` brackets in MLIR text, outside strings and ``//`` comments
    (linear time, no recursion)."""
    data = text.encode() if isinstance(text, str) else text
    if sum(data.count(c) for c in (b"{", b"[", b"(")) <= MAX_NESTING:
        return _depth_of_few(data)  # no deeper than MAX_NESTING: skip the numpy scan
    import numpy as np

    data = _STRINGS_AND_COMMENTS.sub(b"", data)
    step = np.zeros(256, np.int32)
    step[list(b"{[(")], step[list(b"}])")] = 1, -1
    deepest = level = 0
    for start in range(0, len(data), 1 << 22):  # 4 MiB at a time: bounded memory
        chunk = np.frombuffer(data, np.uint8, min(1 << 22, len(data) - start), start)
        depth = np.cumsum(step[chunk], dtype=np.int32)
        deepest, level = max(deepest, level + int(depth.max())), level + int(depth[-1])
    return deepest


def _depth_of_few(data: bytes) -> int:
    depth = deepest = 0
    for m in re.finditer(rb"[{}\[\]()]", _STRINGS_AND_COMMENTS.sub(b"", data)):
        depth += 1 if m.group() in b"{[(" else -1
        deepest = max(deepest, depth)
    return deepest


def _check_nesting(text: str, name: str) -> None:
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise MLIRError(f"{name}: nested {depth} levels deep (brackets {{ [ ( ), over irpipe's limit of "
                        f"{MAX_NESTING}; refusing it rather than overflow the MLIR parser's stack")


def _decode(text: str | bytes, name: str) -> str:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MLIRError(f"{name}: not MLIR text (not UTF-8 at byte {exc.start})") from exc
    if not text.strip():
        raise MLIRError(f"{name}: empty MLIR")
    return text


def isolated_worker() -> _isolate.Isolated:
    """The process-wide child that parses untrusted MLIR (started on first use, restarted after a crash)."""
    global _worker
    if _worker is None:
        _worker = _isolate.Isolated(what="the MLIR parser", error=MLIRError,
                                    expects="irpipe reads MLIR text of IREE's MLIR version")
        atexit.register(_worker.close)
    return _worker


def _preload_bindings() -> None:
    try:
        importlib.import_module("iree.compiler.ir")
    except ImportError:  # reported by the parse itself
        pass


def check_parses(text: str, name: str = "<mlir>") -> None:
    """Parse and verify ``text`` (decoded, nesting checked); the body of an isolated parse."""
    _parse(text, name)


def parse(text: str | bytes, *, name: str = "<mlir>", isolate: bool = False) -> Module:
    """Parse and verify MLIR text; raise :class:`MLIRError` naming ``name`` and the first error.

    Args:
        text: MLIR text (bytes must be UTF-8).
        name: used in error messages.
        isolate: parse in a child process first (:func:`isolated_worker`), so that a crash of
            the MLIR parser raises :class:`MLIRError` instead of killing this process. Use it
            for input from outside irpipe; the check costs a second parse.
    """
    text = _decode(text, name)
    _check_nesting(text, name)
    if isolate:
        loader = threading.Thread(target=_preload_bindings, daemon=True)
        loader.start()  # import the bindings here while the child parses
        try:
            isolated_worker().call(check_parses, text, name, label=name)
        finally:
            loader.join()
    return _parse(text, name)


def _parse(text: str, name: str) -> Module:
    from iree.compiler import ir as mlir_ir

    ctx = _context()
    try:
        module = mlir_ir.Module.parse(text, ctx)
    except mlir_ir.MLIRError as exc:
        raise MLIRError(f"{name}: {_first_error(str(exc))}") from exc
    return Module(name=name, op=module.operation, _module=module)


@dataclass(frozen=True)
class ModuleInfo:
    """What extraction records of one MLIR module."""

    text: str
    structural_hash: str
    dialects: tuple[str, ...]
    level: str
    op_count: int
    function_count: int


def dialects_of(module: Module) -> tuple[str, ...]:
    """The dialects whose ops the module holds (``builtin`` excluded), sorted."""
    names = {op.name.split(".", 1)[0] for op, _ in module.operations()}
    return tuple(sorted(names - {"builtin"}))


def guess_level(dialects: tuple[str, ...] | frozenset[str]) -> str:
    """The lowering level a module is at, judged from its dialects alone (for files of unknown
    origin; extraction knows the phase).  One of :data:`LEVELS`' coarse points."""
    d = set(dialects)
    if d & FRONTEND_DIALECTS:
        return "source"
    if d and d <= {"vm"}:
        return "vm"
    if "llvm" in d and "hal" in d:
        return "executable-targets"
    if "stream" in d:
        return "stream"
    if "flow" in d:
        return "flow"
    if "hal" in d:
        return "hal"
    return "input"


def entry_arguments(module: Module, function: str = "main") -> list[str]:
    """The argument types of the module's public ``function`` (JAX names it ``main``), as text."""
    for op, depth in module.operations():
        if depth == 1 and op.name == "func.func" and str(op.attributes["sym_name"]).strip('"') == function:
            return [str(arg.type) for arg in op.regions[0].blocks[0].arguments]
    raise MLIRError(f"{module.name}: no function @{function} at the top level")


def structural_hash(module: Module) -> str:
    """sha256 of the module printed without locations and without its symbol name: equal for
    modules that differ only in SSA value names, locations or the module's name."""
    canonical = _MODULE_NAME_RE.sub("module", module.text(), count=1)
    return hashlib.sha256(canonical.encode()).hexdigest()


def inspect(text: str | bytes, *, name: str = "<mlir>", level: str | None = None) -> ModuleInfo:
    """Parse ``text`` and describe it (:class:`ModuleInfo`); ``level`` overrides the guess."""
    module = parse(text, name=name)
    ops = list(module.operations())
    dialects = dialects_of(module)
    return ModuleInfo(
        text=module.text(), structural_hash=structural_hash(module), dialects=dialects,
        level=level or guess_level(dialects), op_count=len(ops),
        function_count=sum(1 for op, _ in ops if op.name in FUNCTION_OPS),
    )
