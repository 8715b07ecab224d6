"""Paired speedups with bootstrap intervals, the A/A floor, geomeans, the round order."""

from __future__ import annotations

import pytest

from irpipe.bench import stats


def test_paired_speedup_finds_a_real_gain() -> None:
    base = [1.00, 1.02, 0.99, 1.01, 1.00, 1.03, 0.98]
    cand = [b / 1.10 for b in base]
    s = stats.paired_speedup(base, cand)
    assert s.median == pytest.approx(1.10) and s.low > 1.05
    assert s.verdict(0.02) == "faster"
    assert stats.paired_speedup(cand, base).verdict(0.02) == "slower"


def test_noise_is_not_a_speedup() -> None:
    base = [1.00, 1.05, 0.97, 1.02, 0.99, 1.04, 0.96]
    cand = [1.03, 0.98, 1.01, 0.97, 1.04, 0.99, 1.00]
    s = stats.paired_speedup(base, cand)
    assert s.low < 1.0 < s.high and s.verdict(0.01) == "same"
    # a CI above 1 that does not clear the floor is still "same"
    assert stats.Speedup(1.015, 1.005, 1.02).verdict(0.03) == "same"


def test_bootstrap_is_seeded() -> None:
    a, b = [1.0, 1.1, 0.9, 1.05], [0.95, 1.0, 0.92, 1.0]
    assert stats.paired_speedup(a, b) == stats.paired_speedup(a, b)
    with pytest.raises(ValueError):
        stats.paired_speedup([1.0], [])


def test_floor_geomean_and_order() -> None:
    assert stats.noise_floor([]) == stats.MIN_FLOOR
    assert stats.noise_floor([1.0, 1.001]) == stats.MIN_FLOOR
    assert stats.noise_floor([1.0] * 8 + [1.04, 0.95]) == pytest.approx(0.041, abs=0.002)
    assert stats.geomean([2.0, 0.5]) == pytest.approx(1.0) and stats.geomean([]) is None
    assert stats.round_order(2, 0) == [-1, 0, 1, -2] and stats.round_order(2, 1) == [-2, 1, 0, -1]


def test_split_halves_are_the_even_and_odd_rounds() -> None:
    assert stats.split_halves([1.0, 10.0, 3.0, 20.0, 2.0]) == (2.0, 15.0)
    with pytest.raises(stats.EvalError):
        stats.split_halves([1.0])


def test_settled_needs_every_interval_narrower_than_the_width() -> None:
    narrow, wide = stats.Speedup(1.0, 0.99, 1.01), stats.Speedup(1.0, 0.95, 1.06)
    assert stats.settled([narrow], 0.03)
    assert not stats.settled([narrow, wide], 0.03)
    assert stats.settled([], 0.03)
