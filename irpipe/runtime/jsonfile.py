"""Versioned JSON files (pipeline sets, advice): one atomic writer and one checked reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from irpipe.errors import ConfigError
from irpipe.runtime.files import atomic_write_bytes


def write(path: str | Path, doc: dict[str, Any], *, sort_keys: bool = False) -> Path:
    """Write ``doc`` as indented JSON, atomically."""
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(doc, indent=1, sort_keys=sort_keys) + "\n").encode())
    return path


def read_versioned(path: str | Path, fmt: str, version: int | tuple[int, ...], *, what: str) -> dict[str, Any]:
    """A JSON object whose ``format`` is ``fmt`` and ``version`` is ``version`` (or one of them);
    :class:`ConfigError` naming ``what`` otherwise."""
    versions = (version,) if isinstance(version, int) else tuple(version)
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise ConfigError(f"{path}: not an {fmt} file")
    if doc.get("version") not in versions:
        raise ConfigError(f"{path}: {fmt} version {doc.get('version')}, this irpipe reads "
                          f"{', '.join(map(str, versions))}")
    return doc
