"""Train, evaluate, save and load the MLIR cost model (:class:`irpipe.nn.mlir_cost.MlirCostModel`).

Training data: :func:`irpipe.data.mlir_cost.load_examples` (split by source
program).  Targets are log CPU seconds and log instructions per call under each
configuration, standardized on train; the loss is the masked MSE over measured
pairs; the epoch with the best val loss is kept.  Reported on test, next to the
analytical baseline: MAPE, Kendall tau of the configurations within each module
(the ranking a compiler would use) and over all (module, config) pairs.

    USAGE: metrics = train(MlirCostConfig(dataset="ds", runs="runs"), Path("models/mlir-cost"))
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from scipy.stats import kendalltau

from irpipe.errors import ConfigError, ModelError
from irpipe.mlir import graph as mlir_graph
from irpipe.mlir import ir as mlir_ir
from irpipe.mlir.configs import CONFIGS
from irpipe.data.mlir_cost import TARGETS, AnalyticalBaseline, CostExample, load_examples
from irpipe.mlir.features import feature_names, features, shape_of
from irpipe.data.batching import with_all_edge_types
from irpipe.nn.mlir_cost import MlirCostModel
from irpipe.train import checkpoint
from irpipe.train.metrics import kendall_tau, mape


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


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> MlirCostConfig:
    """A config from TOML (flat keys) with ``key=value`` overrides; unknown keys are errors."""
    values: dict[str, Any] = {}
    if path:
        try:
            values.update(tomllib.loads(Path(path).read_text()))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a readable TOML config ({exc})") from None
        if not values and not overrides:  # an empty file alone must not train on every default
            raise ConfigError(f"{path}: empty config (no keys)")
    fields = {f.name: f for f in dataclasses.fields(MlirCostConfig)}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise ConfigError(f"--set {item!r}: want key=value with key in {sorted(fields)}")
        values[key] = type(getattr(MlirCostConfig(), key))(raw)
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(unknown)}; known: {sorted(fields)}")
    return MlirCostConfig(**values)


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


def train(cfg: MlirCostConfig, out: Path, *, log: Any = print) -> dict[str, Any]:
    """Train on ``cfg``'s data, keep the best val epoch, save to ``out``; return the metrics."""
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    examples = load_examples(cfg.dataset, cfg.runs, seed=cfg.split_seed)
    by_split = {s: [e for e in examples if e.split == s] for s in ("train", "val", "test")}
    if not by_split["train"] or not by_split["val"]:
        raise ModelError(f"need train and val programs; got {({k: len(v) for k, v in by_split.items()})}")
    graphs = {s: [sized(mlir_graph.build_graph(e.text, name=e.variant)) for e in v] for s, v in by_split.items()}
    enc = Encoding.fit(by_split["train"], graphs["train"])
    model = MlirCostModel(len(enc.vocab) + 1, len(CONFIGS), len(feature_names()), len(TARGETS),
                          hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    y_train, y_val = _targets(by_split["train"], enc), _targets(by_split["val"], enc)
    best, best_state, started = math.inf, None, time.monotonic()
    order = list(range(len(by_split["train"])))
    for epoch in range(cfg.epochs):
        model.train()
        random.shuffle(order)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            batch, x = enc.inputs([graphs["train"][j] for j in idx], [by_split["train"][j].features for j in idx])
            y = y_train[idx]
            mask = torch.isfinite(y)
            loss = ((model(batch, x) - torch.nan_to_num(y)) ** 2)[mask].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        pv = (_predict(model, enc, graphs["val"], [e.features for e in by_split["val"]]) - enc.target_mean) / enc.target_std
        yv = y_val.numpy()
        val = float(np.nanmean((pv - yv) ** 2))
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        if epoch % 10 == 0 or epoch == cfg.epochs - 1:
            log(f"epoch {epoch:3d}  train {total / len(order):.3f}  val {val:.3f}  best {best:.3f}  "
                f"{time.monotonic() - started:.0f}s")
    assert best_state is not None
    model.load_state_dict(best_state)
    baseline = AnalyticalBaseline().fit(by_split["train"])
    metrics: dict[str, Any] = {"counts": {s: {"modules": len(v), "programs": len({e.program for e in v})}
                                          for s, v in by_split.items()},
                               "best_val_loss": best, "train_seconds": round(time.monotonic() - started, 1)}
    for s in ("val", "test"):
        if by_split[s]:
            metrics[s] = score(_predict(model, enc, graphs[s], [e.features for e in by_split[s]]), by_split[s])
            base = np.stack([baseline.predict(by_split[s], t) for t in TARGETS], -1)
            metrics[f"{s}_analytical"] = score(base, by_split[s])
    checkpoint.save_model(out, model, {"kind": "mlir-cost", "config": dataclasses.asdict(cfg),
                                       "configs": [[k, list(v)] for k, v in CONFIGS.items()],
                                       "targets": list(TARGETS), "encoding": enc.to_json(), "metrics": metrics})
    return metrics


class MlirCostPredictor:
    """A trained MLIR cost model, loaded from safetensors + JSON."""

    def __init__(self, model: MlirCostModel, enc: Encoding, configs: list[str], split_seed: int = 0) -> None:
        self.model, self.enc, self.configs, self.split_seed = model, enc, configs, split_seed

    @classmethod
    def load(cls, directory: str | Path) -> "MlirCostPredictor":
        meta = checkpoint.read_meta(Path(directory))
        if meta.get("kind") != "mlir-cost":
            raise ModelError(f"{directory}: not an MLIR cost model (kind {meta.get('kind')!r})")
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
