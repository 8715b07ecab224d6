"""What a candidate build runs on each translation unit.

Kinds (``irpipe bench --candidate KIND [ARG]``):

- ``pipeline STR``: the same pipeline on every TU.
- ``advice PATH``: irpipe.advice file(s) (``irpipe optimize --emit-advice``, ``irpipe serve
  --record``); each TU takes the entry whose ``source`` names it, TUs without one keep the
  baseline.  Entries with function pipelines go through the pass plugin.
- ``optimize [MODEL]``: the default model (or MODEL).  For ``--objective size`` every TU gets
  :func:`irpipe.optimize.apply.optimize` (one model call, 10 verifying compiles, never worse
  than the baseline on .text).  For ``speed`` the choice is made for the whole program by
  running it: the model's O2/O3-based pipelines and the loop-transform pipelines of
  :data:`SPEED_SPACE` are screened (``verify`` of them), and -O3 with the loop policy's per-loop
  decisions for each TU (``--loop-model``, :func:`plan_of`), and with ``--loop-search K`` the
  decisions a search by running the program found for its K hottest loops
  (:mod:`irpipe.bench.loopsearch`); the best :data:`CONFIRM_TOP` screens go to interleaved
  confirmation rounds, and one replaces -O3 only when it is faster by more than the noise floor
  and holds there and in fresh rounds after them.
- ``search``: the same selection over all of :data:`SPEED_SPACE` (an upper bound at that
  budget); for size, every pipeline of the model's pipeline set per TU.
- ``polly``: the baseline pipeline with Polly (:mod:`irpipe.optimize.polly`, ``opt-22 -polly``) on
  every TU, nothing screened: the static rule "always Polly", measured side by side.
- ``loops [MODEL|RULE]`` (speed, baseline -O3): -O3 with per-loop decisions on every TU, nothing
  screened: the loop policy's (MODEL, default models/loop-decisions), or a static rule given as a
  JSON decision (``'{"unroll": 8}'``) for every loop that may take it.  The policy against the
  static rule, measured side by side.
- ``lto``: the whole program as one module, as ``clang-22 -flto -O3`` builds it
  (:mod:`irpipe.optimize.wholeprogram`), nothing screened: the static rule "always", side by side.
  ``optimize`` and ``search`` screen the same build (``--no-lto``: not).

The selection runs its own measurements; the figures ``irpipe bench`` reports come from fresh
interleaved rounds after it, so a lucky screening run does not carry into the result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from irpipe.bench.build import Binary, Builder, TUPlan
from irpipe.bench.run import RunFailed, Runner
from irpipe.errors import BuildError, ConfigError, IRError
from irpipe.label import actions
from irpipe.label.runtime import confirmed, first_holding
from irpipe.optimize.result import SPEED_BASELINE
from irpipe.optimize.speed import LOOPS_LABEL
from irpipe.optimize.wholeprogram import MERGED, PRE_LINK

if TYPE_CHECKING:
    from irpipe.optimize.loops import LoopAdviser

#: (``instcombine<no-verify-fixpoint>``, as LLVM's own pipelines run it: LLVM 22's opt aborts a plain
#: ``instcombine`` that needs a second iteration, e.g. on lzlib.c, and the candidate was lost)
_PRE = "function(sroa,early-cse,simplifycfg,instcombine<no-verify-fixpoint>,loop-mssa(loop-rotate,licm))"
#: speed pipelines irpipe screens: -O3, -O2 and -O3 after loop transforms -O3 leaves out
SPEED_SPACE = (
    "default<O3>",
    "default<O2>",
    f"{_PRE},function(loop(loop-interchange)),default<O3>",
    f"{_PRE},function(loop(loop-unroll-and-jam)),default<O3>",
    f"{_PRE},function(loop-fusion),default<O3>",
    "cgscc(inline),default<O3>",
    "function(gvn-sink),default<O3>",
    "default<O3>,default<O3>",
    "default<O3>,function(slp-vectorizer,instcombine<no-verify-fixpoint>,simplifycfg)",
)
KINDS = ("pipeline", "advice", "optimize", "search", "loops", "polly", "lto")
#: how many of the best screens the speed selection confirms in interleaved rounds
CONFIRM_TOP = 2
#: interleaved (baseline, candidate) pairs of single runs per confirmation, and again per fresh
#: check: one run spreads 10-25% here, and with 3 pairs two screens of mujs were confirmed at
#: 1.057x and 1.107x and measured 0.956x and 0.961x in the next 3
CONFIRM_PAIRS = 5


def baseline_pipeline(name: str) -> str:
    """``O3`` -> ``default<O3>``; any other text is taken as a pipeline."""
    return actions.baseline(name) if name in actions.O_LEVELS else name


@dataclass
class Candidate:
    """One ``--candidate``: its kind, argument and the label the report uses."""

    kind: str
    arg: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"candidate kind {self.kind!r}: choose from {', '.join(KINDS)}")
        if self.kind in ("pipeline", "advice") and not self.arg:
            raise ConfigError(f"--candidate {self.kind} needs an argument")
        if self.kind == "pipeline":
            actions.parse(self.arg)  # a pipeline that does not parse is the user's error, said at once
        if not self.label:
            self.label = {"pipeline": f"pipeline {self.arg}", "advice": f"advice {self.arg}",
                          "optimize": "optimize" + (f" {self.arg}" if self.arg else ""),
                          "search": "search", "loops": "loops" + (f" {self.arg}" if self.arg else ""),
                          "polly": "polly", "lto": "lto"}[self.kind]
        if self.kind == "polly" and self.arg:
            raise ConfigError("--candidate polly takes no argument (the baseline pipeline with Polly on every TU)")
        if self.kind == "lto" and self.arg:
            raise ConfigError("--candidate lto takes no argument (the whole program as clang-22 -flto -O3 builds it)")


def load_advice(path: Path) -> dict[str, dict]:
    """Advice entries by source name, from one file or every *.json of a directory."""
    from irpipe.optimize import advice
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"{path}: no advice files")
    return {e["source"]: e for f in files for e in advice.read(f)}


def advice_plan(entries: dict[str, dict], baseline: str) -> Callable[[str, Path], TUPlan]:
    def plan(rel: str, _bc: Path) -> TUPlan:
        e = entries.get(rel) or entries.get(Path(rel).name) or entries.get("*")
        if e is None:
            return TUPlan(baseline)
        return TUPlan(e["pipeline"], {"pipeline": e["pipeline"], "functions": e["functions"]} if e.get("functions") else None)
    return plan


def size_plan(predictor: object, search: bool, baseline: str) -> Callable[[str, Path], TUPlan]:
    from irpipe.optimize.apply import optimize
    from irpipe.label.measure import EvaluationError, Evaluator

    def plan(rel: str, bc: Path) -> TUPlan:
        data = bc.read_bytes()
        if not search:
            return TUPlan(optimize(data, predictor, objective="size", name=rel).pipeline)  # type: ignore[arg-type]
        ev, best = Evaluator(data, name=rel), (float("inf"), baseline)
        for p in dict.fromkeys([baseline, *predictor.pset.pipelines]):  # type: ignore[attr-defined]
            try:
                best = min(best, (ev.evaluate(p, object_file=True)[0].metric("size"), p))
            except EvaluationError:
                continue
        return TUPlan(best[1])
    return plan


def whole_plan(_rel: str, _bc: Path) -> TUPlan:
    """Every TU's plan in the whole-program build (:mod:`irpipe.optimize.wholeprogram`)."""
    return TUPlan(PRE_LINK, whole=MERGED)


