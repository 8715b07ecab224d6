"""The pass plugin's loop interface, below every user of it: its loop listing and one-file advice.

The plugin (passes/README.md, "Per-loop decisions") prints one line per loop of a compile with
``-mllvm -irpipe-print-loops``::

    irpipe: loop {"id":"dot/L0","depth":1,"blocks":1,"trip_count":null,
                  "strict_fp_reduction":true,"strict_fp_induction":false,"instructions":8,...}

(the keys after the strict-FP flags describe the body: :data:`irpipe.schema.LOOP_BODY_FACTS`);
a counting build (``-mllvm -irpipe-profile-loops``) appends, when the program exits, one line
per loop to the file ``$IRPIPE_LOOP_PROFILE`` names::

    irpipe: loop-profile dot/L0 <entries> <iterations>

and applies per-loop decisions from an advice file (``-mllvm -irpipe-advice=FILE``, format
``irpipe.advice`` version 2, read and validated by :mod:`irpipe.optimize.advice`).  Label code
(which may not import the applications layer) builds such a file with :func:`loop_advice_doc`.

    USAGE: loops = parse_loop_listing(done.stderr.decode())
           counts = parse_loop_profile(Path(profile_file).read_text())   # {"dot/L0": (1, 512)}
           loops = checked_listing(request["loops"])     # a listing from a client (irpipe serve)
           jsonfile.write("a.json", loop_advice_doc({"main/L0": {"unroll": 4}}))
"""

from __future__ import annotations

import json
import re
from typing import Any

#: the prefix of the plugin's loop listing lines (irpipe-loops-print, -irpipe-print-loops)
LOOP_LINE = "irpipe: loop "


def parse_loop_listing(text: str) -> list[dict[str, Any]]:
    """The loops the plugin printed (``irpipe: loop {...}`` lines of its stderr; other lines are
    skipped): id, depth, blocks, trip_count (None if not constant), strict_fp_reduction,
    strict_fp_induction and the body facts (:data:`irpipe.schema.LOOP_BODY_FACTS`)."""
    return [json.loads(line[len(LOOP_LINE):]) for line in text.splitlines() if line.startswith(LOOP_LINE)]


#: the prefix of a counting build's profile lines (-irpipe-profile-loops)
PROFILE_LINE = "irpipe: loop-profile "


def parse_loop_profile(text: str) -> dict[str, tuple[int, int]]:
    """Per loop id, (entries, iterations) from a counting build's profile file; the lines of
    several processes (or translation units) of one id add up.  ``ValueError`` names a malformed line."""
    out: dict[str, tuple[int, int]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith(PROFILE_LINE):
            continue
        parts = line[len(PROFILE_LINE):].rsplit(" ", 2)
        if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
            raise ValueError(f"loop profile line {n} is not 'ID ENTRIES ITERATIONS': {line[:200]!r}")
        entries, iterations = out.get(parts[0], (0, 0))
        out[parts[0]] = (entries + int(parts[1]), iterations + int(parts[2]))
    return out


def hot_loops(counts: dict[str, tuple[int, int]], top: int, share: float = 0.01) -> list[str]:
    """The ids of at most ``top`` loops that ran the most iterations, each at least ``share`` of
    all loops' iterations, hottest first (ties by id)."""
    total = sum(it for _, it in counts.values())
    ranked = sorted(counts, key=lambda lid: (-counts[lid][1], lid))
    return [lid for lid in ranked if total and counts[lid][1] >= share * total][:max(top, 0)]


#: the most loops one listing may carry over irpipe serve's socket (one function's loops)
MAX_LISTED_LOOPS = 1024
#: the deepest loop nest a listing may name (LLVM's loops nest a few levels; ids grow with depth)
MAX_LOOP_DEPTH = 64
_LOOP_ID = re.compile(r".{1,4096}/L(?:0|[1-9][0-9]{0,8})(?:\.(?:0|[1-9][0-9]{0,8})){0,%d}" % (MAX_LOOP_DEPTH - 1), re.S)


def checked_listing(value: Any) -> list[dict[str, Any]]:
    """``value`` (a client's JSON) as a loop listing like :func:`parse_loop_listing`'s, every entry
    checked: ``ValueError`` with one line naming the first bad entry or field."""
    from irpipe.schema import LOOP_BODY_FACTS  # pyarrow: not for every importer of this module

    counts = ("depth", "blocks", *LOOP_BODY_FACTS)
    if not isinstance(value, list) or len(value) > MAX_LISTED_LOOPS:
        raise ValueError(f"'loops' must be a list of at most {MAX_LISTED_LOOPS} loop entries")
    out, seen = [], set()
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ValueError(f"loops[{i}] is not an object")
        lid = entry.get("id")
        if not isinstance(lid, str) or not _LOOP_ID.fullmatch(lid) or lid in seen:
            raise ValueError(f"loops[{i}]: 'id' must be a new loop id FUNCTION/L<path> (e.g. kernel/L1.0), "
                             f"at most {MAX_LOOP_DEPTH} levels deep")
        seen.add(lid)
        extra = sorted(set(entry) - {"id", "trip_count", "strict_fp_reduction", "strict_fp_induction", *counts})
        if extra:
            raise ValueError(f"loops[{i}] ({lid}): unknown field {extra[0]!r}")
        for key in counts:
            v = entry.get(key)
            if type(v) is not int or not 0 <= v < 1 << 31:
                raise ValueError(f"loops[{i}] ({lid}): {key!r} must be a non-negative integer")
        trip = entry.get("trip_count")
        if trip is not None and (type(trip) is not int or not 0 < trip < 1 << 32):
            raise ValueError(f"loops[{i}] ({lid}): 'trip_count' must be a positive integer or null")
        for key in ("strict_fp_reduction", "strict_fp_induction"):
            if type(entry.get(key)) is not bool:
                raise ValueError(f"loops[{i}] ({lid}): {key!r} must be true or false")
        out.append(dict(entry))
    return out


def loop_advice_doc(loops: dict[str, dict[str, Any]], source: str = "*") -> dict[str, Any]:
    """A version 2 advice document (:mod:`irpipe.optimize.advice`'s format) with one module entry
    for ``source`` (``"*"``: every module) holding only per-loop decisions ``loops``."""
    return {"format": "irpipe.advice", "version": 2,
            "modules": [{"source": source, "loops": {k: dict(v) for k, v in loops.items()}}]}
