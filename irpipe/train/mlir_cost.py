"""Train, evaluate, save and load the MLIR cost model (:class:`irpipe.nn.mlir_cost.MlirCostModel`).

Training data: :func:`irpipe.data.mlir_cost.load_examples` (split by source
program).  Targets are log CPU seconds and log instructions per call under each
configuration, standardized on train; the loss is the masked MSE over measured
pairs plus ``rank_weight`` times the MSE of the same values centred over each
module's measured configs (scaled by that spread on train): costs span decades
across modules, so a plain MSE learns the module's size and hardly its ranking.
It runs on the one training loop of every problem (:mod:`irpipe.train.loop`: seeded
batches, ``metrics.jsonl``, ``last/`` for resuming); the epoch with the best val loss
is kept.  Reported on test, next to the
analytical baseline: MAPE, Kendall tau of the configurations within each module
(the ranking a compiler would use) and over all (module, config) pairs.

    USAGE: metrics = train(MlirCostConfig(dataset="ds", runs="runs"), Path("models/mlir-cost"))
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from scipy.stats import kendalltau

from irpipe.errors import ModelError
from irpipe.mlir import graph as mlir_graph
from irpipe.mlir import ir as mlir_ir
from irpipe.mlir.configs import CONFIGS
from irpipe.data.mlir_cost import TARGETS, AnalyticalBaseline, CostExample, load_examples
from irpipe.mlir.features import feature_names, features, shape_of
from irpipe.data.batching import with_all_edge_types
from irpipe.nn.mlir_cost import MlirCostModel
from irpipe.train import checkpoint, loop
from irpipe.train.config import load_flat
from irpipe.train.loop import TorchTrainable
from irpipe.train.metrics import kendall_tau, mape

PROBLEM = "mlir-cost"


@dataclass(frozen=True)
class MlirCostConfig:
    """Everything that makes an MLIR cost model (saved resolved in the checkpoint)."""

    dataset: str = "datasets/mlir"       # MODULES shards holding source-level MLIR
    runs: str = "datasets/mlir/runs"     # irpipe measure-mlir output on them
    split_seed: int = 0
    hidden: int = 32
    layers: int = 3
    dropout: float = 0.2
    epochs: int = 60
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1                     # torch threads (2 shared cores: 1 is steadiest)
    rank_weight: float = 1.0             # weight of the within-module (centred) loss; 0: plain MSE


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> MlirCostConfig:
    """A config from TOML (flat keys) with ``key=value`` overrides; unknown keys are errors."""
    return load_flat(MlirCostConfig, path, overrides)


class Encoding:
    """How text becomes model input: node vocabulary, feature and target standardization."""

    def __init__(self, vocab: dict[str, int], feat_mean: np.ndarray, feat_std: np.ndarray,
                 target_mean: np.ndarray, target_std: np.ndarray) -> None:
        self.vocab, self.feat_mean, self.feat_std = vocab, feat_mean, feat_std
        self.target_mean, self.target_std = target_mean, target_std

    @classmethod
    def fit(cls, train: Sequence[CostExample], graphs: Sequence[mlir_graph.OpGraph]) -> "Encoding":
        counts = Counter(t for g in graphs for t in g.node_texts())
        vocab = {t: i + 1 for i, (t, _) in enumerate(counts.most_common())}
        feats = np.stack([_feature_vector(e.features) for e in train])
        y = np.stack([np.stack([e.targets[t] for t in TARGETS], -1) for e in train])   # [N, C, T]
        return cls(vocab, feats.mean(0), feats.std(0) + 1e-6,
                   np.nanmean(y, axis=(0, 1)), np.nanstd(y, axis=(0, 1)) + 1e-6)

    def to_json(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "feature_names": feature_names(),
                **{k: getattr(self, k).tolist() for k in ("feat_mean", "feat_std", "target_mean", "target_std")}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Encoding":
        if doc["feature_names"] != feature_names():
            raise ModelError("the checkpoint's MLIR feature list differs from this irpipe's; retrain")
        return cls(doc["vocab"], *(np.array(doc[k]) for k in ("feat_mean", "feat_std", "target_mean", "target_std")))

    def inputs(self, graphs: Sequence[mlir_graph.OpGraph], feats: Sequence[dict[str, float]]) -> tuple[Any, torch.Tensor]:
        from torch_geometric.data import Batch

        spec = {"node_types": mlir_graph.OpGraph.node_types, "flows": mlir_graph.OpGraph.flows}
        batch = Batch.from_data_list([with_all_edge_types(g.to_heterodata(self.vocab), **spec) for g in graphs])
        x = (np.stack([_feature_vector(f) for f in feats]) - self.feat_mean) / self.feat_std
        return batch, torch.tensor(x, dtype=torch.float32)


def sized(g: mlir_graph.OpGraph) -> mlir_graph.OpGraph:
    """``g`` with each shaped value's text carrying its size bucket (``tensor<?x?xf32>~2^12``): the
    op graph's shape-free types generalize across programs, the bucket tells the model how big."""
    texts: list[str] = []
    index: dict[str, int] = {}
    ids = np.empty(g.num_nodes, dtype=np.int32)
    for i, (text, full) in enumerate(zip(g.node_texts(), g.full_text or g.node_texts())):
        parsed = shape_of(full) if "<" in full else None
        if parsed is not None:
            numel = math.prod(d or 1 for d in parsed[0])
            text = f"{text}~2^{2 * (int(math.log2(max(numel, 1))) // 2)}"
        ids[i] = index.setdefault(text, len(index))
        if ids[i] == len(texts):
            texts.append(text)
    return dataclasses.replace(g, texts=texts, node_text=ids)


