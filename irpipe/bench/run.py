"""Run a built benchmark: its workload steps in a fresh scratch directory, CPU time and output hash.

Time is the user+sys CPU of each step's process (``wait4``), summed over the steps; wall time
is kept too but never used for a claim (under a neighbour's load it spreads far more).  The
output identity is the sha256 of everything the steps write to stdout, in order.  Instruction
counts come from valgrind callgrind on the benchmark's (smaller) count workload.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from irpipe.bench.suite import Benchmark, Step, materialize_inputs
from irpipe.errors import IrpipeError
from irpipe.label.runtime import wait_cpu

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


class RunFailed(IrpipeError, RuntimeError):
    """A program exited non-zero or was killed by a signal."""


class RunTimeout(RunFailed, TimeoutError):
    """A program ran past its benchmark's time limit and was killed."""


@dataclass(frozen=True)
class Outcome:
    """One run of a workload: output hash, CPU and wall seconds (all steps together)."""

    sha256: str
    cpu: float
    wall: float


class Runner:
    """Runs executables on one benchmark's workload (inputs are regenerated for every run)."""

    def __init__(self, bench: Benchmark, cache: Path):
        self.bench, self.cache = bench, cache
        self._tmp = tempfile.TemporaryDirectory(prefix=f"irpipe-bench-{bench.name}-")

    def _scratch(self) -> Path:
        scratch = Path(self._tmp.name) / "run"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        materialize_inputs(self.bench, scratch, self.cache)
        return scratch

    def run(self, exe: Path, steps: tuple[Step, ...] | None = None) -> Outcome:
        """Run the workload once; :class:`RunFailed` / :class:`RunTimeout` if a step fails."""
        scratch = self._scratch()
        digest, cpu_total, started = hashlib.sha256(), 0.0, time.perf_counter()
        for i, step in enumerate(steps or self.bench.steps):
            stdin = open(scratch / step.stdin, "rb") if step.stdin else subprocess.DEVNULL
            out_path = scratch / (step.stdout or f".stdout-{i}")
            try:
                with open(out_path, "wb") as out:
                    proc = subprocess.Popen([str(exe), *step.args], cwd=scratch, stdout=out,
                                            stderr=subprocess.DEVNULL, stdin=stdin)
                    try:
                        code, cpu = wait_cpu(proc, self.bench.timeout)
                    except TimeoutError as exc:
                        raise RunTimeout(str(exc)) from None
            finally:
                if step.stdin:
                    stdin.close()  # type: ignore[union-attr]
            if code != 0:
                what = f"killed by signal {-code}" if code < 0 else f"exited {code}"
                raise RunFailed(f"step {i + 1} ({' '.join(step.args)[:80]}) {what}")
            cpu_total += cpu
            with open(out_path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        return Outcome(digest.hexdigest(), cpu_total, time.perf_counter() - started)

    def count_instructions(self, exe: Path) -> tuple[int, str]:
        """Guest instructions of the count workload under callgrind, and that run's output hash."""
        scratch = self._scratch()
        total, digest = 0, hashlib.sha256()
        for i, step in enumerate(self.bench.count_steps):
            out_path = scratch / (step.stdout or f".stdout-{i}")
            stdin = open(scratch / step.stdin, "rb") if step.stdin else subprocess.DEVNULL
            try:
                with open(out_path, "wb") as out:
                    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                           str(exe), *step.args], cwd=scratch, stdout=out, stdin=stdin,
                                          stderr=subprocess.PIPE, timeout=self.bench.timeout * 50)
            except subprocess.TimeoutExpired:
                raise RunTimeout(f"callgrind ran past {self.bench.timeout * 50:g} s") from None
            finally:
                if step.stdin:
                    stdin.close()  # type: ignore[union-attr]
            m = _COLLECTED.search(proc.stderr.decode(errors="replace"))
            if proc.returncode != 0 or not m:
                raise RunFailed(f"callgrind step {i + 1}: exit {proc.returncode}, no instruction count")
            total += int(m.group(1))
            digest.update(out_path.read_bytes())
        return total, digest.hexdigest()

    def close(self) -> None:
        self._tmp.cleanup()
