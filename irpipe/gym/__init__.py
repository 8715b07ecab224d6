"""CompilerGym-compatible environments on LLVM 22.

    import gymnasium, irpipe.gym
    env = gymnasium.make("llvm-v0")                  # or irpipe.gym.make("llvm-v0", ...)
    env = gymnasium.make("irpipe.gym:llvm-v0")       # the same, without the import first

Importing this package registers ``llvm-v0`` (CompilerGym's name) and ``irpipe/llvm-v0``
(an alias) with gymnasium.  Gymnasium 1.x has no plugin entry points (0.26-0.29's
``gymnasium.envs`` group was removed in 1.0), so one of the two lines above is how a
package's environments get registered.  They are registered without gymnasium's
order-enforcing and env-checker wrappers: ``gymnasium.make`` returns the
:class:`~irpipe.gym.env.LlvmEnv` itself, so ``env.benchmark``, ``env.observation[...]``,
``env.reset(benchmark=...)`` and ``env.commandline()`` work as in CompilerGym (gymnasium 1.x
wrappers do not forward attributes).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from irpipe.errors import GymError

ENV_IDS = ("llvm-v0", "irpipe/llvm-v0")


def make(env_id: str = "llvm-v0", **kwargs: Any) -> Any:
    """Create an environment by its CompilerGym name (``"llvm-v0"``)."""
    if env_id not in ENV_IDS:
        raise GymError(f"unknown environment {env_id!r}; irpipe has {', '.join(ENV_IDS)}")
    from irpipe.gym.env import LlvmEnv

    return LlvmEnv(**kwargs)


for _id in ENV_IDS:
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="irpipe.gym.env:LlvmEnv",
                           order_enforce=False, disable_env_checker=True)
