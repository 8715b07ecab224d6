"""irpipe.mlir.graph: OpGraphs of inline MLIR, counts and positions derived by hand, and the
GNN on them (single and batched)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from irpipe.errors import MLIRError
from irpipe.mlir.graph import OpGraph, build_graph, normalize_type
from irpipe.data.batching import with_all_edge_types
from irpipe.nn.gnn import GraphEncoder
from irpipe.testing.mlir import JAX_MLP

MLP = JAX_MLP
# By hand: ops 2 funcs + dot, call, return + constant, broadcast, maximum, return = 9;
# values: 3 arguments + 5 results = 8; one region and one block per function.
# control: main 2, relu 3; data: 5 results + 8 operand uses; call: 1;
# contain: 2 op->region, 2 region->block, 3 block->argument, 7 block->op.
MLP_HAND = {"op": 9, "value": 8, "block": 2, "region": 2,
            "control": 5, "data": 13, "call": 1, "contain": 14}

# A CFG with block arguments and a loop with a nested region.
CFG = """\
func.func @pick(%c: i1, %a: i32, %b: i32) -> i32 {
  cf.cond_br %c, ^bb1(%a : i32), ^bb2
^bb1(%x: i32):
  return %x : i32
^bb2:
  %n = arith.constant 0 : index
  %r = scf.for %i = %n to %n step %n iter_args(%acc = %b) -> (i32) : index {
    %s = arith.addi %acc, %acc : i32
    scf.yield %s : i32
  }
  return %r : i32
}
"""


def edges(g: OpGraph, flow: str) -> set[tuple[int, int, int]]:
    m = g.edge_flow == g.flows.index(flow)
    return set(zip(g.edge_source[m].tolist(), g.edge_target[m].tolist(), g.edge_position[m].tolist()))


def node(g: OpGraph, full_text: str, nth: int = 0) -> int:
    return [i for i, t in enumerate(g.full_text) if t == full_text][nth]


def test_hand_derived_counts_and_texts() -> None:
    g = build_graph(MLP, name="mlp.mlir")
    for t in OpGraph.node_types:
        assert g.count(node_type=t) == MLP_HAND[t], t
    for f in OpGraph.flows:
        assert g.count(flow=f) == MLP_HAND[f], f
    assert g.functions == ["main", "relu"]
    ops = [g.texts[g.node_text[i]] for i in np.flatnonzero(g.node_type == 0)]
    assert ops[:3] == ["func.func", "stablehlo.dot_general", "func.call"]
    arg0 = node(g, "tensor<64x128xf32>")
    assert g.texts[g.node_text[arg0]] == "tensor<?x?xf32>"          # shapes generalize
    assert "tensor<f32>" in g.texts and "block" in g.texts and "region" in g.texts


def test_edges_and_positions() -> None:
    g = build_graph(MLP, full_text=True)
    main, relu = node(g, "func.func @main"), node(g, "func.func @relu")
    dot = next(i for i, t in enumerate(g.full_text) if "dot_general" in t)
    call = next(i for i, t in enumerate(g.full_text) if "func.call" in t)
    arg0, arg1 = node(g, "tensor<64x128xf32>"), node(g, "tensor<128x256xf32>")
    region, block = node(g, "region 0"), node(g, "^bb0")
    data, contain, control = edges(g, "data"), edges(g, "contain"), edges(g, "control")
    assert {(arg0, dot, 0), (arg1, dot, 1), (dot, dot + 1, 0), (dot + 1, call, 0)} <= data
    assert {(main, region, 0), (region, block, 0), (block, arg0, 0), (block, arg1, 1),
            (block, dot, 0), (block, call, 1)} <= contain
    assert (dot, call, 0) in control
    assert edges(g, "call") == {(call, relu, 0)}
    # node_function: the enclosing function (a function op is in its own); node_block: -1 outside
    assert g.node_function[main] == 0 and g.node_function[relu] == 1 and g.node_function[call] == 0
    assert g.node_block[main] == -1 and g.node_block[region] == -1
    assert g.node_block[block] == 0 and g.node_block[dot] == 0 and g.node_block[arg0] == 0


def test_cfg_successors_nested_regions_and_blocks() -> None:
    g = build_graph(CFG, full_text=True)
    br = next(i for i, t in enumerate(g.full_text) if t.startswith("cf.cond_br"))
    bb1, bb2, body = node(g, "^bb1"), node(g, "^bb2"), node(g, "^bb3")
    assert {(br, bb1, 0), (br, bb2, 1)} <= edges(g, "control")
    c, a = node(g, "i1"), node(g, "i32")
    assert {(c, br, 0), (a, br, 1)} <= edges(g, "data")                # successor operands too
    loop = next(i for i, t in enumerate(g.full_text) if t == "scf.for")
    loop_region = [t for s, t, p in edges(g, "contain") if s == loop]
    assert len(loop_region) == 1 and g.node_block[loop_region[0]] == 2  # the block of scf.for
    i, acc = [t for s, t, p in sorted(edges(g, "contain")) if s == body and g.node_type[t] == 1]
    assert g.full_text[i] == "index" and g.full_text[acc] == "i32"
    assert (body, acc, 1) in edges(g, "contain") and g.node_block[acc] == 3
    assert set(g.node_function.tolist()) == {0} and g.count(node_type="block") == 4


def test_function_option_and_row_roundtrip() -> None:
    g = build_graph(MLP, function="relu")
    assert g.functions == ["relu"] and g.count(node_type="op") == 5 and g.count(flow="call") == 0
    with pytest.raises(MLIRError, match=r"no function 'nope' \(functions: main, relu\)"):
        build_graph(MLP, function="nope")
    back = OpGraph.from_row(build_graph(MLP).to_row())
    assert isinstance(back, OpGraph) and back.count(flow="contain") == MLP_HAND["contain"]
    nx = back.to_networkx()
    assert nx.nodes[0]["type"] == "op" and {d["flow"] for *_, d in nx.edges(data=True)} == set(OpGraph.flows)
    assert 'shape=folder, label="region 0"' in build_graph(MLP).to_dot()


def test_normalize_type() -> None:
    assert normalize_type("tensor<64x128xf32>") == "tensor<?x?xf32>"
    assert normalize_type("vector<4x[8]xi8>") == "vector<?x[?]xi8>"
    assert normalize_type("memref<4x8xf32, strided<[8, 1]>>") == "memref<?x?xf32, strided<?>>"
    assert normalize_type("tensor<f32>") == "tensor<f32>" and normalize_type("index") == "index"


def test_bad_mlir_raises() -> None:
    with pytest.raises(MLIRError, match=r"bad\.mlir: .*Dialect `foo' not found"):
        build_graph("func.func @f() {\n  %0 = foo.bar : i32\n  return\n}\n", name="bad.mlir")
    with pytest.raises(MLIRError, match=r"bad\.mlir: error: .*expected"):
        build_graph("func.func @f( {", name="bad.mlir")


@pytest.fixture
def mlir_data():
    torch.manual_seed(0)
    graphs = [build_graph(MLP), build_graph(CFG)]
    vocab = {t: i + 1 for i, t in enumerate(sorted(set().union(*(g.texts for g in graphs))))}
    kinds = (OpGraph.node_types, OpGraph.flows)
    return len(vocab) + 1, [with_all_edge_types(g.to_heterodata(vocab), *kinds) for g in graphs]


def test_heterodata_and_encoder(mlir_data) -> None:
    num_tokens, (mlp, cfg) = mlir_data
    assert mlp["value", "data", "op"].edge_index.shape == (2, 8)
    assert mlp["op", "call", "op"].position.tolist() == [0]
    enc = GraphEncoder(num_tokens, hidden=16, layers=2, node_types=OpGraph.node_types,
                       flows=OpGraph.flows, function_node_type="op").eval()
    assert "node_types=('op', 'value', 'block', 'region')" in repr(enc)
    single = enc(mlp)
    assert single.module.shape == (1, 16) and single.function.shape == (2, 16)
    assert single.function_index.tolist() == [0, 1]
    batch = enc(Batch.from_data_list([mlp, cfg]))
    assert batch.module.shape == (2, 16) and batch.function_graph.tolist() == [0, 0, 1]
    assert torch.allclose(batch.module[0], single.module[0], atol=1e-5)
    assert torch.allclose(batch.module[1], enc(cfg).module[0], atol=1e-5)
    with pytest.raises(ValueError, match="unknown node type"):
        GraphEncoder(num_tokens, hidden=16, layers=1)(mlp)               # LLVM defaults stay LLVM's
    with pytest.raises(ValueError, match="function_node_type"):
        GraphEncoder(num_tokens, function_node_type="op")
