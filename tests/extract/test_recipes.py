"""irpipe.extract.recipes: strict parsing of recipe TOMLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import RecipeError
from irpipe.extract.recipes import find_recipes, parse_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_every_committed_recipe_parses() -> None:
    paths = find_recipes([ROOT / "extractors"])
    recipes = [parse_recipe(p, root=ROOT / "extractors") for p in paths]
    kinds = {r.source_kind for r in recipes}
    assert kinds >= {"debian", "pypi", "debian-crate", "local", "numba"}
    assert len({r.id for r in recipes}) == len(recipes)
    assert sum(r.source_kind == "debian" for r in recipes) >= 40
    assert sum(r.source_kind == "pypi" for r in recipes) >= 20
    assert sum(r.source_kind == "debian-crate" for r in recipes) >= 5


def test_typo_key_is_an_error_naming_the_key(tmp_path: Path) -> None:
    p = tmp_path / "x.toml"
    p.write_text('[package]\nname = "x"\nversion = "1"\n[source]\nkind = "pypi"\n[build]\ntimout = 5\n')
    with pytest.raises(RecipeError, match=r"unknown key 'timout' in \[build\]"):
        parse_recipe(p)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[package]\nname = "x"\n[source]\nkind = "pypi"\n', "needs name and version"),
        ('[package]\nname = "x"\nversion = "1"\n[source]\nkind = "svn"\n', "kind 'svn'"),
        ('[package]\nname = "x"\nversion = "1"\n[source]\nkind = "local"\n', "needs path"),
        ('[packages]\nname = "x"\n', r"unknown table \[packages\]"),
        ('[package\n', "cannot read recipe"),
    ],
)
def test_malformed_recipes(tmp_path: Path, text: str, pattern: str) -> None:
    p = tmp_path / "x.toml"
    p.write_text(text)
    with pytest.raises(RecipeError, match=pattern):
        parse_recipe(p)


def test_defaults_and_ids(tmp_path: Path) -> None:
    p = tmp_path / "debian" / "zlib.toml"
    p.parent.mkdir()
    p.write_text('[package]\nname = "zlib"\nversion = "1:1.2.13.dfsg-1"\n[source]\nkind = "debian"\n')
    r = parse_recipe(p, root=tmp_path)
    assert (r.id, r.build_kind, r.package_source) == ("debian/zlib", "debian-rules", "debian:zlib=1:1.2.13.dfsg-1")
