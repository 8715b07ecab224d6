"""Training configuration: frozen dataclasses read from TOML, with ``--set key=value`` overrides.

A model folder (``models/<name>/config.toml``) holds one config; the resolved
config (overrides applied) is saved in every checkpoint, so a checkpoint says
exactly how it was made.

    USAGE: cfg = load_config("models/tiny/config.toml", ["train.epochs=2"])
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TypeVar

from irpipe.errors import ConfigError
from irpipe.nn.config import ModelConfig

T = TypeVar("T")


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from and how a module becomes model input."""

    dataset: str = "datasets/default/sample"          # MODULES shards
    measurements: str = "datasets/default/measurements"  # MEASUREMENTS of `pipelines` on it
    pipelines: str = "models/default/pipelines.json"  # the candidate pipelines (irpipe vocab)
    split_seed: int = 0
    max_modules: int | None = None   # keep at most this many modules (stable choice; tiny runs)
    max_nodes: int = 40000           # graphs beyond this keep their first nodes (by function)
    node_vocab: int = 2000           # most frequent node texts of the train split; the rest -> 0
    tokenizer_vocab: int = 4000      # BPE vocabulary trained on the train split
    max_functions: int = 16          # transformer: functions (chunks) per module
    chunk_len: int = 128             # transformer: tokens per function


@dataclass(frozen=True)
class TrainConfig:
    """The optimization loop."""

    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    cost_weight: float = 1.0          # loss = cost_weight * cost MSE + policy_weight * policy CE
    policy_weight: float = 1.0
    policy_temperature: float = 0.02  # target distribution softmax(-log-ratio / T) over candidates
    workers: int = 1                  # >1: Ray Train TorchTrainer with DDP on this many workers
    threads: int = 1                  # torch threads per worker (2 shared cores: keep 1)
    use_gpu: bool | None = None       # None: use CUDA when present


@dataclass(frozen=True)
class Config:
    """A whole training run."""

    name: str = "model"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _value(text: str) -> Any:
    """A TOML value (``3``, ``2e-3``, ``true``, ``"gnn"``); a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def from_dict(doc: dict[str, Any], overrides: Sequence[str] = ()) -> Config:
    """A :class:`Config` from a TOML-shaped dict and ``section.key=value`` overrides."""
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value")
        *section, name = key.strip().split(".")
        target = doc
        for s in section:
            target = target.setdefault(s, {})
        target[name] = _value(text.strip())
    try:
        parts = {}
        for section, cls in _SECTIONS.items():
            values = doc.pop(section, {})
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = set(values) - known
            if unknown:
                raise ConfigError(f"unknown key(s) {sorted(unknown)} in [{section}]; "
                                  f"known: {', '.join(sorted(known))}")
            parts[section] = cls(**values)
        unknown = set(doc) - {"name", "seed"}
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {sorted(unknown)}; known: name, seed, "
                              + ", ".join(f"[{s}]" for s in _SECTIONS))
        return Config(**doc, **parts)
    except TypeError as exc:
        raise ConfigError(f"bad config: {exc}") from None


def _cast(item: str, raw: str, kind: type) -> Any:
    """An override's text as the default's type (``true``/``false`` for a bool, TOML's words)."""
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise ConfigError(f"--set {item!r}: want true or false")
        return raw.lower() == "true"
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"--set {item!r}: {exc}") from None


def load_flat(cls: type[T], path: str | Path | None, overrides: Sequence[str] = ()) -> T:
    """A flat frozen dataclass ``cls`` (the MLIR cost and inliner configs) from TOML with
    top-level keys only, and ``key=value`` overrides (cast to the default's type); unknown
    keys are errors."""
    values: dict[str, Any] = {}
    if path:
        try:
            values.update(tomllib.loads(Path(path).read_text()))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a readable TOML config ({exc})") from None
        if not values and not overrides:  # an empty file alone must not train on every default
            raise ConfigError(f"{path}: empty config (no keys)")
    fields = {f.name for f in dataclasses.fields(cls)}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise ConfigError(f"--set {item!r}: want key=value with key in {sorted(fields)}")
        values[key] = _cast(item, raw, type(getattr(cls(), key)))
    unknown = set(values) - fields
    if unknown:
        raise ConfigError(f"unknown config key(s) {sorted(unknown)}; known: {sorted(fields)}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"bad config: {exc}") from None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Read ``path`` (TOML) and apply ``overrides``; :class:`ConfigError` on any problem."""
    try:
        doc = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if not doc and not overrides:  # an empty file alone must not train on every default
        raise ConfigError(f"{path}: empty config (no keys); see models/tiny/config.toml")
    return from_dict(doc, overrides)
