"""What a learning problem is, and the registry of them (as MLGO keeps one configuration per problem).

Every problem (phase ordering, inlining, MLIR cost, ...) is a :class:`Problem`: a config
type read from TOML, a dataset built from it, a model, training on the one loop
(:mod:`irpipe.train.loop`) into the one checkpoint format (:mod:`irpipe.nn.checkpoint_files`:
safetensors + ``model.json`` with ``format``, ``version``, ``problem``, ``config``),
prediction for one input file, and evaluation with a ``failed`` count.  The CLI has one
shape for all of them::

    irpipe train    --problem NAME [--config C] [--set K=V] [--out DIR]
    irpipe predict  --problem NAME FILE [--model DIR] [--json]
    irpipe evaluate --problem NAME [--model DIR] [--dataset D] [--json OUT]

A new problem is a module with a class that fits :class:`Problem` and one line in
:data:`PROBLEMS`.  This module imports neither torch nor the problems themselves: the
CLI lists the names without loading any.

    USAGE: problem = get("mlir-cost"); cfg = problem.load_config(problem.default_config(), [])
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from irpipe.errors import ConfigError
from irpipe.paths import model_dir

#: name -> "module:class" of every problem (loaded on first use)
PROBLEMS: dict[str, str] = {
    "phase-order": "irpipe.problems.phase_order:PhaseOrder",
    "inliner": "irpipe.problems.inliner:Inliner",
    "mlir-cost": "irpipe.problems.mlir_cost:MlirCost",
    "loop-decisions": "irpipe.problems.loop_decisions:LoopDecisions",
}
DEFAULT = "phase-order"


@dataclass(frozen=True)
class TrainOptions:
    """How to run a training (not what to train: that is the config)."""

    resume: bool = False           # continue from OUT/last (problems whose trainable can resume)
    progress: bool = True
    address: str | None = None     # phase order with train.workers > 1: the Ray cluster


@dataclass(frozen=True)
class EvalRequest:
    """What ``irpipe evaluate`` asks of a problem.  ``None`` means the problem's default: its
    released model, the dataset (and measurements) the model was trained on."""

    models: tuple[str, ...] = ()
    dataset: str | None = None
    measurements: str | None = None   # phase order: MEASUREMENTS; MLIR cost: MLIR_RUNS
    split: str = "test"
    max_modules: int | None = None
    seed: int = 0
    progress: bool = True
    # phase order only (see Problem.evaluate_options)
    work: str | None = None
    verify: int | None = None
    baselines: tuple[str, ...] | None = None
    max_instructions: int | None = None


#: EvalRequest fields every problem reads
COMMON_EVAL_OPTIONS = frozenset({"models", "dataset", "split", "max_modules", "seed", "progress"})


@runtime_checkable
class Problem(Protocol):
    """A learning problem: config, dataset, model, train, predict, evaluate."""

    name: str
    summary: str                      # one line for --help
    config_type: type                 # the frozen dataclass load_config returns
    default_model: str                # the released model folder (irpipe.paths.model_dir)
    input_kind: str                   # what predict reads: "llvm" (.ll/.bc), "mlir", "source" (C or IR)
    evaluate_options: frozenset[str]  # EvalRequest fields read beyond COMMON_EVAL_OPTIONS

    def load_config(self, path: str | Path | None, overrides: Sequence[str] = ()) -> Any:
        """The config at ``path`` (TOML) with ``key=value`` overrides; ConfigError when bad."""

    def dataset(self, config: Any) -> Any:
        """The training data ``config`` names, ready for :meth:`build_model` and training."""

    def build_model(self, config: Any, data: Any) -> Any:
        """A fresh (untrained) model for ``config`` and ``data``."""

    def train(self, config: Any, out: Path, options: TrainOptions = TrainOptions()) -> dict[str, Any]:
        """Train on the one loop into the checkpoint ``out``; the kept model's metrics."""

    def predict(self, model_dir: str | Path, file: str, data: bytes | None = None) -> dict[str, Any]:
        """The model's answer for one input file (``data``: its bytes, read when None), JSON-able."""

    def format_prediction(self, result: dict[str, Any]) -> str:
        """:meth:`predict`'s result as text for a terminal."""

    def evaluate(self, request: EvalRequest) -> dict[str, Any]:
        """Metrics of ``request.models``, JSON-able, with ``failed``: the items left out."""

    def format_report(self, report: dict[str, Any]) -> str:
        """:meth:`evaluate`'s report as a Markdown table."""


def names() -> list[str]:
    """The known problems' names, sorted."""
    return sorted(PROBLEMS)


def get(name: str) -> Problem:
    """The problem called ``name``; :class:`ConfigError` (one line, the known names) otherwise."""
    if name not in PROBLEMS:
        raise ConfigError(f"unknown problem {name!r}; known: {', '.join(names())}")
    module, _, cls = PROBLEMS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def default_config(problem: Problem) -> Path:
    """The config of ``problem``'s released model (``models/<default_model>/config.toml``)."""
    return Path(model_dir(problem.default_model)) / "config.toml"


def default_model(problem: Problem) -> str:
    """The folder of ``problem``'s released model."""
    return str(model_dir(problem.default_model))


def unsupported(problem: Problem, request: EvalRequest) -> list[str]:
    """The fields of ``request`` that are set but that ``problem`` does not read."""
    allowed = COMMON_EVAL_OPTIONS | problem.evaluate_options
    return [f for f in EvalRequest.__dataclass_fields__
            if f not in allowed and getattr(request, f) not in (None, False, ())]
