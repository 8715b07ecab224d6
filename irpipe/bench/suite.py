"""Benchmark suites: a directory of programs, each with a ``benchmark.toml`` (format version 1).

The format is documented in ``benchmarks/suite/README.md``.  Parsing is strict:
an unknown key is an error (a typo must not silently change what is measured),
and so is a missing source file.  A program from a Debian source package
names the package and its pinned version; its tree is fetched once (deb-src,
through irpipe's private apt lists) into a cache and shared by every run.

    USAGE: programs, problems = discover("benchmarks/suite")
           tree = source_tree(programs[0], cache)     # the directory sources are relative to
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import random
import re
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from irpipe.errors import SuiteError

FILENAME = "benchmark.toml"
_TOP = {"name", "sources", "exclude", "cflags", "ldflags", "args", "timeout", "expected_sha256",
        "expected_sha256_march",
        "count_args", "source", "input", "run", "count_run", "language",
        "description", "license", "tags"}  # the last three: documentation only
_SOURCE = {"debian", "version", "prepare"}
_INPUT = {"file", "generate", "bytes", "seed", "copy"}
_STEP = {"args", "stdout", "stdin", "status"}
GENERATORS = ("text", "lines", "binary")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which "
          "but have an had they you were their one all we can her has there been if more when will "
          "would who so no compiler loop vector register function module pipeline inline branch "
          "memory").split()


@dataclass(frozen=True)
class Step:
    """One command of a workload: the program run with ``args`` in the scratch directory."""

    args: tuple[str, ...]
    stdout: str | None = None  # also write this step's stdout to this file (later steps read it)
    stdin: str | None = None   # feed this file of the scratch directory on stdin
    status: int = 0            # the exit status the step must end with (a SAT solver's 10 or 20)


@dataclass(frozen=True)
class Input:
    """A file put in the scratch directory before every run: generated or copied."""

    file: str
    generate: str | None = None
    nbytes: int = 0
    seed: int = 0
    copy: str | None = None


@dataclass(frozen=True)
class Benchmark:
    """One program of a suite (see the module docstring for the file format)."""

    name: str
    directory: Path
    sources: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ("-lm",)
    steps: tuple[Step, ...] = ()
    count_steps: tuple[Step, ...] = ()
    timeout: float = 60.0
    expected_sha256: str | None = None
    #: (cpu, sha256) where a build with ``--march cpu`` prints other bytes (FMA contraction)
    expected_by_march: tuple[tuple[str, str], ...] = ()
    inputs: tuple[Input, ...] = ()
    debian: str | None = None
    debian_version: str | None = None
    prepare: tuple[tuple[str, ...], ...] = ()
    language: str = "c"

    @property
    def is_cxx(self) -> bool:
        return self.language == "c++"

    def expected_for(self, march: str | None) -> str | None:
        """The expected output sha256 of a build for ``march`` (None: the default target)."""
        return dict(self.expected_by_march).get(march or "", self.expected_sha256)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise SuiteError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def _steps(raw: object, where: str) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{where}: expected one or more [[...]] tables")
    steps = []
    for i, t in enumerate(raw):
        _keys(t, _STEP, f"{where}[{i}]")
        status = t.get("status", 0)
        if type(status) is not int or not 0 <= status <= 255:
            raise SuiteError(f"{where}[{i}].status: expected an exit status 0..255, got {status!r}")
        steps.append(Step(_strings(t.get("args", []), f"{where}[{i}].args"), t.get("stdout"), t.get("stdin"), status))
    return tuple(steps)


def load(path: str | Path) -> Benchmark:
    """Parse one ``benchmark.toml`` (or the directory holding it); :class:`SuiteError` if malformed."""
    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SuiteError(f"{path}: {exc}") from None
    where = str(path)
    _keys(doc, _TOP, where)
    if "sources" not in doc:
        raise SuiteError(f"{where}: `sources` is required (globs of the .c/.cpp files)")
    if "run" in doc and "args" in doc:
        raise SuiteError(f"{where}: give either `args` or [[run]] steps, not both")
    steps = _steps(doc["run"], f"{where} [[run]]") if "run" in doc else (Step(_strings(doc.get("args", []), f"{where} args")),)
    if "count_run" in doc and "count_args" in doc:
        raise SuiteError(f"{where}: give either `count_args` or [[count_run]] steps, not both")
    count = (_steps(doc["count_run"], f"{where} [[count_run]]") if "count_run" in doc
             else (Step(_strings(doc["count_args"], f"{where} count_args")),) if "count_args" in doc else steps)
    expected = doc.get("expected_sha256")
    if expected is not None and (not isinstance(expected, str) or not _HEX64.fullmatch(expected.lower())):
        raise SuiteError(f"{where}: expected_sha256 must be 64 hex digits (sha256 of the run's stdout), got {expected!r}")
    by_march = doc.get("expected_sha256_march", {})
    if not isinstance(by_march, dict) or not all(isinstance(v, str) and _HEX64.fullmatch(v.lower())
                                                  for v in by_march.values()):
        raise SuiteError(f"{where}: [expected_sha256_march] maps a CPU name to 64 hex digits, got {by_march!r}")
    src = doc.get("source", {})
    _keys(src, _SOURCE, f"{where} [source]")
    if "debian" in src and "version" not in src:
        raise SuiteError(f"{where} [source]: a Debian package needs its pinned `version`")
    inputs = []
    for i, t in enumerate(doc.get("input", [])):
        _keys(t, _INPUT, f"{where} [[input]][{i}]")
        if "file" not in t or ("generate" in t) == ("copy" in t):
            raise SuiteError(f"{where} [[input]][{i}]: needs `file` and one of `generate` or `copy`")
        if t.get("generate") not in (None, *GENERATORS):
            raise SuiteError(f"{where} [[input]][{i}]: generate = {t['generate']!r}; choose from {', '.join(GENERATORS)}")
        inputs.append(Input(t["file"], t.get("generate"), int(t.get("bytes", 0)), int(t.get("seed", 0)), t.get("copy")))
    sources = _strings(doc["sources"], f"{where} sources")
    language = doc.get("language") or ("c++" if any(s.endswith((".cpp", ".cc", ".cxx")) for s in sources) else "c")
    if language not in ("c", "c++"):
        raise SuiteError(f"{where}: language = {language!r}; choose c or c++")
    try:
        timeout = float(doc.get("timeout", 60))
    except (TypeError, ValueError):
        raise SuiteError(f"{where}: timeout must be a number of seconds") from None
    return Benchmark(
        name=str(doc.get("name", path.parent.name)), directory=path.parent.resolve(), sources=sources,
        exclude=_strings(doc.get("exclude", []), f"{where} exclude"),
        cflags=_strings(doc.get("cflags", []), f"{where} cflags"),
        ldflags=_strings(doc.get("ldflags", ["-lm"]), f"{where} ldflags"),
        steps=steps, count_steps=count, timeout=timeout,
        expected_sha256=expected.lower() if expected else None,
        expected_by_march=tuple(sorted((k, v.lower()) for k, v in by_march.items())), inputs=tuple(inputs),
        debian=src.get("debian"), debian_version=src.get("version"),
        prepare=tuple(_strings(c, f"{where} [source].prepare") for c in src.get("prepare", [])),
        language=language)


#: a file whose presence marks a suite folder as held out: never labelled for training
HELD_OUT = "HELD_OUT"


def is_held_out(suite: str | Path) -> bool:
    """Whether the suite folder ``suite`` is a held-out set (it holds :data:`HELD_OUT`)."""
    return (Path(suite) / HELD_OUT).exists()


def discover(suite: str | Path, only: list[str] | None = None) -> tuple[list[Benchmark], dict[str, str]]:
    """Every ``benchmark.toml`` under ``suite`` (sorted by name), and the ones that do not parse."""
    suite = Path(suite)
    if not suite.is_dir():
        raise SuiteError(f"{suite}: not a directory of benchmarks")
    files = [suite / FILENAME] if (suite / FILENAME).exists() else sorted(suite.glob(f"*/{FILENAME}"))
    if not files:
        raise SuiteError(f"{suite}: no {FILENAME} in it or in its subdirectories")
    found, problems = [], {}
    for f in files:
        try:
            b = load(f)
        except SuiteError as exc:
            problems[f.parent.name] = str(exc)
            continue
        if not only or b.name in only:
            found.append(b)
    return sorted(found, key=lambda b: b.name), problems


def source_files(b: Benchmark, tree: Path) -> list[str]:
    """The translation units (paths relative to ``tree``), in a stable order."""
    chosen: list[str] = []
    for pattern in b.sources:
        hits = sorted(glob.glob(pattern, root_dir=tree, recursive=True))
        if not hits:
            raise SuiteError(f"{b.name}: source pattern {pattern!r} matches no file under {tree}")
        chosen += [h for h in hits if h not in chosen]
    excluded = {h for p in b.exclude for h in glob.glob(p, root_dir=tree, recursive=True)}
    return [s for s in chosen if s not in excluded]


def source_tree(b: Benchmark, cache: Path) -> Path:
    """The directory the benchmark's sources are relative to (fetched and prepared once if Debian)."""
    if b.debian is None:
        return b.directory
    from irpipe.extract.sandbox import Limits, run_step
    from irpipe.extract.sources import PrivateApt

    root = cache / "src" / re.sub(r"[^A-Za-z0-9.+-]", "_", f"{b.debian}-{b.debian_version}")
    done = root / ".irpipe-prepared"
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(root)
            tree = PrivateApt(cache / "apt").source(b.debian, b.debian_version, root / "fetch")
            for cmd in b.prepare:
                run_step(list(cmd), cwd=tree, env={"PATH": "/usr/bin:/bin", "CC": "clang-22", "HOME": str(tree)},
                         log=root / "prepare.log", limits=Limits(time.monotonic() + 900), what=f"{b.name}: {' '.join(cmd)}")
            done.write_text(str(tree.relative_to(root)))
    return root / done.read_text()


