"""FAILURES rows: what went wrong for one package, module or unit, in one line.

Every stage (extract, featurize, label, measure) reports its failures as rows of
:data:`irpipe.schema.FAILURES`, built here so that they look the same everywhere.
"""

from __future__ import annotations

from typing import Any, Protocol


class Package(Protocol):
    """Anything that names a package: a recipe, or a MODULES row's package columns."""

    name: str
    version: str


def failure_row(recipe_id: str, stage: str, error: str, *, recipe: Package | None = None, log_tail: str = "",
                object_path: str | None = None) -> dict[str, Any]:
    """One FAILURES row; ``error`` is folded to one line of at most 500 characters."""
    return {"recipe_id": recipe_id, "package_name": recipe.name if recipe else None,
            "package_version": recipe.version if recipe else None, "stage": stage,
            "error": " ".join(error.split())[:500], "log_tail": log_tail[-4000:], "object_path": object_path}
