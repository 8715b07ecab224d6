"""ProGraML-style program graphs on LLVM 22, as PyG HeteroData, networkx or DOT.

The graph is built in C++ (``passes/lib/ProgramGraph.cpp``, whose header
states what a conformant graph holds) and copied out as flat arrays: one
node table (type, text id, function, block) and one edge table (source,
target, flow, position).  Node types are ``instruction``, ``variable``,
``constant`` and ``type``; edge flows ``control``, ``data``, ``call`` and
``type``.

Differences from ProGraML (LLVM <= 10), on purpose:
  * one variable node per SSA value (ProGraML made one per use);
  * inter-block control edges carry the successor index (ProGraML v0.3 too);
  * invokes are call sites like calls; indirect calls go to and from the root;
  * variable and constant text is the printed type (``i32``, ``ptr``) and
    type nodes are optional, so a model without them still sees types.

    USAGE: g = build_graph(data); g.to_heterodata(vocab)
"""

from __future__ import annotations

from typing import Any

from irpipe.ir.graph import FLOWS, NODE_TYPES, ProgramGraph, load_pt, save_pt
from irpipe.llvm import ir, isolate

__all__ = ["FLOWS", "NODE_TYPES", "ROOT_TEXT", "ProgramGraph", "build_graph", "graph_arrays",
           "load_pt", "save_pt"]

ROOT_TEXT = "[external]"


def graph_arrays(data: bytes, name: str = "<module>", function: str | None = None,
                 types: bool = True, full_text: bool = False) -> dict[str, Any]:
    """Parse ``data`` natively and build the graph arrays (the body of :func:`build_graph`)."""
    with ir.native_module(data, name=name) as mod:
        index = -1 if function is None else mod.function_index(function)
        return mod.graph_arrays(index, types=types, full_text=full_text)


def build_graph(data: bytes | str, *, name: str = "<module>", function: str | None = None,
                types: bool = True, full_text: bool = False, isolate_llvm: bool = True,
                max_bytes: int | None = ir.MAX_MODULE_BYTES) -> ProgramGraph:
    """The program graph of a module (or of one defined ``function``).

    Args:
        data: bitcode or IR text.
        function: build the graph of this defined function only.
        types: add type nodes and type edges.
        full_text: keep every node's printed IR (for inspection; slower).
        isolate_llvm: parse in a child process (see :mod:`irpipe.llvm.isolate`).
        max_bytes: refuse larger inputs with a clear error (None: no limit).
    """
    data = ir.check_input(data, name=name, max_bytes=max_bytes)
    if isolate_llvm:
        arrays = isolate.shared().call(graph_arrays, data, name, function, types, full_text,
                                       label=name)
    else:
        arrays = graph_arrays(data, name, function, types, full_text)
    return ProgramGraph(**arrays)
