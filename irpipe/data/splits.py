"""Train/val/test splits by package, with structural-hash dedup across splits.

A package (its ``recipe_id``, else ``package_name``) goes wholly to one split,
chosen by a stable hash of its name and a seed, so that adding packages never
moves the others.  A structural hash that occurs in more than one split is kept
only in the most held-out one (test > val > train): no module the model is
evaluated on was trained on, even when two packages share a twin.

    USAGE: table = assign_splits(read_table(out, "labels")); table.filter(...split == "train")
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from irpipe.errors import ConfigError, SchemaError

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def package_split(package: str, *, seed: int = 0,
                  fractions: Sequence[float] = DEFAULT_FRACTIONS) -> str:
    """The split of one package: a stable function of its name and the seed."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ConfigError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    digest = hashlib.sha256(f"{seed}:{package}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, fraction in zip(SPLITS, fractions):
        edge += fraction
        if u < edge:
            return name
    return SPLITS[-1]


def assign_splits(table: pa.Table, *, seed: int = 0,
                  fractions: Sequence[float] = DEFAULT_FRACTIONS) -> pa.Table:
    """``table`` (with structural_hash and recipe_id/package_name) plus a ``split`` column,
    rows whose hash also occurs in a more held-out split removed."""
    recipes = table.column("recipe_id").to_pylist() if "recipe_id" in table.schema.names else None
    names = table.column("package_name").to_pylist() if "package_name" in table.schema.names else None
    if recipes is None and names is None:
        raise SchemaError("splitting by package needs a recipe_id or package_name column")
    packages = [(r if r else n) or "?" for r, n in zip(recipes or [None] * table.num_rows,
                                                        names or [None] * table.num_rows)]
    cache: dict[str, str] = {}
    split = [cache.setdefault(p, package_split(p, seed=seed, fractions=fractions)) for p in packages]
    rank = {s: i for i, s in enumerate(SPLITS)}
    best: dict[str, int] = {}
    hashes = table.column("structural_hash").to_pylist()
    for h, s in zip(hashes, split):
        best[h] = max(best.get(h, -1), rank[s])
    keep = [rank[s] == best[h] for h, s in zip(hashes, split)]
    out = table.append_column("split", pa.array(split, pa.string()))
    return out.filter(pa.array(keep))


def split_counts(table: pa.Table) -> dict[str, dict[str, int]]:
    """Rows and packages per split of a table from :func:`assign_splits`."""
    out = {}
    for name in SPLITS:
        part = table.filter(pc.equal(table["split"], name))
        key = "recipe_id" if "recipe_id" in part.schema.names else "package_name"
        out[name] = {"rows": part.num_rows, "packages": len(set(part.column(key).to_pylist()))}
    return out


def select_hashes(table: pa.Table, split: str = "all", *, sample: int | None = None,
                  seed: int = 0) -> set[str]:
    """Structural hashes of ``table``'s rows in ``split`` ("all" for every row), at most
    ``sample`` of them (a stable choice: the smallest sha256 of seed and hash)."""
    if split != "all":
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; choose from all, {', '.join(SPLITS)}")
        table = assign_splits(table, seed=seed)
        table = table.filter(pc.equal(table["split"], split))
    hashes = sorted(set(table.column("structural_hash").to_pylist()))
    if sample is not None and sample < len(hashes):
        hashes = sorted(hashes, key=lambda h: hashlib.sha256(f"{seed}:{h}".encode()).digest())[:sample]
    return set(hashes)
