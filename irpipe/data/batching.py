"""Graphs made ready for batching: every node and edge type present, empty where absent.

PyG collates only the stores of the FIRST graph of a batch, so graphs with different edge types
must each carry every type (see :func:`with_all_edge_types`) before ``Batch.from_data_list``.

    USAGE: batch = Batch.from_data_list([with_all_edge_types(g) for g in graphs])
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch_geometric.data import HeteroData

from irpipe.llvm.graph import FLOWS, NODE_TYPES


def edge_types(node_types: Sequence[str] = NODE_TYPES, flows: Sequence[str] = FLOWS
               ) -> tuple[tuple[str, str, str], ...]:
    """Every ``(src, flow, dst)`` triple of ``node_types`` and ``flows``, flow-major."""
    return tuple((s, f, d) for f in flows for s in node_types for d in node_types)


# every (src, flow, dst) triple of LLVM graphs; see with_all_edge_types
EDGE_TYPES = edge_types()


def with_all_edge_types(data: HeteroData, node_types: Sequence[str] = NODE_TYPES,
                        flows: Sequence[str] = FLOWS) -> HeteroData:
    """Give ``data`` (in place, and returned) every node type of ``node_types``
    and every edge type of :func:`edge_types` ``(node_types, flows)`` (LLVM's,
    :data:`EDGE_TYPES`, by default), empty where absent.

    Call it on each graph before ``Batch.from_data_list``: PyG collates only
    the stores of the FIRST graph, and offsets an edge type's indices by the
    sizes of only the graphs that have it, so a batch of graphs with different
    edge types silently loses or miswires edges.
    """
    for nt in node_types:
        if nt not in data.node_types:
            data[nt].num_nodes = 0
            data[nt].x = torch.zeros(0, dtype=torch.long)
            data[nt].function = torch.zeros(0, dtype=torch.long)
    for et in edge_types(node_types, flows):
        store = data[et]
        if "edge_index" not in store:
            store.edge_index = torch.zeros(2, 0, dtype=torch.long)
        if "position" not in store:
            store.position = torch.zeros(store.edge_index.size(1), dtype=torch.long)
    return data
