"""Run a built benchmark: its workload steps in a fresh scratch directory, CPU time and output hash.

Time is the user+sys CPU of each step's process (``wait4``), summed over the steps; wall time
is kept too but never used for a claim (under a neighbour's load it spreads far more).  With a
``cpu``, every timed run is pinned to that one core (``taskset``), so a run is not moved between
cores (and their caches) half way; callgrind's counts do not depend on it and are not pinned.  The
output identity is the sha256 of everything the steps write to stdout, in order.  Instruction
counts come from valgrind callgrind on the benchmark's (smaller) count workload.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irpipe.runtime import callgrind, process
from irpipe.bench.suite import Benchmark, Step, materialize_inputs
from irpipe.errors import RunFailed, RunTimeout, ToolError, ToolTimeout


@dataclass(frozen=True)
class Outcome:
    """One run of a workload: output hash, CPU and wall seconds (all steps together)."""

    sha256: str
    cpu: float
    wall: float


class Runner:
    """Runs executables on one benchmark's workload (inputs are regenerated for every run);
    timed runs only on CPU ``cpu`` when one is given."""

    def __init__(self, bench: Benchmark, cache: Path, cpu: int | None = None):
        self.bench, self.cache, self.cpu = bench, cache, cpu
        self._tmp = tempfile.TemporaryDirectory(prefix=f"irpipe-bench-{bench.name}-")
        self._cycles: dict[str, tuple[float, str]] = {}  # executable sha256 -> (proxy cycles, output hash)

    def _scratch(self) -> Path:
        scratch = Path(self._tmp.name) / "run"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        materialize_inputs(self.bench, scratch, self.cache)
        return scratch

    def _steps(self, argv0: list[str], steps: tuple[Step, ...], timeout: float, keep_stderr: bool = False,
               pinned: bool = False, env: dict[str, str] | None = None) -> tuple[str, float, list[str]]:
        """Run ``argv0 + step.args`` for each step in a fresh scratch directory:
        (sha256 of the stdout bytes, total CPU seconds, each step's stderr if kept)."""
        scratch = self._scratch()
        digest, cpu_total, errors = hashlib.sha256(), 0.0, []
        for i, step in enumerate(steps):
            out_path, err_path = scratch / (step.stdout or f".stdout-{i}"), scratch / f".stderr-{i}"
            try:
                done = process.run([*argv0, *step.args], what=f"step {i + 1}", cwd=scratch, timeout=timeout,
                                   stdin=scratch / step.stdin if step.stdin else process.DEVNULL,
                                   stdout=out_path, stderr=err_path if keep_stderr else process.DEVNULL,
                                   check=False, cpus=[self.cpu] if pinned and self.cpu is not None else None,
                                   env=env)
            except ToolTimeout:
                raise RunTimeout(f"step {i + 1} ({' '.join(step.args)[:80]}) ran past its {timeout:g} s "
                                 "limit (killed)") from None
            code, cpu = done.returncode, done.cpu_s
            if code != step.status:
                what = (f"killed by signal {-code}" if code < 0
                        else f"exited {code}" + (f", not {step.status}" if step.status else ""))
                raise RunFailed(f"step {i + 1} ({' '.join(step.args)[:80]}) {what}")
            cpu_total += cpu
            with open(out_path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            if keep_stderr:
                errors.append(err_path.read_text(errors="replace"))
        return digest.hexdigest(), cpu_total, errors

    def run(self, exe: Path) -> Outcome:
        """Run the workload once; :class:`RunFailed` / :class:`RunTimeout` if a step fails."""
        started = time.perf_counter()
        sha, cpu, _ = self._steps([str(exe)], self.bench.steps, self.bench.timeout, pinned=True)
        return Outcome(sha, cpu, time.perf_counter() - started)

    def profile(self, exe: Path) -> tuple[dict[str, tuple[int, int]], str]:
        """Run a counting build (``TUPlan(profile=True)``) once on the timed workload: per loop id,
        (entries, iterations) summed over its steps (:func:`irpipe.llvm.loops.parse_loop_profile`),
        and the output hash."""
        from irpipe.llvm.loops import parse_loop_profile

        counts = Path(self._tmp.name) / "loop-profile"
        counts.unlink(missing_ok=True)
        sha, _, _ = self._steps([str(exe)], self.bench.steps, self.bench.timeout * 4,
                                env={**os.environ, "IRPIPE_LOOP_PROFILE": str(counts)})
        try:
            return parse_loop_profile(counts.read_text() if counts.exists() else ""), sha
        except ValueError as exc:
            raise RunFailed(f"the counting build's profile: {exc}") from None

    def count_output(self, exe: Path) -> str:
        """The output hash of one run of the count workload (not timed)."""
        return self._steps([str(exe)], self.bench.count_steps, self.bench.timeout * 4)[0]

    def pgo_profile(self, exe: Path, out: Path) -> tuple[Path, str]:
        """Run an instrumented build (``TUPlan(pgo="gen")``) on the count workload, not the timed
        one, and merge what it wrote into ``out`` (``llvm-profdata merge``): (``out``, the run's
        output hash).  :class:`RunFailed` when it writes no profile."""
        from irpipe.llvm.tools import Toolchain

        raw = Path(self._tmp.name) / "pgo"
        shutil.rmtree(raw, ignore_errors=True)
        raw.mkdir()
        sha, _, _ = self._steps([str(exe)], self.bench.count_steps, self.bench.timeout * 4,
                                env={**os.environ, "LLVM_PROFILE_FILE": str(raw / "%p.profraw")})
        profiles = sorted(raw.glob("*.profraw"))
        if not profiles:
            raise RunFailed("the instrumented build wrote no profile")
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            Toolchain().run("llvm-profdata", ["merge", "-o", str(out), *map(str, profiles)], timeout=300)
        except ToolError as exc:
            raise RunFailed(f"llvm-profdata merge: {str(exc).splitlines()[0]}") from None
        return out, sha

    def proxy_cycles(self, exe: Path) -> tuple[float, str]:
        """The deterministic proxy (:func:`irpipe.label.proxy.cycles`) of the count workload under
        cachegrind, summed over its steps, and that run's output hash; a byte-identical executable
        is not run again."""
        from irpipe.label import proxy

        sha256 = hashlib.sha256(exe.read_bytes()).hexdigest()
        if sha256 not in self._cycles:
            self._cycles[sha256] = self._proxy_run(exe, proxy)
        return self._cycles[sha256]

    def _proxy_run(self, exe: Path, proxy: Any) -> tuple[float, str]:
        out_dir = Path(self._tmp.name) / "cachegrind"
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir()
        sha, _, _ = self._steps([*proxy.cachegrind_argv(out_dir / "cg.%p"), str(exe)], self.bench.count_steps,
                                self.bench.timeout * 50)
        per_process = [proxy.file_cycles(f.read_bytes()) for f in sorted(out_dir.glob("cg.*"))]
        if not per_process or None in per_process:
            raise RunFailed("cachegrind wrote no totals")
        return sum(per_process), sha  # type: ignore[arg-type]

    def count_instructions(self, exe: Path) -> tuple[int, str]:
        """Guest instructions of the count workload under callgrind, and that run's output hash."""
        valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(exe)]
        sha, _, errors = self._steps(valgrind, self.bench.count_steps, self.bench.timeout * 50, keep_stderr=True)
        counts = [callgrind.instructions(e) for e in errors]
        if None in counts:
            raise RunFailed("callgrind printed no instruction count")
        return sum(counts), sha  # type: ignore[arg-type]

    def close(self) -> None:
        self._tmp.cleanup()
