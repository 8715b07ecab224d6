"""Cost-model and policy metrics over a matrix of measured candidates.

All functions take, per module, arrays over the K candidate pipelines:
``true`` (measured log(metric / input instructions), NaN = not measured),
``pred`` (predicted log-ratio, or a policy score where noted).  Smaller metric is better.

* :func:`mape`: mean absolute percentage error of the predicted metric.
* :func:`kendall_tau`: Kendall's tau-b between the predicted and measured ranking of a
  module's candidates, averaged over modules (ties in the measurement are common).
* :func:`top1_regret`: measured metric of the predicted best / the measured best - 1.
* :func:`top_n_gain`: the policy's result with ``n`` verifying compiles: the reference
  pipeline plus the policy's best other candidates (:func:`choose`) are measured and the
  best is kept; reference metric / kept metric (>= 1), geomean over modules.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import kendalltau

from irpipe.label.vocab import choose  # noqa: F401 (the verify set; here for top_n_gain and callers)


def _valid(true: np.ndarray) -> np.ndarray:
    return np.isfinite(true)


def mape(pred: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> float:
    """Mean |exp(pred) - exp(true)| / exp(true) over every measured (module, candidate)."""
    errors = [np.abs(np.exp(p[_valid(t)] - t[_valid(t)]) - 1.0) for p, t in zip(pred, true)]
    flat = np.concatenate(errors) if errors else np.zeros(0)
    return float(flat.mean()) if flat.size else math.nan


def module_taus(pred: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> np.ndarray:
    """tau-b(pred, true) of each module on its measured candidates; NaN where the measured
    candidates are all tied (nothing to rank) or fewer than two."""
    taus = np.full(len(true), math.nan)
    for i, (p, t) in enumerate(zip(pred, true)):
        ok = _valid(t)
        if ok.sum() >= 2 and np.ptp(t[ok]) > 0:
            taus[i] = kendalltau(p[ok], t[ok]).statistic
    return taus


def kendall_tau(pred: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> float:
    """Mean over modules of tau-b(pred, true) on the measured candidates.

    Modules whose measured candidates are all tied (nothing to rank) are skipped.
    """
    taus = module_taus(pred, true)
    taus = taus[np.isfinite(taus)]
    return float(taus.mean()) if taus.size else math.nan


def top1_regret(pred: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> float:
    """Mean of metric(argmin pred) / min metric - 1 over modules (0 = always the best)."""
    regrets = []
    for p, t in zip(pred, true):
        ok = _valid(t)
        if not ok.any():
            continue
        choice = np.flatnonzero(ok)[np.argmin(p[ok])]
        regrets.append(math.exp(t[choice] - t[ok].min()) - 1.0)
    return float(np.mean(regrets)) if regrets else math.nan


def top_n_gain(scores: Sequence[np.ndarray], true: Sequence[np.ndarray], n: int,
               reference: int, picks: int | None = None) -> float:
    """Geomean over modules of reference metric / best metric among the :func:`choose` set.

    Modules without a measured reference are skipped; a chosen candidate that failed
    costs its compile and counts as no gain.
    """
    logs = []
    for s, t in zip(scores, true):
        if not np.isfinite(t[reference]):
            continue
        values = [t[k] for k in choose(s, n, reference, picks) if np.isfinite(t[k])]
        logs.append(t[reference] - min(values))
    return float(math.exp(np.mean(logs))) if logs else math.nan


def best_picks(scores: Sequence[np.ndarray], true: Sequence[np.ndarray], n: int,
               reference: int) -> tuple[int, list[float]]:
    """The ``picks`` (0 .. n-1) with the best :func:`top_n_gain` (ties: more model picks),
    and the gain of each: chosen on the validation split, never on test."""
    gains = [top_n_gain(scores, true, n, reference, p) for p in range(n)]
    best = max(range(n), key=lambda p: (round(gains[p], 6), p))
    return best, gains


def oracle_gain(true: Sequence[np.ndarray], reference: int) -> float:
    """Geomean of reference / best candidate: the best any policy over this vocabulary can do."""
    logs = [t[reference] - np.nanmin(t) for t in true if np.isfinite(t[reference])]
    return float(math.exp(np.mean(logs))) if logs else math.nan


def blind_gain(scores: Sequence[np.ndarray], true: Sequence[np.ndarray], reference: int) -> float:
    """Geomean of reference / the best-scored candidate alone (one compile, nothing verified: a
    loss counts); a choice that failed counts as the reference (the fallback).  Modules without a
    measured reference are skipped."""
    logs = []
    for s, t in zip(scores, true):
        if not np.isfinite(t[reference]):
            continue
        k = int(np.argmax(s))
        logs.append(t[reference] - t[k] if np.isfinite(t[k]) else 0.0)
    return float(math.exp(np.mean(logs))) if logs else math.nan


def random_gain(true: Sequence[np.ndarray], n: int, reference: int, *, blind: bool = False,
                draws: int = 200, seed: int = 0) -> float:
    """Random search at equal compiles: :func:`top_n_gain` (``blind``: :func:`blind_gain`) of
    uniformly random scores, its log averaged over ``draws`` seeded draws (the expectation)."""
    rng = np.random.default_rng(seed)
    logs = []
    for _ in range(draws):
        scores = [rng.random(len(t)) for t in true]
        gain = blind_gain(scores, true, reference) if blind else top_n_gain(scores, true, n, reference)
        logs.append(math.log(gain))
    return float(math.exp(np.mean(logs))) if logs else math.nan
