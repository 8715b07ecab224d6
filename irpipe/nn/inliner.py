"""Policies for LLVM's interactive ML advisors (see :mod:`irpipe.llvm.mlgo`).

:class:`InlinerPolicy` is a learned linear policy over MLGO's inlining features
(39 int64 scalars, ``inlining_default`` among them when the compiler runs with
``-inliner-interactive-include-default``): inline when ``w . phi(x) + b > 0`` with
``phi(x) = (sign(x) log1p(|x|) - center) / scale``.  Its starting point (:meth:`InlinerPolicy.default`)
reproduces LLVM's own decision exactly; training (:mod:`irpipe.train.inliner`) moves it
towards smaller code.  Stored as every problem's checkpoint is (``model.safetensors`` +
``model.json``, problem ``inliner``: :mod:`irpipe.nn.checkpoint_files`), never pickle; the
policies saved before that schema (``inliner.safetensors`` + ``inliner.json``, format
``irpipe.inliner`` v1, as in models/inliner) still load.

:class:`NoEviction` answers the regalloc eviction protocol with the always-valid
"evict nothing" choice: the protocol is served, no learned eviction policy is claimed.

    USAGE: policy = InlinerPolicy.load("models/inliner"); policy({"callee_users": arr, ...})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from irpipe.errors import ModelError
from irpipe.llvm.mlgo import NO_EVICTION
from irpipe.nn import checkpoint_files

PROBLEM = "inliner"
#: what the checkpoint's JSON holds besides the training report (not part of ``info``)
SCHEMA_KEYS = ("format", "version", "problem", "schema_version", "features", "legacy")
DEFAULT_FEATURE = "inlining_default"


def phi(x: np.ndarray) -> np.ndarray:
    """The signed log transform of raw feature values."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.log1p(np.abs(x))


class InlinerPolicy:
    """Inline iff ``weights . (phi(x) - center) / scale + bias > 0`` over ``names`` (missing
    features are 0).

    Args:
        names: feature names, in weight order.
        weights: [F] float.
        bias: scalar.
        scale: [F] positive divisors of phi (feature spread on training call sites).
        center: [F] mean of phi on training call sites (default 0).
    """

    kind = "inline"

    def __init__(self, names: list[str], weights: np.ndarray, bias: float, scale: np.ndarray,
                 info: dict[str, Any] | None = None, center: np.ndarray | None = None):
        self.names = list(names)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.center = np.zeros_like(self.scale) if center is None else np.asarray(center, dtype=np.float64)
        self.info = dict(info or {})
        if self.weights.shape != (len(self.names),) or self.scale.shape != self.weights.shape:
            raise ModelError(f"inliner policy: {len(self.names)} names, weights {self.weights.shape}, "
                             f"scale {self.scale.shape}")

    @classmethod
    def default(cls, names: list[str], scale: np.ndarray | None = None,
                center: np.ndarray | None = None, margin: float = 2.0) -> "InlinerPolicy":
        """The policy that answers LLVM's own decision (``inlining_default``): logit +margin
        where LLVM inlines, -margin where it does not."""
        if DEFAULT_FEATURE not in names:
            raise ModelError(f"the features lack {DEFAULT_FEATURE!r}: run the compiler with "
                             "-inliner-interactive-include-default")
        scale = np.ones(len(names)) if scale is None else np.asarray(scale, dtype=np.float64)
        center = np.zeros(len(names)) if center is None else np.asarray(center, dtype=np.float64)
        d = names.index(DEFAULT_FEATURE)
        w = np.zeros(len(names))
        w[d] = 2 * margin * scale[d] / phi(1.0)
        return cls(names, w, -margin + 2 * margin * center[d] / phi(1.0), scale, center=center)

    def vector(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """phi(x) / scale in ``names`` order."""
        raw = np.array([float(features[n].reshape(-1)[0]) if n in features else 0.0 for n in self.names])
        return (phi(raw) - self.center) / self.scale

    def __call__(self, features: dict[str, np.ndarray]) -> int:
        return int(self.vector(features) @ self.weights + self.bias > 0)

    def with_params(self, params: np.ndarray) -> "InlinerPolicy":
        """A copy with ``params`` = [weights..., bias]."""
        return InlinerPolicy(self.names, params[:-1], float(params[-1]), self.scale, self.info, self.center)

    @property
    def params(self) -> np.ndarray:
        return np.append(self.weights, self.bias)

    def save(self, directory: str | Path, info: dict[str, Any] | None = None) -> Path:
        """Write ``model.safetensors`` + ``model.json`` (atomically; problem ``inliner``, the
        config ``info["config"]``, the rest of ``info`` beside it)."""
        info = dict(info if info is not None else self.info)
        config = info.pop("config", {})
        arrays = {"weights": self.weights.astype(np.float64), "bias": np.array([self.bias]),
                  "scale": self.scale.astype(np.float64), "center": self.center.astype(np.float64)}
        return checkpoint_files.write_checkpoint(directory, arrays, PROBLEM, config,
                                                 {**info, "features": self.names})

    @classmethod
    def load(cls, directory: str | Path) -> "InlinerPolicy":
        """Read a saved policy; :class:`ModelError` for a missing or corrupt one."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        d = Path(directory)
        legacy = checkpoint_files.LEGACY_INLINER[0]
        if not (d / checkpoint_files.META_FILE).is_file() and not (d / legacy).is_file():
            raise ModelError(f"{d} is not an irpipe inliner policy (no {checkpoint_files.META_FILE})")
        meta = checkpoint_files.read_meta(d, problem=PROBLEM)
        weights = d / ("inliner.safetensors" if meta.get("legacy") else checkpoint_files.WEIGHTS_FILE)
        try:
            t = load_file(str(weights))
            return cls(list(meta["features"]), t["weights"], float(t["bias"][0]), t["scale"],
                       {k: v for k, v in meta.items() if k not in SCHEMA_KEYS}, t["center"])
        except (OSError, SafetensorError, KeyError, ValueError) as exc:
            raise ModelError(f"{weights}: cannot load the policy ({exc})") from None


class NoEviction:
    """Regalloc eviction: always the valid "evict nothing" choice."""

    kind = "evict"

    def __call__(self, features: dict[str, np.ndarray]) -> int:
        return NO_EVICTION
