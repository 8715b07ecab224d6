"""The one reader of valgrind callgrind's summary on stderr.

callgrind ends a run with its event names and their totals, each line prefixed with the pid::

    ==4242== Events    : Ir
    ==4242== Collected : 1234567

(``Events : Ir Dr Dw`` and three totals with ``--cache-sim=yes``).  Labels, benchmarks and
MLIR measurements all count guest instructions this way; each caller says in its own error
what a missing count means for it.
"""

from __future__ import annotations

import re

_EVENTS = re.compile(r"==\d+==[ \t]*Events[ \t]*:[ \t]*(.+)")  # valgrind's own line, not the program's
_COLLECTED = re.compile(r"Collected[ \t]*:[ \t]*(\d+(?:[ \t]+\d+)*)")


def summary(stderr: str | bytes) -> dict[str, int]:
    """The event totals of the first callgrind summary in ``stderr`` (``{"Ir": 1234567}``);
    empty when there is none (valgrind missing, the program killed before the end).  Without
    an ``Events`` line the one total is taken as ``Ir``, callgrind's default event."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    collected = _COLLECTED.search(text)
    if collected is None:
        return {}
    totals = [int(n) for n in collected.group(1).split()]
    events = _EVENTS.search(text, 0, collected.start())
    names = events.group(1).split() if events else ["Ir"]
    return dict(zip(names, totals))


def instructions(stderr: str | bytes) -> int | None:
    """Guest instructions executed (callgrind's ``Ir`` total) in ``stderr``, or None."""
    return summary(stderr).get("Ir")
