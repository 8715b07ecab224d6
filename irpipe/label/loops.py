"""Per-loop runtime labels: every loop of a program, a small space of decisions, proxy cycles.

For one generated program (a :mod:`irpipe.label.programs` directory with its ``benchmark.toml``):

1. build it with ``clang-22 -O3 -fpass-plugin=libIRPipe.so -mllvm -irpipe-print-loops``: the
   baseline binary and its loops (ids and facts, :func:`irpipe.llvm.loops.parse_loop_listing`);
   run it under cachegrind on the program's ``count_args``: the baseline cycles
   (:func:`irpipe.label.proxy.cycles`) and the reference stdout;
2. for each loop and each decision of :func:`decision_space`, build it again with a one-entry
   advice file (``-mllvm -irpipe-advice=FILE``, source ``"*"``, only that loop decided), run it the
   same way, and compare its stdout with the reference bit for bit (:func:`outputs_match`): a
   mismatch is recorded (``output_ok`` false) and is never a win.

A build byte-identical to one measured before (the baseline, often: a decision LLVM would have
taken anyway) reuses that measurement.  With ``hot`` (a real program with dozens of loops), only
the loops that run the most iterations are labelled: a counting build (``-irpipe-profile-loops``)
runs once on ``count_args`` first (:meth:`LoopLabeler.profile`, :func:`irpipe.llvm.loops.hot_loops`).  One row of :data:`irpipe.schema.LOOP_LABELS` per (loop,
decision).  :class:`LoopLabeler` is a :class:`~irpipe.runtime.stage.Stage` over program
directories; :meth:`LoopLabeler.measure_advice` measures any set of per-loop decisions at once
(the oracle's combination, a static rule).

    USAGE: stage = LoopLabeler(); stage.setup()
           rows = stage.process(Path("corpus/gen-s1-0000-stencil")).rows["loop_labels"]
           stage.close()
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from irpipe.errors import IrpipeError, ToolNotFound
from irpipe.label import proxy
from irpipe.label.programs import family_of, regenerate
from irpipe.llvm.loops import hot_loops, loop_advice_doc, parse_loop_listing, parse_loop_profile
from irpipe.llvm.native import plugin_path
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import jsonfile, process
from irpipe.runtime.stage import Row, StageResult
from irpipe.schema import LOOP_BODY_FACTS, to_table

if TYPE_CHECKING:
    import pyarrow as pa

    from irpipe.ir.graph import ProgramGraph

#: the listing's facts a LOOP_LABELS row keeps
LOOP_FACTS = ("depth", "blocks", "trip_count", "strict_fp_reduction", "strict_fp_induction", *LOOP_BODY_FACTS)

#: decisions every loop gets: no unrolling or a forced unroll count, a forced interleave count,
#: no vectorization, loop distribution (none of them reorders a strict FP reduction)
BASIC_DECISIONS: tuple[dict[str, Any], ...] = (
    {"unroll": "off"}, {"unroll": 2}, {"unroll": 4}, {"unroll": 8},
    {"interleave": 1}, {"interleave": 2}, {"interleave": 4},
    {"vectorize": "off"}, {"distribute": True},
)
#: decisions only an outer loop (one with subloops) gets
OUTER_DECISIONS: tuple[dict[str, Any], ...] = ({"unroll_and_jam": 2},)
#: decisions that force a vectorization: never offered for a strict FP reduction or induction
#: (none in the space today; the rule is here so that a wider space keeps it)
FORCED_VECTORIZE = ("on",)
#: the ``error`` of a row whose output differs from the -O3 build's
MISMATCH = "output on count_args differs from the -O3 build's"


@dataclass(frozen=True)
class Program:
    """One program to label: what ``benchmark.toml`` says about building and counting it."""

    name: str
    family: str | None
    directory: Path
    sources: tuple[str, ...]
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    count_args: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class Measured:
    """One build's measurement: its proxy cycles and stdout, or why there are none."""

    sha256: str
    cycles: float | None = None
    stdout: bytes = b""
    error: str | None = None


def load_program(directory: str | os.PathLike[str]) -> Program:
    """The :class:`Program` of a generated program directory (its ``benchmark.toml``)."""
    d = Path(directory).resolve()
    doc = tomllib.loads((d / "benchmark.toml").read_text())
    args = doc.get("count_args", doc.get("args", []))
    return Program(name=str(doc.get("name", d.name)), family=family_of(doc.get("tags", [])), directory=d,
                   sources=tuple(doc["sources"]), cflags=tuple(doc.get("cflags", [])),
                   ldflags=tuple(doc.get("ldflags", [])), count_args=tuple(str(a) for a in args),
                   timeout=float(doc.get("timeout", 60)))


