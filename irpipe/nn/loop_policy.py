"""A per-loop policy's torch-free half: the decision space, a loop's features, the choice, and
inference of a released checkpoint in numpy (``irpipe optimize`` and ``irpipe bench`` load no
torch for it).

:mod:`irpipe.train.loop_decisions` trains the model (torch) and reads the same names from here;
:class:`NumpyLoopPolicy` computes what its ``LoopDecisionNet`` computes (tested to 1e-5).

The choice keeps every loop nest within :data:`UNROLL_BUDGET` IR instructions after unrolling
(:class:`NestGrowth`: counts multiply along a nest; the loop with the best predicted gain chooses
first, a loop whose count would not fit takes its best decision that does).  Without it the policy
grew one program's .text 22x (regexvm, unroll 8 on a nest) and ran slower.

A loop unlike every training loop keeps -O3 (:func:`supported`): the checkpoint stores the range
of each feature over its training loops (``support_lo``/``support_hi``, every feature in
:data:`FEATURES`, read by the model or not), and a loop with a feature beyond that range by more
than the config's ``support_slack`` gets no decision.  A linear model extrapolates without
bound: before the guard it predicted 20% gains for ``vectorize: off`` on the interpreter loops
of regexvm (30 loops in one function, calls and branches in their bodies, none of which the
generated training programs have) and that program ran 0.86x.

    USAGE: policy = NumpyLoopPolicy.load("models/loop-decisions")
           loops = policy.advice(listing)     # a plugin loop listing -> advice v2 "loops"
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from irpipe.errors import ModelError
from irpipe.label.loops import BASIC_DECISIONS, OUTER_DECISIONS, decision_key, decision_space
from irpipe.nn.checkpoint_files import Weights, read_arrays, read_meta
from irpipe.schema import LOOP_BODY_FACTS

PROBLEM = "loop-decisions"
#: the decision space, as LOOP_LABELS keys, in output order
DECISIONS: tuple[str, ...] = tuple(decision_key(d) for d in (*BASIC_DECISIONS, *OUTER_DECISIONS))
#: the loop's shape: what the plugin's listing said before it described the body.  Not the number of
#: loops in its function: after inlining that is the program's loop count, a fingerprint of the
#: program (3-12 in the generated corpus, 13-95 in benchmarks/suite), not a fact of the loop
SHAPE_FEATURES = ("depth", "log2_blocks", "trip_known", "log2_trip", "strict_fp_reduction", "strict_fp_induction",
                  "log2_subloops", "innermost")
#: the loop's body (irpipe.schema.LOOP_BODY_FACTS): log2(1 + count), access widths in 64ths
BODY_FEATURES = (*(f"log2_{k}" for k in LOOP_BODY_FACTS if not k.endswith("_bits")),
                 "min_access_bits_64", "max_access_bits_64")
#: every feature :func:`loop_features` computes, in order; a model uses :func:`used_features`
FEATURES = (*SHAPE_FEATURES, *BODY_FEATURES)


def loop_features(loop: dict[str, Any], ids: Sequence[str]) -> np.ndarray:
    """:data:`FEATURES` of ``loop`` (a listing entry or a LOOP_LABELS row) among its program's loop
    ``ids`` (its subloops are counted there unless the row says, ``subloops``); the body features
    are NaN where the row has no body facts (a schema v2 table)."""
    lid = loop.get("id", loop.get("loop_id"))
    sub = loop.get("subloops")
    if sub is None:
        sub = sum(other.startswith(lid + ".") for other in ids)
    trip = loop.get("trip_count")
    known = trip is not None and not (isinstance(trip, float) and math.isnan(trip))
    body = [loop.get(k) for k in LOOP_BODY_FACTS]
    body_f = ([math.nan] * len(BODY_FEATURES) if any(v is None for v in body) else
              [math.log2(1 + v) for k, v in zip(LOOP_BODY_FACTS, body) if not k.endswith("_bits")]
              + [v / 64 for k, v in zip(LOOP_BODY_FACTS, body) if k.endswith("_bits")])
    return np.array([loop.get("depth") or 1, math.log2(1 + (loop.get("blocks") or 1)), float(known),
                     math.log2(1 + trip) if known else 0.0, float(bool(loop.get("strict_fp_reduction"))),
                     float(bool(loop.get("strict_fp_induction"))), math.log2(1 + sub), float(sub == 0),
                     *body_f], dtype=np.float32)


#: how far (in feature units: log2 of a count, a depth, a 0/1 flag) a loop's feature may lie
#: beyond its training range before the loop keeps -O3; a flag never set in training is out
SUPPORT_SLACK = 0.5


def feature_range(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's (lowest, highest) value over the rows of ``features`` (NaN where no row has
    one): what :func:`supported` checks a loop against."""
    f = np.asarray(features, dtype=np.float64)
    lo, hi = np.full(f.shape[1], np.nan), np.full(f.shape[1], np.nan)
    seen = ~np.isnan(f).all(0)
    lo[seen], hi[seen] = np.nanmin(f[:, seen], 0), np.nanmax(f[:, seen], 0)
    return lo, hi


