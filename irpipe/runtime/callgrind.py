"""The one reader of valgrind's event counts: callgrind's summary on stderr, and the totals of
a callgrind or cachegrind output file.

callgrind ends a run with its event names and their totals, each line prefixed with the pid::

    ==4242== Events    : Ir
    ==4242== Collected : 1234567

(``Events : Ir Dr Dw`` and three totals with ``--cache-sim=yes``).  Labels, benchmarks and
MLIR measurements all count guest instructions this way; each caller says in its own error
what a missing count means for it.

An output file (``--callgrind-out-file`` / ``--cachegrind-out-file``) names its events once and
ends with their totals, unformatted::

    events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim
    summary: 566531 1302 1283 129537 13817 1001 60917 12921 12851 62915 3296 303 161

(cachegrind writes ``summary:``, callgrind ``totals:``; :func:`file_totals` reads both).
"""

from __future__ import annotations

import re

_EVENTS = re.compile(r"==\d+==[ \t]*Events[ \t]*:[ \t]*(.+)")  # valgrind's own line, not the program's
_COLLECTED = re.compile(r"Collected[ \t]*:[ \t]*(\d+(?:[ \t]+\d+)*)")
_FILE_EVENTS = re.compile(r"^events:[ \t]*(.+)$", re.M)
_FILE_TOTALS = re.compile(r"^(?:summary|totals):[ \t]*(\d+(?:[ \t]+\d+)*)[ \t]*$", re.M)


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


def file_totals(text: str | bytes) -> dict[str, int]:
    """The event totals of a callgrind/cachegrind output file (``{"Ir": 566531, "D1mr": ...}``);
    empty when it has no ``events:`` line or no ``summary:``/``totals:`` line (a run that was
    killed before valgrind wrote them).  Events the totals line leaves out count 0, as valgrind
    documents for trailing zeros."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    events, totals = _FILE_EVENTS.search(text), _FILE_TOTALS.search(text)
    if events is None or totals is None:
        return {}
    names = events.group(1).split()
    counts = [int(n) for n in totals.group(1).split()]
    return {name: counts[i] if i < len(counts) else 0 for i, name in enumerate(names)}
