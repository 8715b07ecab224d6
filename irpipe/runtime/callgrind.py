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

With ``--dump-instr=yes`` a callgrind file also has a cost line per instruction address, under
the ``ob=`` (object) and ``fn=`` it belongs to; the line after ``calls=`` is the inclusive cost
of a call, not the call site's own, and :func:`instr_costs` skips it::

    ob=/tmp/t
    fn=main
    0x1160 1
    calls=1 0x48c10
    0x1178 181
"""

from __future__ import annotations

import re

_EVENTS = re.compile(r"==\d+==[ \t]*Events[ \t]*:[ \t]*(.+)")  # valgrind's own line, not the program's
_COLLECTED = re.compile(r"Collected[ \t]*:[ \t]*(\d+(?:[ \t]+\d+)*)")
_FILE_EVENTS = re.compile(r"^events:[ \t]*(.+)$", re.M)
_NAME = re.compile(r"^\((\d+)\)(?:[ \t]+(.*))?$")  # --compress-strings: "(3) /path" defines, "(3)" reuses
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


def instr_costs(text: str | bytes, obj: str) -> dict[int, int]:
    """Self cost of the first event (``Ir``: times executed) at each instruction address of
    object ``obj`` (as the file names it in ``ob=``), from a callgrind file written with
    ``--dump-instr=yes --compress-pos=no``; addresses are the object's own (as
    ``llvm-objdump -d`` prints them, also for position-independent executables).  Lines
    repeating an address add up; inclusive costs after ``calls=`` are left out.  Raises
    :class:`ValueError` on relative (compressed) positions, which it does not read."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    names: dict[str, str] = {}
    out: dict[int, int] = {}
    current, skip = False, False
    for line in text.splitlines():
        if not line or line[0].isalpha():
            if line.startswith(("ob=", "cob=")):  # one name space: "cob=(5) /x" defines (5) for "ob=(5)"
                name = _name(line.split("=", 1)[1], names)
                current = name == obj if line.startswith("ob=") else current
            skip = line.startswith("calls=")
            continue
        if skip or not current:
            skip = False
            continue
        fields = line.split()
        if not fields[0].startswith("0x"):
            raise ValueError(f"callgrind position {fields[0]!r} is compressed; run with --compress-pos=no")
        addr = int(fields[0], 16)
        out[addr] = out.get(addr, 0) + (int(fields[1]) if len(fields) > 1 else 0)
    return out


def _name(spec: str, names: dict[str, str]) -> str:
    """A file or object name, resolving callgrind's ``(id) name`` string compression."""
    m = _NAME.match(spec.strip())
    if m is None:
        return spec.strip()
    if m.group(2) is not None:
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), "")
