"""Cost and policy metrics on hand-made candidate matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irpipe.train import metrics

NAN = math.nan


def test_mape_and_tau() -> None:
    true = [np.log(np.array([100.0, 90.0, 80.0, NAN]))]
    exact = [np.log(np.array([100.0, 90.0, 80.0, 5.0]))]
    assert metrics.mape(exact, true) == pytest.approx(0.0)
    assert metrics.kendall_tau(exact, true) == pytest.approx(1.0)
    off = [np.log(np.array([110.0, 99.0, 88.0, 1.0]))]  # +10% everywhere, same order
    assert metrics.mape(off, true) == pytest.approx(0.1)
    assert metrics.kendall_tau(off, true) == pytest.approx(1.0)
    reverse = [np.log(np.array([80.0, 90.0, 100.0, 1.0]))]
    assert metrics.kendall_tau(reverse, true) == pytest.approx(-1.0)
    tied = [np.zeros(3)]
    assert math.isnan(metrics.kendall_tau(tied, [np.zeros(3)]))  # nothing to rank: skipped


def test_regret_and_policy_gain() -> None:
    # candidate 0 is the reference (-Oz): 100; the best is candidate 2: 80
    true = [np.log(np.array([100.0, 90.0, 80.0, 95.0]))]
    assert metrics.top1_regret([np.array([0.0, -1.0, 0.0, 0.0])], true) == pytest.approx(90 / 80 - 1)
    scores = [np.array([0.0, 1.0, 0.5, 2.0])]  # policy prefers 3, then 1, then 2
    assert metrics.top_n_gain(scores, true, 2, 0) == pytest.approx(100 / 95)
    assert metrics.top_n_gain(scores, true, 3, 0) == pytest.approx(100 / 90)
    assert metrics.top_n_gain(scores, true, 10, 0) == pytest.approx(100 / 80)
    assert metrics.oracle_gain(true, 0) == pytest.approx(100 / 80)
    worse = [np.log(np.array([100.0, 120.0, 130.0, 140.0]))]  # nothing beats -Oz: gain 1, never less
    assert metrics.top_n_gain([np.array([0.0, 3.0, 2.0, 1.0])], worse, 3, 0) == pytest.approx(1.0)
    assert metrics.choose(np.array([0.0, 1.0, 5.0]), 2, 0) == [0, 2]
    # picks: the model's best first, then vocabulary (set-cover) order
    assert metrics.choose(np.array([0.0, 1.0, 2.0, 9.0]), 3, 0, picks=1) == [0, 3, 1]
    assert metrics.choose(np.array([0.0, 1.0, 2.0, 9.0]), 3, 0, picks=0) == [0, 1, 2]
    assert metrics.top_n_gain(scores, true, 2, 0, picks=0) == pytest.approx(100 / 90)
    picks, gains = metrics.best_picks(scores, true, 3, 0)
    assert gains == pytest.approx([100 / 80, 100 / 90, 100 / 90]) and picks == 0


def test_blind_and_random_gain() -> None:
    true = [np.log(np.array([100.0, 90.0, 80.0, 125.0])), np.log(np.array([100.0, NAN, 50.0, 100.0]))]
    # one compile, no fallback: candidate 3 loses (100/125); a failed candidate 1 falls back (1.0)
    assert metrics.blind_gain([np.array([0, 0, 0, 1.0]), np.array([0, 1.0, 0, 0])], true, 0) == \
        pytest.approx(math.sqrt(100 / 125))
    assert metrics.blind_gain([np.array([0, 0, 1.0, 0])] * 2, true, 0) == pytest.approx(math.sqrt(100 / 80 * 2))
    # random blind: the mean log over the 4 equally likely picks, per module
    expect = math.exp((math.log(100 / 90) + math.log(100 / 80) + math.log(100 / 125)) / 4 + math.log(2) / 4) ** 0.5
    assert metrics.random_gain(true, 1, 0, blind=True, draws=4000) == pytest.approx(expect, rel=0.02)
    # random with every candidate compiled is the oracle; with 1 compile, the reference alone
    assert metrics.random_gain(true, 4, 0, draws=5) == pytest.approx(metrics.oracle_gain(true, 0))
    assert metrics.random_gain(true, 1, 0, draws=5) == pytest.approx(1.0)
    assert metrics.random_gain(true, 2, 0, seed=1) == metrics.random_gain(true, 2, 0, seed=1)
