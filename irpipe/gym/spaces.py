"""The environment's spaces, with CompilerGym's names.

``ActionSpace`` is ``Discrete(len(ACTIONS))`` plus CompilerGym's ``names`` (the pass names,
``"mem2reg"``) and ``flags`` (each action's ``opt-22 -passes=`` text); :meth:`ActionSpace.indices`
is the one place an action is checked.  The ``*Dict`` / ``*Norm`` observations are derived from
InstCount and Autophase exactly as CompilerGym derives them (``InstCountDict`` keys
``TotalInstsCount``, …; ``InstCountNorm`` = counts[1:] / max(TotalInsts, 1)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np

from irpipe.errors import InvalidAction
from irpipe.label.actions import ACTIONS, Action
from irpipe.llvm import features

_INT64_MAX = np.iinfo(np.int64).max
#: derived observation -> the observation it is computed from
DERIVED = {"InstCountDict": "InstCount", "InstCountNorm": "InstCount",
           "InstCountNormDict": "InstCount", "AutophaseDict": "Autophase"}


class ActionSpace(gymnasium.spaces.Discrete):
    """``Discrete(n)`` over the passes of :mod:`irpipe.label.actions`, with ``names`` and ``flags``."""

    def __init__(self, actions: Sequence[Action] = ACTIONS, seed: int | None = None):
        super().__init__(len(actions), seed=seed)
        self.names: list[str] = [a.name for a in actions]
        self.flags: list[str] = [a.text() for a in actions]
        self._index = {name: i for i, name in enumerate(self.names)}

    def index(self, name: str) -> int:
        """The action id of a pass name; :class:`InvalidAction` if there is none."""
        if name not in self._index:
            raise InvalidAction(f"unknown action {name!r}; see env.action_space.names "
                                f"({self.n} passes)")
        return self._index[name]

    def to_index(self, action: Any) -> int:
        """One action (an int, a numpy integer or a pass name) as an id in ``0..n-1``."""
        if isinstance(action, np.ndarray) and action.ndim == 0:
            action = action.item()
        if isinstance(action, str):
            return self.index(action)
        if isinstance(action, (bool, np.bool_)):
            raise InvalidAction(f"action {action!r} is a bool; an action is an integer "
                                f"0..{self.n - 1} or a pass name")
        if not isinstance(action, (int, np.integer)):
            raise InvalidAction(f"action {action!r} is a {type(action).__name__}, not an integer; "
                                f"an action is an integer 0..{self.n - 1} or a pass name")
        if not 0 <= int(action) < self.n:
            raise InvalidAction(f"action {int(action)} is out of range; the action space has "
                                f"{self.n} actions, 0..{self.n - 1}")
        return int(action)

    def indices(self, action: Any) -> list[int]:
        """``action`` as a list of ids: one action, or a list/tuple/range/1-d array of them
        (applied in order).  Every element is checked before any runs."""
        if isinstance(action, np.ndarray) and action.ndim > 1:
            raise InvalidAction(f"actions given as a {action.ndim}-d array; give one action or a "
                                "1-d sequence of them")
        if is_sequence(action):
            return [self.to_index(a) for a in action]
        return [self.to_index(action)]


def is_sequence(action: Any) -> bool:
    """True for several actions: a list, tuple, range or 1-d array (not a str)."""
    return isinstance(action, (list, tuple, range)) or (isinstance(action, np.ndarray) and action.ndim == 1)


def derive(name: str, base: np.ndarray) -> Any:
    """A derived observation (:data:`DERIVED`) from its base vector."""
    if name == "InstCountDict":
        return {key: int(v) for key, v in zip(features.instcount_keys(), base)}
    if name == "AutophaseDict":
        return {key: int(v) for key, v in zip(features.autophase_names(), base)}
    norm = (base[1:] / max(int(base[0]), 1)).astype(np.float32)
    if name == "InstCountNorm":
        return norm
    return {f"{key}Density": float(v) for key, v in zip(features.instcount_names()[1:], norm)}


def space_of(name: str | None) -> gymnasium.Space | None:
    """The gymnasium space of an observation (None for ``Programl`` and no observation)."""
    if name in ("InstCount", "Autophase"):
        size = features.INSTCOUNT_SIZE if name == "InstCount" else features.AUTOPHASE_SIZE
        return gymnasium.spaces.Box(0, _INT64_MAX, shape=(size,), dtype=np.int64)
    if name == "InstCountNorm":
        return gymnasium.spaces.Box(0, 1, shape=(features.INSTCOUNT_SIZE - 1,), dtype=np.float32)
    if name in ("InstCountDict", "AutophaseDict"):
        keys = features.instcount_keys() if name == "InstCountDict" else features.autophase_names()
        return gymnasium.spaces.Dict({k: gymnasium.spaces.Box(0, _INT64_MAX, shape=(), dtype=np.int64)
                                      for k in keys})
    if name == "InstCountNormDict":
        return gymnasium.spaces.Dict({f"{k}Density": gymnasium.spaces.Box(0, 1, shape=(), dtype=np.float32)
                                      for k in features.instcount_names()[1:]})
    if name in ("Ir", "BitcodeFile"):
        return gymnasium.spaces.Text(max_length=1 << 30)
    if name is None or name == "Programl":
        return None
    return gymnasium.spaces.Box(0, np.inf, shape=(), dtype=np.float64)
