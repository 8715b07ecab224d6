"""Checkpoints: safetensors weights + JSON, never pickle.

A checkpoint directory holds::

    model.safetensors      weights (and the candidate pipelines' action ids, a buffer)
    model.json             format, schema version, resolved config, encoders (node vocabulary),
                           action names, objectives, metrics, epoch
    pipelines.json         the candidate pipelines (irpipe.label.vocab format)
    tokenizer/             the BPE tokenizer (transformer models)
    train_state.safetensors + train_state.json   optimizer state and RNG, for --resume

Loading refuses another checkpoint format or irpipe schema version, and a
weight file that does not match the JSON (missing or unexpected tensors).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from irpipe import jsonfile
from irpipe.errors import ModelError
from irpipe.extract.shards import atomic_write_bytes
from irpipe.schema import READABLE_VERSIONS, SCHEMA_VERSION

FORMAT = "irpipe-model"
FORMAT_VERSION = 1


def save_json(path: Path, doc: dict[str, Any]) -> None:
    """Write JSON atomically."""
    jsonfile.write(path, doc, sort_keys=True)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write a safetensors file atomically (tensors made contiguous and detached)."""
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(Path(path), save(flat))


def save_model(directory: Path, model: torch.nn.Module, meta: dict[str, Any]) -> None:
    """Write ``model.safetensors`` then ``model.json`` (the JSON last: it marks a complete save)."""
    directory = Path(directory)
    save_tensors(directory / "model.safetensors", model.state_dict())
    save_json(directory / "model.json", {"format": FORMAT, "format_version": FORMAT_VERSION,
                                         "schema_version": SCHEMA_VERSION, **meta})


def read_meta(directory: Path) -> dict[str, Any]:
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


def load_weights(directory: Path, model: torch.nn.Module) -> None:
    """Load ``model.safetensors`` into ``model`` strictly."""
    path = Path(directory) / "model.safetensors"
    try:
        state = load_file(str(path))
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:  # missing, truncated, not safetensors
        raise ModelError(f"cannot read weights {path}: {exc}") from None
    missing, unexpected = set(model.state_dict()) - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise ModelError(f"{path} does not match its model.json: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{path} does not match its model.json: {str(exc).splitlines()[0]}") from None


def save_train_state(directory: Path, optimizer: torch.optim.Optimizer, info: dict[str, Any]) -> None:
    """Optimizer state as flat tensors + JSON (for ``--resume``), plus ``info`` (epoch, history)."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    save_tensors(Path(directory) / "train_state.safetensors", tensors or {"_empty": torch.zeros(0)})
    save_json(Path(directory) / "train_state.json",
              {"param_groups": state["param_groups"], "scalars": scalars, **info})


def load_train_state(directory: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore the optimizer from :func:`save_train_state`; return its ``info``."""
    directory = Path(directory)
    try:
        doc = json.loads((directory / "train_state.json").read_text())
        tensors = load_file(str(directory / "train_state.safetensors"))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"cannot resume from {directory}: {exc}") from None
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *doc.pop("scalars").items()]:
        if name == "_empty":
            continue
        pid, _, key = name.partition(".")
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": doc.pop("param_groups")})
    return doc
