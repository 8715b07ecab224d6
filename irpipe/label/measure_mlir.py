"""Labels by native execution: compile a StableHLO module under several IREE configurations, run it.

For each configuration of :data:`CONFIGS`, :class:`MlirRunner` compiles the
module with iree-compile for x86-64-v3, generates seeded inputs for its
``@main`` arguments, and measures one call

* in CPU time: ``iree-benchmark-module`` on the single-threaded ``local-sync``
  device, ``repetitions`` Google-benchmark repetitions (median and IQR);
* in instructions: callgrind over the same binary with collection switched on
  only inside ``iree_vm_invoke`` (``--toggle-collect``), so process start and
  module loading are not counted; valgrind runs it with io_uring refused (see
  :mod:`irpipe.mlir.tools`).  Deterministic to a few instructions.

The runner is plain Python (a Ray job or a test calls ``process``); timing runs
are serial by design: two measurements sharing the 2 cores would disturb each other.

    USAGE: rows = MlirRunner(work=Path("w")).process(modules_row)
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from irpipe.runtime import callgrind
from irpipe.runtime.units import ModuleStage
from irpipe.errors import IRError, LoweringError, ToolError, ToolFailed
from irpipe.mlir import ir
from irpipe.mlir.configs import CONFIGS, config_flags
from irpipe.extract.mlir_lower import first_error
from irpipe.mlir.tools import IreeTools

_TENSOR = re.compile(r"^tensor<((?:\d+x)*)([a-z]+\d*)>$")
_NUMPY = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i1": np.bool_, "i8": np.int8,
          "i32": np.int32, "i64": np.int64}


def make_inputs(types: list[str], directory: Path, seed: int) -> list[Path]:
    """Seeded inputs for argument ``types`` (``tensor<64x128xf32>``) as .npy files: floats ~ N(0, 0.5),
    integers in [0, 8), booleans fair.  Raises :class:`LoweringError` for types it cannot make."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, t in enumerate(types):
        match = _TENSOR.match(t)
        if match is None or match.group(2) not in _NUMPY:
            raise LoweringError(f"cannot generate an input of type {t} (static tensors of "
                                f"{', '.join(_NUMPY)} only)")
        shape = tuple(int(d) for d in match.group(1).split("x") if d)
        dtype = _NUMPY[match.group(2)]
        if match.group(2).startswith("f"):
            value = (rng.standard_normal(shape) * 0.5).astype(dtype)
        elif dtype is np.bool_:
            value = rng.random(shape) < 0.5
        else:
            value = rng.integers(0, 8, size=shape).astype(dtype)
        paths.append(directory / f"in{i}.npy")
        np.save(paths[-1], value)
    return paths