def loop_facts(loop: dict[str, Any]) -> dict[str, Any]:
    """The LOOP_LABELS fact columns of a listing entry (None where the plugin did not say)."""
    return {k: loop.get(k) for k in LOOP_FACTS}


def refresh_facts(table: "pa.Table", stage: "LoopLabeler", work: Path) -> "pa.Table":
    """``table`` (LOOP_LABELS rows of generated programs, any readable version) with every
    fact column taken from today's plugin listing: each program regenerated under ``work`` and
    built once, not run.  The labels stay as they are; the loop ids must be the labels' ones
    (else :class:`IrpipeError`).  Adds the body facts to a table labelled before they existed."""
    rows = table.to_pylist()
    names = list(dict.fromkeys(r["program"] for r in rows))
    listed = {d.name: {lp["id"]: lp for lp in stage.listing(load_program(d))} for d in regenerate(work, names)}
    for r in rows:
        loop = listed[r["program"]].get(r["loop_id"])
        if loop is None:
            raise IrpipeError(f"{r['program']}: loop {r['loop_id']} is not in today's listing")
        moved = [k for k in LOOP_FACTS if r.get(k) is not None and r[k] != loop.get(k)]
        if moved:
            raise IrpipeError(f"{r['program']}: loop {r['loop_id']}: {moved[0]} was {r[moved[0]]}, "
                              f"today's listing says {loop.get(moved[0])}")
        r.update(loop_facts(loop))
    return to_table(rows, "loop_labels")


def decision_key(decision: dict[str, Any]) -> str:
    """The decision as the compact, key-sorted JSON the LOOP_LABELS ``decision`` column holds."""
    return json.dumps(decision, sort_keys=True, separators=(",", ":"))


def takes_decision(loop: dict[str, Any], loop_ids: list[str] | tuple[str, ...], decision: dict[str, Any]) -> bool:
    """Whether ``decision`` may be given to ``loop`` (a listing entry) among the program's ``loop_ids``:
    unroll-and-jam only to a loop with subloops, a forced vectorization never to a loop with a
    strict FP reduction or induction."""
    if "unroll_and_jam" in decision and not any(other.startswith(loop["id"] + ".") for other in loop_ids):
        return False
    return not ((loop.get("strict_fp_reduction") or loop.get("strict_fp_induction")) and _forces_vectorize(decision))


