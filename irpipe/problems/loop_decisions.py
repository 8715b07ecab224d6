"""Per-loop decisions as a :class:`~irpipe.problems.base.Problem` (issue J item 4): per loop, the
proxy-cycle ratio of each decision of :mod:`irpipe.label.loops`'s space predicted from the
loop's facts, and a policy that picks the best one when it beats -O3 by a margin
(:mod:`irpipe.train.loop_decisions`; models/loop-decisions).

``evaluate`` holds out families: a model trained with ``test_families`` is scored on those; a
model trained on every family is cross-fitted, as the static rule of benchmarks/loop_label_bench.py
was chosen: one model per half of the families, trained now with the model's config and scored
on the other half.  A model trained with ``select`` has each fold's config chosen again by
leave-one-family-out inside that fold's training half only (:func:`irpipe.train.loop_decisions.select`),
so no held-out figure takes part in choosing it.  Against -O3 (1.0), the best static rule chosen on the training families, a
uniformly random decision per loop and the per-loop oracle, all as geomeans by family of per-program
ratios estimated from the labels (product of per-loop ratios); with ``--work DIR`` also
re-measured: the labelled programs regenerated in DIR, one advice file per program and method, built,
measured by the cycle proxy and output-checked (:meth:`LoopLabeler.measure_advice`).

    USAGE: irpipe evaluate --problem loop-decisions --dataset benchmarks/results/loops
           irpipe predict --problem loop-decisions prog.c     # the advice (v2 loops) it would write
"""

from __future__ import annotations

import json
import math
import random
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from irpipe.errors import ConfigError, EvalError
from irpipe.problems.base import EvalRequest, TrainOptions, default_model

METHODS = ("O3", "static", "random", "policy", "oracle")


