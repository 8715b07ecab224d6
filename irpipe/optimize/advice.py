"""Advice files: which pipeline to run on a module (and, optionally, per function).

Versioned JSON, written by ``irpipe optimize --emit-advice`` and read by the pass
plugin (issue E)::

    {"format": "irpipe.advice", "version": 1,
     "modules": [{"structural_hash": "...", "source": "a.ll", "objective": "size",
                  "pipeline": "default<Oz>,...", "functions": {"f": "function(...)"}}]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irpipe import jsonfile
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
    """Write an advice file (atomically)."""
    return jsonfile.write(path, {"format": FORMAT, "version": VERSION, "modules": modules})


def read(path: str | Path) -> list[dict[str, Any]]:
    """The module entries of an advice file; :class:`ConfigError` for another format or version."""
    return list(jsonfile.read_versioned(path, FORMAT, VERSION, what="advice").get("modules", []))
