"""The files of a model checkpoint, read without torch: ``model.json`` and ``model.safetensors``.

One checkpoint format (safetensors weights + JSON, never pickle), written by
:mod:`irpipe.train.checkpoint` and read here, so that loading a model for inference
(:mod:`irpipe.nn.numpy_model`) imports neither torch nor the training code.

    USAGE: meta = read_meta("models/default"); arrays = read_arrays("models/default")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from irpipe.errors import ModelError
from irpipe.schema import READABLE_VERSIONS, SCHEMA_VERSION

FORMAT = "irpipe-model"
FORMAT_VERSION = 1


def read_meta(directory: str | Path) -> dict[str, Any]:
    """``model.json`` of a checkpoint, checked for format and schema version."""
    path = Path(directory) / "model.json"
    if not Path(directory).is_dir():
        raise ModelError(f"model directory {directory} does not exist")
    try:
        meta = json.loads(path.read_text())
    except OSError:
        raise ModelError(f"{directory} is not an irpipe model (no model.json)") from None
    except ValueError as exc:
        raise ModelError(f"{path} is corrupt: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not an {FORMAT} checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: checkpoint format v{meta.get('format_version')}, "
                         f"this irpipe reads v{FORMAT_VERSION}")
    if meta.get("schema_version") not in READABLE_VERSIONS:
        raise ModelError(f"{path}: trained on irpipe schema v{meta.get('schema_version')}, "
                         f"this irpipe has v{SCHEMA_VERSION}; retrain the model")
    return meta


def read_arrays(directory: str | Path) -> dict[str, np.ndarray]:
    """``model.safetensors`` as numpy arrays; :class:`ModelError` when missing or not safetensors."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(directory) / "model.safetensors"
    try:
        return load_file(str(path))
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:  # missing, truncated, not safetensors
        raise ModelError(f"cannot read weights {path}: {exc}") from None


class Weights:
    """Named arrays taken one by one, so that a file that does not match its model.json
    (a tensor missing, left over or of the wrong shape) is refused with the tensor's name."""

    def __init__(self, arrays: dict[str, np.ndarray], path: Path):
        self.arrays, self.path, self.taken = dict(arrays), path, set()

    def __call__(self, name: str, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
        """The array ``name`` (float32 unless integer), its shape checked where ``shape`` says."""
        if name not in self.arrays:
            raise ModelError(f"{self.path} does not match its model.json: missing {name!r}")
        a = self.arrays[name]
        if shape is not None and (a.ndim != len(shape) or
                                  any(s is not None and s != d for s, d in zip(shape, a.shape))):
            raise ModelError(f"{self.path} does not match its model.json: {name} has shape "
                             f"{tuple(a.shape)}, expected {tuple('*' if s is None else s for s in shape)}")
        self.taken.add(name)
        return a if a.dtype.kind in "iu" else np.ascontiguousarray(a, dtype=np.float32)

    def done(self) -> None:
        """Refuse tensors the model did not take."""
        left = sorted(set(self.arrays) - self.taken)
        if left:
            raise ModelError(f"{self.path} does not match its model.json: unexpected {left[:5]}")
