"""CompilerGym-compatible environments (``irpipe.gym.make("llvm-v0", ...)``).

Registered with gymnasium as ``irpipe/llvm-v0`` on import of this package.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from irpipe.errors import IRError

ENV_IDS = ("llvm-v0",)


def make(env_id: str = "llvm-v0", **kwargs: Any) -> Any:
    """Create an environment by its CompilerGym name (``"llvm-v0"``)."""
    if env_id not in ENV_IDS:
        raise IRError(f"unknown environment {env_id!r}; irpipe has {', '.join(ENV_IDS)}")
    from irpipe.gym.env import LlvmEnv

    return LlvmEnv(**kwargs)


if "irpipe/llvm-v0" not in gymnasium.registry:
    gymnasium.register(id="irpipe/llvm-v0", entry_point="irpipe.gym.env:LlvmEnv")