def _feature_vector(feats: dict[str, float]) -> np.ndarray:
    """The analytical features, log-scaled (counts span orders of magnitude)."""
    return np.array([v if k.startswith("log_") else math.log1p(max(v, 0.0))
                     for k, v in ((k, float(feats.get(k, 0.0))) for k in feature_names())])


def _targets(examples: Sequence[CostExample], enc: Encoding) -> torch.Tensor:
    y = np.stack([np.stack([e.targets[t] for t in TARGETS], -1) for e in examples])      # [N, C, T]
    return torch.tensor((y - enc.target_mean) / enc.target_std, dtype=torch.float32)


def _centred(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``v`` [N, C, T] minus its mean over each module's measured configs (``mask``)."""
    count = mask.sum(1, keepdim=True).clamp(min=1)
    return v - (v * mask).sum(1, keepdim=True) / count


def _predict(model: MlirCostModel, enc: Encoding, graphs: Sequence[mlir_graph.OpGraph],
             feats: Sequence[dict[str, float]], batch_size: int = 32) -> np.ndarray:
    """[N, C, T] predicted log costs (de-standardized) of graphs with their analytical features."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(graphs), batch_size):
            batch, x = enc.inputs(graphs[i:i + batch_size], feats[i:i + batch_size])
            outs.append(model(batch, x).numpy())
    return np.concatenate(outs) * enc.target_std + enc.target_mean


def score(pred: np.ndarray, examples: Sequence[CostExample]) -> dict[str, float]:
    """MAPE, within-module Kendall tau over configs, and tau over all pairs, per target."""
    out: dict[str, float] = {}
    for k, t in enumerate(TARGETS):
        p = [pred[i, :, k] for i in range(len(examples))]
        y = [e.targets[t] for e in examples]
        flat_p, flat_y = np.concatenate(p), np.concatenate(y)
        ok = np.isfinite(flat_y)
        out[f"{t}_mape"] = mape(p, y)
        out[f"{t}_tau_configs"] = kendall_tau(p, y)
        out[f"{t}_tau_all"] = float(kendalltau(flat_p[ok], flat_y[ok]).statistic) if ok.sum() > 1 else math.nan
    return out


@dataclass
class CostData:
    """The examples of each split, their op graphs, the encoding fitted on train."""

    by_split: dict[str, list[CostExample]]
    graphs: dict[str, list[mlir_graph.OpGraph]]
    enc: Encoding

    @classmethod
    def load(cls, cfg: MlirCostConfig) -> "CostData":
        """``cfg``'s examples split by program; :class:`ModelError` without train and val."""
        examples = load_examples(cfg.dataset, cfg.runs, seed=cfg.split_seed)
        by_split = {s: [e for e in examples if e.split == s] for s in ("train", "val", "test")}
        if not by_split["train"] or not by_split["val"]:
            raise ModelError(f"need train and val programs; got {({k: len(v) for k, v in by_split.items()})}")
        graphs = {s: [sized(mlir_graph.build_graph(e.text, name=e.variant)) for e in v] for s, v in by_split.items()}
        return cls(by_split, graphs, Encoding.fit(by_split["train"], graphs["train"]))

    def predict(self, model: MlirCostModel, split: str) -> np.ndarray:
        """[N, C, T] predicted log costs of ``split``."""
        return _predict(model, self.enc, self.graphs[split], [e.features for e in self.by_split[split]])


def build_model(cfg: MlirCostConfig, num_tokens: int) -> MlirCostModel:
    """A fresh MLIR cost model for ``cfg`` with a node vocabulary of ``num_tokens`` (seeded)."""
    torch.manual_seed(cfg.seed)
    return MlirCostModel(num_tokens, len(CONFIGS), len(feature_names()), len(TARGETS),
                         hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout)


class CostTrainable(TorchTrainable):
    """The MLIR cost model on the train programs (masked MSE), validated on val."""

    def __init__(self, cfg: MlirCostConfig, data: CostData, *, log: Any = print) -> None:
        self.cfg, self.data, self.say, self.best = cfg, data, log, math.inf
        self.y_train, self.y_val = _targets(data.by_split["train"], data.enc), _targets(data.by_split["val"], data.enc)
        mask = torch.isfinite(self.y_train)
        spread = _centred(torch.nan_to_num(self.y_train), mask)[mask].pow(2).mean()
        self.rank_scale = cfg.rank_weight / float(spread.clamp(min=1e-6))   # within-module MSE -> ~1
        model = build_model(cfg, len(data.enc.vocab) + 1)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        meta = {"configs": [[k, list(v)] for k, v in CONFIGS.items()], "targets": list(TARGETS),
                "encoding": data.enc.to_json()}
        super().__init__(model, opt, problem=PROBLEM, config=dataclasses.asdict(cfg), meta=meta,
                         seed=cfg.seed, batch_size=cfg.batch_size)
        self.started = time.monotonic()

    def _loss(self, net: torch.nn.Module, idx: Sequence[int]) -> torch.Tensor:
        train = self.data.by_split["train"]
        batch, x = self.data.enc.inputs([self.data.graphs["train"][j] for j in idx], [train[j].features for j in idx])
        return self._objective(net(batch, x), self.y_train[list(idx)])

    def _objective(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Masked MSE plus the scaled within-module MSE (:class:`MlirCostConfig` ``rank_weight``)."""
        mask = torch.isfinite(y)
        y = torch.nan_to_num(y)
        loss = ((pred - y) ** 2)[mask].mean()
        if self.rank_scale:
            loss = loss + self.rank_scale * ((_centred(pred, mask) - _centred(y, mask)) ** 2)[mask].mean()
        return loss

    def epoch(self, epoch: int) -> dict[str, Any]:
        return {"train_loss": self.train_epoch(epoch, len(self.data.by_split["train"]), self._loss)}

    def validate(self) -> dict[str, Any]:
        enc = self.data.enc
        pv = (self.data.predict(self.model, "val") - enc.target_mean) / enc.target_std
        return {"val_loss": float(self._objective(torch.tensor(pv, dtype=torch.float32), self.y_val))}

    def score(self, row: dict[str, Any]) -> float:
        return row["val_loss"]

    def log(self, row: dict[str, Any], epochs: int) -> None:
        self.best = min(self.best, row["val_loss"])
        if (row["epoch"] - 1) % 10 == 0 or row["epoch"] == epochs:
            self.say(f"epoch {row['epoch'] - 1:3d}  train {row['train_loss']:.3f}  val {row['val_loss']:.3f}  "
                     f"best {self.best:.3f}  {time.monotonic() - self.started:.0f}s")


def split_metrics(model: MlirCostModel, data: CostData) -> dict[str, Any]:
    """Counts per split, and the model's and the analytical baseline's scores on val and test."""
    baseline = AnalyticalBaseline().fit(data.by_split["train"])
    metrics: dict[str, Any] = {"counts": {s: {"modules": len(v), "programs": len({e.program for e in v})}
                                          for s, v in data.by_split.items()}}
    for s in ("val", "test"):
        if data.by_split[s]:
            metrics[s] = score(data.predict(model, s), data.by_split[s])
            base = np.stack([baseline.predict(data.by_split[s], t) for t in TARGETS], -1)
            metrics[f"{s}_analytical"] = score(base, data.by_split[s])
    return metrics


def train(cfg: MlirCostConfig, out: Path, *, log: Any = print, resume: bool = False) -> dict[str, Any]:
    """Train on ``cfg``'s data on the one loop (:mod:`irpipe.train.loop`), keep the best val
    epoch, save to ``out``; return the metrics."""
    torch.set_num_threads(cfg.threads)
    out = Path(out)
    data = CostData.load(cfg)
    trainable = CostTrainable(cfg, data, log=log)
    history = loop.resume(trainable, out) if resume else None
    state = loop.run_epochs(trainable, cfg.epochs, out, history=history)
    checkpoint.load_weights(out, trainable.model)
    metrics = {**split_metrics(trainable.model, data), "best_val_loss": state.best,
               "train_seconds": round(time.monotonic() - trainable.started, 1)}
    trainable.save(out, {"metrics": metrics, "epoch": min(state.rows, key=trainable.score)["epoch"]})
    return metrics


class MlirCostPredictor:
    """A trained MLIR cost model, loaded from safetensors + JSON."""

    def __init__(self, model: MlirCostModel, enc: Encoding, configs: list[str], split_seed: int = 0) -> None:
        self.model, self.enc, self.configs, self.split_seed = model, enc, configs, split_seed

    @classmethod
    def load(cls, directory: str | Path) -> "MlirCostPredictor":
        meta = checkpoint.read_meta(Path(directory), problem=PROBLEM)
        if [c for c, _ in meta["configs"]] != list(CONFIGS):
            raise ModelError(f"{directory}: trained for configs {[c for c, _ in meta['configs']]}, this irpipe has "
                             f"{list(CONFIGS)}; retrain")
        cfg, enc = meta["config"], Encoding.from_json(meta["encoding"])
        model = MlirCostModel(len(enc.vocab) + 1, len(CONFIGS), len(feature_names()), len(meta["targets"]),
                              hidden=cfg["hidden"], layers=cfg["layers"], dropout=cfg["dropout"])
        checkpoint.load_weights(Path(directory), model)
        return cls(model.eval(), enc, list(CONFIGS), int(cfg.get("split_seed", 0)))

    def predict(self, text: str | bytes | mlir_ir.Module, *, name: str = "<mlir>") -> dict[str, dict[str, float]]:
        """config -> {"seconds": ..., "instructions": ...} predicted for one source-level module."""
        module = text if isinstance(text, mlir_ir.Module) else mlir_ir.parse(text, name=name)
        g = sized(mlir_graph.build_graph(module, name=name))
        pred = _predict(self.model, self.enc, [g], [features(module)])[0]        # [C, T]
        return {c: {t: float(math.exp(pred[i, k])) for k, t in enumerate(TARGETS)}
                for i, c in enumerate(self.configs)}
