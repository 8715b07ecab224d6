"""Inlining as a :class:`~irpipe.problems.base.Problem`: a linear policy that answers every
inlining decision of stock clang-22 through MLGO's interactive protocol, trained with
evolution strategies for .text bytes at -Oz (models/inliner).

A thin adapter over :mod:`irpipe.train.inliner` (config, modules, ES on the one loop,
evaluation against LLVM's default inliner) and :class:`irpipe.nn.inliner.InlinerPolicy`.

    USAGE: irpipe predict --problem inliner prog.bc   # call sites, decisions, .text vs the default
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from irpipe.errors import ConfigError
from irpipe.problems.base import EvalRequest, TrainOptions, default_model
from irpipe.train.inliner import InlinerConfig, ModuleSet

#: held-out modules ``evaluate`` compiles when ``--max-modules`` is not given
EVAL_MODULES = 60


class _Counting:
    """A policy that counts its decisions and the inlinings among them."""

    kind = "inline"

    def __init__(self, policy: Any) -> None:
        self.policy, self.decisions, self.inlined = policy, 0, 0

    def __call__(self, features: dict) -> int:
        answer = self.policy(features)
        self.decisions += 1
        self.inlined += int(answer)
        return answer


class Inliner:
    """The inlining problem (see the module docstring)."""

    name = "inliner"
    summary = "inlining decisions inside stock clang-22 (MLGO protocol), ES for .text bytes (models/inliner)"
    config_type = InlinerConfig
    default_model = "inliner"
    input_kind = "llvm"
    evaluate_options: frozenset[str] = frozenset()

    def load_config(self, path: str | Path | None, overrides: Sequence[str] = ()) -> InlinerConfig:
        from irpipe.train.inliner import load_config

        return load_config(path, overrides)

    def dataset(self, config: InlinerConfig) -> tuple[ModuleSet, ModuleSet]:
        """(train modules, held-out val+test modules), prepared, with their failure counts."""
        from irpipe.train.inliner import load_modules

        return (load_modules(config.dataset, "train", config.train_modules, seed=config.seed),
                load_modules(config.dataset, "val+test", config.eval_modules, seed=config.seed))

    def build_model(self, config: InlinerConfig, data: tuple[ModuleSet, ModuleSet]) -> Any:
        """The starting policy: LLVM's own decisions, standardized on the training call sites."""
        from irpipe.train.inliner import start_policy

        return start_policy(data[0].modules)[0]

    def train(self, config: InlinerConfig, out: Path, options: TrainOptions = TrainOptions()) -> dict[str, Any]:
        from irpipe.train.inliner import run

        if options.resume:
            raise ConfigError("--resume: the inliner's evolution strategies cannot resume; train again")
        if options.address:
            raise ConfigError("--address: only --problem phase-order trains on Ray")
        report = run(config, out)
        return {k: report[k] for k in ("train", "held_out", "train_seconds")}

    def predict(self, model_dir: str | Path, file: str, data: bytes | None = None) -> dict[str, Any]:
        """Compile ``file`` at -Oz with LLVM's inliner and with the policy: decisions and .text bytes."""
        from irpipe.label.measure import Evaluator
        from irpipe.llvm import ir
        from irpipe.nn.inliner import DEFAULT_FEATURE, InlinerPolicy
        from irpipe.train.inliner import Default, compile_text_bytes

        policy = InlinerPolicy.load(model_dir)
        data = ir.read_module(file) if data is None else data
        _, raw = Evaluator(data, name=file).evaluate("verify", bitcode=True)
        default, mine = Default(record=True), _Counting(policy)
        base = compile_text_bytes(raw["bitcode"], default)
        size = compile_text_bytes(raw["bitcode"], mine)
        return {"file": file, "model": str(model_dir),
                "default": {"decisions": len(default.seen), "text_bytes": base,
                            "inlined": sum(int(f[DEFAULT_FEATURE][0]) for f in default.seen)},
                "policy": {"decisions": mine.decisions, "inlined": mine.inlined, "text_bytes": size},
                "gain": round(base / size, 5) if size > 0 else math.nan}

    def format_prediction(self, result: dict[str, Any]) -> str:
        d, p = result["default"], result["policy"]
        return "\n".join([
            f"{result['file']}: clang-22 -Oz, model {result['model']}",
            f"{'inliner':<10}{'decisions':>10}{'inlined':>10}{'.text bytes':>14}",
            f"{'default':<10}{d['decisions']:>10}{d['inlined']:>10}{d['text_bytes']:>14}",
            f"{'policy':<10}{p['decisions']:>10}{p['inlined']:>10}{p['text_bytes']:>14}",
            f"default / policy .text: {result['gain']:.4f}"])

    def evaluate(self, request: EvalRequest) -> dict[str, Any]:
        """Each policy against LLVM's default inliner on ``max_modules`` modules of the split."""
        from irpipe.nn.inliner import InlinerPolicy
        from irpipe.train.inliner import evaluate, load_modules

        models = request.models or (default_model(self),)
        policies = {str(d): InlinerPolicy.load(d) for d in models}
        dataset = request.dataset or policies[str(models[0])].info.get("config", {}).get(
            "dataset", InlinerConfig().dataset)
        modules = load_modules(dataset, request.split, request.max_modules or EVAL_MODULES, seed=request.seed)
        results = {d: evaluate(p, modules.modules, failed=modules.failed) for d, p in policies.items()}
        return {"problem": self.name, "dataset": str(dataset), "split": request.split,
                "modules": len(modules.modules), "failed": max(r["failed"] for r in results.values()),
                "models": results}

    def format_report(self, report: dict[str, Any]) -> str:
        lines = [f"{report['modules']} modules (split {report['split']}), failed: {report['failed']}", "",
                 "| model | modules | failed | geomean default / policy .text | bytes default -> policy | smaller / larger |",
                 "|---|---:|---:|---:|---:|---|"]
        for d, r in report["models"].items():
            lines.append(f"| {Path(d).name} | {r['modules']} | {r['failed']} | {r['geomean_gain']:.4f} | "
                         f"{r['total_default_bytes']} -> {r['total_policy_bytes']} | {r['smaller']} / {r['larger']} |")
        return "\n".join(lines)
