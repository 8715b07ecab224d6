"""A gymnasium environment with CompilerGym's llvm-v0 names, on LLVM 22, in-process.

    env = irpipe.gym.make("llvm-v0", benchmark="benchmarks/programs/crc.c",
                          observation_space="Autophase", reward_space="IrInstructionCountOz")
    observation, info = env.reset()
    observation, reward, terminated, truncated, info = env.step(env.action_index("mem2reg"))
    env.observation["IrInstructionCount"], env.commandline(), env.fork(), env.validate()

The state is the current module (bitcode) and the actions applied so far.  Each
step runs one action (:mod:`irpipe.label.actions`) on the current module in the
isolated LLVM child; a step whose pipeline crashes LLVM leaves the state as it
was and reports ``info["error"]``.  Rewards follow CompilerGym:
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
import numpy as np

from irpipe.errors import IRError
from irpipe.label.actions import ACTIONS, BY_NAME, baseline
from irpipe.label.measure import EvaluationError, Evaluator
from irpipe.label.runtime import Program, RuntimeEvaluator
from irpipe.llvm import features, graph, ir

OBSERVATION_SPACES = ("Ir", "BitcodeFile", "InstCount", "Autophase", "Programl", "IrInstructionCount",
                      "IrInstructionCountO0", "IrInstructionCountO3", "IrInstructionCountOz",
                      "ObjectTextSizeBytes", "ObjectTextSizeO0", "ObjectTextSizeO3", "ObjectTextSizeOz",
                      "Runtime")
REWARD_SPACES = ("IrInstructionCountOz", "ObjectTextSizeOz", "Runtime")


def load_benchmark(benchmark: str | Path | bytes, args: list[str] | None = None) -> Program:
    """A benchmark from a .c file (compiled at -O0 without optnone), a .ll/.bc file, bytes, or a
    dataset module: ``"dataset:DIR#STRUCTURAL_HASH"`` (or ``#N`` for the N-th row)."""
    if isinstance(benchmark, bytes):
        return Program(ir.check_input(benchmark), name="benchmark", args=list(args or []))
    if str(benchmark).startswith("dataset:"):
        return _from_dataset(str(benchmark)[len("dataset:"):], args)
    path = Path(str(benchmark).removeprefix("file://"))
    if path.suffix == ".c":
        return Program.from_c(path, args=args)
    return Program(ir.read_module(path), name=path.name, args=list(args or []))


def _from_dataset(spec: str, args: list[str] | None) -> Program:
    import pyarrow.compute as pc

    from irpipe.extract.shards import read_modules

    directory, _, key = spec.partition("#")
    table = read_modules(directory, columns=["content", "structural_hash"])
    if key.isdigit() and int(key) < table.num_rows:
        row = int(key)
    else:
        hits = pc.indices_nonzero(pc.equal(table["structural_hash"], key)).to_pylist()
        if not hits:
            raise IRError(f"no module {key!r} in dataset {directory} (give a structural hash or a row number)")
        row = hits[0]
    return Program(table["content"][row].as_py(), name=f"{directory}#{key}", args=list(args or []))


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

    def __init__(self, benchmark: str | Path | bytes, *, observation_space: str | None = "Autophase",
                 reward_space: str | None = "IrInstructionCountOz", args: list[str] | None = None,
                 max_steps: int | None = None, runtime_repeats: int = 3):
        for got, allowed in ((observation_space, OBSERVATION_SPACES), (reward_space, REWARD_SPACES)):
            if got is not None and got not in allowed:
                raise IRError(f"unknown space {got!r}; choose from {', '.join(allowed)}")
        self.program = load_benchmark(benchmark, args)
        self.observation_space_name = observation_space
        self.reward_space_name = reward_space
        self.max_steps = max_steps
        self.runtime_repeats = runtime_repeats
        self.action_space = gymnasium.spaces.Discrete(len(ACTIONS))
        self.action_names = [a.name for a in ACTIONS]
        self.observation_space = _space(observation_space)
        self.observation = _Observations(self)
        self._base = Evaluator(self.program.bitcode, name=self.program.name)
        self._baselines = _Baselines()
        self._runtime: RuntimeEvaluator | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="irpipe-gym-")
        self._reset_state()

    # --- CompilerGym-style API ---------------------------------------------------------

    def action_index(self, name: str) -> int:
        """The action id of a pass name (e.g. ``"mem2reg"``)."""
        if name not in BY_NAME:
            raise IRError(f"unknown action {name!r}; see env.action_names")
        return self.action_names.index(name)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._reset_state()
        return self._observe(self.observation_space_name), {}

    def step(self, action: int | str) -> tuple[Any, float, bool, bool, dict]:
        index = self.action_index(action) if isinstance(action, str) else int(action)
        act = ACTIONS[index]
        before = self._metric()
        info: dict[str, Any] = {"action": act.name}
        try:
            _, raw = self._current.evaluate(act.text(), bitcode=True)
        except EvaluationError as exc:
            info["error"] = str(exc)
            return self._observe(self.observation_space_name), 0.0, False, False, info
        self.actions.append(act.name)
        self._set_module(raw["bitcode"])
        reward = self._reward(before, self._metric())
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
            value = f.instcount if name == "InstCount" else f.autophase
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
            raise IRError(f"unknown observation {name!r}; choose from {', '.join(OBSERVATION_SPACES)}")
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


def _space(name: str | None) -> gymnasium.Space | None:
    if name in ("InstCount", "Autophase"):
        return gymnasium.spaces.Box(0, np.iinfo(np.int64).max, shape=(70 if name == "InstCount" else 56,),
                                    dtype=np.int64)
    if name in ("Ir", "BitcodeFile"):
        return gymnasium.spaces.Text(max_length=1 << 30)
    if name is None or name == "Programl":
        return None
    return gymnasium.spaces.Box(0, np.inf, shape=(), dtype=np.float64)
