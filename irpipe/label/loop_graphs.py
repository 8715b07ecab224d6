"""Each loop's part of the program graph, at the point where its decision applies.

The pass plugin lists the loops of a compile at the vectorizer start (:mod:`irpipe.llvm.loops`);
with ``-mllvm -irpipe-loop-ir=DIR`` it also writes the module as it is there, once per function
with loops (``DIR/<function>.ll``), and gives each loop's ``block_positions`` in its function.
From that IR the ProGraML graph of the function is built (:func:`irpipe.llvm.graph.build_graph`,
no type nodes) and cut per loop (:func:`cut`): the instructions of the loop's nest (its outermost
enclosing loop, itself for a top-level loop) with the variables and constants they use or define,
and the edges among them.  Instructions of the loop itself get ``node_function`` 0, the rest of
the nest 1 (its context), other nodes -1, so that a
:class:`~irpipe.nn.gnn.GraphEncoder` gives one pooled row for the loop and one for its context.

    USAGE: graphs = loop_graphs(listing, Path("ir"))     # {"main/L0.1": ProgramGraph, ...}
           g = cut(function_graph, loop_blocks={3, 4}, nest_blocks={1, 2, 3, 4})
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from irpipe.errors import IRError
from irpipe.ir.graph import ProgramGraph

#: the node_function of a loop's own instructions and of the rest of its nest
LOOP, CONTEXT = 0, 1


def nest_of(loop_id: str) -> str:
    """The id of the outermost loop enclosing ``loop_id`` (``main/L0.1.2`` -> ``main/L0``)."""
    function, _, path = loop_id.rpartition("/L")
    return f"{function}/L{path.split('.')[0]}"


def ir_file(directory: Path, function: str) -> Path:
    """Where the plugin wrote ``function``'s module (its name with odd characters as ``_``)."""
    return directory / (re.sub(r"[^A-Za-z0-9_.\-]", "_", function) + ".ll")


def cut(graph: ProgramGraph, loop_blocks: Iterable[int], nest_blocks: Iterable[int]) -> ProgramGraph:
    """The subgraph of a one-function ``graph``: instructions in ``nest_blocks`` (those in
    ``loop_blocks`` marked :data:`LOOP`, the others :data:`CONTEXT`), the variables and constants
    joined to them by a data edge, and every edge among the kept nodes."""
    instruction = graph.node_type == graph.node_types.index("instruction")
    in_nest = instruction & np.isin(graph.node_block, np.fromiter(nest_blocks, dtype=np.int64))
    in_loop = instruction & np.isin(graph.node_block, np.fromiter(loop_blocks, dtype=np.int64))
    data = graph.edge_flow == graph.flows.index("data")
    keep = in_nest.copy()
    keep[graph.edge_target[data & in_nest[graph.edge_source]]] = True   # values the nest defines
    keep[graph.edge_source[data & in_nest[graph.edge_target]]] = True   # operands it uses
    keep &= ~instruction | in_nest
    index = np.full(graph.num_nodes, -1, dtype=np.int64)
    index[keep] = np.arange(int(keep.sum()))
    edges = keep[graph.edge_source] & keep[graph.edge_target]
    function = np.where(in_loop, LOOP, np.where(in_nest, CONTEXT, -1))
    return ProgramGraph(
        node_type=graph.node_type[keep], node_text=graph.node_text[keep],
        node_function=function[keep].astype(np.int32), node_block=graph.node_block[keep],
        edge_source=index[graph.edge_source[edges]].astype(np.int32),
        edge_target=index[graph.edge_target[edges]].astype(np.int32),
        edge_flow=graph.edge_flow[edges], edge_position=graph.edge_position[edges],
        texts=graph.texts, functions=["loop", "context"])


def loop_graphs(listing: Sequence[dict[str, Any]], directory: Path) -> dict[str, ProgramGraph]:
    """Per loop id of ``listing`` (a compile's with ``-irpipe-loop-ir=directory``), its cut
    graph.  :class:`IRError` when a loop has no ``block_positions`` or its function's IR is missing."""
    from irpipe.llvm.graph import build_graph

    blocks = {}
    for loop in listing:
        if "block_positions" not in loop:
            raise IRError(f"loop {loop.get('id')!r} has no block_positions: list it with -irpipe-loop-ir")
        blocks[loop["id"]] = loop["block_positions"]
    graphs: dict[str, ProgramGraph] = {}
    out: dict[str, ProgramGraph] = {}
    for lid, own in blocks.items():
        function = lid.rpartition("/L")[0]
        if function not in graphs:
            path = ir_file(directory, function)
            if not path.is_file():
                raise IRError(f"{path}: no IR for {function!r} (was it compiled with -irpipe-loop-ir={directory}?)")
            graphs[function] = build_graph(path.read_bytes(), name=path.name, function=function, types=False,
                                           max_bytes=None)
        out[lid] = cut(graphs[function], own, blocks.get(nest_of(lid), own))
    return out
