"""irpipe.data.splits: whole packages per split, stable, no hash in two splits."""

from __future__ import annotations

import pyarrow as pa
import pytest

from irpipe.data.splits import SPLITS, assign_splits, package_split, split_counts


def table(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.Table.from_pylist([{"structural_hash": h, "recipe_id": r} for h, r in rows])


def test_packages_stay_whole_and_stable() -> None:
    rows = [(f"h{p}-{i}", f"debian/pkg{p}") for p in range(200) for i in range(3)]
    t = assign_splits(table(rows), seed=1)
    by_package: dict[str, set[str]] = {}
    for r in t.to_pylist():
        by_package.setdefault(r["recipe_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_package.values())
    counts = split_counts(t)
    assert 130 < counts["train"]["packages"] < 190 and counts["test"]["packages"] > 5
    # adding packages never moves the others; another seed does
    more = assign_splits(table(rows + [("new", "debian/new")]), seed=1)
    assert more.filter(pa.compute.not_equal(more["recipe_id"], "debian/new")).column("split") == t.column("split")
    assert [package_split(f"debian/pkg{p}", seed=2) for p in range(50)] != \
        [package_split(f"debian/pkg{p}", seed=1) for p in range(50)]


def test_twin_hash_kept_only_in_the_most_held_out_split() -> None:
    pkgs = {s: next(f"p{i}" for i in range(1000) if package_split(f"p{i}") == s) for s in SPLITS}
    rows = [("twin", pkgs["train"]), ("twin", pkgs["test"]), ("twin2", pkgs["train"]), ("twin2", pkgs["val"])]
    t = assign_splits(table(rows))
    assert sorted((r["structural_hash"], r["split"]) for r in t.to_pylist()) == [("twin", "test"), ("twin2", "val")]


def test_bad_fractions() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        package_split("x", fractions=(0.5, 0.5, 0.5))
