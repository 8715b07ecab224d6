"""Advice files: which pipeline to run on a module (and, optionally, per function).

Versioned JSON, written by ``irpipe optimize --emit-advice`` and read by the pass
plugin (issue E)::

    {"format": "irpipe.advice", "version": 1,
     "modules": [{"structural_hash": "...", "source": "a.ll", "objective": "size",
                  "pipeline": "default<Oz>,...", "functions": {"f": "function(...)"}}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from irpipe.errors import ConfigError
from irpipe.label.actions import parse

FORMAT = "irpipe.advice"
VERSION = 1


def module_advice(structural_hash: str, source: str, objective: str, pipeline: str,
                  functions: dict[str, str] | None = None) -> dict[str, Any]:
    """One module entry (the pipeline is checked against the action space)."""
    for text in [pipeline, *(functions or {}).values()]:
        parse(text)
    return {"structural_hash": structural_hash, "source": source, "objective": objective,
            "pipeline": pipeline, "functions": dict(functions or {})}


def write(path: str | Path, modules: list[dict[str, Any]]) -> Path:
    """Write an advice file."""
    path = Path(path)
    path.write_text(json.dumps({"format": FORMAT, "version": VERSION, "modules": modules}, indent=1) + "\n")
    return path


def read(path: str | Path) -> list[dict[str, Any]]:
    """The module entries of an advice file; :class:`ConfigError` for another format or version."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read advice {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(f"{path}: not an {FORMAT} file")
    if doc.get("version") != VERSION:
        raise ConfigError(f"{path}: {FORMAT} version {doc.get('version')}, this irpipe reads {VERSION}")
    return list(doc.get("modules", []))
