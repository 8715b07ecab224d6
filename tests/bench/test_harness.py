"""irpipe bench end to end on tiny programs written at test time: real clang/opt/llc/valgrind.

Every way a program can fail is reported with its status and never counted as a speedup."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from irpipe.bench.candidates import Candidate
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.bench.report import chart, table
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

GOOD = r'''#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000, h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ (i * 7u)) * 16777619u;
  printf("%u\n", h);
  return 0;
}
'''
PROGRAMS = {
    "good": GOOD,
    "nobuild": "int main(void) { return undefined_thing; }\n",
    "crash": "#include <stdlib.h>\nint main(void) { abort(); }\n",
    "hang": "int main(void) { volatile int x = 1; while (x) {} return 0; }\n",
    "random": '#include <stdio.h>\n#include <time.h>\n#include <unistd.h>\n'
              'int main(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); '
              'printf("%ld %d\\n", t.tv_nsec, getpid()); return 0; }\n',
    # signed overflow is UB: -O0 prints 0, -O3 folds the test to 1 (a "miscompile" of a UB program)
    "ub": '#include <stdio.h>\n#include <stdlib.h>\nint f(int x) { return x + 1 > x; }\n'
          'int main(int c, char **v) { printf("%d\\n", f(atoi(v[1]))); return 0; }\n',
}


def good_hash(args: list[str], tmp: Path) -> str:
    src = tmp / "g.c"
    src.write_text(GOOD)
    subprocess.run(["clang-22", "-O1", str(src), "-o", str(tmp / "g")], check=True)
    return hashlib.sha256(subprocess.run([str(tmp / "g"), *args], capture_output=True, check=True).stdout).hexdigest()


def make_suite(root: Path, hashes: dict[str, str | None], args: dict[str, list[str]]) -> Path:
    for name, src in PROGRAMS.items():
        d = root / "suite" / name
        d.mkdir(parents=True)
        (d / f"{name}.c").write_text(src)
        lines = [f'sources = ["{name}.c"]', f"args = {json.dumps(args.get(name, []))}", "timeout = 2"]
        if hashes.get(name):
            lines.append(f'expected_sha256 = "{hashes[name]}"')
        (d / "benchmark.toml").write_text("\n".join(lines) + "\n")
    return root / "suite"


def test_statuses_and_a_counted_program(tmp_path: Path) -> None:
    h = good_hash(["20000"], tmp_path)
    suite = make_suite(tmp_path, {"good": h, "crash": h, "hang": h, "random": h, "nobuild": h}, {"good": ["20000"], "ub": ["2147483647"]})
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("pipeline", "default<O1>"),
                                                    Candidate("pipeline", "default<O3>")],
                      rounds=3, callgrind=True, cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    status = {r["name"]: r["status"] for r in doc["results"]}
    assert status == {"good": "ok", "nobuild": "build-failed", "crash": "crashed", "hang": "timeout",
                      "random": "nondeterministic", "ub": "no-hash"}
    assert doc["counted"] == 1 and set(doc["not_counted"]) == {"nobuild", "crash", "hang", "random", "ub"}
    ub = next(r for r in doc["results"] if r["name"] == "ub")
    assert "the baseline prints sha256" in ub["detail"]
    good = next(r for r in doc["results"] if r["name"] == "good")
    cand, same = good["candidates"]
    # a candidate that builds the baseline's very binary is 1 by construction, never timed
    assert same["identical"] and same["speedup"] == {"median": 1.0, "ci95": [1.0, 1.0]} and "cpu" not in same
    assert cand["status"] == "ok" and len(cand["cpu"]) == 3 and cand["verdict"] in ("faster", "same", "slower")
    lo, hi = cand["speedup"]["ci95"]
    assert lo <= cand["speedup"]["median"] <= hi
    assert good["baseline"]["instructions"] > 0 and cand["instr_ratio"] > 0 and good["baseline"]["text_bytes"] > 0
    assert doc["summary"][0]["programs"] == 1 and "aa" in good and doc["summary"][1]["identical_to_baseline"] == 1
    text = table(doc)
    assert "| good | pipeline default<O1> | ok |" in text and "the baseline's binary" in text and "| crash |  | crashed |" in text
    assert chart(doc, tmp_path / "b.png").stat().st_size > 1000
    # a re-run resumes every finished program; a wrong hash is caught
    doc2 = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    assert doc2["results"] == doc["results"]
    (suite / "good" / "benchmark.toml").write_text(
        (suite / "good" / "benchmark.toml").read_text().replace(h, "0" * 64))
    doc3 = bench_suite(BenchConfig(**{**cfg.__dict__, "only": ["good"]}), tmp_path / "out", log=lambda m: None)
    assert [r["status"] for r in doc3["results"]] == ["wrong-hash"]


def test_a_candidate_that_changes_the_output_is_a_mismatch(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, {}, {"ub": ["2147483647"]})
    ub_dir = suite / "ub"
    (ub_dir / "benchmark.toml").write_text((ub_dir / "benchmark.toml").read_text()
                                           + 'expected_sha256 = "' + hashlib.sha256(b"0\n").hexdigest() + '"\n')
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("pipeline", "default<O3>")], baseline="O0",
                      rounds=2, callgrind=False, only=["ub"], cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    assert r["status"] == "ok" and r["candidates"][0]["status"] == "mismatch"
    assert "speedup" not in r["candidates"][0] and doc["summary"][0]["mismatch"] == 1
    assert doc["summary"][0]["geomean_speedup"] is None


def test_bad_candidates_are_refused(tmp_path: Path) -> None:
    from irpipe.errors import ConfigError
    with pytest.raises(ConfigError, match="choose from pipeline, advice, optimize, search"):
        Candidate("magic")
    with pytest.raises(ConfigError, match="needs an argument"):
        Candidate("advice")
    with pytest.raises(ValueError):
        Candidate("pipeline", "function(no-such-pass)")


@pytest.mark.parametrize("interval, rounds", [(10.0, 2), (0.0, 5)])
def test_rounds_are_added_until_the_intervals_are_narrow_or_the_cap(tmp_path: Path, interval: float,
                                                                    rounds: int) -> None:
    import os

    h = good_hash(["20000"], tmp_path)
    suite = make_suite(tmp_path, {"good": h}, {"good": ["20000"]})
    cpu = max(os.sched_getaffinity(0))
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("pipeline", "default<O1>")], rounds=2, max_rounds=5,
                      interval=interval, pin_cpu=cpu, callgrind=False, only=["good"], cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (good,) = doc["results"]
    # a width nothing misses stops at the minimum; a width nothing meets runs to the cap (5: a pair, then one)
    assert good["rounds"] == rounds and len(good["baseline"]["cpu"]) == rounds
    assert len(good["candidates"][0]["cpu"]) == rounds
    assert doc["rounds"] == {"min": rounds, "median": rounds, "max": rounds, "at_cap": int(rounds == 5)}
    assert f"pinned to CPU {cpu}" in table(doc)