def generate(kind: str, nbytes: int, seed: int) -> bytes:
    """Deterministic input bytes: ``text`` (words), ``lines`` (words and a number) or ``binary``."""
    rng = random.Random(seed)
    if kind == "binary":
        return rng.randbytes(nbytes)
    out, size = [], 0
    while size < nbytes:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
        line += (f" {rng.randint(0, 99999)}" if kind == "lines" else "") + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:nbytes]


def materialize_inputs(b: Benchmark, scratch: Path, cache: Path) -> None:
    """Fill the run's scratch directory: links to the benchmark folder's files (so arguments that
    name them work), then the ``[[input]]`` files (generated ones are cached by content key)."""
    declared = {Path(inp.file).parts[0] for inp in b.inputs}
    for entry in b.directory.iterdir():
        if entry.name != FILENAME and entry.name not in declared:
            (scratch / entry.name).symlink_to(entry)
    for inp in b.inputs:
        dest = scratch / inp.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        if inp.copy is not None:
            src = b.directory / inp.copy
            if not src.is_file():
                raise SuiteError(f"{b.name}: input {inp.copy!r} does not exist in {b.directory}")
            shutil.copyfile(src, dest)
            continue
        key = hashlib.sha256(f"{inp.generate}/{inp.nbytes}/{inp.seed}".encode()).hexdigest()[:16]
        cached = cache / "inputs" / f"{key}.{inp.generate}"
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(generate(inp.generate, inp.nbytes, inp.seed))
            tmp.replace(cached)
        shutil.copyfile(cached, dest)
