"""Statistics of interleaved runs: paired speedups, bootstrap confidence intervals, the A/A floor.

Each round runs the baseline, every candidate and the baseline again (a second copy: the A/A
control), in an order that alternates between rounds.  Round ``i`` gives the paired ratio
``baseline_i / candidate_i`` (> 1: the candidate is faster).  The speedup is the median of those
ratios; its 95% confidence interval comes from a seeded percentile bootstrap of the rounds.
The A/A ratio ``baseline_i / baseline_copy_i`` is measured the same way: the *noise floor* of the
suite is the 90th percentile of |A/A - 1| over its programs (at least 1%).  A speedup is called
real only when its interval excludes 1 and it exceeds the floor; a regression likewise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from irpipe.errors import EvalError

MIN_FLOOR = 0.01
FLOOR_QUANTILE = 0.9


@dataclass(frozen=True)
class Speedup:
    """The median paired ratio and its bootstrap 95% interval."""

    median: float
    low: float
    high: float

    def verdict(self, floor: float) -> str:
        """``faster`` / ``slower`` when the interval excludes 1 and the median passes the floor."""
        if self.low > 1.0 and self.median > 1.0 + floor:
            return "faster"
        if self.high < 1.0 and self.median < 1.0 - floor:
            return "slower"
        return "same"

    def as_dict(self) -> dict[str, float]:
        return {"median": round(self.median, 5), "ci95": [round(self.low, 5), round(self.high, 5)]}


def settled(speedups: list[Speedup], width: float) -> bool:
    """Whether every interval of ``speedups`` is narrower than ``width`` (high - low): the test
    that stops adding rounds (``irpipe bench --interval``)."""
    return all(s.high - s.low < width for s in speedups)


#: the speedup of a candidate whose binary is byte-identical to the baseline's (not timed)
IDENTICAL = Speedup(1.0, 1.0, 1.0)


def paired_speedup(baseline: list[float], candidate: list[float], *, resamples: int = 4000,
                   seed: int = 0) -> Speedup:
    """Median of ``baseline[i] / candidate[i]`` with a percentile-bootstrap 95% interval."""
    if len(baseline) != len(candidate) or not baseline:
        raise EvalError("paired_speedup needs two equally long, non-empty lists")
    ratios = np.asarray(baseline, float) / np.maximum(np.asarray(candidate, float), 1e-9)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ratios), size=(resamples, len(ratios)))
    medians = np.median(ratios[idx], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return Speedup(float(np.median(ratios)), float(low), float(high))


def noise_floor(aa_medians: list[float]) -> float:
    """The suite's A/A floor: the 90th percentile of |A/A - 1| (never below 1%)."""
    devs = [abs(m - 1.0) for m in aa_medians if math.isfinite(m)]
    if not devs:
        return MIN_FLOOR
    return max(MIN_FLOOR, float(np.quantile(devs, FLOOR_QUANTILE)))


def geomean(values: list[float]) -> float | None:
    """Geometric mean of positive values (None when there are none)."""
    vals = [v for v in values if v and v > 0 and math.isfinite(v)]
    return math.exp(statistics.fmean(math.log(v) for v in vals)) if vals else None


def round_order(n_candidates: int, round_index: int) -> list[int]:
    """Who runs when in round ``i``: -1 is the baseline, -2 its A/A copy, 0.. the candidates.

    Even rounds run A, B.., A'; odd rounds run A', ..B, A, so a drift in machine speed during the
    run does not favour whoever always goes first."""
    order = [-1, *range(n_candidates), -2]
    return order if round_index % 2 == 0 else order[::-1]


def split_halves(runs: list[float]) -> tuple[float, float]:
    """The medians of a binary's even-numbered and odd-numbered rounds: two independent
    measurements of the same binary from one run.  How well they rank a set of binaries
    against each other (Kendall's tau of the two) is the most any other measure can agree with
    a timing of that many rounds (``benchmarks/proxy_bench.py``, its noise ceiling)."""
    if len(runs) < 2:
        raise EvalError(f"split_halves needs at least 2 rounds, got {len(runs)}")
    return statistics.median(runs[0::2]), statistics.median(runs[1::2])
