"""The whole program as one module in the bench (irpipe.optimize.wholeprogram): every TU pre-linked, merged, all but
``main`` internalized and optimized by ``lto<O3>``; screened by ``optimize`` unless ``--no-lto``, and
the static rule ``--candidate lto``."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.bench.build import Builder, TUPlan
from irpipe.bench.candidates import Candidate, whole_plan
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.bench.run import Runner
from irpipe.bench.suite import discover
from irpipe.optimize.wholeprogram import LTO_LABEL, internalize_flags
from irpipe.errors import ConfigError
from irpipe.llvm.tools import Toolchain
from irpipe.testing.factories import program_suite
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

#: a hot loop in one file calling a small function of the other: only a whole-program build inlines it
MAIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
unsigned mix(unsigned h, unsigned v);
int main(int argc, char **argv) {
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, h = 2166136261u;
    for (unsigned i = 0; i < n; i++) h = mix(h, i);
    printf("%u\n", h);
    return 0;
}
"""
MIX_C = r"""
unsigned mix(unsigned h, unsigned v) { return (h ^ v) * 16777619u; }
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return program_suite(tmp_path_factory.mktemp("lto"), "twofiles", {"main.c": MAIN_C, "mix.c": MIX_C},
                         ["200000"], ["2000"])


def test_the_whole_program_build_inlines_across_files_and_prints_the_same(suite: Path, tmp_path: Path) -> None:
    (bench,), _ = discover(suite)
    builder = Builder(bench, bench.directory, tmp_path / "work")
    base = builder.build("baseline", lambda rel, bc: TUPlan("default<O3>"))
    whole = builder.build("lto", whole_plan)
    assert whole.exe.read_bytes() != base.exe.read_bytes()
    runner = Runner(bench, tmp_path / "cache")
    try:
        assert runner.run(whole.exe).sha256 == runner.run(base.exe).sha256 == bench.expected_sha256
    finally:
        runner.close()
    symbols = {line.split()[-1] for line in Toolchain().run("llvm-nm", [str(p) for p in (base.exe, whole.exe)]).stdout
               .decode().splitlines() if line.strip()}
    assert "mix" in symbols  # the per-TU build keeps the call
    merged = Toolchain().run("llvm-nm", ["--defined-only", str(tmp_path / "work" / "lto" / "whole.opt.bc")]).stdout.decode()
    assert [line.split()[-1] for line in merged.splitlines()] == ["main"]  # mix internalized, inlined, gone
    assert whole_plan("main.c", Path("x")).key() != TUPlan("lto-pre-link<O3>").key()


def test_one_merged_pipeline_for_every_tu(suite: Path, tmp_path: Path) -> None:
    from irpipe.errors import BuildError

    (bench,), _ = discover(suite)
    builder = Builder(bench, bench.directory, tmp_path / "work")
    with pytest.raises(BuildError, match="one merged pipeline"):
        builder.build("mixed", lambda rel, bc: whole_plan(rel, bc) if rel == "main.c" else TUPlan("default<O3>"))
    assert internalize_flags("lto<O3>")[0] == "-passes=internalize,lto<O3>"


def test_bench_screens_the_whole_program_and_measures_the_static_rule(suite: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="takes no argument"):
        Candidate("lto", "x")
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize"), Candidate("lto")], rounds=2,
                      callgrind=False, verify=1, loop_model="none", polly=False, cache=str(tmp_path / "cache"))
    (r,) = bench_suite(cfg, tmp_path / "out", log=lambda m: None)["results"]
    optimize, lto = r["candidates"]
    assert r["status"] == "ok" and optimize["status"] == "ok" and lto["status"] == "ok", r
    assert [t["pipeline"] for t in optimize["screened"]][-1:] == [LTO_LABEL]
    assert lto["label"] == "lto" and lto["pipelines"] == [LTO_LABEL] and not lto.get("identical")
    # a run made before the whole-program build was a candidate resumes under --no-lto's key
    assert BenchConfig(suite="s", lto=False).key() != BenchConfig(suite="s").key()
    off = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=2, callgrind=False, verify=1,
                      loop_model="none", polly=False, lto=False, cache=str(tmp_path / "cache"))
    (r,) = bench_suite(off, tmp_path / "off", log=lambda m: None)["results"]
    assert all(t["pipeline"] != LTO_LABEL for t in r["candidates"][0]["screened"])
