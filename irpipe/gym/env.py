"""A gymnasium environment with CompilerGym's llvm-v0 names, on LLVM 22, in-process.

    env = gymnasium.make("llvm-v0", observation_space="Autophase",   # after `import irpipe.gym`
                         reward_space="IrInstructionCountOz")
    observation, info = env.reset(benchmark="benchmarks/programs/crc.c")
    observation, reward, terminated, truncated, info = env.step(env.action_space.names.index("mem2reg"))
    env.step([3, 17, 42])                      # several actions in one step, one reward
    env.benchmark, env.observation["InstCountDict"]["TotalInstsCount"], env.commandline()
    env.fork(), env.validate()

The state is the current module (bitcode) and the actions applied so far.  An action
is an id ``0..n-1`` of :mod:`irpipe.label.actions` (``env.action_space.names``), a numpy
integer, or a pass name; anything else (negative, out of range, float, bool) raises
:class:`~irpipe.errors.InvalidAction`.  Each action runs on the current module in the
isolated LLVM child; an action whose pipeline crashes LLVM leaves the state as it
was, reports ``info["error"]`` and ends a multi-action step there.  A list of actions
gets one reward, for the state before against the state after (CompilerGym's
multistep; for these rewards the same as the sum of single steps).  Rewards follow CompilerGym:
``IrInstructionCountOz`` = (previous count - new count) / (count at -O0 - count
at -Oz) of the benchmark, ``ObjectTextSizeOz`` the same with .text bytes, and
``Runtime`` = previous - new median CPU seconds (runnable benchmarks only).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from irpipe.errors import GymError
from irpipe.gym.benchmarks import DEFAULT_BENCHMARK, benchmark_uri, load_benchmark
from irpipe.gym.spaces import DERIVED, ActionSpace, derive, is_sequence, space_of
from irpipe.label.actions import ACTIONS, baseline
from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.runtime import Program, RuntimeEvaluator
from irpipe.llvm import features, graph, ir

OBSERVATION_SPACES = ("Ir", "BitcodeFile", "InstCount", "InstCountDict", "InstCountNorm",
                      "InstCountNormDict", "Autophase", "AutophaseDict", "Programl", "IrInstructionCount",
                      "IrInstructionCountO0", "IrInstructionCountO3", "IrInstructionCountOz",
                      "ObjectTextSizeBytes", "ObjectTextSizeO0", "ObjectTextSizeO3", "ObjectTextSizeOz",
                      "Runtime")
REWARD_SPACES = ("IrInstructionCountOz", "ObjectTextSizeOz", "Runtime")


@dataclass
class _Baselines:
    counts: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


class _Observations:
    """``env.observation[name]``: computed on demand from the current module."""

    def __init__(self, env: "LlvmEnv"):
        self.env = env

    def __getitem__(self, name: str) -> Any:
        return self.env._observe(name)


class LlvmEnv(gymnasium.Env):
    """CompilerGym's llvm-v0 on LLVM 22 (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, benchmark: str | Path | bytes | None = None, *,
                 observation_space: str | None = "Autophase",
                 reward_space: str | None = "IrInstructionCountOz", args: list[str] | None = None,
                 max_steps: int | None = None, runtime_repeats: int = 3):
        for got, allowed in ((observation_space, OBSERVATION_SPACES), (reward_space, REWARD_SPACES)):
            if got is not None and got not in allowed:
                raise GymError(f"unknown space {got!r}; choose from {', '.join(allowed)}")
        self.observation_space_name = observation_space
        self.reward_space_name = reward_space
        self.args = list(args or [])
        self.max_steps = max_steps
        self.runtime_repeats = runtime_repeats
        self.action_space = ActionSpace()
        self.action_names = self.action_space.names
        self.observation_space = space_of(observation_space)
        self.observation = _Observations(self)
        self._runtime: "_StateRunner | None" = None
        self._tmp = tempfile.TemporaryDirectory(prefix="irpipe-gym-")
        self._load(DEFAULT_BENCHMARK if benchmark is None else benchmark)

    # --- CompilerGym-style API ---------------------------------------------------------

    @property
    def benchmark(self) -> str:
        """The benchmark in use (its path or URI as given; see
        :func:`~irpipe.gym.benchmarks.benchmark_uri`).  Setting it takes effect at the next
        :meth:`reset`, as in CompilerGym."""
        return self._benchmark

    @benchmark.setter
    def benchmark(self, benchmark: str | Path | bytes) -> None:
        self._next_benchmark = benchmark

    def action_index(self, name: str) -> int:
        """The action id of a pass name (e.g. ``"mem2reg"``)."""
        return self.action_space.index(name)

    def reset(self, *, seed: int | None = None, options: dict | None = None,
              benchmark: str | Path | bytes | None = None) -> tuple[Any, dict]:
        """Back to the benchmark unoptimized; ``benchmark=`` (or ``options={"benchmark": ...}``,
        which passes through gymnasium wrappers) switches to another one first."""
        super().reset(seed=seed)
        unknown = set(options or {}) - {"benchmark"}
        if unknown:
            raise GymError(f"unknown reset options {sorted(unknown)}; supported: 'benchmark'")
        benchmark = benchmark if benchmark is not None else (options or {}).get("benchmark")
        if benchmark is None and self._next_benchmark is not None:
            benchmark = self._next_benchmark
        if benchmark is not None:
            self._load(benchmark)
        else:
            self._reset_state()
        return self._observe(self.observation_space_name), {"benchmark": self.benchmark}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Apply one action or a list of them in order (see the module docstring); one reward."""
        indices = self.action_space.indices(action)
        names = [ACTIONS[i].name for i in indices]
        info: dict[str, Any] = {"action": names if is_sequence(action) else names[0]}
        before = self._metric() if indices else 0.0
        applied = 0
        for index in indices:
            try:
                _, raw = self._current.evaluate(ACTIONS[index].text(), bitcode=True)
            except EvaluationError as exc:
                info["error"] = str(exc)
                break
            self.actions.append(ACTIONS[index].name)
            self._set_module(raw["bitcode"])
            applied += 1
        reward = self._reward(before, self._metric()) if applied else 0.0
        truncated = self.max_steps is not None and len(self.actions) >= self.max_steps
        return self._observe(self.observation_space_name), reward, False, truncated, info

    def commandline(self) -> str:
        """The opt-22 command that reproduces the current state from the benchmark."""
        steps = ",".join(ACTIONS[self.action_index(a)].text() for a in self.actions) or "verify"
        return f"opt-22 -passes='{steps}' {self.program.name} -o out.bc"

    def fork(self) -> "LlvmEnv":
        """An independent copy of this environment in its current state."""
        other = object.__new__(LlvmEnv)
        other.__dict__.update(self.__dict__)
        other.observation = _Observations(other)
        other.actions = list(self.actions)
        other._tmp = tempfile.TemporaryDirectory(prefix="irpipe-gym-")
        other._runtime = None
        return other

    def validate(self, actions: list[str] | None = None) -> dict[str, Any]:
        """Replay ``actions`` (default: this episode's) from the benchmark in a fresh env and
        check the result is the same IR; for runnable benchmarks also that its output matches -O0."""
        actions = list(self.actions if actions is None else actions)
        replay = self.fork()
        replay._reset_state()
        for name in actions:
            _, _, _, _, info = replay.step(name)
            if "error" in info:
                return {"ok": False, "error": info["error"], "actions": actions}
        same = ir.structural_hash(replay.bitcode) == ir.structural_hash(self.bitcode) \
            if actions == self.actions else True
        result = {"ok": same, "actions": actions,
                  "instructions": replay.observation["IrInstructionCount"]}
        if "main" in replay._functions():
            try:
                runner = RuntimeEvaluator(Program(replay.bitcode, name=self.program.name,
                                                  args=self.program.args), repeats=1)
                runner.measure("verify")
                runner.close()
            except EvaluationError as exc:
                result.update(ok=False, error=str(exc))
        return result

    def close(self) -> None:
        self._tmp.cleanup()

    # --- internals -----------------------------------------------------------------

    def _load(self, benchmark: str | Path | bytes) -> None:
        self.program = load_benchmark(benchmark, self.args)
        self._benchmark = benchmark_uri(benchmark)
        self._next_benchmark: str | Path | bytes | None = None
        self._base = Evaluator(self.program.bitcode, name=self.program.name)
        self._baselines = _Baselines()
        if self._runtime is not None:
            self._runtime.reference.close()
            self._runtime = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.actions: list[str] = []
        self._set_module(self.program.bitcode)

    def _set_module(self, bitcode: bytes) -> None:
        self.bitcode = bitcode
        self._current = Evaluator(bitcode, name=self.program.name, worker=self._base.worker)
        self._cache: dict[str, Any] = {}

    def _functions(self) -> list[str]:
        return features.compute(self.bitcode, per_function=True).functions

    def _baseline(self, kind: str, level: str) -> int:
        table = self._baselines.counts if kind == "count" else self._baselines.sizes
        if level not in table:
            m = self._base.evaluate(baseline(level), object_file=kind == "size")
            table[level] = m.instructions if kind == "count" else m.text_bytes
        return table[level]

    def _observe(self, name: str | None) -> Any:
        if name is None:
            return None
        if name in self._cache:
            return self._cache[name]
        if name == "Ir":
            value = str(ir.parse(self.bitcode))
        elif name == "BitcodeFile":
            path = Path(self._tmp.name) / f"state-{len(self.actions)}.bc"
            path.write_bytes(self.bitcode)
            value = str(path)
        elif name in ("InstCount", "Autophase"):
            f = features.compute(self.bitcode)
            self._cache["InstCount"], self._cache["Autophase"] = f.instcount, f.autophase
            value = self._cache[name]
        elif name in DERIVED:
            value = derive(name, self._observe(DERIVED[name]))
        elif name == "Programl":
            value = graph.build_graph(self.bitcode)
        elif name == "IrInstructionCount":
            value = self._current.evaluate("verify").instructions
        elif name == "ObjectTextSizeBytes":
            value = self._current.evaluate("verify", object_file=True).text_bytes
        elif name.startswith("IrInstructionCountO"):
            value = self._baseline("count", name[len("IrInstructionCount"):])
        elif name.startswith("ObjectTextSizeO"):
            value = self._baseline("size", name[len("ObjectTextSize"):])
        elif name == "Runtime":
            value = self._runner().measure_module(self.bitcode)
        else:
            raise GymError(f"unknown observation {name!r}; choose from {', '.join(OBSERVATION_SPACES)}")
        self._cache[name] = value
        return value

    def _runner(self) -> "_StateRunner":
        if self._runtime is None:
            self._runtime = _StateRunner(self.program, self.runtime_repeats)
        return self._runtime

    def _metric(self) -> float:
        name = {"IrInstructionCountOz": "IrInstructionCount", "ObjectTextSizeOz": "ObjectTextSizeBytes",
                "Runtime": "Runtime", None: None}[self.reward_space_name]
        return float(self._observe(name)) if name else 0.0

    def _reward(self, before: float, after: float) -> float:
        if self.reward_space_name == "IrInstructionCountOz":
            scale = self._baseline("count", "O0") - self._baseline("count", "Oz")
        elif self.reward_space_name == "ObjectTextSizeOz":
            scale = self._baseline("size", "O0") - self._baseline("size", "Oz")
        else:
            scale = 1.0
        return (before - after) / scale if scale else 0.0


class _StateRunner:
    """Runtime of a state's module (its output checked against the benchmark's -O0 output)."""

    def __init__(self, program: Program, repeats: int):
        self.reference = RuntimeEvaluator(program, repeats=repeats)
        self.reference.check_reference()

    def measure_module(self, bitcode: bytes) -> float:
        runner = RuntimeEvaluator(Program(bitcode, name=self.reference.program.name,
                                          args=self.reference.program.args),
                                  repeats=self.reference.repeats)
        runner.reference = self.reference.reference
        try:
            return runner.measure("verify").median
        finally:
            runner.close()

