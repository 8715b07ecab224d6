"""irpipe.gym as CompilerGym users write it: gymnasium.make("llvm-v0"), InstCount names,
action_space.names, reset(benchmark=...), several actions in one step, env.benchmark, and
invalid actions that raise instead of running some other pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import irpipe.gym
from irpipe.errors import GymError, InvalidAction
from irpipe.gym.benchmarks import DEFAULT_BENCHMARK
from irpipe.gym.env import LlvmEnv
from irpipe.label.actions import ACTIONS
from irpipe.llvm import features
from irpipe.testing.factories import SIMPLE_IR

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "programs"
# CompilerGym's InstCountDict keys: compiler_gym/third_party/llvm/instcount.py's
# INST_COUNT_FEATURE_NAMES with "Count" appended (llvm_env.py), 70 of them.
COMPILERGYM_INSTCOUNT_HEAD = ("TotalInstsCount", "TotalBlocksCount", "TotalFuncsCount", "RetCount",
                              "BrCount", "SwitchCount", "IndirectBrCount")
COMPILERGYM_INSTCOUNT_TAIL = ("CallCount", "SelectCount", "UserOp1Count", "UserOp2Count", "VAArgCount",
                              "ExtractElementCount", "InsertElementCount", "ShuffleVectorCount",
                              "ExtractValueCount", "InsertValueCount", "LandingPadCount", "FreezeCount")


@pytest.fixture(scope="module")
def env() -> LlvmEnv:
    """The CompilerGym way: no arguments, the default benchmark."""
    made = gymnasium.make("llvm-v0")
    yield made
    made.close()


def test_gymnasium_make_llvm_v0_and_aliases(env: LlvmEnv) -> None:
    assert isinstance(env, LlvmEnv)  # no wrapper: the CompilerGym attributes are reachable
    assert env.benchmark == DEFAULT_BENCHMARK == "benchmark://irpipe-v0/qsort"
    obs, info = env.reset()
    assert obs.shape == (56,) and info["benchmark"] == env.benchmark
    assert env.observation["IrInstructionCount"] > 0
    alias = gymnasium.make("irpipe/llvm-v0", benchmark=SIMPLE_IR.encode(), observation_space="InstCount")
    assert isinstance(alias, LlvmEnv) and alias.reset()[0][0] == 8
    assert isinstance(irpipe.gym.make("irpipe/llvm-v0", benchmark=SIMPLE_IR.encode()), LlvmEnv)


def test_gymnasium_make_registers_by_module_name_in_a_fresh_process() -> None:
    # Gymnasium 1.x has no plugin entry points; "module:env" imports the module that registers.
    code = ("import gymnasium; env = gymnasium.make('irpipe.gym:llvm-v0'); "
            "print(type(env).__name__, env.benchmark, len(env.action_space.names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["LlvmEnv", DEFAULT_BENCHMARK, str(len(ACTIONS))]


def test_instcount_names_as_compilergym_spells_them(env: LlvmEnv) -> None:
    keys = features.instcount_keys()
    assert len(keys) == 70 and keys[:7] == COMPILERGYM_INSTCOUNT_HEAD
    assert keys[-12:] == COMPILERGYM_INSTCOUNT_TAIL
    assert all(k.endswith("Count") for k in keys)
    env.reset()
    vector = env.observation["InstCount"]
    counts = env.observation["InstCountDict"]
    assert list(counts) == list(keys) and list(counts.values()) == vector.tolist()
    assert counts["TotalInstsCount"] == env.observation["IrInstructionCount"]
    norm = env.observation["InstCountNorm"]
    assert norm.shape == (69,) and norm.dtype == np.float32
    assert norm[0] == pytest.approx(counts["TotalBlocksCount"] / counts["TotalInstsCount"])
    density = env.observation["InstCountNormDict"]
    assert density["RetDensity"] == pytest.approx(
        counts["RetCount"] / counts["TotalInstsCount"])
    autophase = env.observation["AutophaseDict"]
    assert list(autophase) == list(features.autophase_names())
    assert list(autophase)[:3] == ["BBNumArgsHi", "BBNumArgsLo", "onePred"]
    assert list(autophase.values()) == env.observation["Autophase"].tolist()
    made = gymnasium.make("llvm-v0", benchmark=SIMPLE_IR.encode(), observation_space="InstCountDict")
    obs, _ = made.reset()
    assert set(obs) == set(made.observation_space.spaces) and obs["TotalInstsCount"] == 8


def test_features_as_dict_uses_compilergym_keys_and_old_names_still_read() -> None:
    f = features.compute(SIMPLE_IR, per_function=True).as_dict()
    assert list(f["InstCount"])[:3] == ["TotalInstsCount", "TotalBlocksCount", "TotalFuncsCount"]
    assert f["InstCount"]["TotalInstsCount"] == f["InstCount"]["TotalInsts"] == 8
    assert f["functions"]["loop"]["InstCount"]["PHICount"] == f["functions"]["loop"]["InstCount"]["PHI"] == 1
    assert "TotalInsts" not in f["InstCount"]  # JSON carries only CompilerGym's spelling
    with pytest.raises(KeyError):
        f["InstCount"]["Nope"]


def test_action_space_names_and_flags(env: LlvmEnv) -> None:
    space = env.action_space
    assert space.names == [a.name for a in ACTIONS] and len(space.names) == space.n
    assert space.names.index("mem2reg") == env.action_index("mem2reg")
    assert space.flags[space.names.index("mem2reg")] == "function(mem2reg)"
    assert space.flags[space.names.index("licm")] == "function(loop-mssa(licm))"
    assert space.contains(space.sample())


@pytest.mark.parametrize("bad, message", [
    (-1, "out of range"), (10**6, "out of range"), (len(ACTIONS), "out of range"),
    (2.7, "is a float"), (2.0, "is a float"), (np.float64(3), "not an integer"),
    (True, "is a bool"), (np.bool_(False), "is a bool"), (None, "not an integer"),
    ("instcombine", "unknown action"), ([0, -1], "out of range"), ([1, 2.5], "is a float"),
    (np.zeros((2, 2), dtype=int), "2-d array"), ({0: 1}, "not an integer"),
])
def test_invalid_actions_raise_and_leave_the_state(env: LlvmEnv, bad: object, message: str) -> None:
    env.reset()
    with pytest.raises(InvalidAction, match=message):
        env.step(bad)
    assert env.actions == []
    assert issubclass(InvalidAction, ValueError)


def test_numpy_integers_and_a_list_of_actions_in_one_step(env: LlvmEnv) -> None:
    env.reset()
    mem2reg, gvn, simplifycfg = (env.action_index(n) for n in ("mem2reg", "gvn", "simplifycfg"))
    single = env.fork()
    rewards = [single.step(np.int64(mem2reg))[1], single.step(np.array(gvn, dtype=np.int32))[1],
               single.step(simplifycfg)[1]]
    assert single.actions == ["mem2reg", "gvn", "simplifycfg"]

    obs, reward, terminated, truncated, info = env.step(np.array([mem2reg, gvn, simplifycfg]))
    assert env.actions == single.actions and info["action"] == single.actions and "error" not in info
    assert reward == pytest.approx(sum(rewards))  # one reward for the whole list
    assert env.observation["IrInstructionCount"] == single.observation["IrInstructionCount"]
    assert obs.tolist() == single.observation["Autophase"].tolist()
    assert not terminated and not truncated
    assert env.step([])[1] == 0.0 and len(env.actions) == 3
    assert env.step(("sroa<modify-cfg>", 0))[4]["action"] == ["sroa<modify-cfg>", "default<O0>"]
    assert "function(mem2reg),function(gvn)" in env.commandline()


def test_reset_with_a_benchmark_and_env_benchmark(tmp_path: Path) -> None:
    env = irpipe.gym.make("llvm-v0", benchmark=PROGRAMS / "crc.c", observation_space="IrInstructionCount")
    assert env.benchmark == str(PROGRAMS / "crc.c")
    crc = env.reset()[0]
    env.step(env.action_index("mem2reg"))

    ll = tmp_path / "simple.ll"
    ll.write_text(SIMPLE_IR)
    obs, info = env.reset(benchmark=str(ll))
    assert env.benchmark == info["benchmark"] == str(ll) and obs == 8 != crc and env.actions == []
    assert env.reset(benchmark=SIMPLE_IR.encode())[0] == 8
    assert env.benchmark.startswith("benchmark://user-v0/")
    assert env.reset(options={"benchmark": PROGRAMS / "crc.c"})[0] == crc  # through wrappers too
    assert env.observation["IrInstructionCountO0"] == crc

    env.benchmark = f"file://{ll}"  # CompilerGym: takes effect at the next reset
    assert env.benchmark == str(PROGRAMS / "crc.c")
    assert env.reset()[0] == 8 and env.benchmark == f"file://{ll}"
    assert env.reset()[0] == 8  # and stays

    with pytest.raises(GymError, match="CompilerGym's datasets are not shipped"):
        env.reset(benchmark="benchmark://cbench-v1/qsort")
    with pytest.raises(GymError, match="unknown reset options"):
        env.reset(options={"seed": 1})
    assert env.benchmark == f"file://{ll}"  # a failed switch keeps the benchmark in use
