"""Per-loop decisions (issue J): a small model that predicts, from a loop's facts, the proxy-cycle
ratio to -O3 of each decision of the fixed space of :mod:`irpipe.label.loops`, and the policy
that takes the best predicted decision when it beats -O3 by more than a margin.

Data: LOOP_LABELS rows (benchmarks/loop_label_bench.py), one :class:`LoopExample` per loop.
Features are the loop's own facts, the same for every family: its shape (depth, blocks, trip count
(log, known or not), the strict-FP flags, subloops, loops in its function) and, with
``body_facts``, its body as the plugin lists it (instructions by kind, accesses by address
pattern, reductions, access widths).  Targets: log ratio per
decision (a decision outside the loop's space, or a build with a wrong output, has none).  The
split is by program family (``test_families``): no program or family is in both halves.
Training runs on the one loop (:mod:`irpipe.train.loop`) into the one checkpoint format.

With ``select`` the config is chosen among :data:`SELECT_GRID` by leave-one-family-out
cross-validation over the training families only (:func:`select`): the held-out families are
never trained on, scored or looked at while choosing.  The choice is saved in the checkpoint.

    USAGE: examples = load_loops("benchmarks/results/loops")
           train(load_config(None, ["test_families=reduction,nest,scan"]), Path("out/models/ld"))
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from irpipe.errors import ConfigError, ModelError, SchemaError
from irpipe.nn.checkpoint_files import read_meta
# the torch-free half, named here too (tests and the problem read them from this module)
from irpipe.nn.loop_policy import (BODY_FEATURES, DECISIONS, FEATURES, PROBLEM, SHAPE_FEATURES,  # noqa: F401
                                    SUPPORT_SLACK, allowed_mask, choose, feature_range, loop_features, policy_advice,
                                    supported)
from irpipe.train import checkpoint, loop
from irpipe.train.config import load_flat
from irpipe.train.loop import TorchTrainable

#: the configs ``select`` chooses among (overrides of the base config), in order; ties go to the first.
#: Each of the five model configs tried while the model was written, on the loop's shape alone and
#: with its body facts: the features are chosen by the same inner cross-validation.
SELECT_GRID: tuple[dict[str, Any], ...] = tuple(
    {**over, "body_facts": body} for body in (False, True) for over in (
        {"hidden": 16, "weight_decay": 1e-3, "margin": 0.01},
        {"hidden": 0, "weight_decay": 1e-3, "margin": 0.01},
        {"hidden": 0, "weight_decay": 1e-3, "margin": 0.03},
        {"hidden": 16, "weight_decay": 1e-3, "margin": 0.03},
        {"hidden": 4, "weight_decay": 0.1, "margin": 0.01},
    ))


@dataclass(frozen=True)
class LoopDecisionsConfig:
    """Everything that makes a loop-decisions model (saved resolved in the checkpoint)."""

    labels: str = "benchmarks/results/loops"   # LOOP_LABELS files: a file, a directory (and its subdirectories), a comma list
    test_families: str = ""       # comma list held out of training ("": train on every family)
    hidden: int = 4               # 0: a linear model
    epochs: int = 300
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 0.1
    margin: float = 0.01          # keep -O3 unless the predicted ratio is below 1 - margin
    support_slack: float = SUPPORT_SLACK  # keep -O3 for a loop with a feature this far beyond its training range (< 0: no guard)
    seed: int = 0
    threads: int = 1
    select: bool = False          # choose hidden/weight_decay/margin/body_facts in SELECT_GRID by CV on the training families
    body_facts: bool = True       # read the loop body's facts too (False: its shape only)

    def held_out(self) -> tuple[str, ...]:
        """The families of ``test_families``."""
        return tuple(f for f in (s.strip() for s in self.test_families.split(",")) if f)


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> LoopDecisionsConfig:
    """A config from TOML (flat keys) with ``key=value`` overrides; unknown keys are errors."""
    return load_flat(LoopDecisionsConfig, path, overrides)


@dataclass(frozen=True)
class LoopExample:
    """One loop of a labelled program: its features, and per decision its ratio (NaN: none)."""

    program: str
    family: str | None
    loop_id: str
    features: np.ndarray      # [len(FEATURES)]
    allowed: np.ndarray       # [len(DECISIONS)] bool: the decision is in the loop's space
    ratios: np.ndarray        # [len(DECISIONS)] proxy ratio with output checked; NaN: unknown


def used_features(config: LoopDecisionsConfig) -> tuple[str, ...]:
    """The features a model of ``config`` reads."""
    return FEATURES if config.body_facts else SHAPE_FEATURES


def load_loops(path: str | Path) -> list[LoopExample]:
    """The loops of LOOP_LABELS parquet files, in row order: ``path`` is a file, a directory (its
    ``*.parquet`` and ``*/*.parquet``: one subdirectory per corpus seed), or a comma list of those;
    each file is checked when opened."""
    from irpipe.runtime.shards import read_shard

    files: list[Path] = []
    for part in (p.strip() for p in str(path).split(",")):
        if part:
            d = Path(part)
            files += sorted([*d.glob("*.parquet"), *d.glob("*/*.parquet")]) if d.is_dir() else [d]
    try:
        rows = [r for f in files for r in read_shard(f, "loop_labels").to_pylist()]
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
    ids: dict[str, list[str]] = {}
    by_loop: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        ids.setdefault(r["program"], [])
        if r["loop_id"] not in ids[r["program"]]:
            ids[r["program"]].append(r["loop_id"])
        by_loop.setdefault((r["program"], r["loop_id"]), []).append(r)
    out = []
    for (program, lid), rs in by_loop.items():
        ratios = np.full(len(DECISIONS), np.nan)
        for r in rs:
            if r["output_ok"] and r["ratio"] is not None and r["decision"] in DECISIONS:
                ratios[DECISIONS.index(r["decision"])] = r["ratio"]
        out.append(LoopExample(program, rs[0]["family"], lid, loop_features(rs[0], ids[program]),
                               allowed_mask(rs[0], ids[program]), ratios))
    if not out:
        raise ConfigError(f"{path}: no LOOP_LABELS rows")
    return out


def split(examples: Sequence[LoopExample], held_out: Sequence[str]) -> tuple[list[LoopExample], list[LoopExample]]:
    """(train, test): the loops of families not in ``held_out``, and those in it."""
    return ([e for e in examples if e.family not in held_out], [e for e in examples if e.family in held_out])


class LoopDecisionNet(nn.Module):
    """Standardized loop features -> predicted log ratio of each decision (an MLP, or linear)."""

    def __init__(self, features: Sequence[str] = FEATURES, n_out: int = len(DECISIONS), hidden: int = 16) -> None:
        super().__init__()
        n_features = len(features)
        self.register_buffer("columns", torch.tensor([FEATURES.index(f) for f in features]), persistent=False)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        # every feature's range over the training loops (NaN: none had it), for the support guard
        self.register_buffer("support_lo", torch.full((len(FEATURES),), float("nan")))
        self.register_buffer("support_hi", torch.full((len(FEATURES),), float("nan")))
        self.net = (nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, n_out))
                    if hidden > 0 else nn.Linear(n_features, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[loops, len(FEATURES)]``; the model reads its own features' columns."""
        return self.net((x[:, self.columns] - self.mean) / self.std)


def build_model(config: LoopDecisionsConfig, train_examples: Sequence[LoopExample]) -> LoopDecisionNet:
    """A fresh model, its standardization fitted on ``train_examples``."""
    torch.manual_seed(config.seed)
    model = LoopDecisionNet(used_features(config), hidden=config.hidden)
    x = torch.tensor(np.stack([e.features for e in train_examples]))[:, model.columns]
    if torch.isnan(x).any():
        raise ConfigError(f"{config.labels}: loops without body facts (labels of schema v2); add them with "
                          "benchmarks/loop_label_bench.py --refresh-facts FILE, or set body_facts=false")
    model.mean.copy_(x.mean(0))
    model.std.copy_(x.std(0).clamp_min(1e-3) if len(train_examples) > 1 else torch.ones(x.shape[1]))
    lo, hi = feature_range(np.stack([e.features for e in train_examples]))
    model.support_lo.copy_(torch.tensor(lo))
    model.support_hi.copy_(torch.tensor(hi))
    return model


def tensors(examples: Sequence[LoopExample]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features, log-ratio targets with NaN as 0, mask of known targets)."""
    y = np.stack([e.ratios for e in examples])
    mask = ~np.isnan(y)
    return (torch.tensor(np.stack([e.features for e in examples])),
            torch.tensor(np.where(mask, np.log(np.where(mask, y, 1.0)), 0.0), dtype=torch.float32),
            torch.tensor(mask))


def masked_mse(pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the known targets."""
    return ((pred - y) ** 2 * mask).sum() / mask.sum().clamp_min(1)


class _Trainable(TorchTrainable):
    """The loop's view of a loop-decisions model: full-data MSE epochs; the held-out loss is logged,
    never used to pick the kept epoch (the kept one has the lowest training loss)."""

    resumable = False

    def __init__(self, config: LoopDecisionsConfig, train_ex: Sequence[LoopExample],
                 test_ex: Sequence[LoopExample], progress: bool, extra: dict[str, Any] | None = None) -> None:
        model = build_model(config, train_ex)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        meta = {"features": list(used_features(config)), "decisions": list(DECISIONS),
                "train_families": sorted({str(e.family) for e in train_ex}),
                "test_families": sorted({str(e.family) for e in test_ex}), "train_loops": len(train_ex),
                **(extra or {})}
        super().__init__(model, opt, problem=PROBLEM, config=asdict(config), meta=meta, seed=config.seed,
                         batch_size=config.batch_size, clip=1.0, progress=False)
        self.train_t, self.test_t, self.show = tensors(train_ex), tensors(test_ex) if test_ex else None, progress

    def epoch(self, epoch: int) -> dict[str, Any]:
        x, y, m = self.train_t
        return {"train_loss": self.train_epoch(epoch, len(x), lambda net, i: masked_mse(net(x[i]), y[i], m[i]))}

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        self.model.eval()
        row = {"fit_loss": float(masked_mse(self.model(self.train_t[0]), *self.train_t[1:]))}
        if self.test_t is not None:
            row["heldout_loss"] = float(masked_mse(self.model(self.test_t[0]), *self.test_t[1:]))
        return row

    def score(self, row: dict[str, Any]) -> float:
        return row["fit_loss"]

    def log(self, row: dict[str, Any], epochs: int) -> None:
        if self.show and (row["epoch"] % 50 == 0 or row["epoch"] == epochs):
            print(json.dumps(row), flush=True)


def fit(config: LoopDecisionsConfig, train_ex: Sequence[LoopExample], test_ex: Sequence[LoopExample],
        out: Path, progress: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``config`` on ``train_ex`` into ``out`` (``test_ex`` only logged); the kept epoch's row."""
    trainable = _Trainable(config, train_ex, test_ex, progress, extra)
    history = loop.run_epochs(trainable, config.epochs, Path(out))
    return min(history.rows, key=trainable.score)


def policy_ratio(policy: "LoopPolicy", examples: Sequence[LoopExample]) -> float:
    """Geomean over the programs of ``examples`` of the policy's ratio, estimated from the labels
    (the product of per-loop label ratios; keep -O3 or an unknown ratio: 1.0)."""
    choices = policy.choices(np.stack([e.features for e in examples]), np.stack([e.allowed for e in examples]))
    logs: dict[str, float] = {}
    for e, c in zip(examples, choices):
        known = c >= 0 and not math.isnan(e.ratios[c])
        logs[e.program] = logs.get(e.program, 0.0) + (math.log(e.ratios[c]) if known else 0.0)
    return math.exp(sum(logs.values()) / len(logs))


def select(config: LoopDecisionsConfig, train_ex: Sequence[LoopExample]) -> tuple[LoopDecisionsConfig, dict]:
    """The config of :data:`SELECT_GRID` (over ``config``; with body facts only where every
    training loop has them) with the lowest leave-one-family-out
    estimate on ``train_ex`` alone: per left-out family the geomean policy ratio of a model trained
    on the other families, then the geomean over families.  (chosen config, the CV record)."""
    families = sorted({str(e.family) for e in train_ex})
    if len(families) < 2:
        raise ConfigError(f"select: leave-one-family-out needs 2 training families, not {families}")
    has_body = not any(np.isnan(e.features).any() for e in train_ex)  # labels of schema v2 have no body facts
    grid = [g for g in SELECT_GRID if has_body or not g["body_facts"]]
    logs = [0.0] * len(grid)
    with tempfile.TemporaryDirectory(prefix="irpipe-loopsel-") as tmp:
        for fam in families:
            inner_train, inner_test = split(train_ex, (fam,))
            models: dict[LoopDecisionsConfig, LoopDecisionNet] = {}
            for i, over in enumerate(grid):
                cfg = replace(config, **over, test_families=fam, select=False)
                key = replace(cfg, margin=0.0)          # the margin does not change the training
                if key not in models:
                    out = Path(tmp) / f"{fam}-{len(models)}"
                    fit(cfg, inner_train, inner_test, out)
                    models[key] = LoopPolicy.load(out).model
                logs[i] += math.log(policy_ratio(LoopPolicy.of(models[key], cfg), inner_test))
    cv = [math.exp(x / len(families)) for x in logs]
    best = min(range(len(cv)), key=cv.__getitem__)
    record = {"families": families, "grid": [{**o, "cv": round(c, 6)} for o, c in zip(grid, cv)],
              "chosen": best}
    return replace(config, **grid[best]), record


def train(config: LoopDecisionsConfig, out: Path, progress: bool = False) -> dict[str, Any]:
    """Train on the loops of the families not held out (with ``select``: the config chosen first by
    :func:`select` on those families alone); the kept model's losses and the selection."""
    torch.set_num_threads(max(1, config.threads))
    train_ex, test_ex = split(load_loops(config.labels), config.held_out())
    if not train_ex:
        raise ConfigError(f"no training loops: every family of {config.labels} is held out")
    record = None
    if config.select:
        config, record = select(config, train_ex)
    best = fit(config, train_ex, test_ex, Path(out), progress, {"selection": record} if record else None)
    return {"epoch": best["epoch"], "train_loops": len(train_ex), "test_loops": len(test_ex),
            **{k: round(v, 6) for k, v in best.items() if k.endswith("_loss")},
            **({"selected": {k: v for k, v in record["grid"][record["chosen"]].items() if k != "cv"},
                "cv": record["grid"]} if record else {})}


class LoopPolicy:
    """A trained model for inference: predicted ratios and the policy's choices."""

    def __init__(self, model: LoopDecisionNet, config: LoopDecisionsConfig, meta: dict[str, Any]) -> None:
        self.model, self.config, self.meta = model.eval(), config, meta

    @classmethod
    def load(cls, directory: str | Path) -> "LoopPolicy":
        """The checkpoint in ``directory`` (a loop-decisions model of this irpipe's features)."""
        meta = read_meta(directory, problem=PROBLEM)
        try:
            config = LoopDecisionsConfig(**meta["config"])
        except TypeError:
            raise ModelError(f"{directory}: a loop-decisions model of another irpipe (config keys differ); "
                             "retrain") from None
        if meta.get("features") != list(used_features(config)) or meta.get("decisions") != list(DECISIONS):
            raise ModelError(f"{directory}: trained on other loop features or decisions; retrain")
        model = LoopDecisionNet(used_features(config), hidden=config.hidden)
        checkpoint.load_weights(Path(directory), model)
        return cls(model, config, meta)

    @classmethod
    def of(cls, model: LoopDecisionNet, config: LoopDecisionsConfig) -> "LoopPolicy":
        """A policy of an in-memory model."""
        return cls(model, config, {"config": asdict(config)})

    @torch.no_grad()
    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted log ratios ``[loops, len(DECISIONS)]`` of a ``[loops, len(FEATURES)]`` matrix
        (:func:`loop_features`)."""
        return self.model(torch.tensor(np.asarray(features, dtype=np.float32))).numpy()

    def supported(self, features: np.ndarray) -> np.ndarray:
        """Per loop, whether it lies within the training range (:func:`supported`)."""
        return supported(features, self.model.support_lo.numpy(), self.model.support_hi.numpy(),
                         self.config.support_slack)

    def choices(self, features: np.ndarray, allowed: np.ndarray) -> list[int]:
        """Per loop, the chosen decision's index or -1 (keep -O3: no gain, or outside the training range)."""
        pred = self.predict(features)
        ok = self.supported(features)
        return [choose(p, a, self.config.margin) if s else -1 for p, a, s in zip(pred, allowed, ok)]

    def advice(self, listing: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The per-loop decisions (advice v2 ``loops``) for a plugin loop listing; -O3's loops left out."""
        return policy_advice(self.predict, self.model.columns.numpy(), self.config.margin, listing,
                             support=self.supported)