def _geomean(xs: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _ratio(ex: Any, choice: int) -> float:
    """A loop's label ratio under decision index ``choice`` (-1, unknown or wrong output: 1.0)."""
    return 1.0 if choice < 0 or math.isnan(ex.ratios[choice]) else float(ex.ratios[choice])


def _by_program(examples: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in examples:
        out.setdefault(e.program, []).append(e)
    return out


def static_rule(train_ex: Sequence[Any]) -> int:
    """The decision index whose every-loop application has the best geomean estimate on ``train_ex``."""
    from irpipe.train.loop_decisions import DECISIONS

    programs = _by_program(train_ex).values()
    gm = [_geomean([math.prod(_ratio(e, d if e.allowed[d] else -1) for e in ls) for ls in programs]) or 1.0
          for d in range(len(DECISIONS))]
    return int(np.argmin(gm))


def picks(pred_log: np.ndarray, ex: Sequence[Any], rule: int, residual: bool, margin: float = 0.01) -> list[int]:
    """The decision index of each loop of ``ex`` (-1: keep -O3) from predicted log ratios
    ``pred_log`` [loops, decisions].  The released policy's: the best allowed prediction if it is
    below ``log(1 - margin)``.  ``residual``: start from the static ``rule`` and leave it only where
    the prediction says the rule loses (keep -O3) or another decision beats it by the margin."""
    out, gain = [], math.log(1 - margin)
    for p, e in zip(pred_log, ex):
        p = np.where(e.allowed, p, np.inf)
        best = int(np.argmin(p))
        if not residual:
            out.append(best if p[best] < gain else -1)
            continue
        base = rule if e.allowed[rule] else -1
        at = p[rule] if base >= 0 else 0.0
        if best != base and p[best] < at + gain:
            out.append(best if p[best] < 0 else -1)
        else:
            out.append(-1 if base >= 0 and at > -gain else base)
    return out


def program_ratios(ex: Sequence[Any], chosen: Sequence[int]) -> dict[str, float]:
    """Per program, the product of its loops' label ratios under ``chosen`` (estimated)."""
    out: dict[str, float] = {}
    for e, c in zip(ex, chosen):
        out[e.program] = out.get(e.program, 1.0) * _ratio(e, c)
    return out


def family_halves(examples: Sequence[Any]) -> list[list[str]]:
    """The two halves of the families present (every other one of
    :data:`irpipe.label.programs.FAMILIES`): each fold holds one out."""
    from irpipe.label.programs import FAMILIES

    names = [f for f in FAMILIES if any(e.family == f for e in examples)]
    return [names[1::2], names[0::2]]


def choices(policy: Any, ex: Sequence[Any], rule: int) -> dict[str, list[int]]:
    """Per method (not random), the decision index of each loop of ``ex`` (-1: keep -O3)."""
    feats, allowed = np.stack([e.features for e in ex]), np.stack([e.allowed for e in ex])
    best = [int(np.nanargmin(e.ratios)) if np.nanmin(e.ratios) < 1.0 else -1 for e in ex]
    return {"O3": [-1] * len(ex), "static": [rule if e.allowed[rule] else -1 for e in ex],
            "policy": policy.choices(feats, allowed), "oracle": best}


def estimate(policy: Any, test_ex: Sequence[Any], rule: int) -> dict[str, dict[str, float]]:
    """Per held-out program, each method's ratio estimated from the labels; random as the
    expectation (geomean) over a uniform draw of each loop's space."""
    out = {}
    for program, ex in _by_program(test_ex).items():
        picked = choices(policy, ex, rule)
        got = {m: math.prod(_ratio(e, c) for e, c in zip(ex, cs)) for m, cs in picked.items()}
        got["random"] = math.exp(sum(np.mean([math.log(_ratio(e, d)) for d in np.flatnonzero(e.allowed)])
                                     for e in ex))
        out[program] = {"family": ex[0].family, **got,
                        "changed": sum(c >= 0 for c in picked["policy"]), "loops": len(ex)}
    return out


def folds(model_dir: str, examples: Sequence[Any], work: Path) -> list[tuple[Any, list[Any], list[Any]]]:
    """(policy, train loops, test loops) per fold: a dataset none of whose families the model
    trained on, held out whole (the model as it is; the static rule chosen on the model's own
    training labels); else the model's own held-out families; else (a model trained on every
    family) the two halves of the families, a model trained on each now."""
    from irpipe.train.loop_decisions import LoopPolicy, load_loops, split, train

    policy = LoopPolicy.load(model_dir)
    trained_on = set(policy.meta.get("train_families") or ())
    if trained_on and not trained_on & {str(e.family) for e in examples}:
        try:
            seen = [e for e in load_loops(policy.config.labels) if str(e.family) in trained_on]
        except (OSError, ValueError) as exc:  # the rule is chosen on what the model saw
            raise EvalError(f"{model_dir}: its training labels {policy.config.labels} (for the static rule): "
                            f"{str(exc).splitlines()[0]}") from None
        if not seen:
            raise EvalError(f"{model_dir}: no labels of its training families under {policy.config.labels} "
                            "(the static rule is chosen on them)")
        return [(policy, seen, list(examples))]
    if policy.config.held_out():
        return [(policy, *split(examples, policy.config.held_out()))]
    out = []
    for i, held in enumerate(family_halves(examples)):
        cfg = replace(policy.config, test_families=",".join(held))
        train(cfg, work / f"fold{i}")
        out.append((LoopPolicy.load(work / f"fold{i}"), *split(examples, held)))
    return out


def remeasure(fold: tuple[Any, list[Any], list[Any]], rule: int, corpus: Path, seed: int,
              log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Per held-out program of ``fold``: each method's decisions as one advice file, built,
    measured and output-checked; a failed or wrong build scores 1.0 and is counted."""
    from irpipe.label.loops import LoopLabeler, load_program
    from irpipe.train.loop_decisions import DECISIONS

    policy, _, test_ex = fold
    stage, out = LoopLabeler(), {}
    stage.setup()
    try:
        for program, ex in _by_program(test_ex).items():
            prog = load_program(corpus / program)
            base, listed = stage.baseline(prog)
            if [lp["id"] for lp in listed] != [e.loop_id for e in ex]:
                out[program] = {"family": ex[0].family, "error": "loops differ from the labels'"}
                continue
            picked = choices(policy, ex, rule)
            rng = random.Random(f"{seed}/{program}")
            picked["random"] = [rng.choice(list(np.flatnonzero(e.allowed))) for e in ex]
            row: dict[str, Any] = {"family": ex[0].family, "O3": 1.0, "failed": 0}
            for method in ("static", "random", "policy", "oracle"):
                loops = {e.loop_id: json.loads(DECISIONS[c]) for e, c in zip(ex, picked[method]) if c >= 0}
                got = stage.measure_advice(prog, loops, base) if loops else {"ratio": 1.0, "output_ok": True}
                ok = got["output_ok"] and got["ratio"] is not None
                row[method], row["failed"] = (got["ratio"] if ok else 1.0), row["failed"] + (not ok)
                if not ok:  # scored as -O3; named in the log and the report
                    row.setdefault("errors", {})[method] = str(got.get("error") or "no ratio")[:300]
            out[program] = row
            log(f"  {program}: " + " ".join(f"{m}={row[m]:.4f}" for m in METHODS)
                + "".join(f"; {m} failed: {e}" for m, e in row.get("errors", {}).items()))
    finally:
        stage.close()
    return out


def table(per_program: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Geomeans of each method by family and over all programs (``all``)."""
    rows = [r for r in per_program.values() if "error" not in r]
    fams = sorted({r["family"] for r in rows})
    return {f: {"programs": len(ps), **{m: _geomean([p[m] for p in ps]) for m in METHODS}}
            for f in [*fams, "all"] for ps in [[r for r in rows if f in ("all", r["family"])]]}


def evaluate_model(model_dir: str, dataset: str, work: str | None, seed: int,
                   log: Callable[[str], None]) -> dict[str, Any]:
    """One model's held-out report: folds, the static rule each chose, estimates, re-measures."""
    from irpipe.label.programs import regenerate
    from irpipe.train.loop_decisions import DECISIONS, load_loops

    examples = load_loops(dataset)
    with tempfile.TemporaryDirectory(prefix="irpipe-loopdec-") as tmp:
        fs = folds(model_dir, examples, Path(tmp))
        est, meas, rules = {}, {}, []
        corpus = None
        if work is not None:  # the labelled programs, regenerated from their names
            corpus = Path(work) / "corpus"
            regenerate(corpus, dict.fromkeys(e.program for e in examples))
        for fold in fs:
            rule = static_rule(fold[1])
            rules.append({"train": sorted({str(e.family) for e in fold[1]}),
                          "test": sorted({str(e.family) for e in fold[2]}), "static_rule": DECISIONS[rule],
                          "config": {k: getattr(fold[0].config, k)
                                     for k in ("hidden", "weight_decay", "margin", "body_facts")},
                          "selection": fold[0].meta.get("selection")})
            est.update(estimate(fold[0], fold[2], rule))
            if corpus is not None:
                meas.update(remeasure(fold, rule, corpus, seed, log))
    report = {"folds": rules, "estimated": table(est), "programs": est,
              "loops_changed": sum(r["changed"] for r in est.values()), "loops": sum(r["loops"] for r in est.values()),
              "failed": 0}
    if corpus is not None:
        report.update(measured=table(meas), measured_programs=meas,
                      failed=sum(r.get("failed", 0) + ("error" in r) for r in meas.values()))
    return report


def _selection_line(fold: dict[str, Any]) -> str:
    """One fold's policy config and, when chosen by inner CV, each candidate's CV estimate."""
    line = f"test {','.join(fold['test'])}: config " + json.dumps(fold["config"])
    sel = fold.get("selection")
    if sel:
        line += (f", chosen by leave-one-family-out on {','.join(sel['families'])}: "
                 + "; ".join(f"{'*' if i == sel['chosen'] else ''}hidden {g['hidden']} wd {g['weight_decay']} "
                             f"margin {g['margin']}{' body' if g.get('body_facts') else ''}: {g['cv']:.4f}"
                             for i, g in enumerate(sel["grid"])))
    return line


def compile_listing(file: str, cflags: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The loops clang-22 -O3 reaches at the vectorizer start in ``file`` (C or LLVM IR), as the
    plugin lists them."""
    from irpipe.llvm.loops import parse_loop_listing
    from irpipe.llvm.native import plugin_path
    from irpipe.llvm.tools import Toolchain

    with tempfile.TemporaryDirectory(prefix="irpipe-loopdec-") as tmp:
        done = Toolchain().run("clang", ["-O3", f"-fpass-plugin={plugin_path()}", "-mllvm", "-irpipe-print-loops",
                                         *cflags, "-c", file, "-o", str(Path(tmp) / "out.o")], timeout=300)
    return parse_loop_listing(done.stderr.decode("utf-8", errors="replace"))


class LoopDecisions:
    """The per-loop decisions problem (see the module docstring)."""

    name = "loop-decisions"
    summary = "per-loop unroll/interleave/vectorize decisions by predicted proxy cycles (models/loop-decisions)"
    default_model = "loop-decisions"
    input_kind = "source"            # C or LLVM IR: clang-22 compiles it with the plugin
    evaluate_options = frozenset({"work"})

    @property
    def config_type(self) -> type:
        from irpipe.train.loop_decisions import LoopDecisionsConfig

        return LoopDecisionsConfig

    def load_config(self, path: str | Path | None, overrides: Sequence[str] = ()) -> Any:
        from irpipe.train.loop_decisions import load_config

        return load_config(path, overrides)

    def dataset(self, config: Any) -> Any:
        """(train loops, held-out loops) of ``config``: split by family."""
        from irpipe.train.loop_decisions import load_loops, split

        return split(load_loops(config.labels), config.held_out())

    def build_model(self, config: Any, data: Any) -> Any:
        from irpipe.train.loop_decisions import build_model

        return build_model(config, data[0])

    def train(self, config: Any, out: Path, options: TrainOptions = TrainOptions()) -> dict[str, Any]:
        from irpipe.train.loop_decisions import train

        if options.resume or options.address:
            raise ConfigError("--resume/--address: loop-decisions trains in seconds in one process; train again")
        return train(config, Path(out), progress=options.progress)

    def predict(self, model_dir: str | Path, file: str, data: bytes | None = None) -> dict[str, Any]:
        """The plugin's loops of ``file``, the predicted ratio of each decision, and the advice file."""
        from irpipe.llvm.loops import loop_advice_doc
        from irpipe.train.loop_decisions import DECISIONS, LoopPolicy, allowed_mask, loop_features

        policy = LoopPolicy.load(model_dir)
        listing = compile_listing(file)
        ids = [lp["id"] for lp in listing]
        loops = []
        for lp in listing:
            x = loop_features(lp, ids)[None]
            pred = policy.predict(x)[0]
            allowed = allowed_mask(lp, ids)
            loops.append({**lp, "predicted": {d: round(math.exp(p), 4) for d, p, a in zip(DECISIONS, pred, allowed)
                                              if a},
                          "supported": bool(policy.supported(x)[0])})
        advice = policy.advice(listing)
        return {"file": file, "model": str(model_dir), "margin": policy.config.margin, "loops": loops,
                "advice": loop_advice_doc(advice)}

    def format_prediction(self, result: dict[str, Any]) -> str:
        lines = [f"{result['file']}: {len(result['loops'])} loops at clang-22 -O3; model {result['model']} "
                 f"(margin {result['margin']})"]
        for lp in result["loops"]:
            best = min(lp["predicted"], key=lp["predicted"].get) if lp["predicted"] else "-"
            chosen = result["advice"]["modules"][0]["loops"].get(lp["id"])
            keep = "keep -O3" if lp.get("supported", True) else "keep -O3 (unlike every training loop)"
            lines.append(f"  {lp['id']:<16} depth {lp['depth']} trip {lp['trip_count']}: best predicted {best} "
                         f"{lp['predicted'].get(best, 1.0):.4f} -> {json.dumps(chosen) if chosen else keep}")
        return "\n".join([*lines, "advice:", json.dumps(result["advice"], indent=1)])

    def evaluate(self, request: EvalRequest) -> dict[str, Any]:
        """Held-out families: the policy against -O3, the static rule, random and the oracle."""
        from irpipe.train.loop_decisions import LoopPolicy

        models = request.models or (default_model(self),)
        dataset = request.dataset or LoopPolicy.load(models[0]).config.labels
        log = print if request.progress else (lambda s: None)
        reports = {str(d): evaluate_model(str(d), str(dataset), request.work, request.seed, log) for d in models}
        if not reports:
            raise EvalError("no model to evaluate")
        return {"problem": self.name, "dataset": str(dataset), "models": reports,
                "failed": max(r["failed"] for r in reports.values())}

    def format_report(self, report: dict[str, Any]) -> str:
        lines = [f"held-out families of {report['dataset']}, geomean proxy-cycle ratio to -O3 (lower is better), "
                 f"failed: {report['failed']}"]
        for d, r in report["models"].items():
            lines += ["", f"model {d}: " + "; ".join(f"train {','.join(f['train'])} -> test {','.join(f['test'])} "
                                                      f"(static {f['static_rule']})" for f in r["folds"]),
                      f"policy changed {r['loops_changed']} of {r['loops']} held-out loops"]
            lines += [_selection_line(f) for f in r["folds"]]
            for kind in ("estimated", "measured"):
                if kind in r:
                    lines += ["", f"{kind}:", "| family | programs | " + " | ".join(METHODS) + " |",
                              "|---|---:|" + "---:|" * len(METHODS)]
                    lines += [f"| {f} | {t['programs']} | " + " | ".join(f"{t[m]:.4f}" for m in METHODS) + " |"
                              for f, t in r[kind].items()]
        return "\n".join(lines)
