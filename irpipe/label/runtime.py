"""Runtime of runnable programs under a pipeline: CPU time, instruction counts, output checks.

A :class:`Program` is one LLVM module with ``main`` (from a .c file, a .ll/.bc
file or the dataset) plus its arguments.  Each measurement optimizes the module
in the isolated LLVM child (:class:`~irpipe.label.measure.Evaluator`), compiles
it with ``llc-22 -O2`` for the module's own target (its triple and each
function's ``target-cpu``/``target-features``: a measurement never retargets
what the user gave) and links it with ``clang-22`` (the same flags for every
pipeline and the baselines), runs it ``repeats`` times and
takes the median user+sys CPU time of the process (``wait4``), not wall time.
The output is compared with the -O0 build's: a difference is a
:class:`Miscompile`.  A program whose -O0 output differs between two runs is
refused as :class:`Nondeterministic`.  Instruction counts come from valgrind
callgrind (deterministic; this VM has no hardware counters).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from irpipe.runtime import callgrind, process
from irpipe.errors import Miscompile, Nondeterministic, NotRunnable, ToolError, ToolTimeout
from irpipe.label.measure import Evaluator
from irpipe.llvm.tools import Toolchain

#: a speed candidate must beat -O3 by this much (A/A runs on these machines differ by 2-3%)
SPEED_NOISE = 0.03
CONFIRM_ROUNDS = 3
#: below this much CPU per run, timing here is noise: rusage CPU time moves in scheduler ticks
#: (4 ms at HZ=250) and single runs spread 10-25%; a 0.8 ms program "confirmed" 1.19x wins
MIN_RUN_S = 0.1
#: repeats are raised towards this cap when the baseline's own runs spread more than the floor
MAX_REPEATS = 15


def spread(seconds: list[float]) -> float:
    """Relative noise of repeated runs: the median absolute deviation over the median."""
    mid = statistics.median(seconds)
    if mid <= 0:
        return float("inf")
    return statistics.median(abs(s - mid) for s in seconds) / mid


def scaled_repeats(repeats: int, noise: float, floor: float = SPEED_NOISE) -> int:
    """Runs per candidate for a program whose baseline spreads ``noise``: enough that the
    median's error (~ noise / sqrt(n)) stays under half the floor, at most :data:`MAX_REPEATS`."""
    if noise <= 0:
        return repeats
    need = int((2 * noise / floor) ** 2) + 1
    return max(repeats, min(MAX_REPEATS, need))


def speed_floor(noise: float) -> float:
    """The smallest speedup worth calling for a program whose runs spread ``noise``."""
    return max(SPEED_NOISE, 2 * noise)


def confirmed(pairs: list[tuple[float, float]], floor: float = SPEED_NOISE) -> tuple[float, bool]:
    """(median baseline/candidate ratio, whether it holds) over interleaved confirmation rounds:
    the candidate must be faster by more than ``floor`` and faster in most rounds."""
    ratio = statistics.median(b / c for b, c in pairs)
    return ratio, ratio > 1 + floor and sum(c < b for b, c in pairs) > len(pairs) // 2


Pairs = list[tuple[float, float]]


def first_holding(held: list[tuple[float, str]], fresh: Callable[[str], Pairs],
                  floor: float = SPEED_NOISE) -> tuple[str | None, list[tuple[str, float, Pairs]]]:
    """The finalist to keep: (its label or None, every fresh measurement made).

    ``held`` are (confirmed speedup, label) of the candidates that held in confirmation.  The
    best of several confirmations is biased upwards (mujs: 1.132x confirmed, 1.022x re-measured),
    so in order of confirmed speedup each runs ``fresh(label)`` rounds (interleaved
    (baseline, candidate) pairs) until one holds there too: that one is kept, and those rounds are
    its figure.  A winner that fails its fresh rounds gives the runner-up its chance (a generated
    matrix program: loop decisions confirmed at 1.202x and measured 1.025x, and Polly, confirmed at
    1.158x, never tried again); none holding keeps the baseline."""
    measured: list[tuple[str, float, Pairs]] = []
    for _, label in sorted(held, key=lambda t: -t[0]):
        pairs = fresh(label)
        ratio, holds = confirmed(pairs, floor)
        measured.append((label, ratio, pairs))
        if holds:
            return label, measured
    return None, measured


