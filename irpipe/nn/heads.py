"""Small heads on top of the encoders: pipelines, costs, policies, global features.

    USAGE: p = PipelineEncoder(num_actions)(actions); cost = CostHead()(module, p)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, out))


class PipelineEncoder(nn.Module):
    r"""Encodes a pass pipeline (a sequence of action ids) with a 1-layer GRU.

    Input ids are action index + 1, right-padded with 0; sequences are
    truncated to ``max_len``.  The output is the GRU state at each sequence's
    last real step; a sequence with no actions (the "verify" pipeline) gets a
    learned ``empty`` vector.

    Args:
        num_actions (int): number of actions (ids ``1..num_actions``).
        hidden (int, optional): embedding and output width. (default: :obj:`64`)
        max_len (int, optional): longest pipeline; later actions are dropped.
            (default: :obj:`16`)

    Shapes:
        - **input:** actions :math:`(P, T)`, right-padded with 0
        - **output:** :math:`(P, H)`
    """

    def __init__(self, num_actions: int, hidden: int = 64, max_len: int = 16) -> None:
        super().__init__()
        self.num_actions, self.hidden, self.max_len = num_actions, hidden, max_len
        self.embed = nn.Embedding(num_actions + 1, hidden, padding_idx=0)
        self.position = nn.Embedding(max_len, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.empty = nn.Parameter(torch.randn(hidden) * 0.02)       # [H], the no-action pipeline

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.num_actions}, hidden={self.hidden}, "
                f"max_len={self.max_len})")

    def forward(self, actions: Tensor) -> Tensor:
        actions = actions[:, : self.max_len]                         # [P, T]
        P, T = actions.shape
        lengths = (actions != 0).sum(1)                              # [P]
        if T == 0:
            return self.empty.expand(P, -1)
        pos = torch.arange(T, device=actions.device)
        x = self.embed(actions) + self.position(pos)                 # [P, T, H]
        out, _ = self.gru(x)                                         # [P, T, H]; causal, so padding
        last = (lengths - 1).clamp(min=0)                            # after the end changes nothing
        out = out[torch.arange(P, device=actions.device), last]      # [P, H]
        return torch.where((lengths > 0).unsqueeze(-1), out, self.empty.expand(P, -1))


class CostHead(nn.Module):
    r"""Predicts, for every (module, pipeline) pair, ``log(metric after / metric
    of the input module)`` per objective (lower = better), with an MLP over
    ``cat(m, p, m * p)``.

    Args:
        hidden (int, optional): width of the module and pipeline embeddings
            and of the MLP. (default: :obj:`64`)
        objectives (int, optional): metrics predicted. (default: :obj:`2`)

    Shapes:
        - **input:** module :math:`(B, H)`, pipelines :math:`(P, H)`
        - **output:** :math:`(B, P, \text{objectives})`
    """

    def __init__(self, hidden: int = 64, objectives: int = 2) -> None:
        super().__init__()
        self.hidden, self.objectives = hidden, objectives
        self.mlp = _mlp(3 * hidden, hidden, objectives)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(hidden={self.hidden}, objectives={self.objectives})"

    def forward(self, module: Tensor, pipelines: Tensor) -> Tensor:
        B, P = module.size(0), pipelines.size(0)
        m = module.unsqueeze(1).expand(B, P, -1)                    # [B, P, H]
        p = pipelines.unsqueeze(0).expand(B, P, -1)                  # [B, P, H]
        return self.mlp(torch.cat([m, p, m * p], dim=-1))            # [B, P, O]


class PolicyHead(nn.Module):
    r"""Scores a fixed list of candidate pipelines per objective (higher =
    better), with an MLP over the module embedding.

    Args:
        candidates (int): number of candidate pipelines.
        hidden (int, optional): module embedding and MLP width. (default: :obj:`64`)
        objectives (int, optional): objectives scored. (default: :obj:`2`)

    Shapes:
        - **input:** module :math:`(B, H)`
        - **output:** :math:`(B, \text{objectives}, \text{candidates})`
    """

    def __init__(self, candidates: int, hidden: int = 64, objectives: int = 2) -> None:
        super().__init__()
        self.candidates, self.hidden, self.objectives = candidates, hidden, objectives
        self.mlp = _mlp(hidden, hidden, objectives * candidates)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.candidates}, hidden={self.hidden}, "
                f"objectives={self.objectives})")

    def forward(self, module: Tensor) -> Tensor:
        return self.mlp(module).view(module.size(0), self.objectives, self.candidates)  # [B, O, K]


class GlobalFeatures(nn.Module):
    r"""Embeds whole-module counts (e.g. the 56 Autophase features):
    ``GELU(Linear(LayerNorm(log1p(x))))``.  Negative inputs are clamped to 0.

    Args:
        dim (int): number of features.
        hidden (int, optional): output width. (default: :obj:`64`)

    Shapes:
        - **input:** :math:`(B, \text{dim})` non-negative counts
        - **output:** :math:`(B, H)`
    """

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.norm = nn.LayerNorm(dim)
        self.linear = nn.Linear(dim, hidden)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.dim}, hidden={self.hidden})"

    def forward(self, x: Tensor) -> Tensor:
        x = torch.log1p(x.to(self.linear.weight.dtype).clamp(min=0))  # [B, dim]
        return nn.functional.gelu(self.linear(self.norm(x)))         # [B, H]
