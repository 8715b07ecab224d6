"""The one training loop of every learning problem (:mod:`irpipe.problems`).

A problem hands the loop a :class:`Trainable`: what one epoch of training does, what
validation measures, how a checkpoint is written.  The loop does the rest, the same for
all problems: epochs from the start or from ``OUT/last`` (``--resume``), one JSON row per
epoch in ``OUT/metrics.jsonl``, the best epoch (lowest :meth:`Trainable.score`) saved to
``OUT``, the last one to ``OUT/last`` with the optimizer state when the problem can resume.
Only rank 0 validates and writes.

Gradient problems (phase order, MLIR cost) share :class:`TorchTrainable`: seeded global
batches, the same in every run with the same seed (a seeded shuffle per epoch, cut into
global batches of ``batch_size``; rank r of w takes items r, r+w, ... of each, so w DDP
ranks average the gradients of the same global batch that one process sees whole),
gradient clipping, the epoch's loss averaged over ranks, and safetensors checkpoints
(:mod:`irpipe.train.checkpoint`).  Evolution strategies (the inliner) implement
:class:`Trainable` directly: an epoch is one ES iteration.

    USAGE: history = run_epochs(trainable, epochs=30, out=Path("out/models/x"))
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from torch import Tensor

from irpipe.train import checkpoint

METRICS_FILE = "metrics.jsonl"


class Trainable(Protocol):
    """What a problem gives :func:`run_epochs`."""

    resumable: bool  # True: save OUT/last and the optimizer state every epoch (--resume)

    def epoch(self, epoch: int) -> dict[str, Any]:
        """Train one epoch (every rank); the row's training numbers (e.g. ``train_loss``)."""

    def validate(self) -> dict[str, Any]:
        """Rank 0, after an epoch: the row's validation numbers (e.g. ``val_loss``)."""

    def score(self, row: dict[str, Any]) -> float:
        """The number the best epoch minimizes."""

    def save(self, directory: Path, meta: dict[str, Any]) -> None:
        """Write a checkpoint (one schema: :mod:`irpipe.nn.checkpoint_files`) with ``meta`` added."""

    def save_state(self, directory: Path, info: dict[str, Any]) -> None:
        """Write what resuming needs besides the weights (the optimizer), plus ``info``."""

    def load_state(self, directory: Path) -> dict[str, Any]:
        """Restore weights and state from ``directory``; the ``info`` saved with them."""

    def log(self, row: dict[str, Any], epochs: int) -> None:
        """Say how the epoch went (rank 0)."""


@dataclass
class History:
    """The loop's state: the rows so far, the best score, the next epoch (0-based)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    best: float = math.inf
    start: int = 0


def seeded_batches(n: int, size: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices ``0..n-1`` in a seeded shuffle of ``epoch``, cut into batches of ``size``."""
    order = list(range(n))
    random.Random(seed * 1000003 + epoch).shuffle(order)
    return [order[i:i + size] for i in range(0, n, size)]


def resume(trainable: Trainable, out: Path) -> History | None:
    """The history saved in ``out/last``, with the trainable restored from it (weights,
    optimizer); None when there is no ``out/last`` to resume from."""
    last = Path(out) / "last"
    if not (last / "model.json").is_file():
        return None
    info = trainable.load_state(last)
    return History(info["history"], info["best_val_loss"], info["epoch"] + 1)


def run_epochs(trainable: Trainable, epochs: int, out: Path, *, history: History | None = None,
               rank: int = 0, validate_first: bool = False) -> History:
    """Train epochs ``history.start .. epochs - 1`` (all, without a history); rank 0 writes
    ``out``.  ``validate_first``: row 0 is the untrained model, a candidate for the best."""
    out = Path(out)
    state = history or History()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if history is None:  # a fresh run: no rows of an earlier one
            (out / METRICS_FILE).unlink(missing_ok=True)
        if validate_first and state.start == 0:
            _end_epoch(trainable, state, {"epoch": 0}, time.monotonic(), out, epochs)
    for epoch in range(state.start, epochs):
        t0 = time.monotonic()
        row = {"epoch": epoch + 1, **trainable.epoch(epoch)}
        if rank == 0:
            _end_epoch(trainable, state, row, t0, out, epochs)
    return state


