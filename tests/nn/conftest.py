"""Shared fixtures for irpipe.nn: one thread, and tiny program graphs built from inline IR."""

from __future__ import annotations

import pytest
import torch

from irpipe.llvm.graph import build_graph
from irpipe.data.batching import with_all_edge_types

# Two functions, a call, a loop with phis, a global and constants: every node type
# (instruction, variable, constant, type) and every flow (control, data, call, type).
LOOP_IR = """\
@g = global i32 7

define i32 @step(i32 %x) {
entry:
  %y = add i32 %x, 3
  ret i32 %y
}

define i32 @main(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %sum, %loop ]
  %v = call i32 @step(i32 %i)
  %sum = add i32 %acc, %v
  %next = add i32 %i, 1
  %done = icmp sge i32 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  %gv = load i32, ptr @g
  %r = add i32 %sum, %gv
  ret i32 %r
}
"""

# One function, no calls of its own, no loop.
SINGLE_IR = """\
define i32 @f(i32 %a, i32 %b) {
entry:
  %c = mul i32 %a, %b
  ret i32 %c
}
"""


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def program_graphs():
    """``(vocab, [loop graph, single graph])`` as ProgramGraphs, built once."""
    graphs = [build_graph(LOOP_IR, isolate_llvm=False), build_graph(SINGLE_IR, isolate_llvm=False)]
    texts = sorted(set().union(*(g.texts for g in graphs)))
    vocab = {text: i + 1 for i, text in enumerate(texts)}
    return vocab, graphs


@pytest.fixture
def loop_data(program_graphs):
    vocab, graphs = program_graphs
    return with_all_edge_types(graphs[0].to_heterodata(vocab))


@pytest.fixture
def single_data(program_graphs):
    vocab, graphs = program_graphs
    return with_all_edge_types(graphs[1].to_heterodata(vocab))


@pytest.fixture
def num_tokens(program_graphs) -> int:
    return len(program_graphs[0]) + 1