def supported(features: np.ndarray, lo: np.ndarray, hi: np.ndarray, slack: float = SUPPORT_SLACK) -> np.ndarray:
    """Per loop (rows of ``[loops, len(FEATURES)]`` features), whether every feature lies within
    ``[lo - slack, hi + slack]`` (NaN bounds: the training loops had no value there, no check; a NaN
    feature: the listing has no such fact, no check); a negative ``slack`` checks nothing."""
    f = np.asarray(features, dtype=np.float64)
    if slack < 0:
        return np.ones(len(f), dtype=bool)
    low = np.where(np.isnan(lo), -np.inf, lo) - slack
    high = np.where(np.isnan(hi), np.inf, hi) + slack
    return np.all(np.isnan(f) | ((f >= low) & (f <= high)), axis=1)


def allowed_mask(loop: dict[str, Any], ids: Sequence[str]) -> np.ndarray:
    """Which of :data:`DECISIONS` :func:`irpipe.label.loops.decision_space` offers ``loop``."""
    space = {decision_key(d) for d in decision_space({**loop, "id": loop.get("id", loop.get("loop_id"))}, ids)}
    return np.array([d in space for d in DECISIONS])

def choose(pred_log: np.ndarray, allowed: np.ndarray, margin: float) -> int:
    """The policy: the index of the decision with the lowest predicted log ratio among ``allowed``,
    or -1 (keep -O3) unless its predicted ratio is below ``1 - margin``."""
    scores = np.where(allowed, pred_log, np.inf)
    best = int(np.argmin(scores))
    return best if scores[best] < math.log(1.0 - margin) else -1


#: the unroll count each of :data:`DECISIONS` asks for (1: none)
UNROLL_COUNTS: tuple[int, ...] = tuple(u if isinstance(u := json.loads(d).get("unroll"), int) else 1
                                       for d in DECISIONS)
#: the most IR instructions a loop nest may grow to through the policy's unroll counts; LLVM's own
#: cap on one pragma unroll is 16K, but counts multiply along a nest, and the code after it
#: (SLP, instcombine, codegen) slows down superlinearly on such bodies
UNROLL_BUDGET = 2048


def runnable(unroll_and_jam: bool = True, distribute: bool = True) -> np.ndarray:
    """Which of :data:`DECISIONS` a compile can carry out: unroll-and-jam and distribution only where
    it runs those passes (a clang -O3 build whose pipeline is built before the advice comes)."""
    def ok(decision: dict[str, Any]) -> bool:
        return (unroll_and_jam or "unroll_and_jam" not in decision) and \
            (distribute or decision.get("distribute") is not True)
    return np.array([ok(json.loads(d)) for d in DECISIONS])


def policy_advice(predict: Callable[[np.ndarray], np.ndarray], columns: np.ndarray, margin: float,
                  listing: Sequence[dict[str, Any]], *, can: np.ndarray | None = None,
                  support: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, dict[str, Any]]:
    """The decisions (advice v2 ``loops``) a model's ``predict`` (features -> log ratios) gives a plugin
    loop listing; loops whose best prediction is not below ``1 - margin``, and loops ``support``
    (features -> mask, :func:`supported`) rejects, keep -O3 and are left out.  ``can``
    (:func:`runnable`) leaves out decisions the compile cannot carry out."""
    if not listing:
        return {}
    ids = [lp["id"] for lp in listing]
    feats = np.stack([loop_features(lp, ids) for lp in listing])
    if np.isnan(feats[:, columns]).any():
        raise ModelError("the loop listing has no body facts, which this model reads: the pass plugin "
                         "is older than irpipe (make native)")
    allowed = np.stack([allowed_mask(lp, ids) for lp in listing])
    if can is not None:
        allowed &= can
    preds = predict(feats)
    if support is not None:
        preds = np.where(support(feats)[:, None], preds, 0.0)  # a predicted ratio of 1: keep -O3
    growth = NestGrowth(listing)
    chosen: dict[str, dict[str, Any]] = {}
    for i in sorted(range(len(listing)), key=lambda i: float(np.min(np.where(allowed[i], preds[i], np.inf)))):
        lid = ids[i]  # the loop with the best predicted gain decides first
        fits = np.array([growth.fits(lid, UNROLL_COUNTS[j]) for j in range(len(DECISIONS))])
        c = choose(preds[i], allowed[i] & fits, margin)
        if c >= 0:
            growth.unroll(lid, UNROLL_COUNTS[c])
            chosen[lid] = json.loads(DECISIONS[c])
    return {lid: chosen[lid] for lid in ids if lid in chosen}


