"""Phase ordering: the cost model + pipeline policy, its loss, metrics and training (one process,
or one DDP rank of a Ray Train run, :mod:`irpipe.train.job`), on the one loop of
:mod:`irpipe.train.loop`.

Loss per batch (masked where a candidate was not measured)::

    cost   = MSE(pred, true) + RankNet(pred; pairs of candidates whose true metrics differ > 0.5%)
    policy = CE(softmax(scores), softmax(-(true - min_k true) / T))          # listwise
    loss   = cost_weight * cost + policy_weight * policy

The best epoch is chosen on the val loss; then the policy's share of the verifying
compiles is calibrated on val with the best weights (:func:`calibrate`).

    USAGE: fit(cfg, examples, encoders, pset, Path("out/models/tiny"))
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from irpipe.data.examples import OBJECTIVES, Encoders
from irpipe.label.actions import ACTIONS
from irpipe.label.vocab import REFERENCE, PipelineSet, save as save_pipelines
from irpipe.nn.model import IRPipeModel, actions_tensor
from irpipe.train import checkpoint, loop, metrics
from irpipe.train.config import Config
from irpipe.train.data import Example, collate, example_items

PROBLEM = "phase-order"
ACTION_INDEX = {a.name: i for i, a in enumerate(ACTIONS)}


def build_model(cfg: Config, encoders: Encoders, pset: PipelineSet) -> IRPipeModel:
    """A fresh model for ``cfg`` with the encoders' vocabulary and ``pset`` as candidates."""
    torch.manual_seed(cfg.seed)
    num_tokens = (len(encoders.node_vocab) + 1 if cfg.model.arch == "gnn"
                  else encoders.tokenizer.vocab_size)
    cands = actions_tensor([[ACTION_INDEX[a] for a in seq] for seq in pset.actions()])
    m = cfg.model
    return IRPipeModel(m.arch, num_tokens, len(ACTIONS), cands, hidden=m.hidden, layers=m.layers,
                       d_model=m.d_model, heads=m.heads, ff=m.ff, dropout=m.dropout,
                       global_features=m.global_features, chunk_len=cfg.data.chunk_len)


def loss_fn(out: dict[str, Tensor], target: Tensor, cfg: Config) -> tuple[Tensor, dict[str, float]]:
    """The masked training loss of one batch (see the module docstring)."""
    valid = torch.isfinite(target)                              # [B, K, O]
    t = torch.where(valid, target, torch.zeros_like(target))
    pred = out["cost"]
    n = valid.sum().clamp(min=1)
    level = (((pred - t) ** 2) * valid).sum() / n
    # pairwise (RankNet): for candidates i, j of a module whose measured metrics differ by more
    # than 0.5%, -log sigmoid((pred_j - pred_i) / s) where i is the better one: Kendall tau's surrogate
    dt = t.unsqueeze(2) - t.unsqueeze(1)                        # [B, K, K, O] t_i - t_j
    dp = pred.unsqueeze(2) - pred.unsqueeze(1)
    pairs = valid.unsqueeze(2) & valid.unsqueeze(1) & (dt < -0.005)
    rank = (torch.nn.functional.softplus(dp / 0.05) * pairs).sum() / pairs.sum().clamp(min=1)
    big = torch.finfo(t.dtype).max / 4
    best = torch.where(valid, t, torch.full_like(t, big)).min(dim=1, keepdim=True).values
    logits_t = (-(t - best) / cfg.train.policy_temperature).masked_fill(~valid, -1e9)
    p_true = torch.softmax(logits_t.transpose(1, 2), dim=-1)    # [B, O, K]
    scores = out["policy"].masked_fill(~valid.transpose(1, 2), -1e9)
    has = valid.any(dim=1)                                      # [B, O]
    ce = -(p_true * torch.log_softmax(scores, dim=-1)).sum(-1)
    policy = (ce * has).sum() / has.sum().clamp(min=1)
    loss = cfg.train.cost_weight * (level + rank) + cfg.train.policy_weight * policy
    return loss, {"cost": float((level + rank).detach()), "policy": float(policy.detach())}


