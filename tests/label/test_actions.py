"""irpipe.label.actions: every action parses and runs in LLVM 22; sequences group by level."""

from __future__ import annotations

from collections import Counter

import pytest

from irpipe.errors import IRError
from irpipe.label import actions
from irpipe.label.measure import Evaluator
from irpipe.testing.factories import sample_modules


def test_space_size_and_levels() -> None:
    levels = Counter(a.level for a in actions.ACTIONS)
    assert levels["olevel"] == 6 and len(actions.ACTIONS) >= 100
    assert len({a.name for a in actions.ACTIONS}) == len(actions.ACTIONS)
    assert "instcombine" not in actions.BY_NAME                     # aborts on no fixpoint in LLVM 22
    assert "instcombine<no-verify-fixpoint>" in actions.BY_NAME


def test_every_action_runs_on_real_modules() -> None:
    modules = [Evaluator(d, name=n) for n, d in sample_modules(3, max_instructions=1500,
                                                                  languages=("c",))]
    for action in actions.ACTIONS:
        for ev in modules:
            assert ev.evaluate(action.text()).instructions >= 0, action.name


def test_pipeline_groups_consecutive_levels() -> None:
    seq = actions.lookup(["mem2reg", "gvn", "licm", "loop-deletion", "inline", "default<Oz>", "globaldce"])
    assert actions.pipeline(seq) == ("function(mem2reg,gvn),function(loop-mssa(licm)),"
                                     "function(loop(loop-deletion)),cgscc(inline),default<Oz>,globaldce")
    assert actions.pipeline([]) == "verify"
    with pytest.raises(IRError, match="unknown action 'instcombine'"):
        actions.lookup(["instcombine"])


def test_parse_inverts_pipeline() -> None:
    import random

    from irpipe.label.actions import ACTIONS, parse, pipeline

    rng = random.Random(1)
    for _ in range(500):
        seq = [rng.choice(ACTIONS) for _ in range(rng.randint(0, 12))]
        assert parse(pipeline(seq)) == seq
    for bad in ("function(loop(licm))", "cgscc(mem2reg)", "function(sroa", "nosuchpass"):
        with pytest.raises(IRError):
            parse(bad)
