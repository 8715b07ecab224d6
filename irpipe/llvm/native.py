"""ctypes binding of libIRPipeAnalysis: LLVM 22's C++ API for the analyses.

The library (``passes/lib``, built by ``make native`` into
``passes/build/lib/libIRPipeAnalysis.so``, or the copy an installed wheel
carries; lookup order in :mod:`irpipe.paths`) links Debian's libLLVM-22 and
exposes a small C ABI (``passes/include/irpipe/CAPI.h``): parse + verify,
InstCount, Autophase, ProGraML-style graphs and per-function split.  It is a
separate LLVM from llvmlite's (both 22.1); modules never cross between them,
only bytes do.

    USAGE: with NativeModule.parse(data) as mod: counts = mod.instcount()
"""

from __future__ import annotations

import ctypes as C
import functools
import os
from pathlib import Path
from typing import Collection, Mapping

import numpy as np

from irpipe import paths
from irpipe.errors import IRError, ToolNotFound, ToolVersionMismatch

ABI_VERSION = 6
LIBRARY_NAME = paths.NATIVE_LIBRARY
GRAPH_TYPES = 1
GRAPH_FULL_TEXT = 2
EVAL_OBJECT, EVAL_ASSEMBLY, EVAL_BITCODE, EVAL_NO_VERIFY, EVAL_KEEP_OPTNONE, EVAL_PER_FUNCTION, EVAL_DIGEST = (
    1, 2, 4, 8, 16, 32, 64)


class EvalResult(C.Structure):
    """irpipe_eval_result (CAPI.h)."""

    _fields_ = [("instructions", C.c_int64), ("text_bytes", C.c_int64), ("object_bytes", C.c_int64),
                ("opt_seconds", C.c_double), ("codegen_seconds", C.c_double),
                ("digest", C.c_uint8 * 32), ("codegen_skipped", C.c_int32)]
def library_path() -> Path:
    """Where the native library is (lookup order in :mod:`irpipe.paths`)."""
    return paths.native_library()


def plugin_path() -> Path:
    """The pass plugin (``libIRPipe.so``), next to the native library."""
    return paths.pass_plugin()


