"""irpipe.nn.gnn: shapes, batching agreement, gradients, missing node and edge types."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch, HeteroData

from irpipe.llvm.graph import FLOWS, NODE_TYPES
from irpipe.data.batching import EDGE_TYPES, with_all_edge_types
from irpipe.nn.gnn import GraphEncoder, GraphEncoding

H = 16


def encoder(num_tokens: int, **kw) -> GraphEncoder:
    return GraphEncoder(num_tokens, hidden=H, layers=2, **kw).eval()


def edge_free(num_tokens: int, n: int = 3) -> HeteroData:
    """Instruction nodes only (the other node types empty), no edges at all."""
    data = HeteroData()
    for nt in NODE_TYPES:
        k = n if nt == "instruction" else 0
        data[nt].num_nodes = k
        data[nt].x = torch.arange(k) % num_tokens
        data[nt].function = torch.zeros(k, dtype=torch.long)
    return with_all_edge_types(data)


def test_repr() -> None:
    assert repr(GraphEncoder(10, hidden=8, layers=2)) == "GraphEncoder(10, hidden=8, layers=2)"


def test_all_types_appear(loop_data) -> None:
    assert all(loop_data[nt].num_nodes > 0 for nt in NODE_TYPES)
    present = [et for et in loop_data.edge_types if loop_data[et].edge_index.size(1)]
    assert {flow for _, flow, _ in present} == set(FLOWS)
    assert set(loop_data.edge_types) == set(EDGE_TYPES) and len(EDGE_TYPES) == 64


def test_with_all_edge_types_makes_batching_exact(program_graphs, num_tokens) -> None:
    vocab, (loop, single) = program_graphs
    enc = encoder(num_tokens)
    raw = [single.to_heterodata(vocab), loop.to_heterodata(vocab)]   # different edge types
    fixed = [with_all_edge_types(g.to_heterodata(vocab)) for g in (single, loop)]
    expect = torch.cat([enc(g).module for g in raw])
    torch.testing.assert_close(enc(Batch.from_data_list(fixed)).module, expect, atol=1e-5, rtol=0)


def test_shapes(loop_data, single_data, num_tokens) -> None:
    out = encoder(num_tokens)(loop_data)
    assert isinstance(out, GraphEncoding)
    assert out.module.shape == (1, H) and out.function.shape == (2, H)
    assert out.function_graph.tolist() == [0, 0] and out.function_index.tolist() == [0, 1]
    out = encoder(num_tokens)(single_data)
    assert out.module.shape == (1, H) and out.function.shape == (1, H)
    assert torch.isfinite(out.module).all() and torch.isfinite(out.function).all()


def test_batch_matches_single(loop_data, single_data, num_tokens) -> None:
    enc = encoder(num_tokens)
    graphs = [loop_data, single_data, loop_data]
    out = enc(Batch.from_data_list(graphs))
    alone = [enc(g) for g in graphs]
    assert out.module.shape == (3, H)
    torch.testing.assert_close(out.module, torch.cat([a.module for a in alone]), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.function, torch.cat([a.function for a in alone]), atol=1e-5, rtol=0)
    assert out.function_graph.tolist() == [0, 0, 1, 2, 2]
    assert out.function_index.tolist() == [0, 1, 0, 0, 1]


def test_gradients_reach_every_parameter(loop_data, single_data, num_tokens) -> None:
    enc = GraphEncoder(num_tokens, hidden=H, layers=2, dropout=0.1).train()
    out = enc(Batch.from_data_list([loop_data, single_data]))
    (out.module.square().sum() + out.function.square().sum()).backward()
    assert enc.embed.weight.grad is not None and enc.embed.weight.grad.abs().sum() > 0
    assert enc.layers[0].update.weight.grad.abs().sum() > 0
    for name, p in enc.named_parameters():   # every flow and direction occurs in LOOP_IR
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_edge_free_and_missing_types(loop_data, num_tokens) -> None:
    enc = encoder(num_tokens)
    out = enc(edge_free(num_tokens))
    assert out.module.shape == (1, H) and out.function.shape == (1, H)
    empty = edge_free(num_tokens, n=0)                        # a graph with no nodes at all
    out = enc(Batch.from_data_list([edge_free(num_tokens), empty, loop_data]))
    assert out.module.shape == (3, H) and torch.isfinite(out.module).all()
    assert out.function_graph.tolist() == [0, 2, 2]
    torch.testing.assert_close(out.module[1], enc.pool.bias)  # nothing pooled: zeros in
    torch.testing.assert_close(out.module[2:], enc(loop_data).module, atol=1e-5, rtol=0)


def test_only_some_node_types_and_unseen_triple(num_tokens) -> None:
    data = HeteroData()
    data["variable"].x = torch.tensor([1, 2, 3])
    data["constant"].x = torch.tensor([4])
    data["constant", "control", "variable"].edge_index = torch.tensor([[0, 0], [1, 2]])
    out = encoder(num_tokens)(data)                           # no positions, no instructions
    assert out.module.shape == (1, H) and out.function.shape == (0, H)
    assert out.function_graph.shape == (0,) and out.function_index.shape == (0,)


def test_positions_are_clamped(loop_data, num_tokens) -> None:
    enc = encoder(num_tokens, max_position=2)
    data = loop_data.clone()
    for et in data.edge_types:
        data[et].position = data[et].position + 100
    assert torch.isfinite(enc(data).module).all()


def test_larger_graph_is_vectorized(num_tokens) -> None:
    n, e = 20_000, 40_000
    g = torch.Generator().manual_seed(0)
    data = HeteroData()
    data["instruction"].x = torch.randint(0, num_tokens, (n,), generator=g)
    data["instruction"].function = torch.randint(-1, 50, (n,), generator=g)
    data["instruction", "control", "instruction"].edge_index = torch.randint(0, n, (2, e), generator=g)
    data["instruction", "control", "instruction"].position = torch.randint(0, 40, (e,), generator=g)
    with torch.no_grad():
        out = encoder(num_tokens)(data)
    assert out.module.shape == (1, H) and out.function.shape == (50, H)
