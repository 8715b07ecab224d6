"""The MLIR cost model: a graph encoder over the op graph, a configuration embedding, and a head
that predicts log cost (CPU seconds and instructions per call) under every configuration at once.

    USAGE: out = MlirCostModel(num_tokens, num_configs, num_features)(batch, feats)  # [B, C, T]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from irpipe.nn.gnn import GraphEncoder


class MlirCostModel(nn.Module):
    r"""Predicts the log cost of one MLIR module under each of ``num_configs`` compile configs.

    The module is encoded by :class:`irpipe.nn.gnn.GraphEncoder` over its op graph
    (:class:`irpipe.mlir.graph.OpGraph`: op/value/block/region nodes, control/data/
    call/contain flows), joined with standardized analytical features (log FLOPs,
    log bytes, op counts) and with a learned embedding per configuration; an MLP
    maps each (module, config) pair to ``num_targets`` log costs.

    Args:
        num_tokens (int): node vocabulary size (id 0 = unknown).
        num_configs (int): compile configurations ranked.
        num_features (int): width of the analytical feature vector.
        num_targets (int, optional): costs predicted per pair. (default: :obj:`2`)
        hidden (int, optional): width of every vector. (default: :obj:`64`)
        layers (int, optional): message-passing rounds. (default: :obj:`3`)
        dropout (float, optional): dropout in the encoder and head. (default: :obj:`0.1`)

    Shapes:
        - **input:** a batch of :math:`B` op graphs (``HeteroData``/``Batch``), features :math:`(B, F)`
        - **output:** :math:`(B, C, T)` standardized log costs
    """

    def __init__(self, num_tokens: int, num_configs: int, num_features: int, num_targets: int = 2,
                 hidden: int = 64, layers: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        from irpipe.mlir.graph import OpGraph

        self.encoder = GraphEncoder(num_tokens, hidden=hidden, layers=layers, dropout=dropout,
                                    node_types=OpGraph.node_types, flows=OpGraph.flows,
                                    function_node_type="op")
        self.features = nn.Sequential(nn.Linear(num_features, hidden), nn.GELU())
        self.config = nn.Embedding(num_configs, hidden)
        self.head = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, num_targets))
        self.bias = nn.Parameter(torch.zeros(num_configs, num_targets))   # each config's own offset
        self.num_configs = num_configs

    def forward(self, graphs: object, feats: Tensor) -> Tensor:
        module = self.encoder(graphs).module                                  # [B, H]
        f = self.features(feats)                                              # [B, H]
        b, c = module.size(0), self.num_configs
        pair = torch.cat([module.unsqueeze(1).expand(b, c, -1), f.unsqueeze(1).expand(b, c, -1),
                          self.config.weight.unsqueeze(0).expand(b, c, -1)], dim=-1)   # [B, C, 3H]
        return self.head(pair) + self.bias                                    # [B, C, T]
