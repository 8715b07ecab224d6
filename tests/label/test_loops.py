"""irpipe.label.loops: the decision space, the loop listing, labels of one tiny generated program."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from irpipe.label import loops
from irpipe.label.programs import generate
from irpipe.llvm.loops import loop_advice_doc, parse_loop_listing
from irpipe.optimize import advice
from irpipe.runtime import jsonfile
from irpipe.runtime.shards import read_shard, write_parquet
from irpipe.schema import LOOP_BODY_FACTS, LOOP_LABELS, stamped, to_table, validate
from irpipe.testing.gates import requires_llvm

requires_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
LISTED = ['irpipe: loop {"id":"main/L0","depth":1,"blocks":3,"trip_count":null,'
          '"strict_fp_reduction":false,"strict_fp_induction":false}',
          'irpipe: loop {"id":"main/L0.0","depth":2,"blocks":1,"trip_count":100,'
          '"strict_fp_reduction":true,"strict_fp_induction":false}']


def test_listing_parser_moved_below_label() -> None:
    text = "\n".join(["warning: something else", *LISTED])
    got = parse_loop_listing(text)
    assert [g["id"] for g in got] == ["main/L0", "main/L0.0"] and got[1]["trip_count"] == 100


def test_decision_space(monkeypatch: pytest.MonkeyPatch) -> None:
    outer, inner = parse_loop_listing("\n".join(LISTED))
    ids = ["main/L0", "main/L0.0"]
    space = loops.decision_space(outer, ids)
    assert {"unroll_and_jam": 2} in space and {"unroll": "off"} in space and {"distribute": True} in space
    assert {"unroll_and_jam": 2} not in loops.decision_space(inner, ids)
    assert not advice.loop_errors({o["id"]: d for o in (outer, inner) for d in loops.decision_space(o, ids)})
    # a forced vectorization is never offered for a strict FP loop
    monkeypatch.setattr(loops, "BASIC_DECISIONS", (*loops.BASIC_DECISIONS, {"vectorize": 4}, {"vectorize": "on"}))
    assert {"vectorize": 4} in loops.decision_space(outer, ids)
    assert not [d for d in loops.decision_space(inner, ids) if d.get("vectorize") not in (None, "off")]
    assert loops.decision_key({"unroll": 4, "interleave": 2}) == '{"interleave":2,"unroll":4}'


def test_advice_doc_is_a_v2_advice_file(tmp_path: Path) -> None:
    path = jsonfile.write(tmp_path / "a.json", loop_advice_doc({"main/L0": {"unroll": 4}}))
    (entry,) = advice.read(path)
    assert entry["source"] == "*" and entry["loops"] == {"main/L0": {"unroll": 4}}
    assert json.loads(path.read_text())["version"] == 2


def row(**extra: object) -> dict:
    base = {"program": "gen-s1-0001-reduction", "family": "reduction", "loop_id": "main/L2.0", "depth": 2,
            "blocks": 1, "trip_count": 100, "subloops": None, "strict_fp_reduction": False, "strict_fp_induction": False,
            **{k: 3 for k in LOOP_BODY_FACTS}, "decision": '{"unroll":4}', "count_args": ["400000"], "cycles": 9.5e6, "baseline_cycles": 1e7,
            "ratio": 0.95, "same_binary": False, "output_ok": True, "error": None}
    return {**base, **extra}


def test_loop_labels_schema_round_trip(tmp_path: Path) -> None:
    rows = [row(), row(decision='{"vectorize":"off"}', cycles=None, ratio=None, output_ok=False,
                       error="build: clang-22 exited 1")]
    table = to_table(rows, "loop_labels")
    validate(table, "loop_labels")
    write_parquet(table, tmp_path / "l.parquet")
    back = read_shard(tmp_path / "l.parquet", "loop_labels")
    assert back.schema.names == LOOP_LABELS.names and back.to_pylist() == rows
    with pytest.raises(ValueError, match="nulls in a non-nullable"):
        validate(to_table([row(output_ok=None)], "loop_labels"), "loop_labels")


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated program (the reduction of corpus seed 1: about 0.5 s under cachegrind)."""
    return generate(tmp_path_factory.mktemp("programs"), 2, 1)[1]