class NestGrowth:
    """The instructions each loop nest of a listing grows to under the unroll counts chosen so far:
    a loop's size is ``count * inner``, ``inner`` its body plus what its subloops' counts added.
    Each query walks one path up the nest (O(depth)), whatever the listing's size."""

    def __init__(self, listing: Sequence[dict[str, Any]], budget: int = UNROLL_BUDGET):
        self.inner = {lp["id"]: int(lp.get("instructions") or 0) for lp in listing}
        self.count: dict[str, int] = {}
        self.budget = budget

    def _ancestors(self, lid: str) -> list[str]:
        """``lid``'s enclosing loops, innermost first (``f/L1.0.2`` -> ``f/L1.0``, ``f/L1``)."""
        fn, _, path = lid.rpartition("/L")
        parts = path.split(".")
        return [f"{fn}/L{'.'.join(parts[:n])}" for n in range(len(parts) - 1, 0, -1)]

    def size(self, lid: str) -> int:
        """``lid``'s instructions after unrolling (its subloops included)."""
        return self.count.get(lid, 1) * self.inner.get(lid, 0)

    def _growth(self, lid: str, k: int) -> list[tuple[str, int]]:
        """(ancestor, how much its ``inner`` grows) when ``lid`` takes count ``k``; the last entry
        is the top loop's own growth, keyed by ``""``."""
        delta = (k - self.count.get(lid, 1)) * self.inner.get(lid, 0)
        out = []
        for a in self._ancestors(lid):
            out.append((a, delta))
            delta *= self.count.get(a, 1)
        return [*out, ("", delta)]

    def fits(self, lid: str, k: int) -> bool:
        """Whether unrolling ``lid`` ``k`` times keeps its nest within the budget (always for k=1)."""
        if k <= 1:
            return True
        top = ([lid, *self._ancestors(lid)])[-1]
        return self.size(top) + self._growth(lid, k)[-1][1] <= self.budget

    def unroll(self, lid: str, k: int) -> None:
        """Record ``lid``'s chosen count."""
        if k <= 1 or lid not in self.inner:
            return
        for a, delta in self._growth(lid, k)[:-1]:
            if a in self.inner:
                self.inner[a] += delta
        self.count[lid] = k


class NumpyLoopPolicy:
    """A released loop-decisions checkpoint, run in numpy: standardize the model's feature columns,
    then a linear layer, or Linear -> tanh -> Linear (``hidden > 0``)."""

    def __init__(self, meta: dict[str, Any], weights: Weights):
        config = meta.get("config") or {}
        features = meta.get("features")
        if meta.get("decisions") != list(DECISIONS) or not isinstance(features, list) or \
                any(f not in FEATURES for f in features):
            raise ModelError(f"{weights.path}: trained on other loop features or decisions; retrain")
        self.directory = str(Path(weights.path).parent)
        self.margin = float(config.get("margin", 0.01))
        self.slack = float(config.get("support_slack", SUPPORT_SLACK))
        self.columns = np.array([FEATURES.index(f) for f in features])
        n, out = len(features), len(DECISIONS)
        self.mean, self.std = weights("mean", (n,)), weights("std", (n,))
        self.lo, self.hi = weights("support_lo", (len(FEATURES),)), weights("support_hi", (len(FEATURES),))
        hidden = int(config.get("hidden", 0))
        self.layers = ([(weights("net.weight", (out, n)), weights("net.bias", (out,)))] if hidden <= 0 else
                       [(weights("net.0.weight", (hidden, n)), weights("net.0.bias", (hidden,))),
                        (weights("net.2.weight", (out, hidden)), weights("net.2.bias", (out,)))])
        weights.done()

    @classmethod
    def load(cls, directory: str | Path) -> "NumpyLoopPolicy":
        """The checkpoint in ``directory``; :class:`ModelError` with one line when it is not one."""
        meta = read_meta(directory, problem=PROBLEM)
        return cls(meta, Weights(read_arrays(directory), Path(directory) / "model.safetensors"))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted log ratios ``[loops, len(DECISIONS)]`` of ``[loops, len(FEATURES)]`` features."""
        x = (np.asarray(features, dtype=np.float32)[:, self.columns] - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = np.tanh(x)
        return x

    def supported(self, features: np.ndarray) -> np.ndarray:
        """Per loop, whether it lies within the training range (:func:`supported`)."""
        return supported(features, self.lo, self.hi, self.slack)

    def advice(self, listing: Sequence[dict[str, Any]], *, unroll_and_jam: bool = True,
               distribute: bool = True) -> dict[str, dict[str, Any]]:
        """The per-loop decisions for a plugin loop listing (:func:`policy_advice`); without
        ``unroll_and_jam`` / ``distribute`` none of those (the compile does not run the pass)."""
        can = None if unroll_and_jam and distribute else runnable(unroll_and_jam, distribute)
        return policy_advice(self.predict, self.columns, self.margin, listing, can=can, support=self.supported)
