"""The loop policy in numpy equals the torch model it was trained as (linear and MLP), and
refuses a checkpoint of other features with one line."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from irpipe.errors import ModelError
from irpipe.nn.checkpoint_files import write_checkpoint
from irpipe.nn.loop_policy import (DECISIONS, FEATURES, PROBLEM, UNROLL_BUDGET, NestGrowth, NumpyLoopPolicy,
                                  loop_features, policy_advice, supported)

ROOT = Path(__file__).resolve().parents[2]
LISTING = [
    {"id": "main/L0", "depth": 1, "blocks": 3, "trip_count": 200, "strict_fp_reduction": False,
     "strict_fp_induction": False, "instructions": 20, "loads": 1, "stores": 1, "fp_ops": 0, "int_ops": 7,
     "calls": 0, "cond_branches": 2, "contiguous": 2, "strided": 0, "invariant": 0, "indirect": 0,
     "reductions": 0, "min_access_bits": 32, "max_access_bits": 32},
    {"id": "main/L0.0", "depth": 2, "blocks": 1, "trip_count": None, "strict_fp_reduction": True,
     "strict_fp_induction": False, "instructions": 14, "loads": 2, "stores": 0, "fp_ops": 2, "int_ops": 6,
     "calls": 0, "cond_branches": 1, "contiguous": 2, "strided": 0, "invariant": 0, "indirect": 0,
     "reductions": 1, "min_access_bits": 64, "max_access_bits": 64},
]


def _features(n: int = 40) -> np.ndarray:
    return (np.random.RandomState(0).rand(n, len(FEATURES)) * 4).astype(np.float32)


def test_released_policy_matches_torch() -> None:
    torch_policy = pytest.importorskip("irpipe.train.loop_decisions").LoopPolicy.load(ROOT / "models" / "loop-decisions")
    policy = NumpyLoopPolicy.load(ROOT / "models" / "loop-decisions")
    x = _features()
    np.testing.assert_allclose(policy.predict(x), torch_policy.predict(x), rtol=1e-4, atol=1e-3)
    assert policy.advice(LISTING) == torch_policy.advice(LISTING)


@pytest.mark.parametrize("hidden, body", [(4, True), (0, True), (16, False)])
def test_a_trained_shape_matches_torch(tmp_path: Path, hidden: int, body: bool) -> None:
    ld = pytest.importorskip("irpipe.train.loop_decisions")
    import torch

    config = replace(ld.LoopDecisionsConfig(), hidden=hidden, body_facts=body, margin=0.0)
    model = ld.LoopDecisionNet(ld.used_features(config), hidden=hidden)
    with torch.no_grad():
        model.mean.uniform_(0, 1)
        model.std.uniform_(0.5, 2)
    write_checkpoint(tmp_path, {k: v.numpy() for k, v in model.state_dict().items()}, PROBLEM, asdict(config),
                     {"features": list(ld.used_features(config)), "decisions": list(DECISIONS)})
    policy, reference = NumpyLoopPolicy.load(tmp_path), ld.LoopPolicy.load(tmp_path)
    x = _features()
    np.testing.assert_allclose(policy.predict(x), reference.predict(x), rtol=1e-4, atol=1e-5)
    assert policy.advice(LISTING) == reference.advice(LISTING)


def test_supported_is_the_training_range_widened_by_the_slack() -> None:
    lo, hi = np.array([1.0, 0.0, np.nan]), np.array([3.0, 0.0, np.nan])
    loops = np.array([[2.0, 0.0, 99.0],       # inside; no bound on the third feature
                      [3.5, 0.4, -5.0],       # beyond, but within the slack
                      [3.6, 0.0, 0.0],        # 0.6 past the highest depth
                      [2.0, 1.0, 0.0],        # a flag the training loops never set
                      [np.nan, 0.0, 0.0]])    # a fact the listing lacks: not checked
    assert supported(loops, lo, hi, 0.5).tolist() == [True, True, False, False, True]
    assert supported(loops, lo, hi, -1).all()


def test_a_loop_unlike_every_training_loop_keeps_O3(tmp_path: Path) -> None:
    """Numpy and torch both leave out a loop beyond the stored training range, and decide the other."""
    ld = pytest.importorskip("irpipe.train.loop_decisions")
    import torch

    config = replace(ld.LoopDecisionsConfig(), hidden=0, body_facts=True, margin=0.0, support_slack=0.5)
    model = ld.LoopDecisionNet(ld.used_features(config), hidden=0)
    ids = [lp["id"] for lp in LISTING]
    seen = torch.tensor(loop_features(LISTING[0], ids))  # trained on the outer loop alone
    with torch.no_grad():
        model.net.weight.zero_()
        model.net.bias.fill_(-1.0)       # every decision predicted at e^-1 of -O3
        model.support_lo.copy_(seen)
        model.support_hi.copy_(seen)
    write_checkpoint(tmp_path, {k: v.numpy() for k, v in model.state_dict().items()}, PROBLEM, asdict(config),
                     {"features": list(ld.used_features(config)), "decisions": list(DECISIONS)})
    for policy in (NumpyLoopPolicy.load(tmp_path), ld.LoopPolicy.load(tmp_path)):
        assert list(policy.advice(LISTING)) == ["main/L0"]  # the inner loop is one level deeper, and more
    unguarded = ld.LoopPolicy.load(tmp_path)
    unguarded.config = replace(config, support_slack=-1.0)
    assert list(unguarded.advice(LISTING)) == ["main/L0", "main/L0.0"]


def test_other_features_are_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path, {"mean": np.zeros(1, np.float32)}, PROBLEM, {"hidden": 0},
                     {"features": ["no_such_feature"], "decisions": list(DECISIONS)})
    with pytest.raises(ModelError, match="other loop features"):
        NumpyLoopPolicy.load(tmp_path)


def test_nest_growth_counts_multiply_along_a_nest() -> None:
    listing = [{"id": "f/L0", "instructions": 100}, {"id": "f/L0.0", "instructions": 60},
               {"id": "f/L0.0.0", "instructions": 20}, {"id": "f/L1", "instructions": 300}, {"id": "g/L0", "instructions": 10}]
    growth = NestGrowth(listing, budget=1000)
    assert growth.fits("f/L0.0.0", 8)  # 100 + 7 * 20 = 240
    growth.unroll("f/L0.0.0", 8)
    assert growth.fits("f/L0.0", 2)    # 100 + (2 * (60 + 140) - 60) = 440
    growth.unroll("f/L0.0", 2)
    assert growth.fits("f/L0", 2) and not growth.fits("f/L0", 4)  # 2 * 440 = 880; 4 * 440 = 1760
    assert growth.fits("f/L1", 2) and not growth.fits("f/L1", 4)  # other nests count alone
    assert growth.fits("g/L0", 8) and growth.fits("f/L0", 1)


def test_the_policy_keeps_each_nest_within_the_unroll_budget() -> None:
    """A predictor that wants unroll 8 everywhere gets it only where the nest stays within budget; the
    loop with the best predicted gain decides first."""
    listing = [dict(LISTING[0], instructions=200), dict(LISTING[1], instructions=150)]
    want = np.full((2, len(DECISIONS)), 0.0, dtype=np.float32)
    eight = DECISIONS.index('{"unroll":8}')
    want[:, eight] = [-0.2, -0.3]  # the inner loop gains more
    want[:, DECISIONS.index('{"unroll":2}')] = -0.1
    want[:, DECISIONS.index('{"interleave":2}')] = -0.05
    columns = np.arange(len(FEATURES))
    advice = policy_advice(lambda x: want, columns, 0.01, listing)
    assert advice["main/L0.0"] == {"unroll": 8}  # 200 + 7 * 150 = 1250 <= 2048
    assert advice["main/L0"] == {"interleave": 2}  # unroll 2 would make 2 * 1250 > 2048
    size = NestGrowth(listing)
    for lid, d in advice.items():
        size.unroll(lid, d.get("unroll", 1) if isinstance(d.get("unroll"), int) else 1)
    assert size.size("main/L0") <= UNROLL_BUDGET


def test_nest_growth_is_quick_on_a_huge_listing() -> None:
    """4096 loops (4x what one request may carry) in 64 nests 64 deep (the deepest a request may
    name) stay cheap: each query walks one path up its nest."""
    listing = [{"id": f"f.llvm.{n}/L" + ".".join(["0"] * (d + 1)), "instructions": 1}
               for n in range(64) for d in range(64)]
    growth = NestGrowth(listing, budget=10**30)
    for lp in listing[::-1]:
        if growth.fits(lp["id"], 2):
            growth.unroll(lp["id"], 2)
    assert growth.size("f.llvm.0/L0") == 2 ** 64  # each level doubles what it holds
