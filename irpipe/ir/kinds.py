"""IR kinds behind one protocol: what a command needs of LLVM IR or MLIR, named by kind.

An :class:`IRKind` reads a module's bytes and answers with plain data (features, a
:class:`~irpipe.ir.graph.ProgramGraph`, the facts a MODULES row stores), so a stage or command
that holds a kind never branches on it.  The kinds are plugins found by name, as Python entry
points are (``"irpipe.llvm.kind:KIND"``): this neutral module imports neither LLVM nor MLIR code,
and a third kind is one more entry in :data:`KINDS`.

    USAGE: kind = detect("a.mlir", head)          # or get("llvm")
           spaces = kind.features(data, name="a.mlir")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from irpipe.errors import ConfigError

if TYPE_CHECKING:  # numpy stays out of commands that only sniff a file's kind
    from irpipe.ir.graph import ProgramGraph

#: kind name -> "module:attribute" of its :class:`IRKind` (the ``ir_kind`` of a MODULES row)
KINDS = {"llvm": "irpipe.llvm.kind:KIND", "mlir": "irpipe.mlir.kind:KIND"}
#: how MLIR text starts (a file without the .mlir suffix is read as MLIR when it starts so)
MLIR_STARTS = (b"module", b"func.func", b"#", b"//", b'"builtin.module"')


class IRKind(Protocol):
    """One IR kind.  Every method takes a module's bytes and the name errors show for it.

    Invariants: ``features`` returns ``{space: {key: number}}`` with the same keys for every
    module of the kind, plus ``"functions": {name: {space: {...}}}`` when ``per_function``;
    ``graph`` returns a :class:`ProgramGraph` whose ``node_types``/``flows`` are the kind's.
    """

    name: str

    def features(self, data: bytes, *, name: str, per_function: bool = False,
                 max_bytes: int | None = None) -> dict[str, Any]:
        """Feature spaces of the module (and per defined function when asked)."""
        ...

    def function_summary(self, spaces: dict[str, Any]) -> str:
        """One line describing a function's ``features`` spaces (for tables)."""
        ...

    def graph(self, data: bytes, *, name: str, function: str | None = None, types: bool = True,
              full_text: bool = False, max_bytes: int | None = None) -> ProgramGraph:
        """The ProGraML-style program graph of the module (or of one defined function)."""
        ...


def get(name: str) -> IRKind:
    """The kind called ``name``; :class:`ConfigError` naming the known kinds otherwise."""
    if name not in KINDS:
        raise ConfigError(f"unknown IR kind {name!r}; known: {', '.join(KINDS)}")
    module, _, attr = KINDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def looks_like_mlir(path: str, head: bytes = b"") -> bool:
    """True for a ``.mlir`` file, or one whose text starts like MLIR (``module``, ``func.func``,
    ``#``, ``//``; LLVM's ``module asm`` excluded)."""
    head = head.lstrip()
    return str(path).endswith(".mlir") or (head.startswith(MLIR_STARTS) and not head.startswith(b"module asm"))


def detect(path: str, head: bytes = b"") -> str:
    """The kind name of a file from its name and first bytes: "mlir" or "llvm"."""
    return "mlir" if looks_like_mlir(path, head) else "llvm"
