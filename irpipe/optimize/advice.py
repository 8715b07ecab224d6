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

Version 2 adds optional per-loop decisions to a module entry, applied by the plugin as
``llvm.loop`` metadata at the vectorizer start of clang's -O2/-O3 pipeline
(passes/include/irpipe/LoopAdvice.h)::

    "loops": {"kernel/L1.0": {"unroll": 4 | "off" | "full" | "runtime" | "no-runtime",
                              "interleave": 2, "vectorize": "off" | "on" | 8,
                              "unroll_and_jam": 2, "distribute": true}}

A loop id is ``FUNCTION/L<path>``: the function's top-level loops numbered 0, 1, ... by
header position, subloops likewise within their parent (the plugin prints them:
``-mllvm -irpipe-print-loops``, parsed by :func:`irpipe.llvm.loops.parse_loop_listing`).  Version 1 files
still read; :func:`write` writes version 1 when no entry has loops.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irpipe.runtime import jsonfile
from irpipe.errors import ConfigError, IRError
from irpipe.label.actions import parse

if TYPE_CHECKING:
    from irpipe.optimize.result import OptimizeResult

FORMAT = "irpipe.advice"
VERSION = 2
#: versions :func:`read` accepts (1: no per-loop decisions)
READABLE_VERSIONS = (1, 2)
#: ``FUNCTION/L<path>``: the function is everything before the last ``/L``
LOOP_ID = re.compile(r"(?P<function>.+)/L(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_WORDS = {"unroll": ("off", "full", "runtime", "no-runtime"), "vectorize": ("off", "on")}
_WANT = {"unroll": 'an unroll count 2..1024, "off", "full", "runtime" or "no-runtime"',
         "interleave": "an interleave count 1..16",
         "vectorize": '"off", "on" or a vector width 2..64 that is a power of two',
         "unroll_and_jam": "an unroll-and-jam count 2..1024", "distribute": "true or false"}
_RANGE = {"unroll": (2, 1024), "interleave": (1, 16), "vectorize": (2, 64), "unroll_and_jam": (2, 1024)}


def module_advice(structural_hash: str, source: str, objective: str, pipeline: str,
                  functions: dict[str, str] | None = None, *, verified: bool = False,
                  loops: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One module entry (the pipeline is checked against the action space); ``verified`` only
    for pipelines irpipe ran on this module (see the module docstring); ``loops``: per-loop
    decisions (version 2), :class:`ConfigError` with one line per bad value."""
    for text in [pipeline, *(functions or {}).values()]:
        parse(text)
    entry: dict[str, Any] = {"structural_hash": structural_hash, "source": source, "objective": objective,
                             "pipeline": pipeline, "functions": dict(functions or {}), "verified": verified}
    if loops:
        if errors := loop_errors(loops):
            raise ConfigError("\n".join(f"{source}: {e}" for e in errors))
        entry["loops"] = {k: dict(v) for k, v in loops.items()}
    return entry


def _decision_error(key: str, value: Any) -> str | None:
    """Why ``key: value`` is not a valid loop decision, or None."""
    if key not in _WANT:
        return f"unknown decision {json.dumps(key)} (known: {', '.join(_WANT)})"
    if key == "distribute":
        ok = isinstance(value, bool)
    elif isinstance(value, str):
        ok = value in _WORDS.get(key, ())
    else:
        lo, hi = _RANGE[key]
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi and (
            key != "vectorize" or value & (value - 1) == 0)
    return None if ok else f"{json.dumps(key)}: {json.dumps(value, default=repr)} is not {_WANT[key]}"


def loop_errors(loops: Any) -> list[str]:
    """One line per bad loop id or decision of a ``loops`` object (empty when valid); the
    plugin accepts exactly the same values."""
    if not isinstance(loops, dict):
        return [f"'loops' is not an object: {loops!r}"]
    errors = []
    for loop_id, decisions in sorted(loops.items(), key=lambda kv: str(kv[0])):
        if not isinstance(loop_id, str) or not LOOP_ID.fullmatch(loop_id):
            errors.append(f"loop {loop_id!r}: not a loop id FUNCTION/L<path> (e.g. kernel/L1.0)")
        elif not isinstance(decisions, dict):
            errors.append(f"loop {loop_id!r}: its decisions are not an object")
        else:
            errors += [f"loop {loop_id!r}: {why}" for why in decision_errors(decisions)]
    return errors


def decision_errors(decisions: dict[str, Any]) -> list[str]:
    """Why each bad entry of one loop's decisions object is bad (empty when all are valid)."""
    return [why for key, value in sorted(decisions.items(), key=str) if (why := _decision_error(key, value))]


def optimized_advice(result: OptimizeResult, structural_hash: str, source: str) -> dict[str, Any]:
    """The entry for ``irpipe optimize --emit-advice``: ``result``'s pipeline (and per-function
    pipelines or per-loop decisions), marked verified.

    Written only when exactly that was evaluated successfully on the module (the baseline,
    or a candidate measured without error; ``result.bitcode`` is its output and passed the
    verifier), and only for what advice can hold (not ``result.build``: Polly, a profile, the
    whole program); :class:`IRError` otherwise.
    """
    if result.build:
        raise IRError(f"{source}: the chosen build ({result.build}) is more than a pipeline and loop decisions, "
                      "which is all advice holds; not writing it as advice (-o writes the build)")
    if result.loops:
        evaluated = any(t.get("pipeline") == result.pipeline and t.get("loops") == result.loops
                        and "error" not in t for t in result.tried)
    elif result.functions:
        evaluated = any(t.get("pipeline") == result.pipeline and t.get("functions") == result.functions
                        and "error" not in t for t in result.tried)
    else:
        evaluated = result.pipeline == result.baseline or any(
            t.get("pipeline") == result.pipeline and "error" not in t and "cleanup" not in t
            and "functions" not in t and "loops" not in t for t in result.tried)
    if not evaluated:
        raise IRError(f"{source}: pipeline {result.pipeline!r} was not evaluated successfully; "
                      "not writing it as advice")
    return module_advice(structural_hash, source, result.objective, result.pipeline, result.functions,
                         verified=True, loops=result.loops)


def write(path: str | Path, modules: list[dict[str, Any]]) -> Path:
    """Write an advice file (atomically): version 2 when an entry has loops, else version 1
    (which every plugin reads)."""
    version = VERSION if any(entry.get("loops") for entry in modules) else 1
    return jsonfile.write(path, {"format": FORMAT, "version": version, "modules": modules})


def read(path: str | Path) -> list[dict[str, Any]]:
    """The module entries of an advice file; :class:`ConfigError` for another format or version,
    a ``verified`` that is not a boolean, ``loops`` in a version 1 file, or bad loop decisions
    (one line per bad value)."""
    doc = jsonfile.read_versioned(path, FORMAT, READABLE_VERSIONS, what="advice")
    modules = list(doc.get("modules", []))
    errors = []
    for entry in modules:
        where = f"{path}: {entry.get('source')!r}"
        if not isinstance(entry.get("verified", False), bool):
            errors.append(f"{where}: 'verified' is not true or false")
        if "loops" in entry and doc["version"] < 2:
            errors.append(f"{where}: 'loops' needs an {FORMAT} version 2 file")
        elif "loops" in entry:
            errors += [f"{where}: {e}" for e in loop_errors(entry["loops"])]
    if errors:
        raise ConfigError("\n".join(errors))
    return modules
