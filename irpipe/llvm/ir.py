"""In-process LLVM IR: the only module that imports llvmlite.

One parse per module: what irpipe itself computes from a module's bytes (structural hash, counts,
features, graphs, evaluation) comes from one parse by the native library (LLVM 22's C++ API,
:mod:`irpipe.llvm.native`): :func:`inspect` and :func:`describe`.  llvmlite serves the users who
name it (``parse`` returns an ``llvmlite`` module, as the gym's ``Ir`` observation does).

llvmlite 0.50 carries LLVM 22.1.  Do not call ``llvm.initialize()``: it raises
in 0.50 (initialization happens on import).

The structural hash here plays the role of ``opt -passes='print<structural-hash><detailed>'``
in ComPile's dedup: two modules hash alike when they differ only in local
value names, metadata and debug info, ``dso_local`` markers and PIC/PIE module
flags (the usual twins of a libtool build), never when an instruction, type,
constant, global name or attribute differs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

import llvmlite.binding as llvm

from irpipe.runtime import files
from irpipe.errors import IRError
from irpipe.llvm import bitstream

if TYPE_CHECKING:
    from irpipe.llvm import native

SUPPORTED = "LLVM 22.x (llvmlite 0.50)"
LLVM_MAJOR = 22
BITCODE_MAGIC = b"BC\xc0\xde"
WRAPPER_MAGIC = b"\xde\xc0\x17\x0b"
#: Default refusal threshold for one module, in bytes (IR text or bitcode);
#: a 64 MiB module is already ~1M instructions and several GiB inside LLVM.
MAX_MODULE_BYTES = 64 << 20
_TYPED_POINTER = re.compile(r"(?:\bi\d+|%[-\w.$]+|[\]}>])\*+[\s,)]")
_CLANG_IDENT = re.compile(r'!"[^"]*clang version (\d+)\.(\d+)')

_DROP_LINE = re.compile(r"^(; ModuleID|source_filename|!|\s*#dbg_|;)")
_ATTACHMENT = re.compile(r",?\s*!(?:[A-Za-z_][\w.]*)\s+!(?:\d+|\{[^}]*\})")
_TRAILING_COMMENT = re.compile(r"\s+; (?:preds|uselistorder|Function Attrs).*$")
LOCAL = re.compile(r'%(?:"[^"]*"|[-\w$.]+)')
LABEL_DEF = re.compile(r'^("[^"]*"|[-\w$.]+):')
TYPE_DEF = re.compile(r'^(%(?:"[^"]*"|[-\w$.]+)) = type ')


@dataclass(frozen=True)
class ModuleInfo:
    """Facts about one module, as irpipe stores them in a MODULES row."""

    structural_hash: str
    target_triple: str
    source_filename: str
    function_count: int
    instruction_count: int


def is_bitcode(data: bytes) -> bool:
    """True when ``data`` starts like LLVM bitcode (raw or wrapped)."""
    return data[:4] in (BITCODE_MAGIC, WRAPPER_MAGIC)


def producer_version(data: bytes) -> str | None:
    """The producer recorded in a bitcode IDENTIFICATION block (``"22.1.8"``), if readable."""
    try:
        text = bitstream.producer(data)
    except ValueError:
        return None
    return text[4:] if text and text.startswith("LLVM") else text


def _too_big(name: str, size: int, max_bytes: int) -> str:
    return files.too_big(name, size, max_bytes)


def check_input(data: bytes | str, *, name: str = "<module>",
                max_bytes: int | None = MAX_MODULE_BYTES) -> bytes:
    """Refuse, before LLVM sees them, inputs irpipe cannot read; return the bytes.

    Empty input, a module over ``max_bytes`` and bitcode written by another
    LLVM major version each raise one :class:`IRError` naming the problem and
    the supported version.  Checks are pure Python: they cannot crash.
    """
    if isinstance(data, str):
        data = data.encode()
    if not data.strip():
        raise IRError(f"{name}: empty input; expected LLVM IR or bitcode ({SUPPORTED})")
    if max_bytes is not None and len(data) > max_bytes:
        raise IRError(_too_big(name, len(data), max_bytes))
    if is_bitcode(data):
        version = producer_version(data)
        major = bitstream.producer_major(data)
        if major is not None and major != LLVM_MAJOR:
            raise IRError(f"{name}: bitcode produced by LLVM {version}; supported: {SUPPORTED}")
    return data


def read_module(path: str | Path, *, max_bytes: int | None = MAX_MODULE_BYTES) -> bytes:
    """Read a .ll/.bc file, refusing one over ``max_bytes`` (a bounded read) and anything but a
    regular file (a directory, FIFO or device: refused by ``stat`` before opening it)."""
    data = files.read_bounded(path, max_bytes, error=IRError, what="LLVM IR or bitcode")
    return check_input(data, name=files.shown(path), max_bytes=max_bytes)


def describe_failure(data: bytes, detail: str, *, name: str = "<module>") -> str:
    """One-line message for IR LLVM rejected: what is wrong and what is supported."""
    detail = " ".join(detail.split())[:300]
    if is_bitcode(data):
        version = producer_version(data)
        if version and not version.startswith(f"{LLVM_MAJOR}."):
            return f"{name}: bitcode produced by LLVM {version}; supported: {SUPPORTED} ({detail})"
        return f"{name}: invalid or truncated bitcode: {detail}; supported: {SUPPORTED}"
    text = data.decode("utf-8", errors="replace")
    hint = ""
    ident = _CLANG_IDENT.search(text)
    if ident and int(ident.group(1)) != LLVM_MAJOR:
        hint = f" (written by clang {ident.group(1)}.{ident.group(2)})"
    elif _TYPED_POINTER.search(text):
        hint = " (typed pointers: IR from LLVM 16 or older)"
    return f"{name}: invalid IR text{hint}: {detail}; supported: {SUPPORTED}"


def parse(data: bytes | str, *, name: str = "<module>",
          max_bytes: int | None = MAX_MODULE_BYTES) -> llvm.ModuleRef:
    """Parse bitcode or textual IR and verify it; raise :class:`IRError` naming the problem.

    Inputs from outside irpipe can crash LLVM (its bitcode reader is not
    hardened): read those through :mod:`irpipe.llvm.isolate`.
    """
    data = check_input(data, name=name, max_bytes=max_bytes)
    # A fresh context per module: in llvmlite's global context, a second module with
    # the same named struct types would see them renamed (%struct.S.0), which
    # would change its printed IR and its hash.
    context = llvm.create_context()
    try:
        if is_bitcode(data):
            mod = llvm.parse_bitcode(data, context)
        else:
            mod = llvm.parse_assembly(data.decode("utf-8", errors="strict"), context)
        mod.verify()
    except UnicodeDecodeError as exc:
        raise IRError(f"{name}: neither bitcode nor UTF-8 IR text ({exc.reason}); "
                      f"supported: {SUPPORTED}") from exc
    except RuntimeError as exc:
        raise IRError(describe_failure(data, str(exc), name=name)) from exc
    return mod


def native_module(data: bytes, *, name: str = "<module>") -> "native.NativeModule":
    """Parse and verify ``data`` with the native library (LLVM 22's C++ API).

    Raises :class:`IRError` with :func:`describe_failure`'s message.  Run it in an
    isolated child for input from outside irpipe (see :mod:`irpipe.llvm.isolate`).
    """
    from irpipe.llvm import native

    try:
        return native.NativeModule.parse(data, name=name)
    except IRError as exc:
        raise IRError(describe_failure(data, str(exc), name=name)) from None


def split_functions(data: bytes | str, *, name: str = "<module>") -> dict[str, bytes]:
    """One bitcode module per defined function (the others become declarations).

    Like ``llvm-extract --func``: each module verifies on its own; internal
    functions and globals it refers to are kept as hidden external declarations.
    """
    data = check_input(data, name=name)
    with native_module(data, name=name) as mod:  # the native library clones modules
        return {fn: mod.split_function(i) for i, fn in enumerate(mod.functions)}


def canonical_text(ir_text: str) -> str:
    """IR text with names, metadata, debug records and PIC markers normalized away."""
    out: list[str] = []
    types = set()
    for line in ir_text.splitlines():
        m = TYPE_DEF.match(line)
        if m:
            types.add(m.group(1))
    names: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        tok = match.group(0)
        if tok in types:
            return tok
        return names.setdefault(tok, f"%v{len(names)}")

    in_body = False
    for line in ir_text.splitlines():
        if not line or _DROP_LINE.match(line):
            continue
        line = _TRAILING_COMMENT.sub("", line)
        line = _ATTACHMENT.sub("", line).replace(" dso_local", "")
        if line.startswith("define "):
            in_body, names = True, {}
        elif in_body and line == "}":
            in_body = False
        if in_body:
            label = LABEL_DEF.match(line)
            if label and not line.startswith(" "):
                line = "%" + label.group(1) + ":" + line[label.end():]
            line = LOCAL.sub(rename, line)
        out.append(line.rstrip())
    return "\n".join(out) + "\n"


def count_instructions(ir_text: str) -> tuple[int, int]:
    """(defined functions, instructions in them) counted from printed IR text."""
    functions = instructions = 0
    in_body = False
    for line in ir_text.splitlines():
        if line.startswith("define "):
            functions += 1
            in_body = True
        elif in_body:
            if line == "}":
                in_body = False
            elif line.startswith("  ") and not line.lstrip().startswith(("#dbg_", ";")):
                instructions += 1
    return functions, instructions


def module_text(mod: llvm.ModuleRef) -> str:
    """The module printed as LLVM 22 IR text."""
    return str(mod)


def structural_hash_of_text(ir_text: str) -> str:
    """Hex digest (32 chars) of :func:`canonical_text`."""
    return hashlib.sha256(canonical_text(ir_text).encode()).hexdigest()[:32]


_HEADER = re.compile(r'^(source_filename|target triple) = "((?:[^"\\]|\\\\|\\[0-9A-Fa-f]{2})*)"$', re.M)
_ESCAPE = re.compile(rb"\\(\\|[0-9A-Fa-f]{2})")


def _unescape(printed: str) -> str:
    """A string as LLVM prints it (``\\\\`` for a backslash, ``\\XX`` for quotes and non-printables)
    back to text."""
    raw = _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1), 16)]),
                      printed.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", errors="replace")


def describe(mod: "native.NativeModule") -> ModuleInfo:
    """The facts of a module parsed once by the native library (hash, triple, counts)."""
    text = mod.text()
    if text.startswith("; ModuleID"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    head = text[: text.find("\ndefine ")] if "\ndefine " in text else text
    header = {key: _unescape(value) for key, value in _HEADER.findall(head)}
    functions, instructions = count_instructions(text)
    return ModuleInfo(
        structural_hash=structural_hash_of_text(text),
        target_triple=header.get("target triple", ""),
        source_filename=header.get("source_filename", ""),
        function_count=functions,
        instruction_count=instructions,
    )


def to_text(data: bytes | str, *, name: str = "<module>") -> str:
    """``data`` (bitcode or text) printed as LLVM 22 IR text, as ``llvm-dis-22`` prints it."""
    with native_module(check_input(data, name=name), name=name) as mod:
        return mod.text()


def inspect(data: bytes | str, *, name: str = "<module>") -> ModuleInfo:
    """Parse (once, natively), verify and describe one module (bitcode or text)."""
    data = check_input(data, name=name)
    with native_module(data, name=name) as mod:
        return describe(mod)


def structural_hash(data: bytes | str) -> str:
    """Structural hash of bitcode or IR text (see module docstring)."""
    return inspect(data).structural_hash


def llvm_version() -> str:
    """The LLVM version llvmlite was built against, e.g. ``"22.1.0"``."""
    return ".".join(str(v) for v in llvm.llvm_version_info)
