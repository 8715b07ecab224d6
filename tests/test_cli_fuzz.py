"""Every bad input to every subcommand: one line naming it, a nonzero exit, no traceback, no hang.

The subcommands and their path arguments come from the parser itself (each path argument
declares its kind with an :mod:`irpipe.cli.args` marker), so a new subcommand or path
argument is fuzzed without editing this file.  Each case runs the CLI in-process
(``irpipe.cli.main.main``) under a deadline, with Ray's ``init`` replaced by a trap: the
Ray commands must refuse a bad path before Ray starts.  Paths the CLI checks itself
(missing, a directory, a FIFO, ``/dev/zero``, an output into a missing directory) must be
refused before the subcommand's ``run`` is called, i.e. before any heavy work.  A few
cases run in a real process too (exit status, signals, a FIFO that would block ``open``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from irpipe.cli import main as cli
from irpipe.cli.args import PathArg, path_arguments
from irpipe.runtime.files import shown
from irpipe.schema import TABLES, stamped
from irpipe.testing.factories import SIMPLE_IR, modules_table, write_dataset

ROOT = Path(__file__).resolve().parents[1]
#: A file name that is not UTF-8, as Python hands such an argv entry over (surrogate-escaped).
NON_UTF8 = os.fsdecode(b"bad-\xff-name")
#: Extra arguments that let a command reach the argument under test with the small fixtures:
#: evaluate reads --measurements only when the one-module dataset has modules in the split.
EXTRA = {"evaluate": ["--split", "all", "--baselines", ""]}
#: Seconds one in-process case may take (a model load included) before it counts as a hang.
DEADLINE_S = 120
#: Kinds of bad input the CLI refuses by itself, before the subcommand runs.
PRECHECKED = {"missing", "directory", "fifo", "dev-zero", "non-utf8", "regular-file", "into-missing-dir",
              "onto-directory", "under-a-file", "non-utf8-into-missing-dir", "onto-file", "onto-fifo",
              "onto-dev-zero"}
GOOD_RECIPE = '[package]\nname = "x"\nversion = "1"\n[source]\nkind = "pypi"\n'


@functools.lru_cache(maxsize=1)
def commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """``(words, parser)`` of every runnable subcommand, nested ones (``vocab pool``) included."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []

    def walk(words: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((words, parser))
        for sub in subs:
            for name, child in sub.choices.items():
                walk((*words, name), child)

    walk((), cli.build_parser())
    return found


def bad_kinds(marker: PathArg) -> list[str]:
    """The bad inputs that fit ``marker``'s kind and content."""
    if marker.kind == "out-file":
        return ["into-missing-dir", "onto-directory", "under-a-file", "non-utf8-into-missing-dir"]
    if marker.kind == "out-dir":
        return ["onto-file", "onto-fifo", "onto-dev-zero", "under-a-file"]
    kinds = ["missing", "fifo", "dev-zero", "non-utf8"]
    kinds += {"file": ["directory"], "dir": ["regular-file"], "any": []}[marker.kind]
    kinds += {"module": ["empty", "junk", "truncated-bitcode", "non-utf8-junk"],
              "mlir": ["empty", "junk", "non-utf8-junk"],
              "toml": ["empty", "junk"], "json": ["empty", "junk"],
              "recipes": ["empty", "junk", "empty-dir"],
              "shards": ["empty", "junk", "junk-parquet", "empty-parquet", "truncated-parquet",
                         "no-version-key", "mistyped-column", "missing-column", "non-utf8-junk-parquet"],
              "tables": ["empty-dir", "junk-parquet", "empty-parquet", "truncated-parquet", "no-version-key",
                         "mistyped-column"]}.get(marker.content, [])
    return kinds


def cases() -> list[tuple[tuple[str, ...], str, str]]:
    """``(command words, option, bad kind)`` for every path argument of every subcommand."""
    out = []
    for words, parser in commands():
        for action, marker in path_arguments(parser):
            option = action.option_strings[-1] if action.option_strings else action.dest
            out += [(words, option, kind) for kind in bad_kinds(marker)]
    return out


CASES = cases()


def _bad_table(kind: str, how: str) -> pa.Table:
    """A one-row table of ``kind`` spoiled ``how`` ("no-version-key", "mistyped-column",
    "missing-column"), stamped otherwise like irpipe's own."""
    table = modules_table({"a.c": SIMPLE_IR}) if kind == "modules" else stamped(TABLES[kind], kind).empty_table()
    meta = dict(table.schema.metadata)
    if how == "no-version-key":
        del meta[b"irpipe.schema_version"]
    elif how == "mistyped-column":  # the first integer or float column becomes text
        i = next(i for i, f in enumerate(table.schema) if pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
        values = pa.array([str(v) for v in table.column(i).to_pylist()], pa.string())
        table = table.set_column(i, pa.field(table.schema.field(i).name, pa.string()), values)
    elif how == "missing-column":
        table = table.drop([table.schema.names[-1]])
    return table.replace_schema_metadata(meta)


def _parquet_bytes(kind: str, how: str, good: bytes) -> bytes | pa.Table:
    raw = {"junk-parquet": b"PAR1" + os.urandom(300), "empty-parquet": b"", "truncated-parquet": good[:len(good) // 2]}
    return raw[how] if how in raw else _bad_table(kind, how)


def _put(path: Path, data: bytes | pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, pa.Table):
        pq.write_table(data, path)
    else:
        path.write_bytes(data)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good inputs (the baselines) and one instance of every bad input."""
    w = tmp_path_factory.mktemp("fuzz")
    (w / "ok.ll").write_text(SIMPLE_IR)
    (w / "ok.mlir").write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %a : tensor<4xf32>\n}\n")
    write_dataset(w / "dataset", {"a.c": SIMPLE_IR})
    shutil.copy(ROOT / "models" / "default" / "pipelines.json", w / "pipelines.json")
    (w / "config.toml").write_text('[model]\narch = "gnn"\n')
    (w / "recipe.toml").write_text(GOOD_RECIPE)
    (w / "job").mkdir()
    (w / "job" / "manifest.json").write_text("{}")
    for d in ("adir", "empty-dir", "out"):
        (w / d).mkdir()
    os.mkfifo(w / "fifo")
    (w / "empty").write_bytes(b"")
    (w / "junk").write_bytes(b"\x00\xffjunk " * 40)
    (w / NON_UTF8).write_bytes(b"\x00\xffjunk " * 40)
    bitcode = subprocess.run(["llvm-as-22", "-o", "-", str(w / "ok.ll")], capture_output=True, check=False).stdout
    (w / "truncated.bc").write_bytes(bitcode[:len(bitcode) // 2] if bitcode else b"BC\xc0\xde\x35\x14")
    good = (w / "dataset" / "c" / "train-00000.parquet").read_bytes()
    for how in ("junk-parquet", "empty-parquet", "truncated-parquet", "no-version-key", "mistyped-column",
                "missing-column"):
        _put(w / f"shards-{how}" / "c" / "train-00000.parquet", _parquet_bytes("modules", how, good))
        if how != "missing-column":
            for kind in ("labels", "measurements", "mlir_runs"):
                _put(w / f"tables-{how}" / kind / "u-r0000000.parquet", _parquet_bytes(kind, how, good))
    _put(w / f"shards-{NON_UTF8}" / "c" / "train-00000.parquet", b"PAR1" + os.urandom(300))
    return w


def bad_path(w: Path, marker: PathArg, kind: str) -> str:
    """The path of bad input ``kind`` for an argument declared with ``marker``."""
    fixed = {"missing": w / "missing", "directory": w / "adir", "fifo": w / "fifo", "dev-zero": Path("/dev/zero"),
             "non-utf8": w / "nowhere" / NON_UTF8, "regular-file": w / "junk", "empty": w / "empty",
             "junk": w / "junk", "truncated-bitcode": w / "truncated.bc", "non-utf8-junk": w / NON_UTF8,
             "empty-dir": w / "empty-dir", "into-missing-dir": w / "nowhere" / "out",
             "onto-directory": w / "adir", "under-a-file": w / "junk" / "out",
             "non-utf8-into-missing-dir": w / "nowhere" / NON_UTF8, "onto-file": w / "junk",
             "onto-fifo": w / "fifo", "onto-dev-zero": Path("/dev/zero"),
             "non-utf8-junk-parquet": w / f"shards-{NON_UTF8}"}
    if kind in fixed:
        return str(fixed[kind])
    return str(w / (f"tables-{kind}" if marker.content == "tables" else f"shards-{kind}"))


def baseline(w: Path, marker: PathArg) -> str:
    """A good value for a required path argument that is not under test."""
    if marker.kind == "out-file":
        return str(w / "out" / "result")
    if marker.kind == "out-dir":
        return str(w / "out" / "dir")
    return str({"module": w / "ok.ll", "mlir": w / "ok.mlir", "shards": w / "dataset", "json": w / "pipelines.json",
                "toml": w / "config.toml", "tables": w / "job", "recipes": w / "recipe.toml"}.get(
        marker.content, ROOT / "models" / "default" if "model" in marker.what else w / "adir"))


def argv_for(w: Path, words: tuple[str, ...], option: str, kind: str) -> tuple[list[str], str, PathArg]:
    """The command line of one case: the bad value for ``option``, good values for the rest."""
    parser = dict(commands())[words]
    positional, optional, target = [], [], None
    for action in parser._actions:
        marker = action.type if isinstance(action.type, PathArg) else None
        name = action.option_strings[-1] if action.option_strings else action.dest
        if name == option:
            value, target = bad_path(w, marker, kind), marker
        elif action.required or not action.option_strings:
            assert marker is not None, f"{' '.join(words)} {name}: required and not a path: give it a baseline"
            value = baseline(w, marker)
        else:
            continue
        if action.option_strings:
            optional += [action.option_strings[-1], value]
        else:
            positional.append(value)
    assert target is not None
    return [*words, *positional, *optional, *EXTRA.get(words[0], [])], bad_path(w, target, kind), target


class Hang(BaseException):
    """A command ran past the deadline (a BaseException: the CLI must not catch it)."""


class RayStarted(BaseException):
    """A command started Ray although its input was bad."""


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def fire(*_: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def traps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray must not start."""
    import ray

    def no_ray(*_: object, **__: object) -> None:
        raise RayStarted("ray.init was called on a bad input")

    monkeypatch.setattr(ray, "init", no_ray)


def _forbid_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every subcommand's run() fail: a pre-checked path must be refused before it."""
    def ran(args: argparse.Namespace) -> int:
        raise AssertionError(f"irpipe {args.subcommand} ran although a path argument is bad")

    for name in cli.SUBCOMMANDS:
        monkeypatch.setattr(importlib.import_module(f"irpipe.cli.{name.replace('-', '_')}"), "run", ran)


def test_every_subcommand_is_fuzzed() -> None:
    fuzzed = {words[0] for words, _, _ in CASES}
    without_paths = {"env"}
    assert fuzzed | without_paths == set(cli.SUBCOMMANDS)


@pytest.mark.parametrize("words, option, kind", CASES,
                         ids=[f"{' '.join(w)}-{o.lstrip('-')}-{k}" for w, o, k in CASES])
def test_bad_input_is_one_line_naming_it(world: Path, traps: None, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], words: tuple[str, ...],
                                         option: str, kind: str) -> None:
    argv, path, marker = argv_for(world, words, option, kind)
    if kind in PRECHECKED and marker.precheck:
        _forbid_run(monkeypatch)
    monkeypatch.chdir(world)
    with deadline(DEADLINE_S):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse: a usage error
            rc = exc.code
    err = capsys.readouterr().err
    assert isinstance(rc, int) and rc > 0, (argv, rc, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith(f"irpipe {words[0]}"), err
    # A command that checks the path itself may end with a summary line (extract: "N of M recipes invalid").
    naming = lines[-1:] if marker.precheck else [ln for ln in lines if ": error: " in ln]
    assert any(shown(path) in ln for ln in naming), (shown(path), err)


def _run(*argv: str | bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "irpipe.cli.main", *argv], capture_output=True, timeout=DEADLINE_S,
                          env=env, check=False)


@pytest.mark.parametrize("command", ["features", "graph", "info", "predict-cost"])
@pytest.mark.parametrize("what", ["fifo", "dev-zero"])
def test_special_files_in_a_real_process(world: Path, command: str, what: str) -> None:
    """A FIFO would block open(), /dev/zero never ends: both refused by stat, no signal."""
    path = str(world / "fifo") if what == "fifo" else "/dev/zero"
    proc = _run(command, path)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err  # not a signal (negative), not a hang (timeout)
    assert err.count("\n") == 1 and err.startswith(f"irpipe {command}: error: {path}: is a"), err


def test_a_valid_module_at_a_non_utf8_path_is_read(world: Path) -> None:
    good = world / f"{NON_UTF8}.ll"
    good.write_text(SIMPLE_IR)
    proc = _run("features", os.fsencode(good), "--json")
    assert proc.returncode == 0 and b'"InstCount": ' in proc.stdout, proc.stderr
    proc = _run("features", os.fsencode(world / NON_UTF8))
    assert proc.returncode == 1 and b"bad-\\udcff-name" in proc.stderr and b"Traceback" not in proc.stderr
