"""Autotuning search over pass sequences: random, greedy and evolutionary.

Every search is seeded and reproducible, has a budget in evaluations and in
seconds (whichever ends first), always evaluates the O-level baselines first,
and returns a result never worse than the best baseline of its objective
(``-Oz`` for instcount and size, ``-O3`` for runtime): if nothing beats it,
the baseline is the answer.  A failed evaluation (bad pipeline, LLVM crash or
hang) counts against the budget and is recorded, never fatal.

* random: sequences of 1..max_length uniform actions (CompilerGym's random search).
* greedy: CompilerGym-style: from the empty sequence, try appending every action,
  keep the best, stop when nothing improves.
* evolutionary: a steady-state genetic algorithm seeded with the baselines,
  tournament selection, one-point crossover, and insert/delete/replace/append
  mutations; sequences may start with an O level (``default<Oz>,…``), so it
  refines the best baseline.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from irpipe.errors import ConfigError, EvaluationError
from irpipe.label.actions import ACTIONS, O_LEVELS, Action, baseline, pipeline

METHODS = ("random", "greedy", "evolutionary")
#: The baseline a result must never be worse than, per objective.
REFERENCE = {"instcount": "Oz", "size": "Oz", "runtime": "O3"}


@dataclass
class SearchResult:
    """What a search found (``metric`` is minimized)."""

    objective: str
    method: str
    seed: int
    best_pipeline: str
    best_actions: list[str]
    best_metric: float
    baselines: dict[str, float]
    top_k: list[tuple[str, float]]
    evaluations: int
    failed_evaluations: int
    seconds: float
    failures: list[str] = field(default_factory=list)

    @property
    def improvement(self) -> float:
        """Reference baseline metric / best metric (> 1: better than -Oz/-O3)."""
        ref = self.baselines[REFERENCE[self.objective]]
        if self.best_metric == 0:
            return 1.0 if ref == 0 else float("inf")
        return ref / self.best_metric


class Budget:
    """Evaluations and seconds left; ``spend()`` is False once either runs out."""

    def __init__(self, evaluations: int, seconds: float | None):
        self.left = evaluations
        self.deadline = time.monotonic() + seconds if seconds else None

    def exhausted(self) -> bool:
        return self.left <= 0 or (self.deadline is not None and time.monotonic() > self.deadline)

    def spend(self) -> bool:
        if self.exhausted():
            return False
        self.left -= 1
        return True


class _Scorer:
    """Memoized metric of action sequences; failures score +inf and are recorded."""

    def __init__(self, measure: Callable[[str], float], budget: Budget):
        self.measure, self.budget = measure, budget
        self.seen: dict[str, float] = {}
        self.actions: dict[str, list[str]] = {}
        self.failures: list[str] = []
        self.evaluations = 0
        self.repeats = 0  # cache hits in a row: a search that only revisits has converged

    def __call__(self, actions: Sequence[Action], *, free: bool = False) -> float | None:
        """The metric of ``actions`` (cached); None once the budget is spent (unless ``free``)."""
        text = pipeline(actions)
        if text in self.seen:
            self.repeats += 1
            if not free and (self.repeats > 2000 or self.budget.exhausted()):
                return None
            return self.seen[text]
        self.repeats = 0
        if not free and not self.budget.spend():
            return None
        self.evaluations += 1
        self.actions[text] = [a.name for a in actions]
        try:
            value = self.measure(text)
        except EvaluationError as exc:
            message = str(exc)
            self.failures.append(message if len(message) < 400 else message[:150] + " … " + message[-240:])
            value = float("inf")
        self.seen[text] = value
        return value


def _random_sequence(rng: random.Random, max_length: int) -> list[Action]:
    return [rng.choice(ACTIONS) for _ in range(rng.randint(1, max_length))]


def _random(score: _Scorer, rng: random.Random, max_length: int) -> None:
    while score(_random_sequence(rng, max_length)) is not None:
        pass


def _greedy(score: _Scorer, rng: random.Random, max_length: int) -> None:
    current: list[Action] = []
    best = float("inf")
    candidates = [a for a in ACTIONS if a.level != "olevel"]
    while len(current) < max_length:
        step_best, step_action = best, None
        for action in candidates:
            value = score(current + [action])
            if value is None:
                return
            if value < step_best:
                step_best, step_action = value, action
        if step_action is None:
            return
        current.append(step_action)
        best = step_best


def _mutate(seq: list[Action], rng: random.Random, max_length: int) -> list[Action]:
    seq = list(seq)
    op = rng.random()
    passes = [a for a in ACTIONS if a.level != "olevel"]
    if op < 0.35 or not seq:
        seq.insert(rng.randint(0, len(seq)), rng.choice(passes))
    elif op < 0.55:
        del seq[rng.randrange(len(seq))]
    elif op < 0.8:
        seq[rng.randrange(len(seq))] = rng.choice(passes)
    else:
        seq.append(rng.choice(passes))
    return seq[:max_length]


def _evolutionary(score: _Scorer, rng: random.Random, max_length: int,
                  population: int = 24) -> None:
    pool: list[tuple[float, list[Action]]] = []
    seeds = [[Action(baseline(o), "olevel")] for o in ("Oz", "Os", "O2", "O3")]
    seeds += [_random_sequence(rng, max_length) for _ in range(population - len(seeds))]
    for seq in seeds:
        value = score(seq)
        if value is None:
            return
        pool.append((value, seq))

    def pick() -> list[Action]:
        a, b = rng.sample(pool, 2)
        return (a if a[0] <= b[0] else b)[1]

    while True:
        parent = pick()
        if rng.random() < 0.3:
            other = pick()
            cut_a, cut_b = rng.randint(0, len(parent)), rng.randint(0, len(other))
            child = (parent[:cut_a] + other[cut_b:])[:max_length] or parent
        else:
            child = _mutate(parent, rng, max_length)
        value = score(child)
        if value is None:
            return
        worst = max(range(len(pool)), key=lambda i: pool[i][0])
        if value < pool[worst][0]:
            pool[worst] = (value, child)


def search(measure: Callable[[str], float], *, objective: str, method: str = "evolutionary",
           budget: int = 200, seconds: float | None = None, seed: int = 0, max_length: int = 12,
           top_k: int = 5, baselines: Sequence[str] = O_LEVELS) -> SearchResult:
    """Minimize ``measure(pipeline_text)`` over action sequences.

    Args:
        measure: the objective's metric of a pipeline (raise EvaluationError on failure).
        objective: "instcount", "size" or "runtime" (picks the reference baseline).
        method: one of METHODS.
        budget: evaluations, the six O-level baselines included.
        seconds: wall-clock budget (None: unbounded).
        seed: the random seed; equal seeds give equal results.
        max_length: longest sequence of actions tried.
        top_k: how many of the best distinct pipelines to report.
        baselines: the O levels measured first (the objective's reference is always one).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown search method {method!r}; choose from {', '.join(METHODS)}")
    started = time.monotonic()
    ref = REFERENCE[objective]
    levels = [o for o in O_LEVELS if o in baselines or o == ref]
    score = _Scorer(measure, Budget(budget - len(levels), seconds))
    # the baselines always run (they count as evaluations of the budget)
    baselines = {o: score([Action(baseline(o), "olevel")], free=True) for o in levels}
    if baselines[ref] == float("inf"):
        raise EvaluationError(f"the reference baseline -{ref} failed: {score.failures[-1:]}")
    rng = random.Random(seed)
    {"random": _random, "greedy": _greedy, "evolutionary": _evolutionary}[method](
        score, rng, max_length)
    ranked = sorted(((v, p) for p, v in score.seen.items() if v != float("inf")),
                    key=lambda t: (t[0], len(t[1]), t[1]))
    best_value, best_text = ranked[0] if ranked else (baselines[ref], baseline(ref))
    if best_value > baselines[ref]:  # never worse than the reference baseline
        best_value, best_text = baselines[ref], baseline(ref)
    return SearchResult(
        objective=objective, method=method, seed=seed, best_pipeline=best_text,
        best_actions=score.actions[best_text], best_metric=best_value, baselines=baselines,
        top_k=[(p, v) for v, p in ranked[:top_k]], evaluations=score.evaluations,
        failed_evaluations=len(score.failures), seconds=time.monotonic() - started,
        failures=score.failures[:10])