def decision_space(loop: dict[str, Any], loop_ids: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """The decisions tried on ``loop`` (a listing entry) among the program's ``loop_ids``: those of
    :data:`BASIC_DECISIONS` and :data:`OUTER_DECISIONS` it may take (:func:`takes_decision`)."""
    return [dict(d) for d in (*BASIC_DECISIONS, *OUTER_DECISIONS) if takes_decision(loop, loop_ids, d)]


def _forces_vectorize(decision: dict[str, Any]) -> bool:
    v = decision.get("vectorize")
    return v in FORCED_VECTORIZE or (isinstance(v, int) and not isinstance(v, bool))


def outputs_match(reference: bytes, got: bytes) -> bool:
    """Whether a decided build printed exactly what the -O3 build printed (bit for bit)."""
    return reference == got


class LoopLabeler:
    """The per-loop labelling stage (see the module docstring); an item is a program directory.

    Args:
        plugin: the pass plugin (default: :func:`irpipe.llvm.native.plugin_path`).
        slowdown: cachegrind's time limit is ``slowdown`` times the program's ``timeout``.
        tools: the LLVM toolchain (default: found in :meth:`setup`).
        hot: label only this many loops, those that run the most iterations on ``count_args``
            (each at least 1% of all); None: every loop.
    """

    name = "loop-label"

    def __init__(self, *, plugin: str | os.PathLike[str] | None = None, slowdown: float = 50.0,
                 tools: Toolchain | None = None, hot: int | None = None):
        self.plugin = Path(plugin) if plugin is not None else None
        self.slowdown = slowdown
        self.hot = hot
        self.tools = tools
        self._work: Path | None = None
        self._cache: dict[tuple[str, tuple[str, ...]], Measured] = {}
        self._builds = 0

    def setup(self) -> None:
        """Find clang-22 and the plugin; make a scratch directory for the builds."""
        self.tools = self.tools or Toolchain()
        self.tools.find("clang")
        self.plugin = self.plugin or plugin_path()
        if not self.plugin.is_file():
            raise ToolNotFound(f"the pass plugin {self.plugin} is not built (make native)")
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix="irpipe-loops-"))

    def close(self) -> None:
        """Remove the scratch directory (idempotent)."""
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def build(self, program: Program, loops: dict[str, dict[str, Any]] | None = None, *,
              listing: bool = False, counting: bool = False, loop_ir: Path | None = None) -> tuple[Path, str]:
        """Build ``program`` at -O3 with the plugin (and ``loops`` as a one-entry advice file):
        the executable and clang's stderr (the loop listing with ``listing``; with ``loop_ir``, the
        IR there too, :mod:`irpipe.label.loop_graphs`); with ``counting``, a counting build
        (:meth:`profile`).  C++ sources are built and linked by clang++."""
        assert self._work is not None and self.tools is not None, "setup() first"
        self._builds += 1
        exe = self._work / f"{program.name}.{self._builds}"
        flags = ["-O3", f"-fpass-plugin={self.plugin}"]
        if listing or loop_ir:
            flags += ["-mllvm", "-irpipe-print-loops"]
        if loop_ir:
            flags += ["-mllvm", f"-irpipe-loop-ir={loop_ir}"]
        if counting:
            flags += ["-mllvm", "-irpipe-profile-loops"]
        if loops:
            advice = jsonfile.write(self._work / f"{program.name}.{self._builds}.json", loop_advice_doc(loops))
            flags += ["-mllvm", f"-irpipe-advice={advice}"]
        srcs = [str(program.directory / s) for s in program.sources]
        cxx = any(Path(src).suffix in (".cc", ".cpp", ".cxx", ".C") for src in program.sources)
        done = self.tools.run("clang++" if cxx else "clang",
                              [*flags, *program.cflags, *srcs, "-o", str(exe), *program.ldflags], timeout=300)
        return exe, done.stderr.decode("utf-8", errors="replace")

    def profile(self, program: Program) -> dict[str, tuple[int, int]]:
        """Per loop id of the -O3 build, (entries, iterations) on ``count_args``: a counting build
        (the same loops and ids; volatile counters in each header) run once, natively."""
        exe, _ = self.build(program, counting=True)
        counts = exe.with_name(exe.name + ".profile")
        try:
            process.run([exe, *program.count_args], what=f"{program.name} (counting build)", cwd=program.directory,
                        timeout=program.timeout * 4, stdout=process.DEVNULL,
                        env={**os.environ, "IRPIPE_LOOP_PROFILE": str(counts)})
            return parse_loop_profile(counts.read_text() if counts.exists() else "")
        except ValueError as exc:
            raise IrpipeError(f"{program.name}: {exc}") from None
        finally:
            exe.unlink(missing_ok=True)
            counts.unlink(missing_ok=True)

    def measure(self, program: Program, exe: Path) -> Measured:
        """Proxy cycles and stdout of ``exe`` on ``count_args`` (a byte-identical build measured
        before is not run again); the executable is removed."""
        sha = hashlib.sha256(exe.read_bytes()).hexdigest()
        key = (sha, program.count_args)
        if key not in self._cache:
            try:
                counts, out = proxy.cachegrind([exe, *program.count_args], timeout=program.timeout * self.slowdown,
                                               cwd=program.directory, what=program.name)
                self._cache[key] = Measured(sha, proxy.cycles(counts), out)
            except IrpipeError as exc:
                self._cache[key] = Measured(sha, error=str(exc).splitlines()[0])
        exe.unlink(missing_ok=True)
        return self._cache[key]

    def baseline(self, program: Program) -> tuple[Measured, list[dict[str, Any]]]:
        """The -O3 build's measurement and its loops; :class:`IrpipeError` when it fails."""
        exe, stderr = self.build(program, listing=True)
        base = self.measure(program, exe)
        if base.error is not None:
            raise IrpipeError(f"the -O3 build: {base.error}")
        return base, parse_loop_listing(stderr)

    def measure_advice(self, program: Program, loops: dict[str, dict[str, Any]],
                       base: Measured) -> dict[str, Any]:
        """Build with per-loop decisions ``loops``, measure, check the output against ``base``:
        ``cycles``, ``ratio``, ``same_binary``, ``output_ok`` and ``error`` (None when fine)."""
        try:
            exe, _ = self.build(program, loops)
        except IrpipeError as exc:
            return {"cycles": None, "ratio": None, "same_binary": None, "output_ok": False,
                    "error": "build: " + str(exc).splitlines()[0]}
        got = self.measure(program, exe)
        out: dict[str, Any] = {"cycles": got.cycles, "ratio": None, "same_binary": got.sha256 == base.sha256,
                               "output_ok": False, "error": got.error}
        if got.cycles is not None and base.cycles:
            out["ratio"] = got.cycles / base.cycles
        if got.error is None:
            out["output_ok"] = outputs_match(base.stdout, got.stdout)
            if not out["output_ok"]:
                out["error"] = MISMATCH
        return out

    def listing(self, program: Program) -> list[dict[str, Any]]:
        """The loops of ``program``'s -O3 build as the plugin lists them (built, not run)."""
        exe, stderr = self.build(program, listing=True)
        exe.unlink(missing_ok=True)
        return parse_loop_listing(stderr)

    def graphs(self, program: Program) -> dict[str, "ProgramGraph"]:
        """Per loop id of ``program``'s -O3 build, its part of the program graph there
        (:func:`irpipe.label.loop_graphs.loop_graphs`; built, not run)."""
        from irpipe.label.loop_graphs import loop_graphs

        assert self._work is not None, "setup() first"
        ir_dir = self._work / f"{program.name}.ir"
        try:
            exe, stderr = self.build(program, loop_ir=ir_dir)
            exe.unlink(missing_ok=True)
            return loop_graphs(parse_loop_listing(stderr), ir_dir)
        finally:
            shutil.rmtree(ir_dir, ignore_errors=True)

    def process(self, item: str | os.PathLike[str]) -> StageResult:
        """The LOOP_LABELS rows of one program directory (a FAILURES row when its -O3 build
        cannot be built or measured)."""
        program = load_program(item)
        try:
            base, listed = self.baseline(program)
        except IrpipeError as exc:
            return StageResult(failures=[{"recipe_id": program.name, "package_name": program.name,
                                          "stage": "label", "error": str(exc).splitlines()[0],
                                          "log_tail": str(exc)[-2000:]}], stats={"programs": 0, "failed": 1})
        ids = [loop["id"] for loop in listed]
        labelled = listed
        if self.hot is not None:
            try:
                chosen = set(hot_loops(self.profile(program), self.hot))
            except IrpipeError as exc:
                return StageResult(failures=[{"recipe_id": program.name, "package_name": program.name,
                                              "stage": "profile", "error": str(exc).splitlines()[0],
                                              "log_tail": str(exc)[-2000:]}], stats={"programs": 0, "failed": 1})
            labelled = [loop for loop in listed if loop["id"] in chosen]
        rows: list[Row] = []
        for loop in labelled:
            facts = loop_facts(loop)
            for decision in decision_space(loop, ids):
                got = self.measure_advice(program, {loop["id"]: decision}, base)
                rows.append({"program": program.name, "family": program.family, "loop_id": loop["id"], **facts,
                             "decision": decision_key(decision), "count_args": list(program.count_args),
                             "baseline_cycles": base.cycles, **got})
        return StageResult(rows={"loop_labels": rows},
                           stats={"programs": 1, "failed": 0, "loops": len(labelled), "rows": len(rows)})


def for_each_program(names: Sequence[str], work: Path, cache: Path,
                     compute: Callable[[LoopLabeler, Program], Any]) -> dict[str, Any]:
    """Per generated program of ``names`` (label tables' ``program`` column), ``compute(labeler,
    program)`` on it regenerated under ``work`` (:func:`irpipe.label.programs.regenerate`); the
    results (JSON) are kept in ``cache`` every 25 programs, so a rerun resumes; progress on stderr."""
    done = json.loads(cache.read_text()) if cache.exists() else {}
    todo = sorted(set(names) - set(done))
    labeler = LoopLabeler()
    labeler.setup()
    try:
        for i, name in enumerate(todo, 1):
            (d,) = regenerate(work, [name])
            done[name] = compute(labeler, load_program(d))
            if i % 25 == 0 or i == len(todo):
                jsonfile.write(cache, done)
                print(f"{cache.name}: {i}/{len(todo)} programs", file=sys.stderr, flush=True)
    finally:
        labeler.close()
    return done
