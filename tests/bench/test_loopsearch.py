"""The per-loop search by running the program (irpipe.bench.loopsearch): hot loops from a
counting run, found in the TU that holds them, screened one decision at a time."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from irpipe.bench.build import Builder, TUPlan
from irpipe.bench.candidates import Candidate
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.bench.loopsearch import SEARCH_LABEL, label_rows, plan_of_search, search_loops
from irpipe.bench.run import Runner
from irpipe.bench.suite import HELD_OUT, discover, is_held_out
from irpipe.label.loops import MISMATCH, decision_key
from irpipe.llvm import native
from irpipe.nn.loop_policy import FEATURES, loop_features
from irpipe.runtime.shards import read_shard
from irpipe.schema import to_table
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

# the hot loop is in kernel.c; main.c has a short loop of its own
MAIN = r'''#include <stdio.h>
unsigned kernel(const unsigned *a, unsigned n);
int main(void) {
  static unsigned a[4096];
  for (unsigned i = 0; i < 4096; i++) a[i] = i * 2654435761u;
  unsigned h = 0;
  for (unsigned r = 0; r < 300; r++) h += kernel(a, 4096 - r);
  printf("%u\n", h);
  return 0;
}
'''
KERNEL = r'''unsigned kernel(const unsigned *a, unsigned n) {
  unsigned h = 0;
  for (unsigned i = 0; i < n; i++) h = (h ^ a[i]) * 16777619u + (a[i] >> 3);
  return h;
}
'''


def _expected() -> str:
    a = [(i * 2654435761) % 2**32 for i in range(4096)]
    total = 0
    for r in range(300):
        h = 0
        for i in range(4096 - r):
            h = (((h ^ a[i]) * 16777619) + (a[i] >> 3)) % 2**32
        total = (total + h) % 2**32
    return hashlib.sha256(f"{total}\n".encode()).hexdigest()


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not native.plugin_path().is_file():
        pytest.skip("the pass plugin is not built (make native)")
    d = tmp_path_factory.mktemp("ls") / "suite" / "hot"
    d.mkdir(parents=True)
    (d / "main.c").write_text(MAIN)
    (d / "kernel.c").write_text(KERNEL)
    (d / "benchmark.toml").write_text(f'sources = ["main.c", "kernel.c"]\nexpected_sha256 = "{_expected()}"\n')
    return d.parent


@pytest.mark.parametrize("by", ["proxy", "time"])
def test_the_hot_loop_is_searched_in_its_own_unit(suite: Path, tmp_path: Path, by: str) -> None:
    (bench,), _ = discover(suite)
    builder = Builder(bench, bench.directory, tmp_path / "work", plugin=native.plugin_path())
    runner = Runner(bench, tmp_path / "cache")
    compiled: list[str] = []
    step = builder._step
    builder._step = lambda tool, args, what, cwd=None: (compiled.append(what), step(tool, args, what, cwd))[1]
    try:
        base = builder.build("base", lambda rel, bc: TUPlan("default<O3>"))
        reference = runner.run(base.exe).sha256
        assert reference == _expected()
        compiled.clear()
        decisions = ({"unroll": 2}, {"vectorize": "off"}, {"unroll_and_jam": 2})
        found = search_loops(builder, runner, base, reference, top=1, decisions=decisions, by=by)
    finally:
        runner.close()
    (hot,) = found.hot
    assert hot["unit"] == "kernel.c" and hot["loop"].startswith("kernel/L") and hot["iterations"] > 10**6
    # unroll-and-jam needs subloops: two scores, each with its decision and a speedup
    assert [t["decision"] for t in found.tried] == list(decisions[:2])
    key = {"proxy": "proxy_speedup", "time": "screen_speedup"}[by]
    assert all(t["loop"] == hot["loop"] and t[key] > 0 for t in found.tried)
    assert set(found.decided) <= {"kernel.c"} and all(len(d) == 1 for d in found.decided.values())
    # the counting build compiles both units; the screens compile main.c once, kernel.c each time
    assert sum("on main.c" in w for w in compiled if w.startswith("opt")) == 2
    assert sum("on kernel.c" in w for w in compiled if w.startswith("opt")) == 3
    plan = plan_of_search(found)
    assert plan("main.c", Path()) == TUPlan("default<O3>")
    assert plan("kernel.c", Path()).loops == found.decided.get("kernel.c")


def test_bench_optimize_reports_the_search(suite: Path, tmp_path: Path) -> None:
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=2, callgrind=False,
                      verify=1, loop_model="none", loop_search=1, cache=str(tmp_path / "cache"),
                      plugin=str(native.plugin_path()))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    e = r["candidates"][0]
    assert r["status"] == "ok" and e["status"] == "ok"
    search = e["loop_search"]
    assert [h["unit"] for h in search["hot"]] == ["kernel.c"] and len(search["scores"]) >= 7
    assert search["hot"][0]["facts"]["depth"] == 1
    if search["decided"]:  # then the combined decisions were screened like any candidate
        assert any(t["pipeline"] == SEARCH_LABEL for t in e["screened"])
    if e["selected"] == SEARCH_LABEL:
        assert e["loops"] == search["decided"]
    # the proxy scores are labels: one LOOP_LABELS row per score, the loop's facts from the listing
    labels = read_shard(tmp_path / "out" / "loop_labels.parquet", "loop_labels").to_pylist()
    assert len(labels) == len(search["scores"])
    assert {(x["program"], x["family"], x["loop_id"]) for x in labels} == {("hot/kernel.c", "hot", search["hot"][0]["loop"])}
    assert [x["decision"] for x in labels] == [decision_key(s["decision"]) for s in search["scores"]]
    for x, s in zip(labels, search["scores"]):
        assert x["output_ok"] and x["error"] is None and x["depth"] == 1 and x["blocks"] >= 1 and x["subloops"] == 0
        assert x["baseline_cycles"] > 0 and abs(x["baseline_cycles"] / x["cycles"] - s["proxy_speedup"]) < 1e-3
        assert x["ratio"] == x["cycles"] / x["baseline_cycles"] and x["count_args"] == [""]


def test_label_rows_keep_failures_and_mismatches_and_skip_time_scores() -> None:
    facts = {"depth": 1, "blocks": 2, "subloops": 1}
    summary = {"hot": [{"unit": "a.c", "loop": "f/L0", "iterations": 5, "facts": facts}], "scores": [
        {"unit": "a.c", "loop": "f/L0", "decision": {"unroll": 2}, "proxy_speedup": 1.25, "cycles": 80.0,
         "baseline_cycles": 100.0, "same_binary": False},
        {"unit": "a.c", "loop": "f/L0", "decision": {"unroll": 4}, "cycles": 90.0, "baseline_cycles": 100.0,
         "same_binary": False, "error": "output differs from the baseline's (never chosen)"},
        {"unit": "a.c", "loop": "f/L0", "decision": {"unroll": 8}, "error": "opt-22 on a.c: exit 1"}]}
    rows = label_rows("p", summary, [["-c", "in.txt"], ["-d"]])
    assert [(r["ratio"], r["output_ok"], r["error"]) for r in rows] == [
        (0.8, True, None), (0.9, False, MISMATCH), (None, False, "opt-22 on a.c: exit 1")]
    assert rows[0]["program"] == "p/a.c" and rows[0]["count_args"] == ["-c in.txt", "-d"] and rows[0]["blocks"] == 2
    # only the hot loops are labelled, so the row says how many subloops the listing gave the loop
    assert rows[0]["subloops"] == 1 and loop_features(rows[0], ["f/L0"])[FEATURES.index("log2_subloops")] == 1.0
    assert to_table(rows, "loop_labels").num_rows == 3  # conforms to the one schema
    timed = {"hot": summary["hot"], "scores": [{"unit": "a.c", "loop": "f/L0", "decision": {"unroll": 2},
                                                "screen_speedup": 1.1}]}
    assert label_rows("p", timed, [[]]) == []


def test_a_held_out_suite_is_never_labelled(suite: Path, tmp_path: Path) -> None:
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=0, callgrind=False,
                      verify=1, loop_model="none", loop_search=1, cache=str(tmp_path / "cache"),
                      plugin=str(native.plugin_path()))
    (suite / HELD_OUT).write_text("held out\n")
    try:
        assert is_held_out(suite)
        doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    finally:
        (suite / HELD_OUT).unlink()
    assert doc["results"][0]["candidates"][0]["loop_search"]["scores"]  # searched, and scored by proxy
    assert not (tmp_path / "out" / "loop_labels.parquet").exists() and not is_held_out(suite)
