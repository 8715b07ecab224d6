"""The irpipe model: an encoder (GNN or transformer), global features, and two heads.

    module vector  m = fuse(encoder(module), GlobalFeatures(autophase))        [B, H]
    pipeline vecs  p = PipelineEncoder(candidate action ids)                     [K, H]
    cost           CostHead(m, p)    -> [B, K, O]  log(metric / input instructions)
    policy         PolicyHead(m)     -> [B, O, K]  scores, higher = better candidate

O = 2 objectives (IR instruction count, .text size; irpipe.data.examples.OBJECTIVES);
K = the candidate pipelines of the model's pipeline vocabulary (irpipe.label.vocab).
The cost head can also score pipelines outside the vocabulary (any action sequence).
:mod:`irpipe.nn.numpy_model` runs the same forward pass without torch (``irpipe optimize``
uses it); a change here needs the same change there (tests/nn/test_numpy_model.py compares them).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from irpipe.errors import ModelError
from irpipe.nn.gnn import GraphEncoder
from irpipe.nn.heads import CostHead, GlobalFeatures, PipelineEncoder, PolicyHead
from irpipe.nn.transformer import TokenEncoder

AUTOPHASE_DIM = 56
OBJECTIVE_COUNT = 2


def actions_tensor(sequences: list[list[int]], max_len: int = 16) -> Tensor:
    """LongTensor [P, max_len] of action ids + 1 (0 = padding), each sequence truncated."""
    out = torch.zeros(len(sequences), max_len, dtype=torch.long)
    for i, seq in enumerate(sequences):
        seq = seq[:max_len]
        if seq:
            out[i, :len(seq)] = torch.tensor(seq, dtype=torch.long) + 1
    return out


class IRPipeModel(nn.Module):
    """Cost model and policy over one module representation.

    Args:
        arch: ``"gnn"`` (input: a HeteroData batch) or ``"transformer"`` (token chunks).
        num_tokens: node-text vocabulary size + 1 (gnn) or BPE vocabulary size (transformer).
        num_actions: size of the action space (irpipe.label.actions.ACTIONS).
        candidates: LongTensor [K, T] of the vocabulary pipelines (:func:`actions_tensor`).
        hidden, layers, d_model, heads, ff, dropout: encoder sizes (irpipe.train.config.ModelConfig).
        global_features: add the Autophase vector of the module.

    Shapes:
        input: ``graph`` (HeteroData batch of B graphs) or ``tokens`` [B, C, L]; ``features`` [B, 56]
        output: ``{"cost": [B, K, 2], "policy": [B, 2, K], "module": [B, H]}``
    """

    def __init__(self, arch: str, num_tokens: int, num_actions: int, candidates: Tensor, *,
                 hidden: int = 64, layers: int = 3, d_model: int = 128, heads: int = 4,
                 ff: int = 256, dropout: float = 0.1, global_features: bool = True,
                 chunk_len: int = 128):
        super().__init__()
        self.arch = arch
        if arch == "gnn":
            self.encoder: nn.Module = GraphEncoder(num_tokens, hidden=hidden, layers=layers,
                                                   dropout=dropout)
        elif arch == "transformer":
            self.encoder = TokenEncoder(num_tokens, hidden=hidden, d_model=d_model, heads=heads,
                                        layers=layers, ff=ff, chunk_len=chunk_len, dropout=dropout)
        else:
            raise ModelError(f"unknown arch {arch!r}: gnn or transformer")
        self.globals = GlobalFeatures(AUTOPHASE_DIM, hidden) if global_features else None
        self.fuse = nn.Sequential(nn.Linear(hidden * (2 if global_features else 1), hidden),
                                  nn.GELU(), nn.LayerNorm(hidden))
        self.register_buffer("candidates", candidates.clone(), persistent=True)
        self.pipelines = PipelineEncoder(num_actions, hidden, max_len=candidates.shape[1])
        self.cost = CostHead(hidden, OBJECTIVE_COUNT)
        self.policy = PolicyHead(hidden=hidden, candidates=candidates.shape[0],
                                 objectives=OBJECTIVE_COUNT)

    def encode(self, batch: dict[str, Any]) -> Tensor:
        """Module vectors [B, H]."""
        if self.arch == "gnn":
            m = self.encoder(batch["graph"]).module
        else:
            m = self.encoder(batch["tokens"]).module
        if self.globals is not None:
            m = torch.cat([m, self.globals(batch["features"])], dim=-1)
        return self.fuse(m)

    def forward(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        m = self.encode(batch)
        p = self.pipelines(self.candidates)
        return {"cost": self.cost(m, p), "policy": self.policy(m), "module": m}

    def cost_of(self, batch: dict[str, Any], actions: Tensor) -> Tensor:
        """Predicted [B, P, 2] log-ratios for arbitrary pipelines ``actions`` [P, T]."""
        return self.cost(self.encode(batch), self.pipelines(actions))