def _declare(lib: C.CDLL) -> None:
    p, i64, sz = C.c_void_p, C.c_int64, C.c_size_t
    err = C.POINTER(C.c_void_p)
    sigs = {
        "irpipe_abi_version": (C.c_int, []),
        "irpipe_llvm_version": (C.c_char_p, []),
        "irpipe_free": (None, [p]),
        "irpipe_instcount_names": (C.c_char_p, []),
        "irpipe_autophase_names": (C.c_char_p, []),
        "irpipe_module_parse": (C.c_int, [C.c_char_p, sz, C.c_char_p, C.POINTER(p), err]),
        "irpipe_module_free": (None, [p]),
        "irpipe_module_function_count": (i64, [p]),
        "irpipe_module_function_name": (C.c_char_p, [p, i64]),
        "irpipe_module_instruction_count": (i64, [p]),
        "irpipe_instcount": (C.c_int, [p, i64, p, err]),
        "irpipe_autophase": (C.c_int, [p, i64, p, err]),
        "irpipe_split_function": (C.c_int, [p, i64, C.POINTER(p), C.POINTER(sz), err]),
        "irpipe_module_print": (C.c_int, [p, C.POINTER(p), C.POINTER(sz), err]),
        "irpipe_graph_build": (C.c_int, [p, i64, C.c_int, C.POINTER(p), err]),
        "irpipe_graph_free": (None, [p]),
        "irpipe_graph_sizes": (None, [p, p]),
        "irpipe_graph_export": (None, [p] * 12),
        "irpipe_evaluate": (C.c_int, [p, C.c_char_p, C.c_char_p, sz, C.c_int, C.c_char_p, C.c_char_p,
                                      C.c_char_p, sz, C.POINTER(EvalResult), C.POINTER(p), C.POINTER(sz),
                                      C.POINTER(p), C.POINTER(sz), C.POINTER(p), C.POINTER(sz), err]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes


@functools.lru_cache(maxsize=1)
def load() -> C.CDLL:
    """Load and check the library once per process; a clear error if it is missing or stale."""
    path = library_path()
    if not path.is_file():
        raise ToolNotFound(f"{LIBRARY_NAME} not found: {paths.native_missing_hint()}")
    lib = C.CDLL(str(path), mode=os.RTLD_LOCAL | os.RTLD_NOW)
    _declare(lib)
    abi = lib.irpipe_abi_version()
    version = lib.irpipe_llvm_version().decode()
    if abi != ABI_VERSION:
        raise ToolVersionMismatch(f"{path} has ABI {abi}, irpipe expects {ABI_VERSION}: "
                                  "rebuild it with `make native`")
    if not version.startswith("22."):
        raise ToolVersionMismatch(f"{path} was built with LLVM {version}; supported: LLVM 22")
    return lib


def llvm_version() -> str:
    """The LLVM version the native library was built with."""
    return load().irpipe_llvm_version().decode()


def _names(raw: bytes) -> tuple[str, ...]:
    return tuple(raw.decode().split("\n"))


@functools.lru_cache(maxsize=1)
def instcount_names() -> tuple[str, ...]:
    """The 70 InstCount names in CompilerGym's order."""
    return _names(load().irpipe_instcount_names())


@functools.lru_cache(maxsize=1)
def autophase_names() -> tuple[str, ...]:
    """The 56 Autophase names in CompilerGym's order."""
    return _names(load().irpipe_autophase_names())


def _take_error(error: C.c_void_p) -> str:
    message = C.string_at(error.value).decode("utf-8", errors="replace") if error.value else ""
    if error.value:
        load().irpipe_free(error)
    return message


def _split_strings(blob: bytes, count: int) -> list[str]:
    parts = blob.decode("utf-8", errors="replace").split("\0")
    return parts[:count]


class NativeModule:
    """A parsed, verified LLVM 22 module owned by the native library."""

    def __init__(self, handle: C.c_void_p, name: str):
        self._handle = handle
        self.name = name

    @classmethod
    def parse(cls, data: bytes, *, name: str = "<module>") -> "NativeModule":
        """Parse bitcode or IR text and verify it; :class:`IRError` with LLVM's message otherwise."""
        lib = load()
        handle, error = C.c_void_p(), C.c_void_p()
        if lib.irpipe_module_parse(data, len(data), os.fsencode(name), C.byref(handle), C.byref(error)):
            raise IRError(_take_error(error))
        return cls(handle, name)

    def close(self) -> None:
        """Free the module (also done by ``with`` and on garbage collection)."""
        if self._handle:
            load().irpipe_module_free(self._handle)
            self._handle = None

    def __enter__(self) -> "NativeModule":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def functions(self) -> list[str]:
        """Names of the defined functions, in module order (index = function id)."""
        lib = load()
        count = lib.irpipe_module_function_count(self._handle)
        return [lib.irpipe_module_function_name(self._handle, i).decode("utf-8", errors="replace")
                for i in range(count)]

    @property
    def instruction_count(self) -> int:
        """Instructions in all defined functions."""
        return int(load().irpipe_module_instruction_count(self._handle))

    def function_index(self, name: str) -> int:
        """The id of defined function ``name``; :class:`IRError` listing a few if absent."""
        names = self.functions
        if name not in names:
            shown = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
            raise IRError(f"{self.name}: no defined function {name!r} (defined: {shown or 'none'})")
        return names.index(name)

    def _vector(self, fn_name: str, size: int, function: int) -> np.ndarray:
        out = np.zeros(size, dtype=np.int64)
        error = C.c_void_p()
        fn = getattr(load(), fn_name)
        if fn(self._handle, function, out.ctypes.data, C.byref(error)):
            raise IRError(_take_error(error))
        return out

    def instcount(self, function: int = -1) -> np.ndarray:
        """InstCount (70 int64) of the module, or of defined function ``function``."""
        return self._vector("irpipe_instcount", 70, function)

    def autophase(self, function: int = -1) -> np.ndarray:
        """Autophase (56 int64) of the module, or of defined function ``function``."""
        return self._vector("irpipe_autophase", 56, function)

    def text(self) -> str:
        """The module printed as LLVM 22 IR text (what ``llvm-dis-22`` prints)."""
        lib = load()
        buf, size, error = C.c_void_p(), C.c_size_t(), C.c_void_p()
        if lib.irpipe_module_print(self._handle, C.byref(buf), C.byref(size), C.byref(error)):
            raise IRError(_take_error(error))
        try:
            return C.string_at(buf.value, size.value).decode("utf-8", errors="replace")
        finally:
            lib.irpipe_free(buf)

    def split_function(self, function: int) -> bytes:
        """Bitcode of a module holding only defined function ``function``."""
        lib = load()
        buf, size, error = C.c_void_p(), C.c_size_t(), C.c_void_p()
        if lib.irpipe_split_function(self._handle, function, C.byref(buf), C.byref(size),
                                     C.byref(error)):
            raise IRError(_take_error(error))
        try:
            return C.string_at(buf.value, size.value)
        finally:
            lib.irpipe_free(buf)

    def graph_arrays(self, function: int = -1, *, types: bool = True,
                     full_text: bool = False) -> dict[str, object]:
        """The program graph as numpy arrays and string lists (see irpipe.llvm.graph)."""
        lib = load()
        handle, error = C.c_void_p(), C.c_void_p()
        flags = (GRAPH_TYPES if types else 0) | (GRAPH_FULL_TEXT if full_text else 0)
        if lib.irpipe_graph_build(self._handle, function, flags, C.byref(handle), C.byref(error)):
            raise IRError(_take_error(error))
        try:
            sizes = np.zeros(7, dtype=np.int64)
            lib.irpipe_graph_sizes(handle, sizes.ctypes.data)
            nodes, edges, ntexts, text_bytes, nfuncs, full_bytes, func_bytes = (int(s) for s in sizes)
            arrays = {
                "node_type": np.empty(nodes, np.uint8), "node_text": np.empty(nodes, np.int32),
                "node_function": np.empty(nodes, np.int32), "node_block": np.empty(nodes, np.int32),
                "edge_source": np.empty(edges, np.int32), "edge_target": np.empty(edges, np.int32),
                "edge_flow": np.empty(edges, np.uint8), "edge_position": np.empty(edges, np.int32),
            }
            texts = C.create_string_buffer(max(text_bytes, 1))
            fulls = C.create_string_buffer(max(full_bytes, 1))
            funcs = C.create_string_buffer(max(func_bytes, 1))
            lib.irpipe_graph_export(handle, *(a.ctypes.data for a in arrays.values()),
                                    texts, fulls if full_bytes else None, funcs)
        finally:
            lib.irpipe_graph_free(handle)
        result: dict[str, object] = dict(arrays)
        result["texts"] = _split_strings(texts.raw[:text_bytes], ntexts)
        result["functions"] = _split_strings(funcs.raw[:func_bytes], nfuncs)
        result["full_text"] = _split_strings(fulls.raw[:full_bytes], nodes) if full_bytes else []
        return result

    def evaluate(self, pipeline: str, *, object_file: bool = False, assembly: bool = False,
                 bitcode: bool = False, verify: bool = True, strip_optnone: bool = True,
                 triple: str = "", cpu: str = "", functions: Mapping[str, str] | None = None,
                 per_function: bool = False, digest: bool = False,
                 known: Collection[bytes] = ()) -> dict[str, object]:
        """Run textual new-PM ``pipeline`` on a copy of this module and measure the result.

        Returns ``instructions``, ``text_bytes`` and ``object_bytes`` (-1 without
        ``object_file``), ``opt_seconds``, ``codegen_seconds`` (thread CPU time),
        and ``bitcode`` / ``assembly`` (bytes) when asked for.  A pipeline LLVM
        cannot parse, or IR that fails the verifier, raises :class:`IRError`.
        The module keeps its target (triple, data layout, each function's
        ``target-cpu``/``target-features``) and the pipeline runs as ``opt-22``
        runs it; ``triple``/``cpu`` (the user's ``--mtriple``/``--target-cpu``)
        change the target and are written into the output.
        ``functions`` ({name: function pipeline}) run after ``pipeline``, one function at a
        time, as the pass plugin runs an advice entry's ``"functions"``; ``per_function``
        adds ``per_function``: {name: (instructions, code bytes or -1)} of every defined
        function of the result.
        ``digest`` adds ``digest``: SHA-256 (32 bytes) of the output bitcode with its code
        triple and CPU, everything the object depends on; an output whose digest is in
        ``known`` (outputs the caller has measured) is not compiled to an object again:
        ``codegen_skipped`` is True and its code bytes are -1 (an identical module gives an
        identical object).
        LLVM may abort the process on some pipelines: call this in an isolated child.
        """
        lib = load()
        res, error = EvalResult(), C.c_void_p()
        bc, bc_size, asm, asm_size = C.c_void_p(), C.c_size_t(), C.c_void_p(), C.c_size_t()
        per, per_size = C.c_void_p(), C.c_size_t()
        flags = ((EVAL_OBJECT if object_file else 0) | (EVAL_ASSEMBLY if assembly else 0)
                 | (EVAL_BITCODE if bitcode else 0) | (0 if verify else EVAL_NO_VERIFY)
                 | (0 if strip_optnone else EVAL_KEEP_OPTNONE) | (EVAL_PER_FUNCTION if per_function else 0)
                 | (EVAL_DIGEST if digest or known else 0))
        digests = b"".join(known)
        if len(digests) != 32 * len(known):
            raise ValueError("known digests are 32 bytes each")
        pairs = b"".join(name.encode() + b"\0" + text.encode() + b"\0" for name, text in (functions or {}).items())
        if lib.irpipe_evaluate(self._handle, pipeline.encode(), pairs or None, len(pairs), flags, triple.encode(),
                               cpu.encode(), digests or None, len(known), C.byref(res), C.byref(bc), C.byref(bc_size), C.byref(asm),
                               C.byref(asm_size), C.byref(per), C.byref(per_size), C.byref(error)):
            raise IRError(_take_error(error))
        out: dict[str, object] = {name: getattr(res, name) for name, _ in EvalResult._fields_}
        out["digest"] = bytes(res.digest) if digest or known else None
        out["codegen_skipped"] = bool(res.codegen_skipped)
        for key, buf, size in (("bitcode", bc, bc_size), ("assembly", asm, asm_size), ("per_function", per, per_size)):
            if buf.value:
                out[key] = C.string_at(buf.value, size.value)
                lib.irpipe_free(buf)
        if per_function:
            fields = out.get("per_function", b"").split(b"\0")[:-1]  # type: ignore[union-attr]
            out["per_function"] = {fields[i].decode("utf-8", "surrogateescape"): (int(fields[i + 1]), int(fields[i + 2]))
                                   for i in range(0, len(fields), 3)}
        return out
