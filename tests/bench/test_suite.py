"""benchmark.toml parsing: strict keys, workloads, inputs, source globs."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from irpipe.bench import suite
from irpipe.bench.run import RunFailed, Runner
from irpipe.bench.suite import SuiteError
from irpipe.testing.gates import requires_llvm

HASH = "ab" * 32


def write(d: Path, text: str, files: dict[str, str] | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "benchmark.toml").write_text(text)
    for name, body in (files or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(body)
    return d


def test_single_step(tmp_path: Path) -> None:
    d = write(tmp_path / "p", f'sources = ["*.c"]\nargs = ["10", 3]\nexpected_sha256 = "{HASH.upper()}"\n',
              {"a.c": "", "b.c": "", "sub/x.c": ""})
    b = suite.load(d)
    assert b.name == "p" and b.language == "c" and b.ldflags == ("-lm",)
    assert b.steps == (suite.Step(("10", "3")),) and b.count_steps == b.steps
    assert b.expected_sha256 == HASH
    assert suite.source_files(b, d) == ["a.c", "b.c"]


def test_multi_step_inputs_and_cxx(tmp_path: Path) -> None:
    d = write(tmp_path / "q", '''name = "zz"
sources = ["**/*.cpp"]
exclude = ["t/*.cpp"]
[[input]]
file = "in.txt"
generate = "lines"
bytes = 1000
seed = 3
[[input]]
file = "s.lua"
copy = "s.lua"
[[run]]
args = ["-c", "in.txt"]
stdout = "c.out"
[[run]]
args = ["-d"]
stdin = "c.out"
[[count_run]]
args = ["x"]
''', {"m.cpp": "", "t/u.cpp": "", "s.lua": "print(1)"})
    b = suite.load(d / "benchmark.toml")
    assert b.name == "zz" and b.is_cxx and suite.source_files(b, d) == ["m.cpp"]
    assert [s.stdout for s in b.steps] == ["c.out", None] and b.steps[1].stdin == "c.out"
    assert b.count_steps == (suite.Step(("x",)),)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    suite.materialize_inputs(b, scratch, tmp_path / "cache")
    assert (scratch / "s.lua").read_text() == "print(1)" and (scratch / "m.cpp").is_symlink()
    assert not (scratch / "benchmark.toml").exists() and not (scratch / "s.lua").is_symlink()
    data = (scratch / "in.txt").read_bytes()
    assert len(data) == 1000 and data == suite.generate("lines", 1000, 3)  # deterministic
    assert suite.generate("binary", 64, 1) != suite.generate("binary", 64, 2)


@pytest.mark.parametrize("text, message", [
    ('args = []\n', "`sources` is required"),
    ('sources = ["a.c"]\nargz = []\n', "unknown key(s) argz"),
    ('sources = ["a.c"]\nexpected_sha256 = "abc"\n', "64 hex digits"),
    ('sources = "a.c"\n', "expected a list of strings"),
    ('sources = ["a.c"]\nargs = []\n[[run]]\nargs = []\n', "either `args` or [[run]]"),
    ('sources = ["a.c"]\n[[run]]\nargs = []\nstatus = "10"\n', "[[run]][0].status: expected an exit status"),
    ('sources = ["a.c"]\n[[run]]\nargs = []\nstatus = 256\n', "exit status 0..255"),
    ('sources = ["a.c"]\n[source]\ndebian = "zlib"\n', "pinned `version`"),
    ('sources = ["a.c"]\n[[input]]\nfile = "x"\ngenerate = "noise"\n', "choose from text, lines, binary"),
    ('sources = ["a.c"\n', "benchmark.toml"),
])
def test_malformed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SuiteError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        suite.load(write(tmp_path / "bad", text))


def test_discover_keeps_going_past_a_bad_file(tmp_path: Path) -> None:
    write(tmp_path / "good", 'sources = ["a.c"]\n', {"a.c": ""})
    write(tmp_path / "bad", 'nonsense = 1\n')
    found, problems = suite.discover(tmp_path)
    assert [b.name for b in found] == ["good"] and list(problems) == ["bad"]
    with pytest.raises(SuiteError, match="not a directory"):
        suite.discover(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="no benchmark.toml"):
        suite.discover(tmp_path / "empty")


def test_missing_source_is_named(tmp_path: Path) -> None:
    b = suite.load(write(tmp_path / "p", 'sources = ["nothere.c"]\n'))
    with pytest.raises(SuiteError, match="'nothere.c' matches no file"):
        suite.source_files(b, b.directory)


def test_the_shipped_suite_parses() -> None:
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "suite"
    found, problems = suite.discover(root)
    assert not problems
    assert all(b.expected_sha256 for b in found)
    assert sum(b.debian is None for b in found) >= 25 and sum(b.debian is not None for b in found) >= 4


@pytest.mark.slow
@pytest.mark.network
def test_a_debian_program_fetches_builds_and_matches_its_hash(tmp_path: Path) -> None:
    """deb-src fetch, prepare, build through IR, run the workload: the committed hash holds."""
    from irpipe.bench.harness import BenchConfig, bench_suite

    root = Path(__file__).resolve().parents[2] / "benchmarks" / "suite"
    cfg = BenchConfig(suite=str(root), candidates=[], rounds=0, callgrind=False, only=["debian-bzip2"])
    doc = bench_suite(cfg, tmp_path, resume=False, log=lambda m: None)
    assert [r["status"] for r in doc["results"]] == ["ok"]


@requires_llvm
def test_a_step_may_name_its_exit_status(tmp_path: Path) -> None:
    """A SAT solver exits 10 or 20: a step says so (``status``), and any other status fails it."""
    d = write(tmp_path / "sat", 'sources = ["a.c"]\n[[run]]\nargs = ["sat"]\nstatus = 10\n[[run]]\nargs = []\n',
              {"a.c": '#include <stdio.h>\nint main(int c, char **v) { puts("s"); return c > 1 ? 10 : 0; }\n'})
    exe = tmp_path / "a"
    subprocess.run(["clang-22", "-O1", str(d / "a.c"), "-o", str(exe)], check=True)
    b = suite.load(d)
    assert [s.status for s in b.steps] == [10, 0]
    assert Runner(b, tmp_path / "cache").run(exe).sha256 == hashlib.sha256(b"s\ns\n").hexdigest()
    with pytest.raises(RunFailed, match=r"step 1 \(sat\) exited 10$"):
        Runner(replace(b, steps=(suite.Step(("sat",)),)), tmp_path / "cache").run(exe)
    with pytest.raises(RunFailed, match=r"step 1 \(\) exited 0, not 20"):
        Runner(replace(b, steps=(suite.Step((), status=20),)), tmp_path / "cache").run(exe)
