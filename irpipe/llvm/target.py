"""The target a user asks for (``--mtriple``, ``--target-cpu``, ``--strip-optnone``).

Light on purpose (no LLVM loaded): the ``irpipe optimize --server`` client describes
the target without importing the evaluator.  Empty fields keep the module's own
target; see :mod:`irpipe.label.measure` for how an evaluation uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """What the user asked for: ``""`` keeps the module's own triple / CPU.

    ``strip_optnone`` drops ``optnone``/``noinline`` from clang -O0 functions first
    (``opt-22`` leaves optnone functions alone; irpipe's corpus and labels strip it).
    """

    triple: str = ""
    cpu: str = ""
    strip_optnone: bool = True

    def describe(self) -> dict[str, Any]:
        """The JSON form written beside outputs."""
        return {"mtriple": self.triple or None, "target_cpu": self.cpu or None,
                "strip_optnone": self.strip_optnone}


#: The user's command line exactly: opt-22 -passes=... on the module as it is.
AS_OPT = Target(strip_optnone=False)
