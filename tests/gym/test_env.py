"""irpipe.gym: CompilerGym's llvm-v0 names on LLVM 22; replays agree with opt-22."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import irpipe.gym
from irpipe.errors import GymError, InvalidAction, IRError
from irpipe.llvm import ir
from irpipe.llvm.tools import Toolchain
from irpipe.gym.env import OBSERVATION_SPACES, REWARD_SPACES

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "programs"
EPISODE = ["mem2reg", "instcombine<no-verify-fixpoint>", "simplifycfg", "licm", "gvn", "inline"]


def test_compilergym_names() -> None:
    for name in ("Ir", "BitcodeFile", "InstCount", "InstCountDict", "InstCountNorm", "InstCountNormDict",
                 "Autophase", "AutophaseDict", "Programl", "IrInstructionCount",
                 "IrInstructionCountO0", "IrInstructionCountO3", "IrInstructionCountOz",
                 "ObjectTextSizeBytes", "ObjectTextSizeO0", "ObjectTextSizeO3", "ObjectTextSizeOz"):
        assert name in OBSERVATION_SPACES
    assert REWARD_SPACES == ("IrInstructionCountOz", "ObjectTextSizeOz", "Runtime")


def test_episode_rewards_fork_validate_and_commandline(tmp_path: Path) -> None:
    env = irpipe.gym.make("llvm-v0", benchmark=PROGRAMS / "crc.c", observation_space="Autophase",
                          reward_space="IrInstructionCountOz")
    obs, _ = env.reset()
    assert obs.shape == (56,) and env.observation_space.contains(obs)
    o0, oz = env.observation["IrInstructionCountO0"], env.observation["IrInstructionCountOz"]
    total, count = 0.0, env.observation["IrInstructionCount"]
    for name in EPISODE:
        obs, reward, terminated, truncated, info = env.step(env.action_index(name))
        new = env.observation["IrInstructionCount"]
        assert reward == pytest.approx((count - new) / (o0 - oz)) and "error" not in info
        total, count = total + reward, new
    assert total == pytest.approx((o0 - count) / (o0 - oz))
    assert env.observation["InstCount"][0] == count
    assert env.observation["Programl"].num_nodes > count
    assert "define" in env.observation["Ir"] and Path(env.observation["BitcodeFile"]).is_file()
    assert 0 < env.observation["ObjectTextSizeOz"] and env.observation["ObjectTextSizeBytes"] > 0

    fork = env.fork()
    fork.step("sroa<modify-cfg>")
    assert len(fork.actions) == len(env.actions) + 1 and env.actions == EPISODE
    assert env.validate()["ok"]

    # the command line reproduces the state with opt-22, outside irpipe
    passes = re.search(r"-passes='([^']*)'", env.commandline()).group(1)
    src = tmp_path / "crc.bc"
    src.write_bytes(env.program.bitcode)
    Toolchain().run("opt", [f"-passes={passes}", str(src), "-o", str(tmp_path / "out.bc")])
    assert ir.inspect((tmp_path / "out.bc").read_bytes()).instruction_count == count


def test_runtime_reward_and_gymnasium_registry() -> None:
    env = gymnasium.make("irpipe/llvm-v0", benchmark=str(PROGRAMS / "sieve.c"), args=["300000"],
                         observation_space="IrInstructionCount", reward_space="Runtime",
                         runtime_repeats=1).unwrapped
    env.reset()
    _, reward, *_ = env.step(env.action_index("default<O2>"))
    assert isinstance(reward, float) and env.observation["Runtime"] > 0


def test_bad_names() -> None:
    with pytest.raises(GymError, match="unknown environment"):
        irpipe.gym.make("llvm-v9", benchmark=PROGRAMS / "crc.c")
    with pytest.raises(GymError, match="unknown space 'Inst'"):
        irpipe.gym.make("llvm-v0", benchmark=PROGRAMS / "crc.c", observation_space="Inst")
    env = irpipe.gym.make("llvm-v0", benchmark=PROGRAMS / "crc.c")
    with pytest.raises(InvalidAction, match="unknown action 'instcombine'"):
        env.step("instcombine")
    assert isinstance(env.reset()[0], np.ndarray)


def test_benchmark_from_the_dataset() -> None:
    from irpipe.testing.factories import SAMPLE_DIR

    env = irpipe.gym.make("llvm-v0", benchmark=f"dataset:{SAMPLE_DIR}#0", observation_space="InstCount")
    obs, _ = env.reset()
    assert obs[0] == env.observation["IrInstructionCount"] > 0
    with pytest.raises(IRError, match="no module 'nope'"):
        irpipe.gym.make("llvm-v0", benchmark=f"dataset:{SAMPLE_DIR}#nope")