def _end_epoch(trainable: Trainable, state: History, row: dict[str, Any], t0: float, out: Path,
               epochs: int) -> None:
    """Validate, record and log ``row``; save the best and the last checkpoint."""
    row["seconds"] = round(time.monotonic() - t0, 2)
    row.update(trainable.validate())
    state.rows.append(row)
    trainable.log(row, epochs)
    with (out / METRICS_FILE).open("a") as f:
        f.write(json.dumps(row) + "\n")
    meta = {"epoch": row["epoch"], "metrics": row}
    score = trainable.score(row)
    if score < state.best:
        state.best = score
        trainable.save(out, meta)
    if trainable.resumable:
        trainable.save(out / "last", meta)
        trainable.save_state(out / "last", {"epoch": row["epoch"] - 1, "history": state.rows,
                                            "best_val_loss": state.best})


class TorchTrainable:
    """The shared half of a gradient problem's :class:`Trainable`: the model, its optimizer,
    seeded (DDP-split) batches, clipping, checkpoints.  A subclass adds ``epoch`` (calling
    :meth:`train_epoch`), ``validate``, ``score`` and ``log``.

    Args:
        model: the torch module (on ``device``).
        optimizer: its optimizer.
        problem: the problem's name, written in every checkpoint.
        config: the resolved config (JSON-able), written in every checkpoint.
        meta: what else every checkpoint's JSON holds.
        seed: the batches' seed.
        batch_size: items per global batch.
        clip: gradient-norm clip (None: none).
        rank, world: this DDP rank and the number of ranks.
    """

    resumable = True

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, problem: str,
                 config: dict[str, Any], meta: dict[str, Any], seed: int, batch_size: int,
                 clip: float | None = None, rank: int = 0, world: int = 1, device: str = "cpu",
                 progress: bool = False) -> None:
        self.model, self.net, self.opt = model, model, optimizer
        self.problem, self.config, self.meta = problem, config, meta
        self.seed, self.batch_size, self.clip = seed, batch_size, clip
        self.rank, self.world, self.device, self.progress = rank, world, device, progress

    def wrap(self) -> None:
        """Wrap the model in DDP when there are several ranks (after :func:`resume`)."""
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=True)

    def train_epoch(self, epoch: int, size: int, loss_of: Callable[[torch.nn.Module, Sequence[int]], Tensor],
                    desc: str = "") -> float:
        """One pass over ``size`` items: per global batch, ``loss_of(net, this rank's indices)``,
        a step; the epoch's mean batch loss, averaged over ranks."""
        from tqdm import tqdm

        self.net.train()
        losses: list[float] = []
        for idx in tqdm(seeded_batches(size, self.batch_size, self.seed, epoch), desc=desc, leave=False,
                        disable=not self.progress or self.rank != 0, unit="batch"):
            loss = loss_of(self.net, idx[self.rank::self.world])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.opt.step()
            losses.append(float(loss.detach()))
        mean = torch.tensor(float(np.mean(losses)) if losses else 0.0)
        if self.world > 1:  # the loss of the whole global batch, as one process would log it
            torch.distributed.all_reduce(mean)
            mean /= self.world
        return float(mean)

    def save(self, directory: Path, meta: dict[str, Any]) -> None:
        """Weights + ``model.json`` (the one schema) with ``meta`` over the trainable's own."""
        checkpoint.save_model(directory, self.model, self.problem, self.config, {**self.meta, **meta})

    def save_state(self, directory: Path, info: dict[str, Any]) -> None:
        """The optimizer state (safetensors + JSON) and ``info``."""
        checkpoint.save_train_state(directory, self.opt, info)

    def load_state(self, directory: Path) -> dict[str, Any]:
        """Weights and optimizer from ``directory``; the saved ``info``."""
        checkpoint.load_weights(directory, self.model)
        return checkpoint.load_train_state(directory, self.opt)
