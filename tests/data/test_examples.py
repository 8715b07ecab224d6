"""Model inputs: one parse gives graph, function texts and features; encoders; target matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irpipe.data.examples import Encoders, module_input, targets, truncate
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR


def test_module_input_and_encoders() -> None:
    a, b = module_input(SIMPLE_IR), module_input(GRAPH_IR)
    assert a.instructions == 8 and len(a.functions) == 2
    assert a.functions[0].startswith("define i32 @add(") and a.functions[0].rstrip().endswith("}")
    assert a.autophase.shape == (56,)
    enc = Encoders.fit([a, b], node_vocab=1000, tokenizer_vocab=300, max_functions=4, chunk_len=32)
    g = enc.graph(a)
    assert int(g["instruction"].x.min()) >= 1           # every text seen in fit has an id
    assert len(g.edge_types) == 64                      # all edge types (safe batching)
    tokens = enc.tokens(b)
    assert tokens.shape == (4, 32) and int((tokens[:2] > 0).sum()) > 0 and int(tokens[2:].sum()) == 0
    small = Encoders.fit([a], node_vocab=3, tokenizer_vocab=None, max_functions=4, chunk_len=32)
    assert len(small.node_vocab) == 3
    assert int((small.graph(b)["instruction"].x == 0).sum()) > 0  # unseen texts -> 0
    with pytest.raises(Exception, match="no tokenizer"):
        small.tokens(a)


def test_truncate_keeps_first_nodes_and_their_edges() -> None:
    g = module_input(GRAPH_IR).graph
    t = truncate(g, 10)
    assert t.num_nodes == 10
    assert int(max(t.edge_source.max(), t.edge_target.max())) < 10
    assert truncate(g, 10**6) is g


def test_targets() -> None:
    rows = [{"pipeline": "default<Oz>", "input_instructions": 100, "instructions": 50, "text_bytes": 400},
            {"pipeline": "verify", "input_instructions": 100, "instructions": 100, "text_bytes": None},
            {"pipeline": "unknown", "input_instructions": 100, "instructions": 1, "text_bytes": 1}]
    t = targets(rows, ["default<Oz>", "verify", "default<O3>"])
    assert t.shape == (3, 2)
    assert t[0, 0] == pytest.approx(math.log(0.5)) and t[0, 1] == pytest.approx(math.log(4.0))
    assert t[1, 0] == 0.0 and np.isnan(t[1, 1]) and np.isnan(t[2]).all()
