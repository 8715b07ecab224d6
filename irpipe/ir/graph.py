"""Program graphs as arrays, whatever IR they come from: :class:`ProgramGraph` and its
exports (PyG HeteroData, networkx, Graphviz DOT, GRAPHS rows, ``.pt`` files).

The builders live with their IR: :mod:`irpipe.llvm.graph` (ProGraML's node types and flows,
the defaults here) and :mod:`irpipe.mlir.graph` (``OpGraph``, a subclass with MLIR's).  This
module imports neither, so both import it.

    USAGE: save_pt(g, "g.pt"); load_pt("g.pt", cls=type(g))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, TypeVar

import numpy as np

from irpipe.errors import IRError

NODE_TYPES = ("instruction", "variable", "constant", "type")
FLOWS = ("control", "data", "call", "type")
_ARRAYS = ("node_type", "node_text", "node_function", "node_block",
           "edge_source", "edge_target", "edge_flow", "edge_position")
PT_FORMAT = "irpipe-program-graph/1"

G = TypeVar("G", bound="ProgramGraph")


@dataclass
class ProgramGraph:
    """A program graph as arrays.  Node ``i`` has ``node_type[i]`` (index into
    ``node_types``), text ``texts[node_text[i]]``, function ``functions[f]`` with
    ``f = node_function[i]`` (-1: none) and ``node_block[i]`` (-1: none).  Edge
    ``j`` goes ``edge_source[j] -> edge_target[j]`` with flow
    ``flows[edge_flow[j]]`` and ``edge_position[j]``.

    ``node_types`` and ``flows`` are class attributes (ProGraML's, i.e. LLVM's,
    :data:`NODE_TYPES` and :data:`FLOWS` by default); a subclass for another IR
    (:class:`irpipe.mlir.graph.OpGraph`) overrides them, together with the DOT ``dot_shapes``
    (per node type) and ``dot_colors`` (per flow), and inherits every method.
    """

    node_types: ClassVar[tuple[str, ...]] = NODE_TYPES
    flows: ClassVar[tuple[str, ...]] = FLOWS
    dot_shapes: ClassVar[tuple[str, ...]] = ("box", "ellipse", "diamond", "octagon")
    dot_colors: ClassVar[tuple[str, ...]] = ("black", "blue", "green", "grey")

    node_type: np.ndarray
    node_text: np.ndarray
    node_function: np.ndarray
    node_block: np.ndarray
    edge_source: np.ndarray
    edge_target: np.ndarray
    edge_flow: np.ndarray
    edge_position: np.ndarray
    texts: list[str]
    functions: list[str]
    full_text: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return int(len(self.node_type))

    @property
    def num_edges(self) -> int:
        return int(len(self.edge_source))

    def to_row(self) -> dict[str, Any]:
        """The GRAPHS columns of this graph (irpipe/schema.py), without the key columns."""
        return {"num_nodes": self.num_nodes, "num_edges": self.num_edges,
                **{k: getattr(self, k) for k in _ARRAYS}, "texts": list(self.texts),
                "functions": list(self.functions)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ProgramGraph":
        """A graph from a GRAPHS row (as written by ``irpipe featurize``)."""
        return cls(**_typed_arrays(row), texts=list(row["texts"]), functions=list(row["functions"]))

    def node_texts(self) -> list[str]:
        """The text of every node, in node order."""
        return [self.texts[i] for i in self.node_text]

    def count(self, node_type: str | None = None, flow: str | None = None) -> int:
        """Number of nodes of ``node_type`` or of edges of ``flow`` (names from
        ``node_types`` / ``flows``)."""
        if node_type is not None:
            return int(np.count_nonzero(self.node_type == self.node_types.index(node_type)))
        return int(np.count_nonzero(self.edge_flow == self.flows.index(flow or "")))

    def to_heterodata(self, vocab: Mapping[str, int] | None = None) -> Any:
        """A ``torch_geometric.data.HeteroData``.

        Per node type: ``text`` (list of str), ``function`` and ``block``
        (LongTensor [N]), and ``x`` (LongTensor [N], vocab ids, 0 for unknown
        text) when ``vocab`` is given.  Per edge type ``(src, flow, dst)``:
        ``edge_index`` (LongTensor [2, E], indices local to each node type) and
        ``position`` (LongTensor [E]).
        """
        import torch
        from torch_geometric.data import HeteroData

        data = HeteroData()
        local = np.zeros(self.num_nodes, dtype=np.int64)
        texts = np.asarray(self.texts, dtype=object)
        for t, name in enumerate(self.node_types):
            mask = self.node_type == t
            local[mask] = np.arange(int(mask.sum()))
            store = data[name]
            store.num_nodes = int(mask.sum())
            store.text = list(texts[self.node_text[mask]]) if mask.any() else []
            store.function = torch.from_numpy(self.node_function[mask].astype(np.int64))
            store.block = torch.from_numpy(self.node_block[mask].astype(np.int64))
            if vocab is not None:
                store.x = torch.tensor([vocab.get(s, 0) for s in store.text], dtype=torch.long)
        src_t = self.node_type[self.edge_source]
        dst_t = self.node_type[self.edge_target]
        for f, flow in enumerate(self.flows):
            for s, src in enumerate(self.node_types):
                for d, dst in enumerate(self.node_types):
                    mask = (self.edge_flow == f) & (src_t == s) & (dst_t == d)
                    if not mask.any():
                        continue
                    index = np.stack([local[self.edge_source[mask]], local[self.edge_target[mask]]])
                    data[src, flow, dst].edge_index = torch.from_numpy(index)
                    data[src, flow, dst].position = torch.from_numpy(
                        self.edge_position[mask].astype(np.int64))
        return data

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph`` with ProGraML's attribute names (type, text, flow, position)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for i in range(self.num_nodes):
            attrs = {"type": self.node_types[self.node_type[i]], "text": self.texts[self.node_text[i]],
                     "function": int(self.node_function[i]), "block": int(self.node_block[i])}
            if self.full_text:
                attrs["full_text"] = self.full_text[i]
            g.add_node(i, **attrs)
        for j in range(self.num_edges):
            g.add_edge(int(self.edge_source[j]), int(self.edge_target[j]),
                       flow=self.flows[self.edge_flow[j]], position=int(self.edge_position[j]))
        return g

    def to_dot(self) -> str:
        """Graphviz DOT text, node shapes from ``dot_shapes`` and edge colors from
        ``dot_colors``: for LLVM, instructions as boxes, variables as ellipses, constants as
        diamonds, types as octagons; control edges black, data blue, call green, type grey."""
        shapes, colors = self.dot_shapes, self.dot_colors

        def quote(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        lines = ["digraph programl {", "  node [fontname=monospace];"]
        for i in range(self.num_nodes):
            label = self.full_text[i] if self.full_text else self.texts[self.node_text[i]]
            lines.append(f"  n{i} [shape={shapes[self.node_type[i]]}, label={quote(label)}];")
        for j in range(self.num_edges):
            lines.append(f"  n{self.edge_source[j]} -> n{self.edge_target[j]} "
                         f"[color={colors[self.edge_flow[j]]}, label={self.edge_position[j]}];")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _typed_arrays(columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The graph's arrays with the dtypes the native library produces."""
    return {k: np.asarray(columns[k], dtype=np.uint8 if k in ("node_type", "edge_flow") else np.int32)
            for k in _ARRAYS}


