"""Benchmark a suite: build baseline and candidates through IR, check outputs, measure interleaved.

Per program, in order (the first failure decides its status, and a failed program never counts
as a speedup):

1. fetch/prepare the sources (Debian programs) -> ``fetch-failed``;
2. build the baseline -> ``build-failed``;
3. run it twice -> ``crashed`` / ``timeout`` / ``nondeterministic`` (outputs differ);
4. compare its output hash with ``expected_sha256`` -> ``no-hash`` / ``wrong-hash``;
5. per candidate: build (selection first, for ``optimize``/``search``), run once and compare
   its output with the baseline's -> candidate ``build-failed`` / ``crashed`` / ``timeout`` /
   ``mismatch``;
6. interleaved rounds (baseline, candidates, baseline copy; order alternating): at least
   ``rounds``, then two more at a time while some interval (a candidate's or the A/A copy's
   bootstrap 95% interval of its paired speedup) is not narrower than ``interval``, up to
   ``max_rounds``; every timed run pinned to CPU ``pin_cpu``; then callgrind instruction counts
   of the count workload for every binary.

Each program's result is written to ``out/programs/NAME.json`` as soon as it is done; a re-run
with the same settings and ``resume`` skips finished programs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from irpipe.bench import stats
from irpipe.bench.build import Binary, Builder, TUPlan
from irpipe.bench.candidates import Candidate, baseline_pipeline, load_advice, select_speed, speed_space
from irpipe.bench.candidates import advice_plan, plan_of, size_plan, whole_plan
from irpipe.bench.run import RunFailed, Runner, RunTimeout
from irpipe.bench.suite import Benchmark, SuiteError, discover, is_held_out, source_tree
from irpipe.errors import BuildError, FetchError, IrpipeError, ToolError
from irpipe.runtime.jsonfile import write as write_json
from irpipe.label.runtime import SPEED_NOISE  # the floor for selection, before the suite's A/A floor is known
from irpipe.optimize.polly import POLLY_LABEL, POLLY_SUFFIX
from irpipe.optimize.result import SPEED_BASELINE
from irpipe.optimize.speed import LOOPS_LABEL, LOOPS_SUFFIX
from irpipe.optimize.wholeprogram import LTO_LABEL
from irpipe.paths import model_dir

if TYPE_CHECKING:
    from irpipe.optimize.loops import LoopAdviser

OBJECTIVES = ("speed", "size")


@dataclass
class BenchConfig:
    """Settings of one ``irpipe bench`` run (saved with its results)."""

    suite: str
    candidates: list[Candidate] = field(default_factory=lambda: [Candidate("optimize")])
    baseline: str = "O3"
    objective: str = "speed"
    rounds: int = 7             # interleaved rounds per program at least (each: baseline, candidates, A/A copy)
    max_rounds: int = 0         # then two more at a time, up to this many, until every interval is narrower
                                # than `interval` (0 or <= rounds: exactly `rounds`)
    interval: float = SPEED_NOISE  # the widest bootstrap 95% interval (high - low) that stops adding rounds
    pin_cpu: int | None = None  # timed runs only on this CPU (`irpipe bench` pins to the last one it may use)
    callgrind: bool = True      # instruction counts of the count workload (20-50x slower than native)
    model: str = str(model_dir("default"))
    verify: int = 6             # speed selection: pipelines screened per program by `optimize`
    jobs: int = 2               # parallel compiles
    only: list[str] | None = None
    cache: str = str(Path.home() / ".cache" / "irpipe" / "bench")
    plugin: str | None = None
    march: str | None = None    # -march/-mcpu for both sides; None: the user's plain clang-22 -O3
    loop_model: str = str(model_dir("loop-decisions"))  # speed: per-loop policy screened by `optimize`; "none": off
    loop_search: int = 0        # speed, -O3 baseline: `optimize` also searches this many hot loops by running
                                # the program (irpipe.bench.loopsearch); 0: off
    loop_search_by: str = "proxy"  # how the search scores a decision: proxy (cachegrind cycles) or time
    pgo: bool = False           # speed, -O3 baseline: `optimize` also screens -O3 with a profile of the count
                                # workload (irpipe.bench.pgo)
    polly: bool = True          # speed, -O3 baseline: `optimize` and `search` also screen -O3 with Polly
                                # (irpipe.optimize.polly)
    lto: bool = True            # speed, -O3 baseline: `optimize` and `search` also screen the whole program as
                                # one module, clang-22 -flto -O3's build (irpipe.optimize.wholeprogram)

    def key(self) -> str:
        """What a finished program's result depends on (resume reuses only equal keys; ``pgo``,
        ``polly`` and ``lto`` off leave the key of a run made before they existed)."""
        doc = {k: v for k, v in asdict(self).items()
               if k not in ("only", "jobs", "cache") and (k not in ("pgo", "polly", "lto") or v)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _status(exc: Exception) -> str:
    return "timeout" if isinstance(exc, RunTimeout) else "crashed" if isinstance(exc, RunFailed) else "build-failed"


class ProgramBench:
    """Benchmarks one program under a :class:`BenchConfig`."""

    def __init__(self, b: Benchmark, cfg: BenchConfig, predictor: object | None, log: Callable[[str], None],
                 loops: LoopAdviser | None = None, advisers: dict[str, Any] | None = None):
        self.b, self.cfg, self.predictor, self.log, self.loops = b, cfg, predictor, log, loops
        self.advisers = advisers or {}  # candidate label -> the loop decisions of a `loops` candidate
        self.decided: dict[str, dict[str, dict]] = {}  # per adviser (optimize's: ""), per TU: its decisions
        self.cache = Path(cfg.cache)
        self.base = baseline_pipeline(cfg.baseline)
        self.result: dict[str, Any] = {"name": b.name, "status": "ok", "detail": ""}
        self.screened: dict[str, tuple[dict, Binary | None]] = {}  # speed screening, shared by candidates

    def fail(self, status: str, detail: str) -> dict[str, Any]:
        self.result.update(status=status, detail=detail.splitlines()[0][:400] if detail else "")
        self.log(f"  {self.b.name}: {status}: {self.result['detail']}")
        return self.result

    def _static_plan(self, c: Candidate) -> Callable[[str, Path], TUPlan] | None:
        """The plan of a candidate that chooses nothing by running (pipeline, advice, polly, lto)."""
        if c.kind == "pipeline":
            return lambda rel, bc: TUPlan(c.arg)
        if c.kind == "advice":
            return advice_plan(load_advice(Path(c.arg)), self.base)
        if c.kind == "polly":
            return lambda rel, bc: TUPlan(self.base, polly=True)
        return whole_plan if c.kind == "lto" else None

    def _plan(self, c: Candidate, builder: Builder, runner: Runner, base: Binary,
              reference: str) -> tuple[Callable[[str, Path], TUPlan], dict]:
        static = self._static_plan(c)
        if static is not None:
            return static, {}
        if c.kind == "loops":
            decided = self.decided.setdefault(c.label, {})
            plan = plan_of(LOOPS_LABEL, self.advisers[c.label], decided)
            return plan, {"loops_from": self.advisers[c.label].directory}
        if self.cfg.objective == "size":
            return size_plan(self.predictor, c.kind == "search", self.base), {}
        space = (speed_space(self.predictor, self.cfg.verify, builder.units) if c.kind == "optimize"
                 else speed_space(None, 0))
        loops = self.loops if c.kind == "optimize" and self.base == SPEED_BASELINE else None
        if loops is not None:
            space.append(LOOPS_LABEL)
        polly = self.base == SPEED_BASELINE and self.cfg.polly and c.kind in ("optimize", "search")
        if polly:
            space.append(POLLY_LABEL)
        lto = self.base == SPEED_BASELINE and self.cfg.lto and c.kind in ("optimize", "search")
        if lto:
            space.append(LTO_LABEL)
        found = None
        if c.kind == "optimize" and self.base == SPEED_BASELINE and self.cfg.loop_search > 0:
            from irpipe.bench.loopsearch import SEARCH_LABEL, plan_of_search, search_loops

            found = search_loops(builder, runner, base, reference, self.cfg.loop_search, by=self.cfg.loop_search_by,
                                 log=self.log)
            if found.decided:
                space.append(SEARCH_LABEL)
        profiled, pgo_record = None, None
        if c.kind == "optimize" and self.base == SPEED_BASELINE and self.cfg.pgo:
            from irpipe.bench.pgo import PGO_LABEL, profile_plan

            profiled, pgo_record = profile_plan(builder, runner, base, log=self.log)
            if profiled is not None:
                space.append(PGO_LABEL)

        def plan(entry: str) -> Callable[[str, Path], TUPlan]:
            if found is not None and entry == SEARCH_LABEL:
                return plan_of_search(found)
            if profiled is not None and entry == PGO_LABEL:
                return profiled
            if polly and entry == POLLY_LABEL:
                return lambda rel, bc: TUPlan(SPEED_BASELINE, polly=True)
            if lto and entry == LTO_LABEL:
                return whole_plan
            return plan_of(entry, loops, self.decided.setdefault("", {}))
        chosen, tried = select_speed(builder, runner, base, self.base, reference, space, SPEED_NOISE,
                                     self.log, self.screened, plan)
        extra: dict[str, Any] = {"selected": chosen, "screened": tried}
        if chosen == LOOPS_LABEL:
            extra["loops"] = {rel: d for rel, d in self.decided[""].items() if d}
        if pgo_record is not None:
            extra["pgo"] = pgo_record
        if found is not None:
            extra["loop_search"] = found.summary()
            if chosen == SEARCH_LABEL:
                extra["loops"] = found.summary()["decided"]
        return plan(chosen), extra

    def run(self) -> dict[str, Any]:
        b, cfg = self.b, self.cfg
        try:
            tree = source_tree(b, self.cache)
        except (FetchError, IrpipeError, OSError) as exc:
            return self.fail("fetch-failed", str(exc))
        work = self.cache / "work" / b.name
        builder = Builder(b, tree, work, jobs=cfg.jobs, plugin=Path(cfg.plugin) if cfg.plugin else None,
                          march=cfg.march)
        runner = Runner(b, self.cache, cfg.pin_cpu)
        try:
            return self._measure(builder, runner)
        finally:
            runner.close()

    def _measure(self, builder: Builder, runner: Runner) -> dict[str, Any]:
        b, cfg, res = self.b, self.cfg, self.result
        try:
            base = builder.build("baseline", lambda rel, bc: TUPlan(self.base))
            first, second = runner.run(base.exe), runner.run(base.exe)
        except (BuildError, SuiteError, ToolError, RunFailed) as exc:
            return self.fail(_status(exc) if isinstance(exc, RunFailed) else "build-failed", str(exc))
        res["tus"] = len(builder.units)
        res["observed_sha256"] = first.sha256
        if first.sha256 != second.sha256:
            return self.fail("nondeterministic", "two runs of the same baseline binary printed different output")
        expected = b.expected_for(cfg.march)
        if expected is None:
            return self.fail("no-hash", f"no expected_sha256 in benchmark.toml; the baseline prints sha256 {first.sha256}")
        if expected != first.sha256:
            return self.fail("wrong-hash", f"output sha256 {first.sha256} != expected {expected}")
        res["baseline"] = {"pipeline": self.base, "text_bytes": base.text_bytes, "build_s": round(base.build_seconds, 2)}
        binaries: list[tuple[dict, Binary]] = []
        for i, c in enumerate(cfg.candidates):
            entry: dict[str, Any] = {"label": c.label, "status": "ok"}
            res.setdefault("candidates", []).append(entry)
            try:
                plan, extra = self._plan(c, builder, runner, base, first.sha256)
                entry.update(extra)
                cand = builder.build(f"cand{i}", plan)
                out = runner.run(cand.exe)
            except (BuildError, ToolError, RunFailed) as exc:
                entry.update(status=_status(exc), detail=str(exc).splitlines()[0][:400])
                self.log(f"  {b.name} [{c.label}]: {entry['status']}: {entry['detail']}")
                continue
            if out.sha256 != first.sha256:
                entry.update(status="mismatch", detail=f"output sha256 {out.sha256} differs from the baseline's")
                self.log(f"  {b.name} [{c.label}]: MISMATCH: output differs from the baseline's")
                continue
            pipelines = sorted({LTO_LABEL if p.whole else p.pipeline + (LOOPS_SUFFIX if p.loops else "")
                                + (POLLY_SUFFIX if p.polly else "") for p in cand.plans.values()})
            entry.update(pipelines=pipelines if len(pipelines) <= 8 else pipelines[:8] + ["..."],
                         text_bytes=cand.text_bytes, text_ratio=round(base.text_bytes / max(cand.text_bytes, 1), 5),
                         build_s=round(cand.build_seconds, 2))
            if cand.exe.read_bytes() == base.exe.read_bytes():
                # the same program: its speedup is 1 by construction, and timing it would only add noise
                entry.update(identical=True, speedup=stats.IDENTICAL.as_dict(), instr_ratio=1.0)
                continue
            binaries.append((entry, cand))
        if cfg.objective == "speed" and cfg.rounds > 0:
            self._rounds(runner, base, binaries)
        if cfg.callgrind:
            self._counts(runner, base, binaries)
        return res

    def _rounds(self, runner: Runner, base: Binary, binaries: list[tuple[dict, Binary]]) -> None:
        copy = base.exe.with_name(base.exe.name + ".aa")
        shutil.copy2(base.exe, copy)
        times: dict[int, list[float]] = {k: [] for k in (-1, -2, *range(len(binaries)))}
        exes = {-1: base.exe, -2: copy, **{i: c.exe for i, (_, c) in enumerate(binaries)}}
        dead: set[int] = set()
        n = 0
        while n < self.cfg.rounds or (n < self.cfg.max_rounds and not self._settled(times, dead, binaries)):
            # past the minimum, in pairs (both orders) while the cap allows
            for r in (n, n + 1) if self.cfg.rounds <= n < self.cfg.max_rounds - 1 else (n,):
                for who in stats.round_order(len(binaries), r):
                    if who in dead:
                        continue
                    try:
                        times[who].append(runner.run(exes[who]).cpu)
                    except RunFailed as exc:  # a flaky crash after a good first run: never a speedup
                        if who < 0:
                            raise
                        dead.add(who)
                        binaries[who][0].update(status=_status(exc), detail=f"round {r + 1}: {exc}")
                n += 1
        self.result["rounds"] = n
        self.result["baseline"]["cpu"] = [round(t, 4) for t in times[-1]]
        self.result["aa"] = stats.paired_speedup(times[-1], times[-2]).as_dict()
        for i, (entry, _) in enumerate(binaries):
            if i in dead or len(times[i]) != n:
                continue
            entry["cpu"] = [round(t, 4) for t in times[i]]
            entry["speedup"] = stats.paired_speedup(times[-1], times[i]).as_dict()
        self.log(f"  {self.b.name}: {n} rounds, baseline {sorted(times[-1])[n // 2]:.3f} s, A/A "
                 f"{self.result['aa']['median']:.3f}, "
                 + ", ".join(f"{e['label']}: {e['speedup']['median']:.3f}x" for e, _ in binaries if "speedup" in e))

    def _settled(self, times: dict[int, list[float]], dead: set[int], binaries: list) -> bool:
        """Whether the A/A copy's and every live candidate's interval is narrower than the config's."""
        live = [i for i in (-2, *range(len(binaries))) if i not in dead]
        return stats.settled([stats.paired_speedup(times[-1], times[i]) for i in live], self.cfg.interval)

    def _counts(self, runner: Runner, base: Binary, binaries: list[tuple[dict, Binary]]) -> None:
        try:
            base_count, base_hash = runner.count_instructions(base.exe)
        except RunFailed as exc:
            self.result["callgrind"] = f"not counted: {exc}"
            return
        self.result["baseline"]["instructions"] = base_count
        for entry, cand in binaries:
            if entry["status"] != "ok":
                continue
            try:
                count, h = runner.count_instructions(cand.exe)
            except RunFailed as exc:
                entry["callgrind"] = f"not counted: {exc}"
                continue
            if h != base_hash:
                entry.update(status="mismatch", detail="output of the count workload differs from the baseline's")
                continue
            entry.update(instructions=count, instr_ratio=round(base_count / max(count, 1), 5))


