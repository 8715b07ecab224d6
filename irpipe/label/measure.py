"""Evaluate pass pipelines on a module: instruction count, .text size, compile time, mca.

An :class:`Evaluator` owns (or shares) an isolated LLVM child
(:mod:`irpipe.llvm.isolate`) that keeps the parsed module in a small cache, so
each evaluation sends only the pipeline text.  LLVM runs the pipeline in-process
in that child (``libIRPipeAnalysis``: PassBuilder on a clone of the module);
a pipeline that aborts or hangs LLVM costs that one evaluation
(:class:`EvaluationError`) and the child restarts, reloading the module.

The module's target is never changed by a measurement: its triple, data layout
and each function's ``target-cpu``/``target-features`` come out as they went in,
the pipeline runs as ``opt-22 -passes=...`` runs it, and .text is every
executable section of the object ``llc-22`` emits for that target.  Only an
explicit :class:`Target` (the user's ``--mtriple``/``--target-cpu``) changes it.

    USAGE: ev = Evaluator(bitcode); ev.evaluate("function(mem2reg,instcombine<no-verify-fixpoint>)")
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irpipe.errors import EvaluationError, IRError, NotLoaded
from irpipe.llvm import ir, isolate, native
from irpipe.llvm.target import Target
from irpipe.llvm.tools import Toolchain

#: Objectives and the metric each minimizes.
OBJECTIVES = ("instcount", "size", "runtime")
_CACHE_SIZE = 8
_MCA_RTHROUGHPUT = re.compile(r"Block RThroughput:\s*([0-9.]+)")
_MCA_REGION = re.compile(r"\[\d+\] Code Region - (\S+)")


@dataclass(frozen=True)
class Measurement:
    """The result of one pipeline on one module (times are CPU seconds of the LLVM thread)."""

    pipeline: str
    instructions: int
    text_bytes: int | None = None
    opt_seconds: float = 0.0
    codegen_seconds: float = 0.0

    def metric(self, objective: str) -> float:
        """The value the objective minimizes (instcount: instructions; size: .text bytes)."""
        if objective == "instcount":
            return float(self.instructions)
        if objective == "size":
            if self.text_bytes is None:
                raise EvaluationError("size objective needs object_file=True measurements")
            return float(self.text_bytes)
        raise EvaluationError(f"objective {objective!r} is measured by irpipe.label.runtime")


# --- child side: runs in the isolated process -------------------------------------------

_modules: "OrderedDict[str, native.NativeModule]" = OrderedDict()


def _module(key: str, data: bytes | None) -> native.NativeModule:
    if key in _modules:
        _modules.move_to_end(key)
        return _modules[key]
    if data is None:
        raise NotLoaded(key)
    mod = ir.native_module(data, name=key)
    _modules[key] = mod
    while len(_modules) > _CACHE_SIZE:
        _modules.popitem(last=False)[1].close()
    return mod


def evaluate_in_child(key: str, pipeline: str, data: bytes | None, object_file: bool,
                      bitcode: bool, assembly: bool, target: Target = Target(),
                      functions: dict[str, str] | None = None, per_function: bool = False,
                      digest: bool = False, known: tuple[bytes, ...] = ()) -> dict[str, Any]:
    """Child-side body of :meth:`Evaluator.evaluate` (module cached by ``key``)."""
    return _module(key, data).evaluate(pipeline, object_file=object_file, bitcode=bitcode,
                                       assembly=assembly, strip_optnone=target.strip_optnone,
                                       triple=target.triple, cpu=target.cpu, functions=functions,
                                       per_function=per_function, digest=digest, known=known)


class CodegenMemo:
    """The objects of outputs measured so far, by output digest (thread-safe, least recently
    used dropped past ``size``): an evaluation whose optimized module is one of them is not
    compiled again (identical bitcode for the same code target gives an identical object).

    Many pipelines leave a module the same (44% of ten candidates' outputs were duplicates on
    the dataset sample's test modules), and codegen is half of an evaluation's time.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._items: "OrderedDict[bytes, tuple[int, int, dict[str, int] | None]]" = OrderedDict()
        self._lock = threading.Lock()
        self.skipped = 0  #: evaluations that reused an object

    def known(self, per_function: bool) -> tuple[bytes, ...]:
        """Digests whose entry answers an evaluation (with code bytes per function when asked)."""
        with self._lock:
            return tuple(d for d, (_, _, per) in self._items.items() if per is not None or not per_function)

    def get(self, digest: bytes) -> tuple[int, int, dict[str, int] | None] | None:
        """(text bytes, object bytes, {function: code bytes} or None) of ``digest``, or None."""
        with self._lock:
            entry = self._items.get(digest)
            if entry is not None:
                self._items.move_to_end(digest)
                self.skipped += 1
            return entry

    def put(self, digest: bytes, text_bytes: int, object_bytes: int, per_function: dict[str, int] | None) -> None:
        """Remember one measured object."""
        with self._lock:
            old = self._items.get(digest)
            if old is None or old[2] is None:
                self._items[digest] = (text_bytes, object_bytes, per_function)
            self._items.move_to_end(digest)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


# --- caller side ----------------------------------------------------------------------


class Evaluator:
    """Evaluates pipelines on one module (bitcode or IR text) in an isolated LLVM child.

    Args:
        data: the module.
        name: for error messages.
        timeout_s: per evaluation; past it LLVM is killed and the evaluation fails.
        worker: share an :class:`~irpipe.llvm.isolate.Isolated` child (default: the
            process-wide one).
        target: an explicit triple/CPU, and whether optnone is stripped (default:
            the module's own target, optnone stripped as the corpus labels were).
        memo: objects already measured (:class:`CodegenMemo`; share one between evaluators of
            the same module); default: this evaluator's own.
    """

    def __init__(self, data: bytes | str, *, name: str = "<module>", timeout_s: float = 60.0,
                 worker: isolate.Isolated | None = None, target: Target = Target(),
                 memo: CodegenMemo | None = None):
        self.data = ir.check_input(data, name=name)
        self.name = name
        self.key = hashlib.sha256(self.data).hexdigest()[:24]
        self.worker = worker or isolate.shared()
        self.timeout_s = timeout_s
        self.target = target
        self.evaluations = 0
        self.failures = 0
        self.memo = memo if memo is not None else CodegenMemo()

    def evaluate(self, pipeline: str, *, object_file: bool = False, bitcode: bool = False,
                 assembly: bool = False, functions: dict[str, str] | None = None,
                 per_function: bool = False) -> Measurement | tuple[Measurement, dict[str, Any]]:
        """Run ``pipeline`` (then ``functions``: {name: function pipeline}, as the pass plugin
        runs an advice entry) on a copy of the module; a :class:`Measurement`.

        With ``bitcode``, ``assembly`` or ``per_function`` the raw outputs come back too, as
        ``(measurement, {"bitcode": ..., "assembly": ..., "per_function": {name: (instructions,
        code bytes or -1)}})``.  An output this evaluator's :class:`CodegenMemo` has measured is
        not compiled to an object again (the same figures; ``codegen_seconds`` 0).
        """
        self.evaluations += 1
        extra: dict[str, Any] = {"functions": functions, "per_function": per_function} if functions or per_function else {}
        memoized = object_file and not assembly
        raw = self._call(pipeline, object_file, bitcode, assembly,
                         {**extra, "digest": True, "known": self.memo.known(per_function)} if memoized else extra)
        if memoized:
            entry = self.memo.get(raw["digest"]) if raw["codegen_skipped"] else None
            if raw["codegen_skipped"] and entry is None:  # dropped from the memo meanwhile: build it
                raw = self._call(pipeline, object_file, bitcode, assembly, {**extra, "digest": True})
            if entry is None:
                per = {f: b for f, (_, b) in raw["per_function"].items()} if per_function else None
                self.memo.put(raw["digest"], int(raw["text_bytes"]), int(raw["object_bytes"]), per)
            else:
                raw["text_bytes"], raw["object_bytes"], per = entry
                if per_function:
                    raw["per_function"] = {f: (n, per.get(f, 0)) for f, (n, _) in raw["per_function"].items()}
        m = Measurement(pipeline, int(raw["instructions"]),
                        int(raw["text_bytes"]) if raw["text_bytes"] >= 0 else None,
                        float(raw["opt_seconds"]), float(raw["codegen_seconds"]))
        if bitcode or assembly or per_function:
            return m, {k: raw[k] for k in ("bitcode", "assembly", "per_function") if k in raw}
        return m

    def _call(self, pipeline: str, object_file: bool, bitcode: bool, assembly: bool,
              extra: dict[str, Any]) -> dict[str, Any]:
        """One evaluation in the child (the module sent once per child); EvaluationError naming it."""
        call = functools.partial(self.worker.call, evaluate_in_child, self.key, pipeline,
                                 label=self.name, timeout_s=self.timeout_s)
        try:
            try:
                return call(None, object_file, bitcode, assembly, self.target, **extra)
            except NotLoaded:  # send the module once per child
                return call(self.data, object_file, bitcode, assembly, self.target, **extra)
        except IRError as exc:
            self.failures += 1
            raise EvaluationError(f"{self.name}: pipeline {pipeline!r}: {exc}") from None

    def check(self) -> None:
        """Parse and verify the module in the isolated child, where it stays cached for the
        evaluations that follow; one :class:`IRError` line naming the module if LLVM cannot."""
        try:
            self.evaluate("verify")
        except EvaluationError as exc:
            raise IRError(str(exc).replace(f"pipeline 'verify': {self.key}: ", "")) from None

    def mca_throughput(self, pipeline: str, tools: Toolchain | None = None) -> dict[str, float]:
        """llvm-mca-22 block reciprocal throughput per defined function (x86-64-v3), after ``pipeline``."""
        _, raw = self.evaluate(pipeline, assembly=True)
        return mca_throughput(raw["assembly"].decode(), tools or Toolchain())


def mark_mca_regions(assembly: str) -> str:
    """Wrap each function body of ``assembly`` in LLVM-MCA-BEGIN/END region markers."""
    out: list[str] = []
    current: str | None = None
    functions: set[str] = set()
    for line in assembly.splitlines():
        m = re.match(r"\s*\.type\s+([^,]+),@function", line)
        if m:
            functions.add(m.group(1).strip())
        label = line.rstrip(":") if line.endswith(":") and not line.startswith((" ", "\t")) else None
        if label and label.strip('"') in {f.strip('"') for f in functions} and current is None:
            out.append(line)
            out.append(f"# LLVM-MCA-BEGIN {label.strip(chr(34))}")
            current = label
            continue
        if current is not None and line.startswith(".Lfunc_end"):
            out.append("# LLVM-MCA-END")
            current = None
        out.append(line)
    return "\n".join(out) + "\n"


def mca_throughput(assembly: str, tools: Toolchain) -> dict[str, float]:
    """Run llvm-mca-22 over the marked regions; {function: block reciprocal throughput}."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "code.s"
        path.write_text(mark_mca_regions(assembly))
        proc = tools.run("llvm-mca", ["-mtriple=x86_64-unknown-linux-gnu", "-mcpu=x86-64-v3",
                                      str(path)], timeout=120)
    out: dict[str, float] = {}
    region = None
    for line in proc.stdout.decode(errors="replace").splitlines():
        m = _MCA_REGION.search(line)
        if m:
            region = m.group(1)
            continue
        m = _MCA_RTHROUGHPUT.search(line)
        if m and region is not None:
            out[region] = float(m.group(1))
            region = None
    return out