def save_pt(g: ProgramGraph, path: str) -> None:
    """Write ``g`` as tensors and string lists only, so that
    ``torch.load(path, weights_only=True)`` reads it without unpickling classes.
    A graph of another kind (MLIR's ``OpGraph``) also records its node types and flows."""
    import torch

    obj: dict[str, Any] = {"format": PT_FORMAT, "texts": list(g.texts),
                           "functions": list(g.functions), "full_text": list(g.full_text)}
    if (g.node_types, g.flows) != (NODE_TYPES, FLOWS):
        obj.update(node_types=list(g.node_types), flows=list(g.flows))
    obj.update({k: torch.from_numpy(np.ascontiguousarray(getattr(g, k)).astype(np.int64))
                for k in _ARRAYS})
    torch.save(obj, path)


def load_pt(path: str, cls: type[G] = ProgramGraph) -> G:  # type: ignore[assignment]
    """Read a graph written by :func:`save_pt` (safe: ``weights_only=True``) as a ``cls``: the
    node types and flows the file records (ProGraML's when it records none) must be
    ``cls``'s.  The caller knows the kind: :func:`irpipe.mlir.graph.load_pt` reads OpGraphs."""
    import torch

    obj = torch.load(path, weights_only=True)
    if obj.get("format") != PT_FORMAT:
        raise IRError(f"{path}: not an irpipe program graph ({PT_FORMAT})")
    kinds = (tuple(obj.get("node_types", NODE_TYPES)), tuple(obj.get("flows", FLOWS)))
    if kinds != (cls.node_types, cls.flows):
        raise IRError(f"{path}: a program graph with node types {list(kinds[0])}, not a "
                      f"{cls.__name__} ({', '.join(cls.node_types)})")
    arrays = _typed_arrays({k: obj[k].numpy() for k in _ARRAYS})
    return cls(**arrays, texts=obj["texts"], functions=obj["functions"],
               full_text=obj["full_text"])
