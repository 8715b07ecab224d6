"""irpipe.label.loop_graphs: each loop's part of the program graph at the vectorizer start."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import IRError
from irpipe.label import loop_graphs
from irpipe.label.loops import LoopLabeler, load_program
from irpipe.label.programs import generate
from irpipe.testing.factories import chain_graph
from irpipe.testing.gates import requires_llvm


def test_cut_keeps_the_nest_and_its_values_and_marks_the_loop() -> None:
    g = loop_graphs.cut(chain_graph(), loop_blocks=[2], nest_blocks=[1, 2])
    assert [g.texts[t] for t in g.node_text] == ["add", "mul", "i32"]   # instructions 1, 2 and the value between
    assert list(g.node_function) == [loop_graphs.CONTEXT, loop_graphs.LOOP, -1]
    assert sorted(zip(g.edge_source.tolist(), g.edge_target.tolist())) == [(0, 1), (0, 2), (2, 1)]
    top = loop_graphs.cut(chain_graph(), loop_blocks=[0, 1], nest_blocks=[0, 1])
    assert (top.node_function == loop_graphs.CONTEXT).sum() == 0 and (top.node_function == loop_graphs.LOOP).sum() == 2


def test_nest_and_file_names() -> None:
    assert loop_graphs.nest_of("main/L0.1.2") == "main/L0" and loop_graphs.nest_of("a/Lb/L3") == "a/Lb/L3"
    assert loop_graphs.ir_file(Path("d"), "_Z3foo$x").name == "_Z3foo_x.ll"


def test_a_listing_without_block_positions_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IRError, match="-irpipe-loop-ir"):
        loop_graphs.loop_graphs([{"id": "main/L0", "depth": 1}], tmp_path)


@requires_llvm
def test_every_listed_loop_gets_its_instructions(tmp_path: Path) -> None:
    """A generated loop nest: one graph per listed loop, whose loop-marked instructions are the
    instructions the listing counts in its body."""
    program = load_program(generate(tmp_path, 2, 3)[1])
    stage = LoopLabeler()
    stage.setup()
    try:
        graphs = stage.graphs(program)
        listing = stage.listing(program)
    finally:
        stage.close()
    assert [loop["id"] for loop in listing] == list(graphs) and len(graphs) >= 2
    inner = 0
    for loop in listing:
        g = graphs[loop["id"]]
        instructions = g.node_type == g.node_types.index("instruction")
        assert (instructions & (g.node_function == loop_graphs.LOOP)).sum() == loop["instructions"]
        inner += loop["depth"] > 1 and (g.node_function == loop_graphs.CONTEXT).sum() > 0
    assert inner or all(loop["depth"] == 1 for loop in listing)
