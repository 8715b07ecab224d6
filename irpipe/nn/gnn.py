"""A ProGraML-style heterogeneous graph encoder over :mod:`irpipe.llvm.graph` graphs
(and any :class:`~irpipe.llvm.graph.ProgramGraph` subclass, e.g. MLIR's ``OpGraph``:
pass its ``node_types`` and ``flows``; the defaults are LLVM's).

Messages run along every edge in both directions, with separate weights per
(flow, direction), so an edge type never seen in training still has weights.
Everything is vectorized (gathers, segment means over destination-sorted edges,
scatters for pooling): no Python loop over nodes or graphs.

    USAGE: batch = Batch.from_data_list([with_all_edge_types(g) for g in graphs])
           out = GraphEncoder(len(vocab) + 1)(batch)
           # MLIR: with_all_edge_types(g, OpGraph.node_types, OpGraph.flows) and
           # GraphEncoder(n, node_types=OpGraph.node_types, flows=OpGraph.flows,
           #              function_node_type="op")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, HeteroData
from torch_geometric.utils import scatter

from irpipe.errors import ModelError

from irpipe.llvm.graph import FLOWS, NODE_TYPES

DIRECTIONS = ("forward", "reverse")


@dataclass
class GraphEncoding:
    """What :class:`GraphEncoder` returns.

    ``module`` [B, hidden]: one row per graph.  ``function`` [F, hidden]: one row
    per (graph, function) with at least one node of the encoder's
    ``function_node_type`` ("instruction" for LLVM), sorted by graph
    then function index; ``function_graph`` [F] and ``function_index`` [F] say
    which graph and which function (index within its module) each row is.
    """

    module: Tensor
    function: Tensor
    function_graph: Tensor
    function_index: Tensor


class _Edges(NamedTuple):
    """One edge type in one direction, ready for message passing."""

    key: str          # "<flow>_<direction>": which weights
    src: str          # node type messages come from
    dst: str          # node type they go to
    source: Tensor    # [E] local index of each edge's source, edges sorted by destination
    position: Tensor  # [E] clamped to max_position - 1, same order
    offsets: Tensor   # [N_dst + 1] destination d receives edges offsets[d]:offsets[d+1]


class _Layer(nn.Module):
    """One round of message passing: mean per edge type, summed per node type,
    then a residual ``h = LayerNorm(h + dropout(GELU(Linear(agg))))``."""

    def __init__(self, hidden: int, dropout: float, max_position: int,
                 flows: Sequence[str] = FLOWS) -> None:
        super().__init__()
        keys = [f"{flow}_{d}" for flow in flows for d in DIRECTIONS]
        self.message = nn.ModuleDict({k: nn.Linear(hidden, hidden) for k in keys})
        self.position = nn.ModuleDict({k: nn.Embedding(max_position, hidden) for k in keys})
        self.update = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: dict[str, Tensor], edges: list[_Edges]) -> dict[str, Tensor]:
        agg = {nt: torch.zeros_like(x) for nt, x in h.items()}       # [N_t, H] per node type
        cache: dict[tuple[str, str], Tensor] = {}                    # Linear(h_src), per key and type
        for e in edges:
            if (e.key, e.src) not in cache:
                cache[e.key, e.src] = self.message[e.key](h[e.src])  # [N_src, H]
            msg = cache[e.key, e.src][e.source] + self.position[e.key](e.position)   # [E, H]
            # a segment mean over destination-sorted edges: several times faster than
            # index_add_/scatter_add_ on CPU; destinations without edges get 0
            agg[e.dst].add_(torch.segment_reduce(msg, "mean", offsets=e.offsets, initial=0))
        return {nt: self.norm(x + self.dropout(nn.functional.gelu(self.update(agg[nt]))))
                for nt, x in h.items()}


class GraphEncoder(nn.Module):
    r"""Heterogeneous message passing in the manner of ProGraML, over the
    ``HeteroData`` of :meth:`irpipe.llvm.graph.ProgramGraph.to_heterodata`
    (by default LLVM's node types ``instruction``, ``variable``, ``constant``,
    ``type`` and flows ``control``, ``data``, ``call``, ``type``; for another
    graph kind pass its ``node_types`` and ``flows``).

    A node starts as ``Embedding(x) + Embedding(node type)``.  Each layer sends
    ``Linear(h_src) + Embedding(position)`` along every edge, forward and
    reverse (weights per flow and direction), averages them at each
    destination per edge type, sums over edge types and updates
    ``h = LayerNorm(h + dropout(GELU(Linear(agg))))``.  Node or edge types
    absent from a batch, and graphs with no edges, are fine; but pass each
    graph through :func:`irpipe.data.batching.with_all_edge_types` before batching (see there).

    Args:
        num_tokens (int): vocabulary size of ``x`` (id 0 = unknown text).
        hidden (int, optional): node and output width. (default: :obj:`64`)
        layers (int, optional): rounds of message passing. (default: :obj:`3`)
        dropout (float, optional): dropout on each update. (default: :obj:`0.0`)
        max_position (int, optional): edge positions are clamped to
            ``max_position - 1``. (default: :obj:`32`)
        node_types (Sequence[str], optional): the node types a graph may have,
            in the order of the node-type embedding. (default: LLVM's
            :data:`~irpipe.llvm.graph.NODE_TYPES`)
        flows (Sequence[str], optional): the edge flows, one set of weights
            per flow and direction. (default: LLVM's :data:`~irpipe.llvm.graph.FLOWS`)
        function_node_type (str, optional): the node type averaged per
            function for ``GraphEncoding.function``. (default: :obj:`"instruction"`)

    Shapes:
        - **input:** a ``HeteroData`` (one graph, :math:`B = 1`) or a ``Batch``
          of them (:math:`B` = ``num_graphs``); per node type ``x`` and
          ``function`` :math:`(N_t)`; per edge type ``edge_index``
          :math:`(2, E)` and ``position`` :math:`(E)` (zeros if missing).
        - **output:** :class:`GraphEncoding`: ``module`` :math:`(B, H)`,
          ``function`` :math:`(F, H)`, ``function_graph`` and
          ``function_index`` :math:`(F)`.
    """

    def __init__(self, num_tokens: int, hidden: int = 64, layers: int = 3, dropout: float = 0.0,
                 max_position: int = 32, *, node_types: Sequence[str] = NODE_TYPES,
                 flows: Sequence[str] = FLOWS, function_node_type: str = "instruction") -> None:
        super().__init__()
        if function_node_type not in node_types:
            raise ModelError(f"function_node_type {function_node_type!r} is not one of {tuple(node_types)}")
        self.num_tokens, self.hidden, self.num_layers = num_tokens, hidden, layers
        self.max_position = max_position
        self.node_types, self.flows = tuple(node_types), tuple(flows)
        self.function_node_type = function_node_type
        self.embed = nn.Embedding(num_tokens, hidden)               # shared by all node types
        self.node_type = nn.Embedding(len(self.node_types), hidden)
        self.layers = nn.ModuleList(_Layer(hidden, dropout, max_position, self.flows)
                                    for _ in range(layers))
        self.pool = nn.Linear(2 * hidden, hidden)                    # cat(mean, max) -> hidden

    def __repr__(self) -> str:
        kinds = ("" if (self.node_types, self.flows) == (NODE_TYPES, FLOWS)
                 else f", node_types={self.node_types}, flows={self.flows}")
        return (f"{self.__class__.__name__}({self.num_tokens}, hidden={self.hidden}, "
                f"layers={self.num_layers}{kinds})")

    def forward(self, data: HeteroData) -> GraphEncoding:
        batched = isinstance(data, Batch)
        num_graphs = int(data.num_graphs) if batched else 1
        h: dict[str, Tensor] = {}                                    # [N_t, H] per node type
        graph: dict[str, Tensor] = {}                                # [N_t] graph of each node
        for nt in data.node_types:
            if nt not in self.node_types:
                raise ModelError(f"unknown node type {nt!r}; expected one of {self.node_types}")
            store = data[nt]
            n = int(store.num_nodes or 0)
            if n == 0:
                continue
            x = store.x                                              # [N_t]
            h[nt] = self.embed(x) + self.node_type.weight[self.node_types.index(nt)]
            b = getattr(store, "batch", None) if batched else None
            graph[nt] = b if b is not None else x.new_zeros(n)

        edges = self._edges(data, h)
        for layer in self.layers:
            h = layer(h, edges)

        device = self.embed.weight.device
        if h:
            nodes = torch.cat(list(h.values()))                      # [N, H]
            batch = torch.cat([graph[nt] for nt in h])               # [N]
        else:
            nodes = self.embed.weight.new_zeros(0, self.hidden)
            batch = torch.zeros(0, dtype=torch.long, device=device)
        mean = scatter(nodes, batch, 0, dim_size=num_graphs, reduce="mean")   # [B, H]
        top = scatter(nodes, batch, 0, dim_size=num_graphs, reduce="max")     # [B, H], 0 if empty
        module = self.pool(torch.cat([mean, top], dim=-1))                    # [B, H]
        function, function_graph, function_index = self._functions(data, h, graph)
        return GraphEncoding(module, function, function_graph, function_index)

    def _edges(self, data: HeteroData, h: dict[str, Tensor]) -> list[_Edges]:
        """Every non-empty edge type in both directions, sorted by destination."""
        edges = []
        pos_max = self.max_position - 1
        for et in data.edge_types:
            src, flow, dst = et
            if flow not in self.flows:
                raise ModelError(f"unknown flow {flow!r} in {et}; expected one of {self.flows}")
            store = data[et]
            index = getattr(store, "edge_index", None)               # [2, E]
            if index is None or index.numel() == 0 or src not in h or dst not in h:
                continue
            position = getattr(store, "position", None)
            position = (index.new_zeros(index.size(1)) if position is None
                        else position.clamp(min=0, max=pos_max))     # [E]
            for d, (a, b, i, j) in zip(DIRECTIONS, ((src, dst, 0, 1), (dst, src, 1, 0))):
                target, order = torch.sort(index[j])                 # [E]
                offsets = index.new_zeros(h[b].size(0) + 1)          # [N_b + 1]
                torch.cumsum(torch.bincount(target, minlength=h[b].size(0)), 0, out=offsets[1:])
                edges.append(_Edges(f"{flow}_{d}", a, b, index[i][order], position[order], offsets))
        return edges

    def _functions(self, data: HeteroData, h: dict[str, Tensor], graph: dict[str, Tensor]
                   ) -> tuple[Tensor, Tensor, Tensor]:
        """Mean of ``function_node_type`` nodes per (graph, function index >= 0)."""
        empty = torch.zeros(0, dtype=torch.long, device=self.embed.weight.device)
        nt = self.function_node_type
        if nt not in h:
            return self.embed.weight.new_zeros(0, self.hidden), empty, empty.clone()
        fn = data[nt].function                                      # [N_i], -1: none
        keep = fn >= 0
        fn, g, x = fn[keep], graph[nt][keep], h[nt][keep]
        width = int(fn.max()) + 1 if fn.numel() else 1
        keys, row = torch.unique(g * width + fn, return_inverse=True)         # [F], [N_kept]
        function = scatter(x, row, 0, dim_size=keys.numel(), reduce="mean")   # [F, H]
        return function, keys // width, keys % width