@torch.no_grad()
def predict(model: IRPipeModel, items: Sequence[dict[str, Any]], batch_size: int = 32,
            device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(cost [N, K, O], policy scores [N, O, K]) for encoded items, in eval mode."""
    model.eval()
    costs, scores = [], []
    for i in range(0, len(items), batch_size):
        batch = _to(collate(items[i:i + batch_size]), device)
        out = model(batch)
        costs.append(out["cost"].cpu().numpy())
        scores.append(out["policy"].cpu().numpy())
    k, o = model.candidates.shape[0], len(OBJECTIVES)
    return (np.concatenate(costs) if costs else np.zeros((0, k, o)),
            np.concatenate(scores) if scores else np.zeros((0, o, k)))


def matrix_metrics(cost: np.ndarray, scores: np.ndarray, target: np.ndarray, reference: int,
                   verify: int = 10, picks: dict[str, int] | None = None) -> dict[str, float]:
    """Cost MAPE / Kendall tau / top-1 regret and policy gains, per objective.

    ``policy_top{verify}`` uses the model's calibrated ``picks`` per objective (see
    :func:`calibrate`); ``policy_only`` lets the model choose all ``verify - 1``;
    ``static`` is the vocabulary order with no model.
    """
    out: dict[str, float] = {}
    for o, (name, _) in enumerate(OBJECTIVES):
        true = [t[:, o] for t in target]
        pred = [c[:, o] for c in cost]
        pol = [s[o] for s in scores]
        p = (picks or {}).get(name, verify - 1)
        out.update({f"{name}_mape": metrics.mape(pred, true), f"{name}_tau": metrics.kendall_tau(pred, true),
                    f"{name}_regret": metrics.top1_regret(pred, true),
                    f"{name}_policy_top1": metrics.top_n_gain(pol, true, 2, reference),
                    f"{name}_policy_top{verify}": metrics.top_n_gain(pol, true, verify, reference, p),
                    f"{name}_policy_only_top{verify}": metrics.top_n_gain(pol, true, verify, reference),
                    f"{name}_cost_top{verify}": metrics.top_n_gain([-c for c in pred], true, verify, reference),
                    f"{name}_static_top{verify}": metrics.top_n_gain(pol, true, verify, reference, 0),
                    f"{name}_oracle": metrics.oracle_gain(true, reference)})
    return out


def calibrate(scores: np.ndarray, target: np.ndarray, reference: int, verify: int = 10
              ) -> dict[str, Any]:
    """How many of the ``verify - 1`` compiles the policy chooses (the rest follow the
    vocabulary order), per objective, picked on the validation split."""
    out: dict[str, Any] = {"verify": verify, "picks": {}, "val_gain_by_picks": {}}
    for o, (name, _) in enumerate(OBJECTIVES):
        picks, gains = metrics.best_picks([s[o] for s in scores], [t[:, o] for t in target],
                                          verify, reference)
        out["picks"][name] = picks
        out["val_gain_by_picks"][name] = [round(g, 5) for g in gains]
    return out


def _to(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}


class PhaseOrderTrainable(loop.TorchTrainable):
    """The phase-ordering model on the train split, validated on val (rank 0 writes ``out``)."""

    def __init__(self, cfg: Config, examples: list[Example], encoders: Encoders, pset: PipelineSet,
                 out: Path, *, rank: int = 0, world: int = 1, device: str = "cpu", progress: bool = True):
        self.cfg = cfg
        self.train_items = example_items(e for e in examples if e.split == "train")
        val = [e for e in examples if e.split == "val"]
        self.val_items = example_items(val)
        self.val_target = np.stack([e.target.numpy() for e in val]) if val else None
        self.reference = pset.index(REFERENCE[pset.objective])
        model = build_model(cfg, encoders, pset).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        meta = {"encoders": encoders.save(out) if rank == 0 else None,
                "actions": [a.name for a in ACTIONS], "objectives": [o for o, _ in OBJECTIVES],
                "reference": self.reference, "arch": cfg.model.arch,
                "parameters": sum(p.numel() for p in model.parameters())}
        super().__init__(model, opt, problem=PROBLEM, config=cfg.to_dict(), meta=meta, seed=cfg.seed,
                         batch_size=cfg.train.batch_size, clip=1.0, rank=rank, world=world,
                         device=device, progress=progress)

    def _loss(self, net: torch.nn.Module, idx: Sequence[int]) -> Tensor:
        batch = _to(collate([self.train_items[i] for i in idx]), self.device)
        return loss_fn(net(batch), batch["target"], self.cfg)[0]

    def epoch(self, epoch: int) -> dict[str, Any]:
        t0 = time.monotonic()
        loss = self.train_epoch(epoch, len(self.train_items), self._loss,
                                desc=f"epoch {epoch + 1}/{self.cfg.train.epochs}")
        seconds = max(time.monotonic() - t0, 1e-9)
        return {"train_loss": loss, "graphs_per_s": round(len(self.train_items) / seconds, 2)}

    def validate(self) -> dict[str, Any]:
        if not self.val_items:
            return {}
        cost, scores = predict(self.model, self.val_items, device=self.device)
        t = self.val_target
        losses = [loss_fn({"cost": torch.from_numpy(cost[i:i + 64]), "policy": torch.from_numpy(scores[i:i + 64])},
                          torch.from_numpy(t[i:i + 64]), self.cfg)[0].item() for i in range(0, len(t), 64)]
        return {"val_loss": float(np.mean(losses)),
                **{f"val_{k}": v for k, v in matrix_metrics(cost, scores, t, self.reference).items()}}

    def score(self, row: dict[str, Any]) -> float:
        return row.get("val_loss", row["train_loss"])

    def log(self, row: dict[str, Any], epochs: int) -> None:
        print(json.dumps(row), flush=True)

    def calibrate_checkpoint(self, out: Path) -> None:
        """The policy's share of the verifying compiles, chosen on val with the best weights,
        written into ``out``'s model.json."""
        checkpoint.load_weights(out, self.model)
        _, scores = predict(self.model, self.val_items, device=self.device)
        meta = checkpoint.read_meta(out)
        meta["policy"] = calibrate(scores, self.val_target, self.reference)
        checkpoint.write_meta(out, meta)


def fit(cfg: Config, examples: list[Example], encoders: Encoders, pset: PipelineSet, out: Path, *,
        rank: int = 0, world: int = 1, resume: bool = False, progress: bool = True,
        device: str = "cpu") -> dict[str, Any]:
    """Train on the train split, select the best epoch on val; rank 0 writes ``out``."""
    torch.set_num_threads(cfg.train.threads)
    out = Path(out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    trainable = PhaseOrderTrainable(cfg, examples, encoders, pset, out, rank=rank, world=world,
                                    device=device, progress=progress)
    history = loop.resume(trainable, out) if resume else None
    if history is not None and rank == 0:
        print(f"resuming {out} at epoch {history.start}", flush=True)
    trainable.wrap()
    if rank == 0:
        save_pipelines(pset, out / "pipelines.json")
    state = loop.run_epochs(trainable, cfg.train.epochs, out, history=history, rank=rank)
    if rank == 0 and trainable.val_items:
        trainable.calibrate_checkpoint(out)
    return {"history": state.rows, "best_val_loss": state.best}
