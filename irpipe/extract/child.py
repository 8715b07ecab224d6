"""What the IR-dumping child processes (numba_dump, jax_dump) share: arguments, imports, the index.

Each child runs in the build sandbox, imports the package's own code from ``--path``
and writes one file per compiled function plus ``index.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None) -> tuple[list[str], Path]:
    """(specs, output directory) from ``--path SRC --out DIR SPEC...``; SRC goes on sys.path."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args(argv)
    sys.path.insert(0, args.path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return args.specs, out


def resolve(target: str) -> Any:
    """The object named by ``"pkg.module:attr.path"``."""
    modname, _, attrs = target.partition(":")
    obj = importlib.import_module(modname)
    for part in attrs.split("."):
        obj = getattr(obj, part)
    return obj


def write_index(out: Path, doc: dict[str, Any]) -> None:
    """The index the parent reads: ``{"modules": [...], "errors": [...], ...}``."""
    (out / "index.json").write_text(json.dumps(doc, indent=1))
