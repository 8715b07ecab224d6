"""Polly as a candidate of the bench's speed selection (irpipe.optimize.polly): every TU through
``opt-22 -passes='default<O3>' -polly``, screened like any candidate; ``--no-polly`` leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.bench.build import Builder, TUPlan
from irpipe.bench.candidates import Candidate
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.bench.run import Runner
from irpipe.bench.suite import discover
from irpipe.errors import ConfigError
from irpipe.optimize.polly import POLLY_LABEL
from irpipe.testing.factories import MATVEC_COLUMNS_C, one_program_suite
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return one_program_suite(tmp_path_factory.mktemp("polly"), "matvec", MATVEC_COLUMNS_C, ["300"], ["2"])


def test_the_polly_build_differs_and_prints_the_same(suite: Path, tmp_path: Path) -> None:
    plan = TUPlan("default<O3>", polly=True)
    assert plan.opt_flags() == ["-polly"] and plan.key() != TUPlan("default<O3>").key()
    (bench,), _ = discover(suite)
    builder = Builder(bench, bench.directory, tmp_path / "work")
    runner = Runner(bench, tmp_path / "cache")
    try:
        base = builder.build("base", lambda rel, bc: TUPlan("default<O3>"))
        polly = builder.build("polly", lambda rel, bc: plan)
        assert polly.exe.read_bytes() != base.exe.read_bytes()
        assert runner.run(polly.exe).sha256 == bench.expected_sha256
    finally:
        runner.close()


def test_bench_optimize_screens_polly_unless_asked_not_to(suite: Path, tmp_path: Path) -> None:
    for polly in (True, False):
        cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=2, callgrind=False,
                          verify=1, loop_model="none", polly=polly, cache=str(tmp_path / "cache"))
        doc = bench_suite(cfg, tmp_path / f"out-{polly}", log=lambda m: None)
        (r,) = doc["results"]
        e = r["candidates"][0]
        assert r["status"] == "ok" and e["status"] == "ok"
        assert any(t["pipeline"] == POLLY_LABEL for t in e["screened"]) == polly
    # a run made before Polly was a candidate measured what --no-polly measures: it resumes under that key
    assert BenchConfig(suite="s", polly=False).key() != BenchConfig(suite="s").key()


def test_the_polly_candidate_builds_every_tu_with_polly(suite: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="takes no argument"):
        Candidate("polly", "x")
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("polly")], rounds=2, callgrind=False,
                      loop_model="none", cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    e = r["candidates"][0]
    assert e["label"] == "polly" and e["status"] == "ok", e
    assert e["pipelines"] == [POLLY_LABEL] and not e.get("identical")  # another binary, timed beside -O3
    assert e["speedup"]["median"] > 0
