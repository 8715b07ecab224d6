"""A graph network over a loop's part of the program graph: per decision, a log ratio to -O3.

The input is a loop cut from the ProGraML graph of its function at the vectorizer start
(:func:`irpipe.label.loop_graphs.cut`: the loop's instructions as "function" 0, the rest of its nest
as 1, with the values they use and define), plus the loop's listed facts.  A
:class:`~irpipe.nn.gnn.GraphEncoder` runs message passing over the cut; the loop's and the
context's instruction means (zeros where a top-level loop has no context) and the facts go through
a small MLP to one output per decision of :data:`irpipe.label.loops.DECISIONS` order.

    USAGE: vocab = loop_vocab(graphs)
           batch = Batch.from_data_list([loop_data(g, vocab) for g in graphs])
           net = LoopGraphNet(len(vocab) + 1, n_features=8, n_out=10)
           pred = net(batch, features)       # [B, n_out]
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, HeteroData

from irpipe.data.batching import with_all_edge_types
from irpipe.ir.graph import ProgramGraph
from irpipe.nn.gnn import GraphEncoder


def loop_vocab(graphs: Iterable[ProgramGraph], min_count: int = 2) -> dict[str, int]:
    """Node texts seen at least ``min_count`` times, most common first, as ids from 1 (0: unknown)."""
    counts = Counter(g.texts[i] for g in graphs for i in g.node_text)
    return {t: i for i, (t, c) in enumerate(counts.most_common(), 1) if c >= min_count}


def loop_data(graph: ProgramGraph, vocab: dict[str, int]) -> HeteroData:
    """``graph`` as the HeteroData :class:`LoopGraphNet` batches (every edge type present)."""
    return with_all_edge_types(graph.to_heterodata(vocab))


class LoopGraphNet(nn.Module):
    r"""Per-decision log ratios of one loop from its cut graph and its facts.

    Args:
        num_tokens (int): vocabulary size (id 0 = unknown text).
        n_features (int): the loop facts per example.
        n_out (int): decisions.
        hidden (int, optional): encoder and head width. (default: :obj:`32`)
        layers (int, optional): rounds of message passing. (default: :obj:`3`)
        dropout (float, optional): dropout in the encoder and the head. (default: :obj:`0.1`)

    Shapes:
        - **input:** a ``Batch`` of :math:`B` cut graphs (:func:`loop_data`), facts :math:`(B, F)`
          (standardized by the caller).
        - **output:** :math:`(B, n_{out})`.
    """

    def __init__(self, num_tokens: int, n_features: int, n_out: int, hidden: int = 32, layers: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = GraphEncoder(num_tokens, hidden=hidden, layers=layers, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(2 * hidden + n_features, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_out))

    def forward(self, batch: Batch | HeteroData, features: Tensor) -> Tensor:
        enc = self.encoder(batch)
        b = features.size(0)
        parts = []
        for role in (0, 1):  # the loop's instructions, its nest's other instructions
            rows = features.new_zeros(b, self.encoder.hidden)                        # [B, H]
            keep = enc.function_index == role
            rows[enc.function_graph[keep]] = enc.function[keep]
            parts.append(rows)
        return self.head(torch.cat([*parts, features], dim=-1))                      # [B, n_out]
