"""Examples for the MLIR cost model: source-level modules joined with their native measurements.

One :class:`CostExample` per "source"-level MLIR module that has MLIR_RUNS rows:
its text, and the log of CPU seconds and of instructions per call under every
configuration of :data:`irpipe.mlir.configs.CONFIGS` (NaN where a run failed).
Splits are by **source program** (package + ``module:function``): every input
variant and every lowering level of one program lands in the same split, so a
test program was never seen in training, not even at another size.

The analytical baseline (:class:`AnalyticalBaseline`) is what a cost model must
beat: per configuration, a least-squares fit of log cost on log FLOPs and log
bytes (irpipe.mlir.features), on the train split.

    USAGE: ex = load_examples("ds", "runs"); train = [e for e in ex if e.split == "train"]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from irpipe.data.splits import package_split
from irpipe.runtime.units import read_table
from irpipe.errors import EvalError
from irpipe.runtime.shards import read_modules
from irpipe.mlir.configs import CONFIGS

TARGETS = ("seconds", "instructions")
#: Program-level split fractions: few programs, so val and test get more than the LLVM side's 10%.
FRACTIONS = (0.6, 0.2, 0.2)
ANALYTICAL = ("log_flops", "log_bytes")


@dataclass
class CostExample:
    """One source-level MLIR module with its measured costs (``log`` of each target, per config)."""

    structural_hash: str
    program: str
    variant: str
    split: str
    text: str
    targets: dict[str, np.ndarray]            # target -> [C] log values, NaN where not measured
    features: dict[str, float] = field(default_factory=dict)


def program_key(package: str | None, source_path: str | None) -> str:
    """The unit of splitting: one source program."""
    return f"{package}/{source_path}"


def load_examples(dataset: str | Path, runs: str | Path, *, seed: int = 0,
                  configs: Sequence[str] = tuple(CONFIGS)) -> list[CostExample]:
    """Join ``dataset``'s source-level MLIR modules with the MLIR_RUNS of ``runs`` (a
    ``measure-mlir`` output directory)."""
    from irpipe.mlir.features import features

    table = read_table(runs, "mlir_runs").to_pylist()
    if not table:
        raise EvalError(f"{runs}: no MLIR_RUNS rows (run irpipe measure-mlir first)")
    measured: dict[str, dict[str, dict[str, Any]]] = {}
    for row in table:
        measured.setdefault(row["structural_hash"], {})[row["config"]] = row
    mods = read_modules(dataset, columns=["structural_hash", "content", "package_name", "source_path",
                                          "object_path", "ir_kind", "mlir_level"])
    examples = []
    for row in mods.to_pylist():
        if row["ir_kind"] != "mlir" or row["mlir_level"] != "source" or row["structural_hash"] not in measured:
            continue
        runs_of = measured[row["structural_hash"]]
        targets = {t: np.array([_log(runs_of.get(c, {}).get(t)) for c in configs]) for t in TARGETS}
        if not np.isfinite(targets["seconds"]).any():
            continue
        program = program_key(row["package_name"], row["source_path"])
        text = bytes(row["content"]).decode()
        examples.append(CostExample(row["structural_hash"], program, row["object_path"] or "",
                                    package_split(program, seed=seed, fractions=FRACTIONS), text, targets,
                                    features(text)))
    if not examples:
        raise EvalError(f"{dataset}: no source-level MLIR module has measurements in {runs}")
    return examples


def _log(value: Any) -> float:
    return math.log(value) if value is not None and value > 0 else math.nan


class AnalyticalBaseline:
    """Per configuration and target: log cost ~ a + b*log_flops + c*log_bytes, fitted on train."""

    def __init__(self) -> None:
        self.coef: dict[str, np.ndarray] = {}

    @staticmethod
    def _design(examples: Sequence[CostExample]) -> np.ndarray:
        return np.array([[1.0, *(e.features.get(k, 0.0) for k in ANALYTICAL)] for e in examples])

    def fit(self, examples: Sequence[CostExample]) -> "AnalyticalBaseline":
        x = self._design(examples)
        for t in TARGETS:
            y = np.stack([e.targets[t] for e in examples])                      # [N, C]
            coefs = []
            for c in range(y.shape[1]):
                ok = np.isfinite(y[:, c])
                sol = np.linalg.lstsq(x[ok], y[ok, c], rcond=None)[0] if ok.sum() >= 3 else np.zeros(x.shape[1])
                coefs.append(sol)
            self.coef[t] = np.stack(coefs, axis=1)                               # [3, C]
        return self

    def predict(self, examples: Sequence[CostExample], target: str) -> np.ndarray:
        """[N, C] predicted log costs."""
        return self._design(examples) @ self.coef[target]
