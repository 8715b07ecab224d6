"""The profile-guided candidate (irpipe.bench.pgo): an instrumented -O3 build runs the count
workload, its profile is merged, and -O3 with that profile is screened like any candidate."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.bench.build import PGO_GEN, Builder, TUPlan
from irpipe.bench.candidates import Candidate
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.bench.pgo import PGO_LABEL, profile_plan
from irpipe.bench.run import Runner
from irpipe.bench.suite import discover
from irpipe.testing.factories import one_program_suite
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

# a branchy kernel: which way the branches go is what a profile tells the compiler
PROGRAM = r'''#include <stdio.h>
#include <stdlib.h>
static unsigned step(unsigned x) { return (x & 7) == 0 ? x * 3 + 1 : (x & 1) ? x ^ (x >> 3) : x >> 1; }
int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, h = 1;
  for (unsigned i = 0; i < n; i++) h = step(h + i) * 2654435761u;
  printf("%u\n", h);
  return 0;
}
'''


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return one_program_suite(tmp_path_factory.mktemp("pgo"), "branchy", PROGRAM, ["3000000"], ["20000"])


def test_the_profile_comes_from_the_count_workload_and_keeps_the_output(suite: Path, tmp_path: Path) -> None:
    (bench,), _ = discover(suite)
    builder = Builder(bench, bench.directory, tmp_path / "work")
    runner = Runner(bench, tmp_path / "cache")
    try:
        base = builder.build("base", lambda rel, bc: TUPlan("default<O3>"))
        plan, record = profile_plan(builder, runner, base)
        assert plan is not None and record["profile_bytes"] > 0
        used = plan("branchy.c", Path())
        assert used.pgo.endswith(".profdata") and used.opt_flags()[0] == "-pgo-kind=pgo-instr-use-pipeline"
        assert TUPlan("default<O3>", pgo=PGO_GEN).opt_flags() == ["-pgo-kind=pgo-instr-gen-pipeline"]
        profiled = builder.build("pgo", plan)
        assert runner.run(profiled.exe).sha256 == bench.expected_sha256  # same output as -O3 prints
        assert profiled.exe.read_bytes() != base.exe.read_bytes()
    finally:
        runner.close()


def test_bench_optimize_screens_the_profiled_build(suite: Path, tmp_path: Path) -> None:
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=2, callgrind=False,
                      verify=1, loop_model="none", pgo=True, cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    e = r["candidates"][0]
    assert r["status"] == "ok" and e["status"] == "ok" and e["pgo"]["profile_bytes"] > 0
    assert any(t["pipeline"] == PGO_LABEL for t in e["screened"])
    assert BenchConfig(suite="s").key() == BenchConfig(suite="s", pgo=False).key() != BenchConfig(suite="s", pgo=True).key()
