"""MLIR cost as a :class:`~irpipe.problems.base.Problem`: the CPU time and instructions per call of
a StableHLO module under each IREE compile configuration (GNN over the op graph; models/mlir-cost).

A thin adapter over :mod:`irpipe.train.mlir_cost` (config, data, model, training on the one
loop, :class:`~irpipe.train.mlir_cost.MlirCostPredictor`) and :mod:`irpipe.data.mlir_cost`
(examples split by program, the analytical baseline).  ``irpipe predict-cost`` is
``irpipe predict --problem mlir-cost``.

    USAGE: irpipe predict --problem mlir-cost prog.mlir
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from irpipe.errors import ConfigError, EvalError, IrpipeError, MLIRError
from irpipe.problems.base import EvalRequest, TrainOptions, default_model


class MlirCost:
    """The MLIR cost problem (see the module docstring)."""

    name = "mlir-cost"
    summary = "CPU time and instructions of a StableHLO module under each IREE config (models/mlir-cost)"
    default_model = "mlir-cost"
    input_kind = "mlir"
    evaluate_options = frozenset({"measurements"})

    @property
    def config_type(self) -> type:
        from irpipe.train.mlir_cost import MlirCostConfig

        return MlirCostConfig

    def load_config(self, path: str | Path | None, overrides: Sequence[str] = ()) -> Any:
        from irpipe.train.mlir_cost import load_config

        return load_config(path, overrides)

    def dataset(self, config: Any) -> Any:
        """The examples of each split with their op graphs and the encoding fitted on train."""
        from irpipe.train.mlir_cost import CostData

        return CostData.load(config)

    def build_model(self, config: Any, data: Any) -> Any:
        from irpipe.train.mlir_cost import build_model

        return build_model(config, len(data.enc.vocab) + 1)

    def train(self, config: Any, out: Path, options: TrainOptions = TrainOptions()) -> dict[str, Any]:
        from irpipe.train.mlir_cost import train

        if options.address:
            raise ConfigError("--address: only --problem phase-order trains on Ray")
        return train(config, Path(out), resume=options.resume)

    def predict(self, model_dir: str | Path, file: str, data: bytes | None = None) -> dict[str, Any]:
        """Predicted seconds and instructions per call under each config, and the best config."""
        from irpipe.mlir import ir

        data = Path(file).read_bytes() if data is None else data
        module = ir.parse(data, name=file, isolate=True)  # a parser crash costs one error line
        dialects = ir.dialects_of(module)
        level = ir.guess_level(dialects)
        if level != "source":
            raise MLIRError(f"{file}: predict-cost reads source-level MLIR (stablehlo/tosa), this module is at "
                            f"level {level!r} (dialects {', '.join(dialects)})")
        ir.entry_arguments(module)  # the model was trained on @main entry points
        from irpipe.train.mlir_cost import MlirCostPredictor  # torch: only for a module worth predicting

        pred = MlirCostPredictor.load(model_dir).predict(module, name=file)
        return {"file": file, "best": min(pred, key=lambda c: pred[c]["seconds"]), "predictions": pred}

    def format_prediction(self, result: dict[str, Any]) -> str:
        lines = [f"{'config':<16}{'seconds/call':>14}{'instructions':>16}"]
        for config, p in sorted(result["predictions"].items(), key=lambda kv: kv[1]["seconds"]):
            mark = "  <- best" if config == result["best"] else ""
            lines.append(f"{config:<16}{p['seconds']:>14.3e}{p['instructions']:>16.0f}{mark}")
        return "\n".join(lines)

    def evaluate(self, request: EvalRequest) -> dict[str, Any]:
        """Each model and the analytical baseline on the split's source-level modules."""
        import numpy as np

        from irpipe.data.mlir_cost import TARGETS, AnalyticalBaseline, load_examples
        from irpipe.nn.checkpoint_files import read_meta
        from irpipe.train.mlir_cost import MlirCostPredictor, score

        models = request.models or (default_model(self),)
        predictors = {str(d): MlirCostPredictor.load(d) for d in models}
        cfg = read_meta(models[0], problem=self.name)["config"]
        dataset, runs = request.dataset or cfg["dataset"], request.measurements or cfg["runs"]
        examples = load_examples(dataset, runs, seed=int(cfg.get("split_seed", 0)))
        chosen = [e for e in examples if request.split in ("all", e.split)][:request.max_modules]
        if not chosen:
            raise EvalError(f"no source-level MLIR module of {dataset} in split {request.split!r}")
        report: dict[str, Any] = {"problem": self.name, "dataset": str(dataset), "runs": str(runs),
                                  "split": request.split, "modules": len(chosen), "models": {}}
        for d, predictor in predictors.items():
            kept, preds = [], []
            for e in chosen:
                try:
                    p = predictor.predict(e.text, name=e.variant or e.structural_hash[:12])
                except IrpipeError:
                    continue
                kept.append(e)
                preds.append([[math.log(p[c][t]) for t in TARGETS] for c in predictor.configs])
            report["models"][d] = {"modules": len(kept), "failed": len(chosen) - len(kept),
                                   **(score(np.array(preds), kept) if kept else {})}
        train = [e for e in examples if e.split == "train"]
        if train:
            base = AnalyticalBaseline().fit(train)
            report["analytical"] = score(np.stack([base.predict(chosen, t) for t in TARGETS], -1), chosen)
        report["failed"] = max(m["failed"] for m in report["models"].values())
        return report

    def format_report(self, report: dict[str, Any]) -> str:
        names = list(report["models"])
        columns = [*(Path(d).name for d in names), *(["analytical"] if "analytical" in report else [])]
        lines = [f"{report['modules']} source-level modules (split {report['split']}), failed: {report['failed']}",
                 "", "| metric | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        keys = [k for k in report["models"][names[0]] if k not in ("modules", "failed")]
        for key in keys:
            vals = [report["models"][d].get(key, math.nan) for d in names]
            if "analytical" in report:
                vals.append(report["analytical"].get(key, math.nan))
            lines.append(f"| {key} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
        return "\n".join(lines)
