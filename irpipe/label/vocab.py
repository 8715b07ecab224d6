"""Pipeline vocabularies: the candidate pipelines a policy ranks, mined from labels.

Mining has two steps, both on the TRAIN split only:

1. :func:`candidate_pool`: every distinct pipeline that search found among the best
   of a training module (``best_pipeline`` and ``top_k`` of LABELS rows), ranked by
   how many modules found it and then by the improvement it gave, plus the O levels.
2. :func:`select`: the pool is measured on a sample of training modules
   (``irpipe measure``), and pipelines are added greedily, each time the one that most
   raises the geomean over modules of ``reference / best metric within the set``
   (a set-cover of gains, the way MLGO picks its policy's candidates).  Pipelines that
   found their gain on one module only rarely survive: the step rewards pipelines
   that are good on many modules at once.

A vocabulary file is versioned JSON (``format: irpipe.pipelines``); the same file
is the input of ``irpipe measure`` and is saved in every model checkpoint.

    USAGE: pool = candidate_pool(labels); save(pool, "pool.json")
           vocab = select(measurements, size=32); save(vocab, "vocab.json")
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from irpipe.runtime import jsonfile
from irpipe.errors import ConfigError
from irpipe.label.actions import O_LEVELS, baseline, parse
from irpipe.label.search import REFERENCE as SEARCH_REFERENCE

FORMAT = "irpipe.pipelines"
VERSION = 1
#: The reference pipeline of each objective (search's reference O level).
REFERENCE = {objective: baseline(level) for objective, level in SEARCH_REFERENCE.items()}


@dataclass
class PipelineSet:
    """An ordered list of pipeline texts (index = candidate id) and how it was made."""

    pipelines: list[str]
    objective: str = "instcount"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in self.pipelines:
            parse(p)  # every candidate is in the action space (raises IRError otherwise)
        if len(set(self.pipelines)) != len(self.pipelines):
            raise ConfigError("a pipeline set must not repeat a pipeline")

    def actions(self) -> list[list[str]]:
        """Action names of each pipeline (for the pipeline encoder)."""
        return [[a.name for a in parse(p)] for p in self.pipelines]

    def index(self, text: str) -> int:
        return self.pipelines.index(text)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "objective": self.objective,
                "info": self.info, "pipelines": [{"pipeline": p, "actions": a}
                                                 for p, a in zip(self.pipelines, self.actions())]}


def save(pset: PipelineSet, path: str | Path) -> Path:
    """Write ``pset`` as versioned JSON (atomically)."""
    return jsonfile.write(path, pset.to_json())


def load(path: str | Path) -> PipelineSet:
    """Read a pipeline set; :class:`ConfigError` for another format or version."""
    doc = jsonfile.read_versioned(path, FORMAT, VERSION, what="pipeline set")
    return PipelineSet([e["pipeline"] for e in doc["pipelines"]], doc.get("objective", "instcount"),
                       doc.get("info", {}))


def choose(scores: np.ndarray, n: int, reference: int, picks: int | None = None) -> list[int]:
    """The ``n`` candidates to compile: the reference, then the ``picks`` best-scored others
    (higher score = better; default ``n - 1``), then the rest in vocabulary order.

    The vocabulary order is the set-cover order of :func:`select`, so
    ``picks = 0`` is the no-model baseline and small ``picks`` add the model's choices to
    a set that already covers the common cases (top-k by score alone picks near-duplicates).
    """
    picks = n - 1 if picks is None else picks
    chosen = [reference]
    for k in np.argsort(-scores, kind="stable"):
        if len(chosen) >= min(n, 1 + picks):
            break
        if int(k) not in chosen:
            chosen.append(int(k))
    for k in range(len(scores)):
        if len(chosen) >= n:
            break
        if k not in chosen:
            chosen.append(k)
    return chosen


def candidate_pool(labels: pa.Table, *, size: int = 128) -> PipelineSet:
    """The ``size`` most common best pipelines of ``labels`` (already the train split), plus O levels."""
    found: dict[str, list[float]] = defaultdict(list)
    objectives = set(labels.column("objective").to_pylist()) if labels.num_rows else {"instcount"}
    if len(objectives) != 1:
        raise ConfigError(f"labels mix objectives {sorted(objectives)}; mine one at a time")
    objective = objectives.pop()
    ref_level = SEARCH_REFERENCE[objective]
    for row in labels.select(["best_pipeline", "top_k", "baselines"]).to_pylist():
        ref = (row["baselines"] or {}).get(ref_level)
        texts = {row["best_pipeline"]: None, **{k["pipeline"]: k["metric"] for k in row["top_k"] or []}}
        for text, metric in texts.items():
            gain = ref / metric if ref and metric else 1.0
            found[text].append(gain)
    levels = [baseline(o) for o in O_LEVELS]
    ranked = sorted((p for p in found if p not in levels),
                    key=lambda p: (-len(found[p]), -max(found[p]), p))
    pool = levels + ranked[:max(0, size - len(levels))]
    return PipelineSet(pool, objective, {"step": "pool", "labelled_modules": labels.num_rows,
                                         "distinct_found": len(found)})


def metric_matrix(measurements: pa.Table, pipelines: Sequence[str], objective: str
                  ) -> tuple[list[str], list[list[float]]]:
    """(module hashes, metric[module][pipeline]) with +inf where a pipeline failed or is missing."""
    column = "text_bytes" if objective == "size" else "instructions"
    index = {p: i for i, p in enumerate(pipelines)}
    rows: dict[str, list[float]] = {}
    for h, p, v in zip(measurements.column("structural_hash").to_pylist(),
                       measurements.column("pipeline").to_pylist(),
                       measurements.column(column).to_pylist()):
        if p in index:
            rows.setdefault(h, [math.inf] * len(pipelines))[index[p]] = math.inf if v is None else float(v)
    hashes = sorted(rows)
    return hashes, [rows[h] for h in hashes]


def select(measurements: pa.Table, pool: PipelineSet, *, size: int = 32) -> PipelineSet:
    """Greedy set-cover of gains over the measured ``pool`` (see the module docstring).

    The reference pipeline (-Oz, or -O3 for runtime) is always candidate 0.
    """
    ref = REFERENCE[pool.objective]
    if ref not in pool.pipelines:
        raise ConfigError(f"the pool must contain the reference pipeline {ref}")
    hashes, matrix = metric_matrix(measurements, pool.pipelines, pool.objective)
    r = pool.index(ref)
    usable = [m for m in matrix if m[r] not in (math.inf, 0.0)]
    if not usable:
        raise ConfigError("no module has a measured reference metric; measure the pool first")
    chosen = [r]
    best = [m[r] for m in usable]

    def total(values: list[float]) -> float:
        return sum(math.log(m[r] / max(v, 1e-9)) for m, v in zip(usable, values))

    gains = [0.0]
    while len(chosen) < min(size, len(pool.pipelines)):
        scored = []
        for j in range(len(pool.pipelines)):
            if j not in chosen:
                scored.append((total([min(b, m[j]) for b, m in zip(best, usable)]), -j, j))
        value, _, j = max(scored)
        chosen.append(j)
        best = [min(b, m[j]) for b, m in zip(best, usable)]
        gains.append(value)
    geomeans = [round(math.exp(g / len(usable)), 5) for g in gains]
    return PipelineSet([pool.pipelines[j] for j in chosen], pool.objective,
                       {"step": "select", "modules": len(usable), "pool": len(pool.pipelines),
                        "oracle_geomean_by_size": geomeans})
