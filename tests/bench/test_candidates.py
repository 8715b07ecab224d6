"""Candidates that need the model or the plugin: optimize (speed and size) and advice files."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from irpipe.bench.candidates import SPEED_SPACE, Candidate, speed_space
from irpipe.bench.harness import BenchConfig, bench_suite
from irpipe.llvm import native
from irpipe.optimize.wholeprogram import LTO_LABEL
from irpipe.optimize.polly import POLLY_LABEL
from irpipe.optimize.speed import LOOPS_LABEL
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm
DEFAULT = Path(__file__).resolve().parents[2] / "models" / "default"

# two translation units, so advice can name one of them
MAIN = r'''#include <stdio.h>
unsigned mix(unsigned h, unsigned i);
int main(void) { unsigned h = 1; for (unsigned i = 0; i < 300000; i++) h = mix(h, i); printf("%u\n", h); return 0; }
'''
MIX = "static unsigned sq(unsigned x) { return x * x; }\nunsigned mix(unsigned h, unsigned i) { return (h ^ sq(i)) * 16777619u; }\n"


def expected() -> str:
    h = 1
    for i in range(300000):
        h = ((h ^ (i * i % 2**32)) * 16777619) % 2**32
    return hashlib.sha256(f"{h}\n".encode()).hexdigest()


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    d = tmp_path / "suite" / "two"
    d.mkdir(parents=True)
    (d / "main.c").write_text(MAIN)
    (d / "mix.c").write_text(MIX)
    (d / "benchmark.toml").write_text(f'sources = ["main.c", "mix.c"]\nexpected_sha256 = "{expected()}"\n')
    return tmp_path / "suite"


def test_optimize_speed_screens_and_reports(suite: Path, tmp_path: Path) -> None:
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize")], rounds=2, callgrind=False,
                      model=str(DEFAULT), verify=3, cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    e = r["candidates"][0]
    assert r["status"] == "ok" and r["tus"] == 2 and e["status"] == "ok"
    assert e["selected"] in speed_space(None, 0) or "<O" in e["selected"]
    screened = [t for t in e["screened"] if "confirm_speedup" not in t and "fresh_speedup" not in t]
    # verify 3: -O3 (the baseline) and two pipelines, then -O3 with the loop policy's decisions, with Polly,
    # and the whole program in one module
    assert len(screened) == 5 and all("screen_speedup" in t or "error" in t for t in screened)
    assert [t["pipeline"] for t in screened[-3:]] == [LOOPS_LABEL, POLLY_LABEL, LTO_LABEL]
    if not native.plugin_path().is_file():
        assert "pass plugin" in screened[-2]["error"]
    if e["selected"] == LOOPS_LABEL:  # TUs the policy leaves alone keep -O3
        assert set(e["pipelines"]) <= {"default<O3>", LOOPS_LABEL} and LOOPS_LABEL in e["pipelines"]
        assert e["loops"] and all(k in ("main.c", "mix.c") for k in e["loops"])
    else:
        assert e["pipelines"] == [e["selected"]]


def test_speed_space_puts_the_baseline_first() -> None:
    assert speed_space(None, 0) == list(SPEED_SPACE) and speed_space(None, 2) == list(SPEED_SPACE[:2])


def test_optimize_size_and_advice(suite: Path, tmp_path: Path) -> None:
    if not native.plugin_path().is_file():
        pytest.skip("the pass plugin is not built (make native)")
    advice = tmp_path / "advice.json"
    advice.write_text(json.dumps({"format": "irpipe.advice", "version": 1, "modules": [
        {"structural_hash": "", "source": "mix.c", "objective": "size", "pipeline": "default<Oz>",
         "functions": {"mix": "function(instcombine)"}}]}))
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("optimize"), Candidate("advice", str(advice))],
                      objective="size", baseline="Oz", callgrind=False, model=str(DEFAULT),
                      cache=str(tmp_path / "cache"), plugin=str(native.plugin_path()))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    opt, adv = r["candidates"]
    assert opt["status"] == "ok" and opt["text_ratio"] >= 1.0  # optimize never loses to -Oz on .text per TU
    assert adv["status"] == "ok" and adv["pipelines"] == ["default<Oz>"]
    assert doc["summary"][1]["smaller"] + doc["summary"][1]["larger"] <= 1 and "cpu" not in opt  # size: never timed


def test_loop_candidates_policy_and_static_rule(suite: Path, tmp_path: Path) -> None:
    """`loops` (the policy) and `loops RULE` (one decision everywhere): built on every TU, nothing
    screened, outputs checked and measured beside -O3 like any candidate."""
    if not native.plugin_path().is_file():
        pytest.skip("the pass plugin is not built (make native)")
    cfg = BenchConfig(suite=str(suite), candidates=[Candidate("loops"), Candidate("loops", '{"unroll": 2}')],
                      rounds=2, callgrind=False, cache=str(tmp_path / "cache"))
    doc = bench_suite(cfg, tmp_path / "out", log=lambda m: None)
    (r,) = doc["results"]
    policy, rule = r["candidates"]
    assert policy["label"] == "loops" and policy["status"] == "ok" and "loop-decisions" in policy["loops_from"]
    assert rule["label"] == 'loops {"unroll": 2}' and rule["status"] == "ok"
    assert LOOPS_LABEL in rule["pipelines"]  # main.c's loop takes the rule; mix.c has no loop
    assert "screened" not in rule and "speedup" in rule and rule["text_bytes"] > 0  # measured, not selected


def test_loop_candidates_need_speed_and_o3(suite: Path, tmp_path: Path) -> None:
    from irpipe.bench.suite import SuiteError
    from irpipe.errors import ConfigError

    with pytest.raises(SuiteError, match="--objective speed and the O3 baseline"):
        bench_suite(BenchConfig(suite=str(suite), candidates=[Candidate("loops")], objective="size", baseline="Oz",
                                callgrind=False, cache=str(tmp_path / "cache")), tmp_path / "out", log=lambda m: None)
    with pytest.raises(ConfigError, match="static loop rule"):
        bench_suite(BenchConfig(suite=str(suite), candidates=[Candidate("loops", '{"unroll": 0}')], callgrind=False,
                                cache=str(tmp_path / "cache")), tmp_path / "out", log=lambda m: None)


def test_no_speed_pipeline_runs_a_fixpoint_checked_instcombine() -> None:
    """LLVM 22's opt aborts a plain ``instcombine`` that needs a second iteration (lzlib.c did):
    every speed pipeline runs it as LLVM's own pipelines do."""
    assert all(not re.search(r"instcombine(?!<no-verify-fixpoint>)", p) for p in SPEED_SPACE)