def one_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restrict the space to one decision on the first loop."""
    def space(loop: dict, ids: list[str]) -> list[dict]:
        return [{"unroll": "off"}] if loop["id"] == ids[0] else []
    monkeypatch.setattr(loops, "decision_space", space)


@requires_llvm
@requires_valgrind
def test_labels_one_decision(program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_decision(monkeypatch)
    stage = loops.LoopLabeler()
    stage.setup()
    try:
        result = stage.process(program)
    finally:
        stage.close()
    assert not result.failures and result.stats["loops"] >= 2
    (r,) = result.rows["loop_labels"]
    assert r["program"] == program.name and r["family"] == "reduction" and r["loop_id"] == "main/L0"
    assert r["decision"] == '{"unroll":"off"}' and r["output_ok"] and r["error"] is None
    assert r["baseline_cycles"] > 1e5 and r["ratio"] == pytest.approx(r["cycles"] / r["baseline_cycles"])
    assert isinstance(r["same_binary"], bool)
    validate(to_table(result.rows["loop_labels"], "loop_labels"), "loop_labels")


@requires_llvm
@requires_valgrind
def test_wrong_output_is_recorded_never_a_win(program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_decision(monkeypatch)
    monkeypatch.setattr(loops, "outputs_match", lambda reference, got: False)
    stage = loops.LoopLabeler()
    stage.setup()
    try:
        (r,) = stage.process(program).rows["loop_labels"]
    finally:
        stage.close()
    assert r["output_ok"] is False and r["error"] == loops.MISMATCH and r["cycles"] is not None


def v2_table(rows: list[dict]) -> pa.Table:
    """``rows`` as a LOOP_LABELS table of schema v2 (before the loop body facts)."""
    schema = stamped(pa.schema([f for f in LOOP_LABELS if f.name not in LOOP_BODY_FACTS]), "loop_labels")
    schema = schema.with_metadata({**schema.metadata, b"irpipe.schema_version": b"2"})
    return pa.Table.from_pylist([{k: v for k, v in r.items() if k not in LOOP_BODY_FACTS} for r in rows],
                                schema=schema)


@requires_llvm
def test_refresh_facts_gives_v2_labels_the_body_facts(program: Path, tmp_path: Path) -> None:
    stage = loops.LoopLabeler()
    stage.setup()
    try:
        listed = stage.listing(loops.load_program(program))
        rows = [row(program=program.name, loop_id=lp["id"], depth=lp["depth"], blocks=lp["blocks"],
                    trip_count=lp["trip_count"]) for lp in listed]
        write_parquet(v2_table(rows), tmp_path / "v2.parquet")
        old = read_shard(tmp_path / "v2.parquet", "loop_labels")  # a v2 table still reads
        assert "loads" not in old.schema.names
        new = loops.refresh_facts(old, stage, tmp_path / "work").to_pylist()
        assert [r["loop_id"] for r in new] == [lp["id"] for lp in listed]
        assert all(r[k] == lp[k] for r, lp in zip(new, listed) for k in LOOP_BODY_FACTS)
        assert any(r["loads"] for r in new) and all(r["instructions"] > 0 for r in new)
        assert all(r["ratio"] == 0.95 for r in new)  # the labels stay as they were
        with pytest.raises(loops.IrpipeError, match="depth was 9"):  # facts that moved are an error
            loops.refresh_facts(v2_table([{**rows[0], "depth": 9}]), stage, tmp_path / "work")
        with pytest.raises(loops.IrpipeError, match="not in today's listing"):
            loops.refresh_facts(v2_table([{**rows[0], "loop_id": "main/L99"}]), stage, tmp_path / "work")
    finally:
        stage.close()


@requires_llvm
def test_a_program_that_does_not_build_is_a_failure_row(program: Path, tmp_path: Path) -> None:
    broken = tmp_path / program.name
    shutil.copytree(program, broken)
    (broken / f"{program.name}.c").write_text("int main(void) { return x; }\n")
    stage = loops.LoopLabeler()
    stage.setup()
    try:
        result = stage.process(broken)
    finally:
        stage.close()
    assert not result.rows and result.stats["failed"] == 1
    (f,) = result.failures
    assert f["stage"] == "label" and "clang" in f["error"]
    to_table(result.failures, "failures")


@pytest.mark.slow
@requires_llvm
@requires_valgrind
def test_labels_every_loop_of_a_program(program: Path) -> None:
    stage = loops.LoopLabeler()
    stage.setup()
    try:
        result = stage.process(program)
    finally:
        stage.close()
    rows = result.rows["loop_labels"]
    assert len({r["loop_id"] for r in rows}) == result.stats["loops"] and len(rows) >= 9 * result.stats["loops"]
    assert all(r["output_ok"] for r in rows)
    assert any(r["same_binary"] for r in rows) and any(not r["same_binary"] for r in rows)


@requires_llvm
def test_short_trip_families_list_loops_of_unknown_trip_count(tmp_path: Path) -> None:
    """The search and shortrow families exist for loops the loop nests lack: a data-dependent
    trip count (unknown to LLVM) and, for searches, a second exit (two conditional branches)."""
    from irpipe.label.programs import SHORT_TRIPS

    stage = loops.LoopLabeler()
    stage.setup()
    try:
        listed = {d.name: stage.listing(loops.load_program(d))
                  for d in generate(tmp_path, 4, seed=5, families=SHORT_TRIPS)}
    finally:
        stage.close()
    for name, listing in listed.items():
        assert any(lp["trip_count"] is None and lp["depth"] >= 2 for lp in listing), name
    searches = [lp for name, ls in listed.items() if name.endswith("-search") for lp in ls]
    assert any(lp["trip_count"] is None and lp["cond_branches"] >= 2 for lp in searches)


def test_profile_lines_add_up_and_hot_loops_are_the_busiest() -> None:
    from irpipe.llvm.loops import hot_loops, parse_loop_profile

    text = ("other output\nirpipe: loop-profile main/L0 1 10\nirpipe: loop-profile f/L0.1 10 900\n"
            "irpipe: loop-profile main/L0 1 5\nirpipe: loop-profile g/L0 3 4\n")
    counts = parse_loop_profile(text)
    assert counts == {"main/L0": (2, 15), "f/L0.1": (10, 900), "g/L0": (3, 4)}
    assert hot_loops(counts, 2) == ["f/L0.1", "main/L0"]
    assert hot_loops(counts, 5, share=0.05) == ["f/L0.1"]  # g/L0 and main/L0 run under 5% of the iterations
    assert hot_loops({}, 3) == [] and hot_loops(counts, 0) == []
    with pytest.raises(ValueError, match="line 1"):
        parse_loop_profile("irpipe: loop-profile main/L0 one 2\n")


HOT_CXX = r'''#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::vector<unsigned> v(n);
  for (int i = 0; i < n; i++) v[i] = (unsigned)i * 2654435761u;     // n iterations
  unsigned h = 0;
  for (int r = 0; r < 50; r++)                                        // the hot nest: 50 * n
    for (int i = 0; i < n; i++) h = (h ^ v[i]) * 16777619u + (unsigned)r;
  std::printf("%u\n", h);
  return 0;
}
'''


@requires_llvm
@requires_valgrind
def test_hot_labels_only_the_busiest_loops_of_a_cxx_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "hot"
    d.mkdir()
    (d / "hot.cpp").write_text(HOT_CXX)
    (d / "benchmark.toml").write_text('sources = ["hot.cpp"]\ncflags = ["-std=c++17"]\nargs = ["3000"]\n'
                                      'count_args = ["400"]\ntimeout = 30\n')
    monkeypatch.setattr(loops, "decision_space", lambda loop, ids: [{"unroll": 2}])
    stage = loops.LoopLabeler(hot=1)
    stage.setup()
    try:
        program = loops.load_program(d)
        counts = stage.profile(program)
        listed = [lp["id"] for lp in stage.listing(program)]
        result = stage.process(d)
    finally:
        stage.close()
    assert set(counts) <= set(listed) and max(it for _, it in counts.values()) >= 50 * 400
    hottest = max(counts, key=lambda lid: counts[lid][1])
    assert [r["loop_id"] for r in result.rows["loop_labels"]] == [hottest] and result.stats["loops"] == 1
    assert result.rows["loop_labels"][0]["output_ok"]