def plan_of(entry: str, loops: LoopAdviser | None = None,
            decided: dict[str, dict] | None = None) -> Callable[[str, Path], TUPlan]:
    """How each TU is built for one entry of the speed space: the pipeline, or for
    :data:`~irpipe.optimize.speed.LOOPS_LABEL` -O3 with ``loops``' decisions for that TU (listed on
    the TU's own bitcode by the same opt-22 pipeline that applies them; kept in ``decided``)."""
    if entry != LOOPS_LABEL:
        return lambda rel, bc: TUPlan(entry)
    if loops is None:
        raise ConfigError(f"{LOOPS_LABEL!r} needs a loop policy")
    decided = {} if decided is None else decided

    def plan(rel: str, bc: Path) -> TUPlan:
        if rel not in decided:
            try:
                decided[rel] = loops.advise(bc.read_bytes(), name=rel)
            except IRError as exc:  # no plugin, or opt-22 failing on the TU: this build fails, said once
                raise BuildError(str(exc).splitlines()[0]) from None
        return TUPlan(SPEED_BASELINE, loops=decided[rel] or None)
    return plan


def speed_space(predictor: object | None, verify: int, units: dict[str, Path] | None = None) -> list[str]:
    """The pipelines the speed selection screens, -O3 first.

    With a model, its O2/O3-based pipelines come next, in the order its instruction-count policy
    ranks them for the program's largest translation unit (the model has no runtime head: issue
    F's measurements are the data one needs), then the rest of :data:`SPEED_SPACE`."""
    space = list(SPEED_SPACE)
    if predictor is not None:
        ranked = list(predictor.pset.pipelines)  # type: ignore[attr-defined]
        if units:
            largest = max(units.values(), key=lambda p: p.stat().st_size)
            ranked = predictor.predict(largest.read_bytes(), name=largest.name).ranking("instcount")  # type: ignore[attr-defined]
        fast = [p for p in ranked if "<O3>" in p or "<O2>" in p]
        space = list(dict.fromkeys([space[0], *fast, *space[1:]]))
    return space[:verify] if verify else space


