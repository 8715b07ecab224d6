"""The pass plugin's loop interface, below every user of it: its loop listing and one-file advice.

The plugin (passes/README.md, "Per-loop decisions") prints one line per loop of a compile with
``-mllvm -irpipe-print-loops``::

    irpipe: loop {"id":"dot/L0","depth":1,"blocks":1,"trip_count":null,
                  "strict_fp_reduction":true,"strict_fp_induction":false,"instructions":8,...}

(the keys after the strict-FP flags describe the body: :data:`irpipe.schema.LOOP_BODY_FACTS`)

and applies per-loop decisions from an advice file (``-mllvm -irpipe-advice=FILE``, format
``irpipe.advice`` version 2, read and validated by :mod:`irpipe.optimize.advice`).  Label code
(which may not import the applications layer) builds such a file with :func:`loop_advice_doc`.

    USAGE: loops = parse_loop_listing(done.stderr.decode())
           jsonfile.write("a.json", loop_advice_doc({"main/L0": {"unroll": 4}}))
"""

from __future__ import annotations

import json
from typing import Any

#: the prefix of the plugin's loop listing lines (irpipe-loops-print, -irpipe-print-loops)
LOOP_LINE = "irpipe: loop "


def parse_loop_listing(text: str) -> list[dict[str, Any]]:
    """The loops the plugin printed (``irpipe: loop {...}`` lines of its stderr; other lines are
    skipped): id, depth, blocks, trip_count (None if not constant), strict_fp_reduction,
    strict_fp_induction and the body facts (:data:`irpipe.schema.LOOP_BODY_FACTS`)."""
    return [json.loads(line[len(LOOP_LINE):]) for line in text.splitlines() if line.startswith(LOOP_LINE)]


def loop_advice_doc(loops: dict[str, dict[str, Any]], source: str = "*") -> dict[str, Any]:
    """A version 2 advice document (:mod:`irpipe.optimize.advice`'s format) with one module entry
    for ``source`` (``"*"``: every module) holding only per-loop decisions ``loops``."""
    return {"format": "irpipe.advice", "version": 2,
            "modules": [{"source": source, "loops": {k: dict(v) for k, v in loops.items()}}]}
