"""irpipe.nn.loop_gnn: shapes, and a loop with no context."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch

from irpipe.label import loop_graphs
from irpipe.nn.loop_gnn import LoopGraphNet, loop_data, loop_vocab
from irpipe.testing.factories import chain_graph


def test_forward_shape_and_vocab() -> None:
    inner = loop_graphs.cut(chain_graph(), loop_blocks=[2], nest_blocks=[1, 2])
    top = loop_graphs.cut(chain_graph(), loop_blocks=[0, 1], nest_blocks=[0, 1])
    vocab = loop_vocab([inner, top], min_count=1)
    assert set(vocab) == {"br", "add", "mul", "i32", "i64"} and 0 not in vocab.values()
    torch.manual_seed(0)
    net = LoopGraphNet(len(vocab) + 1, n_features=3, n_out=10, hidden=8).eval()
    batch = Batch.from_data_list([loop_data(g, vocab) for g in (inner, top, inner)])
    out = net(batch, torch.zeros(3, 3))
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    assert torch.allclose(out[0], out[2])        # the same loop, the same prediction
    assert "LoopGraphNet" in repr(net)