def screen(builder: Builder, runner: Runner, baseline: Binary, pipeline: str,
           reference: str, plan: Callable[[str, Path], TUPlan], *, reuse: bool = False) -> tuple[dict, Binary | None]:
    """Build ``pipeline`` (by ``plan``; ``reuse``: see :meth:`Builder.build`) and run it against the
    baseline as A B B A: (record, binary or None).  A build byte-identical to the baseline is not
    run (``same_binary``; None: nothing to choose)."""
    label = "screen-" + hashlib.sha1(pipeline.encode()).hexdigest()[:10]
    try:
        b = builder.build(label, plan, reuse=reuse)
        if b.exe.read_bytes() == baseline.exe.read_bytes():  # timing it could only measure noise
            return {"pipeline": pipeline, "screen_speedup": 1.0, "same_binary": True}, None
        a1, c1, c2, a2 = (runner.run(e) for e in (baseline.exe, b.exe, b.exe, baseline.exe))
    except (BuildError, RunFailed) as exc:
        return {"pipeline": pipeline, "error": str(exc).splitlines()[0][:200]}, None
    if c1.sha256 != reference or c2.sha256 != reference:
        return {"pipeline": pipeline, "error": "output differs from the baseline's (never chosen)"}, None
    ratio = (a1.cpu + a2.cpu) / max(c1.cpu + c2.cpu, 1e-9)
    return {"pipeline": pipeline, "screen_speedup": round(ratio, 4)}, b


def select_speed(builder: Builder, runner: Runner, baseline: Binary, base_pipeline: str, reference: str,
                 space: list[str], floor: float, log: Callable[[str], None],
                 screened: dict[str, tuple[dict, Binary | None]] | None = None,
                 plan: Callable[[str], Callable[[str, Path], TUPlan]] = plan_of) -> tuple[str, list[dict]]:
    """Screen ``space`` (each build against the baseline as A B B A); confirm the best
    :data:`CONFIRM_TOP` of those that beat the baseline by more than ``floor`` in
    :data:`CONFIRM_PAIRS` interleaved rounds (one A B B A spreads by 10% and more on some programs,
    so the top screen alone is often a lucky one); those that hold run fresh rounds, best confirmed
    first, and the first that holds there too is kept (:func:`~irpipe.label.runtime.first_holding`: the best of two confirmations is biased
    upwards).

    ``screened`` caches screening per pipeline, so candidates of one program share it; ``plan``
    gives each entry's per-TU plan (:func:`plan_of`)."""
    screened = {} if screened is None else screened
    tried: list[dict] = []
    ranked: list[tuple[float, str, Binary]] = []
    for pipeline in space:
        if pipeline == base_pipeline:
            continue
        if pipeline not in screened:
            screened[pipeline] = screen(builder, runner, baseline, pipeline, reference, plan(pipeline))
        record, b = screened[pipeline]
        tried.append(record)
        if b is not None and record["screen_speedup"] > 1 + floor:
            ranked.append((record["screen_speedup"], pipeline, b))
    if not ranked:
        log(f"  selection: nothing beat the baseline by more than {floor:.1%} in screening")
        return base_pipeline, tried
    held: list[tuple[float, str]] = []
    binaries = {pipeline: b for _, pipeline, b in ranked}
    for _, pipeline, b in sorted(ranked, key=lambda t: -t[0])[:CONFIRM_TOP]:
        ratio, ok = confirmed(_rounds(runner, baseline, b), floor)
        tried.append({"pipeline": pipeline, "confirm_speedup": round(ratio, 4), "confirmed": ok})
        log(f"  selection: {pipeline!r} {'confirmed' if ok else 'not confirmed'} at {ratio:.3f}x")
        if ok:
            held.append((ratio, pipeline))
    chosen, fresh = first_holding(held, lambda pipeline: _rounds(runner, baseline, binaries[pipeline]), floor)
    for pipeline, ratio, _ in fresh:
        holds = pipeline == chosen
        tried.append({"pipeline": pipeline, "fresh_speedup": round(ratio, 4), "held": holds})
        log(f"  selection: {pipeline!r} {'held' if holds else 'did not hold'} at {ratio:.3f}x in fresh rounds")
    return chosen or base_pipeline, tried


def _rounds(runner: Runner, baseline: Binary, b: Binary) -> list[tuple[float, float]]:
    """:data:`CONFIRM_PAIRS` interleaved (baseline, candidate) CPU seconds, alternating who goes first."""
    pairs = []
    for r in range(CONFIRM_PAIRS):
        first, second = (baseline.exe, b.exe) if r % 2 == 0 else (b.exe, baseline.exe)
        t1, t2 = runner.run(first).cpu, runner.run(second).cpu
        pairs.append((t1, t2) if r % 2 == 0 else (t2, t1))
    return pairs