@dataclass
class MlirRunner:
    """Measures source-level MLIR modules under :data:`CONFIGS` (Ray-free; one module per ``process``).

    Args:
        work: scratch directory (one subdirectory per module, removed afterwards).
        configs: which configurations to measure (default: all).
        repetitions: benchmark repetitions per configuration (median reported).
        min_time: seconds each repetition runs at least (Google benchmark's min_time).
        callgrind: also count instructions (one valgrind run per configuration).
        known: earlier MLIR_RUNS rows by (structural_hash, config) that are reused, not re-run
            (``irpipe measure-mlir --reuse``: a rebuilt dataset keeps the modules' measurements).
    """

    work: Path
    configs: tuple[str, ...] = tuple(CONFIGS)
    repetitions: int = 5
    min_time: float = 0.05
    callgrind: bool = True
    timeout: float = 300.0
    tools: IreeTools | None = None
    known: Mapping[tuple[str, str], Mapping[str, Any]] | None = None

    def setup(self) -> None:
        """Find and check IREE's tools, valgrind and the io_uring shim once per worker."""
        self.tools = self.tools or IreeTools(timeout=self.timeout)
        self.tools.path("iree-compile")
        self.tools.path("iree-benchmark-module")
        if self.callgrind:
            if shutil.which("valgrind") is None:
                raise ToolError("valgrind not found (apt-get install valgrind), or measure with callgrind off")
            self._shim = self.tools.no_io_uring_shim()

    def process(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """MLIR_RUNS rows (one per configuration) for one MODULES row at the "source" level.
        A module that cannot be parsed, compiled or run yields rows with ``error`` set, never raises."""
        if self.tools is None:
            self.setup()
        key = {k: row.get(k) for k in ("structural_hash", "package_name", "recipe_id", "language", "source_path")}
        known = self.known or {}
        if all((key["structural_hash"], c) in known for c in self.configs):
            return [{**dict(known[key["structural_hash"], c]), **key} for c in self.configs]
        work = Path(self.work).resolve() / str(row["structural_hash"])[:16]  # tools run with cwd=work
        shutil.rmtree(work, ignore_errors=True)
        try:
            text = bytes(row["content"]).decode()
            module = ir.parse(text, name=str(row.get("object_path") or key["structural_hash"]))
            inputs = make_inputs(ir.entry_arguments(module), work / "inputs",
                                 seed=int(str(key["structural_hash"])[:8], 16))
            (work / "source.mlir").write_text(text)
        except (IRError, LoweringError, UnicodeDecodeError) as exc:
            return [{**key, "config": c, "flags": config_flags(c), "error": str(exc).splitlines()[0][:500]}
                    for c in self.configs]
        rows = [{**key, "config": c, "flags": config_flags(c), "error": None, **self._measure(work, c, inputs)}
                for c in self.configs]
        shutil.rmtree(work, ignore_errors=True)
        return rows

    def _measure(self, work: Path, config: str, inputs: list[Path]) -> dict[str, Any]:
        assert self.tools is not None
        vmfb = work / f"{config}.vmfb"
        started = time.monotonic()
        try:
            self.tools.run("iree-compile", [str(work / "source.mlir"), *config_flags(config), "-o", str(vmfb)])
        except ToolError as exc:
            return {"error": f"compile: {first_error(str(exc))}"[:500]}
        out: dict[str, Any] = {"compile_seconds": round(time.monotonic() - started, 3),
                               "vmfb_bytes": vmfb.stat().st_size}
        run_args = ["--device=local-sync", f"--module={vmfb}", "--function=main",
                    *[f"--input=@{p}" for p in inputs]]
        try:
            proc = self.tools.run("iree-benchmark-module", [
                *run_args, f"--benchmark_min_time={self.min_time}s",
                f"--benchmark_repetitions={self.repetitions}", "--benchmark_format=json"], cwd=work)
            times = _cpu_seconds(proc.stdout)
            out.update(seconds=statistics.median(times), repetitions=len(times),
                       seconds_iqr=float(np.subtract(*np.percentile(times, [75, 25]))))
            if self.callgrind:
                out["instructions"] = self._instructions(work, run_args)
        except (ToolError, ValueError) as exc:
            return {**out, "seconds": None, "instructions": None,
                    "error": f"run: {first_error(str(exc))}"[:500]}
        return out

    def _instructions(self, work: Path, run_args: list[str]) -> int:
        assert self.tools is not None
        proc = self.tools.run("iree-benchmark-module", [*run_args, "--benchmark_min_time=1x",
                                                        "--benchmark_repetitions=1"], cwd=work,
                              env={"LD_PRELOAD": self._shim},
                              wrap=["valgrind", "--tool=callgrind", f"--callgrind-out-file={work / 'cg.out'}",
                                    "--toggle-collect=iree_vm_invoke*"])
        count = callgrind.instructions(proc.stderr)
        if count is None:
            raise ToolFailed("callgrind reported no instruction count")
        return count


def _cpu_seconds(stdout: bytes) -> list[float]:
    """Per-call CPU seconds of each benchmark repetition in iree-benchmark-module's JSON."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    data = json.loads(stdout.decode(errors="replace"))
    times = [b["cpu_time"] * scale[b.get("time_unit", "ns")] for b in data.get("benchmarks", [])
             if b.get("run_type") == "iteration"]
    if not times:
        raise ToolFailed("iree-benchmark-module reported no iterations")
    return times


class MlirMeasurer(ModuleStage):
    """The ``measure-mlir`` job's stage: every "source"-level MLIR module of a unit under the configs;
    its resources on a worker are the runner with IREE's tools found (``options``: an :class:`MlirRunner`)."""

    name = "measure"
    ir_kind = "mlir"
    outputs = ("mlir_runs",)

    options: MlirRunner

    @contextlib.contextmanager
    def resources(self) -> Iterator[MlirRunner]:
        self.options.setup()
        yield self.options

    def wanted(self, row: dict[str, Any]) -> bool:
        return super().wanted(row) and row.get("mlir_level") == "source"

    def module(self, row: dict[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
        return {"mlir_runs": self.worker.process(row)}

    def stats(self, rows: dict[str, list[dict]], failures: list[dict]) -> dict[str, Any]:
        runs = rows["mlir_runs"]
        return {"modules": len({r["structural_hash"] for r in runs}), "failed": len(failures),
                "runs": len(runs), "failed_runs": sum(r.get("error") is not None for r in runs)}
