"""The model's shape: which encoder and how wide (one ``[model]`` table of a model config)."""

from __future__ import annotations

from dataclasses import dataclass

from irpipe.errors import ConfigError

ARCHS = ("gnn", "transformer")


@dataclass(frozen=True)
class ModelConfig:
    """The encoder and the two heads (see irpipe.nn)."""

    arch: str = "gnn"        # "gnn" (program graph) or "transformer" (IR tokens)
    hidden: int = 64         # width of module, pipeline and head vectors
    layers: int = 3          # message-passing layers (gnn) / encoder layers (transformer)
    d_model: int = 128       # transformer width
    heads: int = 4           # transformer attention heads
    ff: int = 256            # transformer feed-forward width
    dropout: float = 0.1
    global_features: bool = True   # add the module's Autophase vector (log-scaled) to both

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"model.arch {self.arch!r}: choose from {', '.join(ARCHS)}")
