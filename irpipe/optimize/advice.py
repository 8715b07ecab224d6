"""Advice files: which pipeline to run on a module (and, optionally, per function).

Versioned JSON, written by ``irpipe optimize --emit-advice`` and read by the pass
plugin (issue E)::

    {"format": "irpipe.advice", "version": 1,
     "modules": [{"structural_hash": "...", "source": "a.ll", "objective": "size",
                  "pipeline": "default<Oz>,...", "functions": {"f": "function(...)"},
                  "verified": true}]}

``verified`` says that irpipe ran exactly these pipelines on this module to completion and
the result passed LLVM's verifier (``irpipe optimize`` writes only such entries).  The
plugin checks every pipeline against its loop-nest grammar, and runs an unverified one
(hand-written, or ``irpipe serve --record``: the server compiles nothing) first in a
forked child; a pipeline that fails either check falls back to the compiler's default
pipeline with one warning (passes/README.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irpipe.runtime import jsonfile
from irpipe.errors import ConfigError, IRError
from irpipe.label.actions import parse

if TYPE_CHECKING:
    from irpipe.optimize.apply import OptimizeResult

FORMAT = "irpipe.advice"
VERSION = 1


def module_advice(structural_hash: str, source: str, objective: str, pipeline: str,
                  functions: dict[str, str] | None = None, *, verified: bool = False) -> dict[str, Any]:
    """One module entry (the pipeline is checked against the action space); ``verified`` only
    for pipelines irpipe ran on this module (see the module docstring)."""
    for text in [pipeline, *(functions or {}).values()]:
        parse(text)
    return {"structural_hash": structural_hash, "source": source, "objective": objective,
            "pipeline": pipeline, "functions": dict(functions or {}), "verified": verified}


def optimized_advice(result: OptimizeResult, structural_hash: str, source: str) -> dict[str, Any]:
    """The entry for ``irpipe optimize --emit-advice``: ``result``'s pipeline, marked verified.

    Written only when that pipeline was evaluated successfully on the module (the baseline,
    or a candidate measured without error; ``result.bitcode`` is its output and passed the
    verifier); :class:`IRError` otherwise.
    """
    evaluated = result.pipeline == result.baseline or any(
        t.get("pipeline") == result.pipeline and "error" not in t for t in result.tried)
    if not evaluated:
        raise IRError(f"{source}: pipeline {result.pipeline!r} was not evaluated successfully; "
                      "not writing it as advice")
    return module_advice(structural_hash, source, result.objective, result.pipeline, verified=True)


def write(path: str | Path, modules: list[dict[str, Any]]) -> Path:
    """Write an advice file (atomically)."""
    return jsonfile.write(path, {"format": FORMAT, "version": VERSION, "modules": modules})


def read(path: str | Path) -> list[dict[str, Any]]:
    """The module entries of an advice file; :class:`ConfigError` for another format or version,
    or a ``verified`` that is not a boolean."""
    modules = list(jsonfile.read_versioned(path, FORMAT, VERSION, what="advice").get("modules", []))
    for entry in modules:
        if not isinstance(entry.get("verified", False), bool):
            raise ConfigError(f"{path}: 'verified' of {entry.get('source')!r} is not true or false")
    return modules
