"""The files of a model checkpoint, read (and its JSON written) without torch.

One checkpoint format for every learning problem (:mod:`irpipe.problems`): safetensors
weights (``model.safetensors``, never pickle) and one JSON document (``model.json``) with
one schema::

    {"format": "irpipe-model", "version": 2, "problem": "phase-order" | "mlir-cost" | "inliner" | ...,
     "config": {the resolved training config}, "schema_version": irpipe's table schema,
     ...what the problem adds (encoders, metrics, epoch, features, report)}

Readers also accept the checkpoints written before this schema: ``model.json`` with
``format_version: 1`` (the problem is its ``kind``, else phase-order) and the inliner's
``inliner.json`` (format ``irpipe.inliner`` v1, next to ``inliner.safetensors``).
:mod:`irpipe.train.checkpoint` writes torch modules through :func:`document` and
:func:`write_meta`; loading a model for inference (:mod:`irpipe.nn.numpy_model`) imports
neither torch nor the training code.

    USAGE: meta = read_meta("models/default", problem="phase-order"); arrays = read_arrays("models/default")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from irpipe.errors import ModelError
from irpipe.runtime import jsonfile
from irpipe.schema import READABLE_VERSIONS, SCHEMA_VERSION

FORMAT = "irpipe-model"
VERSION = 2
#: ``format_version`` of the checkpoints written before ``version`` (still read)
LEGACY_FORMAT_VERSION = 1
META_FILE = "model.json"
WEIGHTS_FILE = "model.safetensors"
#: the inliner's files before the one schema (models/inliner)
LEGACY_INLINER = ("inliner.json", "irpipe.inliner", 1)


def document(problem: str, config: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The ``model.json`` document of a ``problem`` checkpoint: the schema's keys over ``meta``."""
    return {**meta, "format": FORMAT, "version": VERSION, "problem": problem, "config": config,
            "schema_version": SCHEMA_VERSION}


def write_meta(directory: str | Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` (a :func:`document`) as ``model.json``, atomically; written after the
    weights, it marks a complete save."""
    missing = [k for k in ("format", "version", "problem", "config") if k not in doc]
    if missing or doc["format"] != FORMAT:
        raise ModelError(f"not an {FORMAT} v{VERSION} document (missing {missing})")
    return jsonfile.write(Path(directory) / META_FILE, doc, sort_keys=True)


def write_checkpoint(directory: str | Path, arrays: dict[str, np.ndarray], problem: str,
                     config: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write numpy ``arrays`` as ``model.safetensors``, then ``model.json``; the directory."""
    from safetensors.numpy import save

    from irpipe.runtime.files import atomic_write_bytes

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(d / WEIGHTS_FILE, save({k: np.ascontiguousarray(v) for k, v in arrays.items()}))
    write_meta(d, document(problem, config, meta))
    return d


def _legacy_inliner(directory: Path) -> dict[str, Any]:
    """``inliner.json`` (irpipe.inliner v1) as a document of the one schema (``legacy`` names it)."""
    name, fmt, version = LEGACY_INLINER
    try:
        meta = jsonfile.read_versioned(directory / name, fmt, version, what="inliner policy")
    except ValueError as exc:  # ConfigError: unreadable, another format or version
        raise ModelError(str(exc)) from None
    rest = {k: v for k, v in meta.items() if k not in ("format", "version")}
    return {**rest, "format": FORMAT, "version": VERSION, "problem": "inliner",
            "config": dict(meta.get("es") or {}), "legacy": name}


def _checked(meta: Any, path: Path) -> dict[str, Any]:
    """``meta`` checked for format, version and schema version; legacy v1 given its problem."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not an {FORMAT} checkpoint")
    if "version" in meta:
        if meta["version"] != VERSION:
            raise ModelError(f"{path}: checkpoint format v{meta['version']}, this irpipe reads "
                             f"v{VERSION} (and v{LEGACY_FORMAT_VERSION})")
    elif meta.get("format_version") == LEGACY_FORMAT_VERSION:
        meta = {**meta, "problem": meta.get("kind") or "phase-order"}
    else:
        raise ModelError(f"{path}: checkpoint format v{meta.get('format_version')}, "
                         f"this irpipe reads v{VERSION} (and v{LEGACY_FORMAT_VERSION})")
    if meta.get("schema_version") not in READABLE_VERSIONS:
        raise ModelError(f"{path}: trained on irpipe schema v{meta.get('schema_version')}, "
                         f"this irpipe has v{SCHEMA_VERSION}; retrain the model")
    return meta


def read_meta(directory: str | Path, problem: str | None = None) -> dict[str, Any]:
    """``model.json`` of a checkpoint (or a legacy ``inliner.json``), checked for format,
    version, schema version and, when given, ``problem``."""
    d = Path(directory)
    path = d / META_FILE
    if not d.is_dir():
        raise ModelError(f"model directory {directory} does not exist")
    if not path.is_file() and (d / LEGACY_INLINER[0]).is_file():
        meta = _legacy_inliner(d)
    else:
        try:
            raw = json.loads(path.read_text())
        except OSError:
            raise ModelError(f"{directory} is not an irpipe model (no {META_FILE})") from None
        except ValueError as exc:
            raise ModelError(f"{path} is corrupt: {exc}") from None
        meta = _checked(raw, path)
    if problem is not None and meta["problem"] != problem:
        raise ModelError(f"{directory}: a {meta['problem']} model, not {problem}")
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
