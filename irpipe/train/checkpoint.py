"""Checkpoints of torch models: safetensors weights + JSON, never pickle.

Every learning problem's checkpoint has the one schema of :mod:`irpipe.nn.checkpoint_files`
(``model.json``: format, version, problem, config, ...).  A directory holds::

    model.safetensors      weights (phase order: and the candidate pipelines' action ids, a buffer)
    model.json             format, version, problem, resolved config, schema version, and what
                           the problem adds (phase order: encoders, action names, objectives,
                           metrics, epoch, calibrated policy; MLIR cost: encoding, configs)
    pipelines.json         phase order: the candidate pipelines (irpipe.label.vocab format)
    tokenizer/             phase order: the BPE tokenizer (transformer models)
    last/ + train_state.safetensors + train_state.json   the last epoch and optimizer state, for --resume

Loading refuses another checkpoint format or irpipe schema version, and a
weight file that does not match the JSON (missing or unexpected tensors).
The torch-free readers (``read_meta``, numpy weights) and the JSON writer live in
:mod:`irpipe.nn.checkpoint_files`; this module writes and loads torch modules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from irpipe.runtime import jsonfile
from irpipe.errors import ModelError
from irpipe.runtime.files import atomic_write_bytes
from irpipe.nn.checkpoint_files import document, read_meta, write_meta  # noqa: F401 (read_meta: API)


def save_json(path: Path, doc: dict[str, Any]) -> None:
    """Write JSON atomically."""
    jsonfile.write(path, doc, sort_keys=True)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write a safetensors file atomically (tensors made contiguous and detached)."""
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(Path(path), save(flat))


def save_model(directory: Path, model: torch.nn.Module, problem: str, config: dict[str, Any],
               meta: dict[str, Any]) -> None:
    """Write ``model.safetensors`` then ``model.json`` (the JSON last: it marks a complete save)."""
    directory = Path(directory)
    save_tensors(directory / "model.safetensors", model.state_dict())
    write_meta(directory, document(problem, config, meta))


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