def bench_suite(cfg: BenchConfig, out: Path, *, resume: bool = True,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Benchmark every program of ``cfg.suite``; write ``out/bench.json`` (and per-program files)."""
    from irpipe.bench.report import summarize

    if cfg.objective not in OBJECTIVES:
        raise SuiteError(f"objective {cfg.objective!r}: choose from {', '.join(OBJECTIVES)}")
    programs, problems = discover(cfg.suite, cfg.only)
    predictor = None
    if any(c.kind in ("optimize", "search") for c in cfg.candidates):
        from irpipe.train.predict import Predictor
        predictor = Predictor.load(cfg.model)
    loops, advisers = None, {}
    speed_o3 = cfg.objective == "speed" and baseline_pipeline(cfg.baseline) == SPEED_BASELINE
    if any(c.kind == "lto" for c in cfg.candidates) and not speed_o3:
        raise SuiteError("--candidate lto builds the whole program as clang-22 -flto -O3 does: use it with "
                         "--objective speed and the O3 baseline")
    if any(c.kind == "loops" for c in cfg.candidates):
        from irpipe.optimize.loops import loop_adviser
        if not speed_o3:
            raise SuiteError("--candidate loops applies per-loop decisions inside -O3: use it with "
                             "--objective speed and the O3 baseline")
        advisers = {c.label: loop_adviser(c.arg) for c in cfg.candidates if c.kind == "loops"}
    if cfg.objective == "speed" and cfg.loop_model != "none" and any(c.kind == "optimize" for c in cfg.candidates):
        from irpipe.optimize.loops import LoopAdviser
        loops = LoopAdviser.load(cfg.loop_model)
    (out / "programs").mkdir(parents=True, exist_ok=True)
    results = [{"name": name, "status": "invalid", "detail": detail.splitlines()[0]} for name, detail in problems.items()]
    for i, b in enumerate(programs, 1):
        done = out / "programs" / f"{b.name}.json"
        key = cfg.key() + hashlib.sha256((b.directory / "benchmark.toml").read_bytes()).hexdigest()[:16]
        if resume and done.exists():
            prev = json.loads(done.read_text())
            if prev.get("key") == key:
                log(f"[{i}/{len(programs)}] {b.name}: done in an earlier run (resumed)")
                results.append(prev["result"])
                continue
        log(f"[{i}/{len(programs)}] {b.name}")
        result = ProgramBench(b, cfg, predictor, log, loops, advisers).run()
        write_json(done, {"key": key, "result": result})
        results.append(result)
    doc = summarize(cfg, results)
    write_json(out / "bench.json", doc)
    if not is_held_out(cfg.suite):
        _write_labels(out, programs, results)
    return doc


def _write_labels(out: Path, programs: list[Benchmark], results: list[dict[str, Any]]) -> None:
    """``out/loop_labels.parquet`` (LOOP_LABELS): the rows of every proxy-scored loop search of the
    run (:func:`irpipe.bench.loopsearch.search_labels`), so a bench run labels real programs too
    (never those of a held-out suite: :func:`irpipe.bench.suite.is_held_out`)."""
    from irpipe.bench.loopsearch import search_labels

    rows = search_labels(programs, results)
    if rows:
        from irpipe.runtime.shards import write_parquet
        from irpipe.schema import to_table

        write_parquet(to_table(rows, "loop_labels"), out / "loop_labels.parquet")
