"""irpipe.label.programs: a deterministic corpus; every family builds and prints the same at -O0 and -O2."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from irpipe.bench.suite import load
from irpipe.label.programs import (FAMILIES, LOOP_NESTS, SHORT_TRIPS, family_of, generate, make, parse_families,
                                   parse_name, regenerate)
from irpipe.label.programs.__main__ import main
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import process
from irpipe.testing.gates import requires_llvm


#: sha256 over the names and bytes of generate(DIR, 7, seed=0): the corpus the labels of seed 0 were made on
LOOP_NESTS_SEED0_SHA256 = "72c6233bdc38e67b308ee9edd9db0dfd5df8c5826dbbb847b16043eeac4fe6bd"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 9, seed=3)
    generate(tmp_path / "b", 9, seed=3)
    generate(tmp_path / "c", 9, seed=4)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")
    assert [d.name for d in first] == sorted(d.name for d in first) and len(first) == 9
    assert make(3, 5) == make(3, 5)


def test_regenerate_writes_named_programs_of_any_seed(tmp_path: Path) -> None:
    generate(tmp_path / "a", 9, seed=3)
    generate(tmp_path / "a", 2, seed=4)
    generate(tmp_path / "a", 3, seed=5, families=SHORT_TRIPS)
    names = ["gen-s4-0001-reduction", "gen-s3-0008-reduction", "gen-s3-0000-stencil", "gen-s5-0002-search",
             "gen-s5-0001-shortrow"]
    dirs = regenerate(tmp_path / "b", names)
    assert [d.name for d in dirs] == names
    assert _tree(tmp_path / "b") == {k: v for k, v in _tree(tmp_path / "a").items() if k.split("/")[0] in names}
    assert parse_name("gen-s12-0034-histogram") == (12, 34, "histogram")
    for bad in ("gen-s1-0001-bogus", "gen-s1-1-reduction", "loop.c", "gen-s1-0001-reduction-x"):
        with pytest.raises(ValueError, match="not the name of a generated program"):
            parse_name(bad)


def test_the_default_families_keep_the_labelled_corpora_byte_for_byte(tmp_path: Path) -> None:
    """Seeds 0-4 of benchmarks/results/loops were generated before the short-trip families:
    their programs (named in the labels) must still be what regenerate() writes."""
    generate(tmp_path, 7, seed=0)
    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in _tree(tmp_path).items())).hexdigest()
    assert digest == LOOP_NESTS_SEED0_SHA256
    assert [d.name.rsplit("-", 1)[1] for d in generate(tmp_path / "b", 9, seed=1)] == [*LOOP_NESTS, *LOOP_NESTS[:2]]


def test_families_are_named_or_refused() -> None:
    assert parse_families("search, shortrow") == SHORT_TRIPS
    assert parse_families("all") == tuple(FAMILIES) and set(LOOP_NESTS + SHORT_TRIPS) == set(FAMILIES)
    for bad in ("", "stencil,loops", "ALL"):
        with pytest.raises(ValueError, match="unknown program families .*known: stencil"):
            parse_families(bad)
    with pytest.raises(ValueError, match="unknown program families"):
        generate("/nonexistent", 1, seed=0, families=("nope",))


def test_benchmark_toml_is_what_irpipe_bench_reads(tmp_path: Path) -> None:
    dirs = generate(tmp_path, len(FAMILIES), seed=0, families="all")
    families = set()
    for d in dirs:
        b = load(d)  # strict: an unknown key or a missing source is an error
        assert b.name == d.name and (d / b.sources[0]).is_file()
        assert len(b.steps) == 1 and len(b.count_steps) == 1
        args, count = b.steps[0].args, b.count_steps[0].args
        assert args[:-1] == count[:-1] and int(count[-1]) <= int(args[-1])  # same data, fewer repetitions
        families.add(family_of(tomllib.loads((d / "benchmark.toml").read_text())["tags"]))
    assert families == set(FAMILIES)


def test_main_writes_the_corpus(tmp_path: Path, capsys) -> None:
    assert main(["--out", str(tmp_path), "--count", "2", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.split()) == 2 and len(list(tmp_path.glob("*/benchmark.toml"))) == 2
    assert main(["--out", str(tmp_path / "s"), "--count", "2", "--seed", "5", "--families", "search,shortrow"]) == 0
    assert [p.name for p in sorted((tmp_path / "s").iterdir())] == ["gen-s5-0000-search", "gen-s5-0001-shortrow"]
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--families", "loops"])
    assert "unknown program families ['loops']" in capsys.readouterr().err


@requires_llvm
def test_every_family_builds_and_agrees_at_O0_and_O2(tmp_path: Path) -> None:
    tools = Toolchain()
    every = generate(tmp_path / "src", len(FAMILIES) * 2, seed=11, families="all")[::2]  # each family once
    assert {d.name.rsplit("-", 1)[1] for d in every} == set(FAMILIES)
    for d in every + generate(tmp_path / "s2", 7, seed=12):
        b = load(d)
        tiny = [*b.count_steps[0].args[:-1], "1"]  # one repetition
        outs = set()
        for level in ("-O0", "-O2"):
            exe = tmp_path / f"{d.name}{level}"
            tools.run("clang", [level, "-Wall", "-Werror", *b.cflags, str(d / b.sources[0]), "-o", str(exe), *b.ldflags])
            outs.add(process.run([str(exe), *tiny], what=d.name, timeout=60).stdout)
        assert len(outs) == 1, d.name
        assert re.fullmatch(rb"[0-9a-f]{16}\n", outs.pop()), d.name
