"""irpipe.llvm.graph: ProGraML-style graphs, counts derived by hand from GRAPH_IR."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from irpipe.llvm import features, graph, ir
from irpipe.testing.factories import GRAPH_IR, sample_modules

# GRAPH_IR by hand: @sq has 2 instructions, @main 10; @ext is a called declaration.
INSTRUCTIONS = 12
#   instruction nodes: 12 + root + one "; undefined function" node for @ext
#   variables (one per used SSA value): %x %m %n %c %s %e %r %v %t
#   constants: i32 0, @g
#   control: sq 1; main: entry 1, pos 1, neg 1, done 3 (inside blocks) + 2 + 1 + 1 (branches)
#   data: 14 operand uses (mul 2, ret 1, icmp 2, br 1, call args 2, phi 2, load 1, add 2, ret 1)
#         + 7 producer -> variable edges (%m %c %s %e %r %v %t)
#   call: root<->sq, root<->main, site->sq + ret->site, root<->ext, site->ext + ext->site
HAND = {"instruction": 14, "variable": 9, "constant": 2, "control": 11, "data": 21, "call": 10}


def edges(g: graph.ProgramGraph, flow: str) -> set[tuple[int, int, int]]:
    m = g.edge_flow == graph.FLOWS.index(flow)
    return set(zip(g.edge_source[m].tolist(), g.edge_target[m].tolist(), g.edge_position[m].tolist()))


def node(g: graph.ProgramGraph, full_text: str) -> int:
    return g.full_text.index(full_text)


def test_hand_derived_counts() -> None:
    g = graph.build_graph(GRAPH_IR, types=False, full_text=True)
    for t in ("instruction", "variable", "constant"):
        assert g.count(node_type=t) == HAND[t], t
    for f in ("control", "data", "call"):
        assert g.count(flow=f) == HAND[f], f
    assert g.count(node_type="type") == 0 and g.num_nodes == 25
    assert g.full_text[0] == "[external]" and g.texts[g.node_text[0]] == "[external]"


def test_every_instruction_exactly_once() -> None:
    g = graph.build_graph(GRAPH_IR, types=False, full_text=True)
    printed = [ln.strip() for ln in str(ir.parse(GRAPH_IR)).splitlines()
               if ln.startswith("  ") and not ln.strip().startswith(";")]
    inst = [g.full_text[i] for i in np.flatnonzero(g.node_type == 0)[1:] if g.node_function[i] >= 0]
    assert len(printed) == INSTRUCTIONS and Counter(inst) == Counter(printed)


def test_positions_and_call_edges() -> None:
    g = graph.build_graph(GRAPH_IR, types=False, full_text=True)
    br = node(g, "br i1 %c, label %pos, label %neg")
    call_sq, mul, ret_sq = (node(g, "%s = call i32 @sq(i32 %n)"), node(g, "%m = mul i32 %x, %x"),
                            node(g, "ret i32 %m"))
    control = edges(g, "control")
    assert (br, node(g, "%s = call i32 @sq(i32 %n)"), 0) in control
    assert (br, node(g, "%e = call i32 @ext(i32 %n)"), 1) in control
    calls = edges(g, "call")
    assert (call_sq, mul, 0) in calls and (ret_sq, call_sq, 0) in calls   # into the entry, back from ret
    assert (0, mul, 0) in calls and (ret_sq, 0, 0) in calls               # the root calls every function
    ext = g.full_text.index("declare @ext")
    call_ext = node(g, "%e = call i32 @ext(i32 %n)")
    assert {(call_ext, ext, 0), (ext, call_ext, 0), (0, ext, 0), (ext, 0, 0)} <= calls
    data = edges(g, "data")
    x = node(g, "i32 %x")
    assert (x, mul, 0) in data and (x, mul, 1) in data                    # both operands, by position
    phi, e = node(g, "%r = phi i32 [ %s, %pos ], [ %e, %neg ]"), node(g, "i32 %e")
    assert (e, phi, 1) in data
    assert (node(g, "ptr @g"), node(g, "%v = load i32, ptr @g, align 4"), 0) in data


def test_type_nodes() -> None:
    g = graph.build_graph(GRAPH_IR, types=True)
    assert sorted(g.texts[g.node_text[i]] for i in np.flatnonzero(g.node_type == 3)) == ["i1", "i32", "ptr"]
    assert g.count(flow="type") == 11          # one per variable and constant
    s = graph.build_graph("%S = type { i32, [4 x i8] }\n@s = global %S zeroinitializer\n"
                          "define ptr @f() {\n  ret ptr @s\n}\n", types=True, full_text=True)
    # ptr (of @s); no edge into opaque ptr, so the struct is not reached: 1 type node
    assert s.count(node_type="type") == 1
    agg = graph.build_graph("define void @f({ i32, [4 x i8] } %a) {\n  %x = extractvalue "
                            "{ i32, [4 x i8] } %a, 0\n  ret void\n}\n", types=True)
    types = {agg.texts[agg.node_text[i]] for i in np.flatnonzero(agg.node_type == 3)}
    assert types == {"{ i32, [4 x i8] }", "i32", "[4 x i8]", "i8"}
    member = {(agg.texts[agg.node_text[s]], p) for s, d, p in edges(agg, "type")
              if agg.node_type[d] == 3 and agg.texts[agg.node_text[d]] == "{ i32, [4 x i8] }"}
    assert member == {("i32", 0), ("[4 x i8]", 1)}


def test_per_function_graph() -> None:
    g = graph.build_graph(GRAPH_IR, function="sq", types=False, full_text=True)
    assert g.functions == ["sq"] and g.count(node_type="instruction") == 3
    assert set(g.node_function[g.node_type == 0].tolist()) == {-1, 0}


def test_heterodata_networkx_dot_and_pt(tmp_path) -> None:
    g = graph.build_graph(GRAPH_IR)
    h = g.to_heterodata({"add": 1, "i32": 2})
    assert h["instruction"].num_nodes == 14 and h["instruction"].x.shape == (14,)
    ei = h["instruction", "control", "instruction"].edge_index
    assert ei.shape == (2, 11) and ei.dtype == torch.long
    assert int(h["variable"].x.eq(2).sum()) == 8           # 8 of 9 variables are i32 (one i1)
    total = sum(int(h[et].edge_index.shape[1]) for et in h.edge_types)
    assert total == g.num_edges
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == g.num_nodes and nxg.number_of_edges() == g.num_edges
    assert g.to_dot().count("->") == g.num_edges
    graph.save_pt(g, str(tmp_path / "g.pt"))
    back = graph.load_pt(str(tmp_path / "g.pt"))
    assert back.texts == g.texts and np.array_equal(back.edge_target, g.edge_target)


def test_real_modules_have_every_instruction_once() -> None:
    for name, data in sample_modules(8):
        g = graph.build_graph(data, name=name, isolate_llvm=False)
        f = features.compute(data, isolate_llvm=False)
        in_functions = np.count_nonzero((g.node_type == 0) & (g.node_function >= 0))
        assert in_functions == f.instcount[0], name
        assert np.all(g.edge_source < g.num_nodes) and np.all(g.edge_target < g.num_nodes)
