"""Phase ordering as a :class:`~irpipe.problems.base.Problem`: which LLVM pass pipelines to
compile a module with (cost model + policy over the candidate pipelines; models/default).

A thin adapter: config :mod:`irpipe.train.config`, data :mod:`irpipe.train.data`, model and
loop :mod:`irpipe.train.phase_order`, training :mod:`irpipe.train.job` (one process or Ray
Train DDP), prediction :class:`irpipe.train.predict.Predictor`, evaluation
:mod:`irpipe.train.evaluate`.

    USAGE: irpipe predict --problem phase-order prog.ll   # the pipelines to compile, per objective
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from irpipe.problems.base import EvalRequest, TrainOptions, default_model
from irpipe.train.config import Config, load_config

#: compiles after the model call that ``predict`` lists (optimize's default)
VERIFY = 10
UNITS = {"instcount": "IR instructions", "size": ".text bytes"}


class PhaseOrder:
    """The phase-ordering problem (see the module docstring)."""

    name = "phase-order"
    summary = "LLVM pass pipelines for a module: cost model + policy over candidate pipelines (models/default)"
    config_type = Config
    default_model = "default"
    input_kind = "llvm"
    evaluate_options = frozenset({"measurements", "work", "verify", "baselines", "max_instructions"})

    def load_config(self, path: str | Path | None, overrides: Sequence[str] = ()) -> Config:
        return load_config(path, overrides)

    def dataset(self, config: Config) -> tuple[Any, Any, Any]:
        """(examples, encoders, candidate pipelines) of ``config.data``."""
        from irpipe.train.data import build_examples

        return build_examples(config.data, config.model.arch)

    def build_model(self, config: Config, data: tuple[Any, Any, Any]) -> Any:
        from irpipe.train.phase_order import build_model

        _, encoders, pset = data
        return build_model(config, encoders, pset)

    def train(self, config: Config, out: Path, options: TrainOptions = TrainOptions()) -> dict[str, Any]:
        from irpipe.train.job import run_train

        return run_train(config, out, resume=options.resume, progress=options.progress,
                         address=options.address)

    def predict(self, model_dir: str | Path, file: str, data: bytes | None = None) -> dict[str, Any]:
        """The ``VERIFY`` pipelines to compile per objective, in order, with the predicted metric."""
        from irpipe.data.examples import OBJECTIVES
        from irpipe.llvm import ir
        from irpipe.train.predict import Predictor

        data = ir.read_module(file) if data is None else data
        predictor = Predictor.load(model_dir)
        pred = predictor.predict(data, name=file)
        result: dict[str, Any] = {"file": file, "model": str(model_dir), "arch": predictor.arch,
                                  "input_instructions": pred.input_instructions, "objectives": {}}
        for objective, _ in OBJECTIVES:
            predicted = dict(zip(pred.pipelines, pred.predicted(objective).tolist()))
            result["objectives"][objective] = {
                "unit": UNITS.get(objective, objective),
                "verify": [{"pipeline": p, "predicted": round(predicted[p], 1)}
                           for p in predictor.verify_set(pred, objective, VERIFY)]}
        return result

    def format_prediction(self, result: dict[str, Any]) -> str:
        lines = [f"{result['file']}: {result['input_instructions']} IR instructions; model "
                 f"{result['model']} ({result['arch']})"]
        for objective, doc in result["objectives"].items():
            lines += ["", f"{objective}: compile these {len(doc['verify'])} pipelines, keep the best "
                          f"(predicted {doc['unit']})"]
            lines += [f"{i:>3}  {row['predicted']:>12.1f}  {row['pipeline']}"
                      for i, row in enumerate(doc["verify"], 1)]
        return "\n".join(lines)

    def evaluate(self, request: EvalRequest) -> dict[str, Any]:
        from irpipe.train.evaluate import EvalOptions, evaluate
        from irpipe.train.predict import Predictor

        models = request.models or (default_model(self),)
        dataset = request.dataset or Predictor.load(models[0]).config.data.dataset
        options = EvalOptions(split=request.split, verify=request.verify or VERIFY, seed=request.seed,
                              baselines=("random", "greedy") if request.baselines is None else request.baselines,
                              max_modules=request.max_modules, max_instructions=request.max_instructions)
        report = evaluate(models, dataset, measurements=request.measurements, work=request.work,
                          options=options, progress=request.progress)
        return {"problem": self.name, **report}

    def format_report(self, report: dict[str, Any]) -> str:
        from irpipe.train.evaluate import format_report

        return format_report(report)