@dataclass
class RunResult:
    """One pipeline's runtime: CPU (user+sys) and wall seconds of each repeat, instruction count.

    ``median`` (the metric) is of CPU seconds: under a neighbour's load wall time spreads far more.
    """

    pipeline: str
    seconds: list[float]
    wall_seconds: list[float] = field(default_factory=list)
    instructions: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Program:
    """A runnable module: bitcode with ``main``, its arguments and a time limit per run."""

    bitcode: bytes
    name: str = "program"
    args: list[str] = field(default_factory=list)
    timeout_s: float = 60.0
    link_flags: list[str] = field(default_factory=lambda: ["-lm"])

    @classmethod
    def from_c(cls, path: str | Path, *, args: list[str] | None = None,
               tools: Toolchain | None = None, cflags: list[str] | None = None) -> "Program":
        """Compile a C file to unoptimized bitcode (``-O0 -Xclang -disable-O0-optnone``)."""
        tools = tools or Toolchain()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "p.bc"
            tools.run("clang", ["-c", "-emit-llvm", "-O0", "-Xclang", "-disable-O0-optnone",
                                "-march=x86-64-v3", "-w", *(cflags or []), str(path), "-o", str(out)])
            return cls(out.read_bytes(), name=Path(path).name, args=list(args or []))


class RuntimeEvaluator:
    """Measures pipelines on a :class:`Program` (the reference output is the -O0 build's)."""

    def __init__(self, program: Program, *, repeats: int = 3, tools: Toolchain | None = None,
                 evaluator: Evaluator | None = None):
        self.program = program
        self.repeats = repeats
        self.tools = tools or Toolchain()
        self.evaluator = evaluator or Evaluator(program.bitcode, name=program.name)
        self._tmp = tempfile.TemporaryDirectory(prefix="irpipe-run-")
        self.reference: bytes | None = None
        self.last_wall = 0.0
        self._cycles: dict[str, float] = {}  # executable sha256 -> proxy cycles

    def _build(self, pipeline: str, bitcode: bytes | None = None, link: tuple[str, ...] = ()) -> Path:
        if bitcode is None:
            bitcode = self.evaluator.evaluate(pipeline, bitcode=True)[1]["bitcode"]
        work = Path(tempfile.mkdtemp(dir=self._tmp.name))
        (work / "p.bc").write_bytes(bitcode)
        try:
            self.tools.run("llc", ["-O2", "-relocation-model=pic", "-filetype=obj",
                                   str(work / "p.bc"), "-o", str(work / "p.o")], timeout=300)
            self.tools.run("clang", [str(work / "p.o"), "-o", str(work / "p"), *link,
                                     *self.program.link_flags], timeout=120)
        except ToolError as exc:
            raise NotRunnable(f"{self.program.name}: does not build (no main()?): {str(exc).splitlines()[0]}") from None
        return work / "p"

    def _run(self, exe: Path, env: dict[str, str] | None = None) -> tuple[bytes, float]:
        try:
            done = process.run([str(exe), *self.program.args], what=self.program.name,
                               timeout=self.program.timeout_s, stderr=process.DEVNULL, check=False, env=env)
        except ToolTimeout:
            raise NotRunnable(f"{self.program.name}: ran past {self.program.timeout_s:.0f} s") from None
        if done.returncode != 0:
            raise NotRunnable(f"{self.program.name}: exited {done.returncode}")
        self.last_wall = done.wall_s
        return done.stdout, done.cpu_s

    def check_reference(self) -> bytes:
        """Build at -O0, run twice, keep the output; refuse nondeterministic programs."""
        if self.reference is None:
            exe = self._build("default<O0>")
            first, _ = self._run(exe)
            second, _ = self._run(exe)
            if first != second:
                raise Nondeterministic(f"{self.program.name}: output differs between two -O0 runs; "
                                       "runtime labels need deterministic output")
            self.reference = first
        return self.reference

    def measure(self, pipeline: str, *, count_instructions: bool = False, bitcode: bytes | None = None) -> RunResult:
        """Median CPU seconds over ``repeats`` runs of the program built with ``pipeline`` (or, when
        given, of ``bitcode``: a module optimized elsewhere, ``pipeline`` then only names it)."""
        reference = self.check_reference()
        exe = self._build(pipeline, bitcode)
        seconds, wall = [], []
        for _ in range(self.repeats):
            try:
                output, cpu = self._run(exe)
            except NotRunnable as exc:  # the -O0 build ran: a crash now is the pipeline's doing
                raise Miscompile(f"{self.program.name}: pipeline {pipeline!r} breaks the program "
                                 f"({str(exc).split(': ', 1)[-1]}; miscompile, recorded)") from None
            if output != reference:
                raise Miscompile(f"{self.program.name}: pipeline {pipeline!r} changes the output "
                                 "(miscompile, recorded)")
            seconds.append(cpu)
            wall.append(self.last_wall)
        result = RunResult(pipeline, seconds, wall)
        if count_instructions:
            result.instructions = self.count_instructions(exe)
        return result

    def profile(self, bitcode: bytes) -> dict[str, tuple[int, int]]:
        """Per loop id, (entries, iterations) of one run of a counting build (``bitcode`` from
        :func:`irpipe.optimize.loops.counting_build`); its output must be the reference's."""
        from irpipe.llvm.loops import parse_loop_profile

        reference = self.check_reference()
        exe = self._build("counting build", bitcode)
        counts = exe.with_name("loop-profile")
        output, _ = self._run(exe, env={**os.environ, "IRPIPE_LOOP_PROFILE": str(counts)})
        if output != reference:
            raise Miscompile(f"{self.program.name}: the counting build changes the output")
        try:
            return parse_loop_profile(counts.read_text() if counts.exists() else "")
        except ValueError as exc:
            raise NotRunnable(f"{self.program.name}: {exc}") from None

    def pgo_profile(self, bitcode: bytes, out: Path) -> Path:
        """Run an instrumented build (``bitcode`` from opt-22's ``-pgo-kind=pgo-instr-gen-pipeline``,
        linked with the profile runtime) once on the program's arguments, check its output, and
        merge its profile into ``out`` (``llvm-profdata-22 merge``)."""
        reference = self.check_reference()
        exe = self._build("instrumented build", bitcode, link=("-fprofile-instr-generate",))
        raw = exe.with_name("profile.profraw")
        output, _ = self._run(exe, env={**os.environ, "LLVM_PROFILE_FILE": str(raw)})
        if output != reference:
            raise Miscompile(f"{self.program.name}: the instrumented build changes the output")
        if not raw.exists():
            raise NotRunnable(f"{self.program.name}: the instrumented build wrote no profile")
        try:
            self.tools.run("llvm-profdata", ["merge", "-o", str(out), str(raw)], timeout=300)
        except ToolError as exc:
            raise NotRunnable(f"{self.program.name}: llvm-profdata merge: {str(exc).splitlines()[0]}") from None
        return out

    def proxy_cycles(self, bitcode: bytes | None = None) -> float:
        """The deterministic proxy (:func:`irpipe.label.proxy.cycles`) of one run under cachegrind
        of the -O3 build, or of ``bitcode``; :class:`Miscompile` when its output is not the
        reference's.  A byte-identical executable is not run again."""
        from irpipe.label import proxy

        reference = self.check_reference()
        exe = self._build("default<O3>", bitcode)
        sha = hashlib.sha256(exe.read_bytes()).hexdigest()
        if sha not in self._cycles:
            counts, output = proxy.cachegrind([exe, *self.program.args], timeout=self.program.timeout_s * 50,
                                              what=self.program.name)
            if output != reference:
                raise Miscompile(f"{self.program.name}: a loop decision changes the output (never chosen)")
            self._cycles[sha] = proxy.cycles(counts)
        return self._cycles[sha]

    def count_instructions(self, exe: Path) -> int:
        """Guest instructions executed, from valgrind callgrind (deterministic)."""
        proc = process.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            str(exe), *self.program.args], what="valgrind",
                           timeout=self.program.timeout_s * 60, check=False)
        count = callgrind.instructions(proc.stderr)
        if count is None:
            raise NotRunnable(f"{self.program.name}: valgrind gave no instruction count")
        return count

    def close(self) -> None:
        self._tmp.cleanup()
