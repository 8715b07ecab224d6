"""Do real programs' labels help the loop policy on real programs?  Cross-fitted by halves.

    .venv/bin/python benchmarks/loop_policy_real.py [--real benchmarks/results/loops-real]
                                                    [--generated benchmarks/results/loops]

The real-program labels (benchmarks/search_labels.py: the hot loops of benchmarks/suite) are split
into two halves by program (each program is its own family; the halves alternate in name order).
For each half, two policies with the released config (models/loop-decisions/config.toml, no
selection) are trained: on the generated programs alone, and on the generated programs plus the
other half's real programs.  Both are scored on the held-out half, as ``irpipe evaluate`` scores
the released policy: per program the product of the chosen decisions' label ratios (keep -O3, or a
decision without a label: 1.0), then the geomean over programs.  Beside them, on the same
programs: the oracle over the labelled loops and every static rule (one decision on every loop).
All figures are proxy cycles of the count workload, not CPU time.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from irpipe.nn.loop_policy import DECISIONS
from irpipe.train.loop_decisions import LoopExample, LoopPolicy, fit, load_config, load_loops, policy_ratio

ROOT = Path(__file__).resolve().parents[1]


def geomean_by_program(examples: list[LoopExample], pick: "callable") -> float:
    """Geomean over programs of the product of ``pick(example)`` (a ratio) over its loops."""
    logs: dict[str, float] = {}
    for e in examples:
        logs[e.program] = logs.get(e.program, 0.0) + math.log(pick(e))
    return math.exp(sum(logs.values()) / len(logs))


def references(test: list[LoopExample]) -> dict[str, float]:
    """The oracle and every static rule on ``test`` (a decision without a label counts as 1.0)."""
    def ratio(e: LoopExample, i: int) -> float:
        return 1.0 if math.isnan(e.ratios[i]) else float(e.ratios[i])
    out = {"oracle": geomean_by_program(test, lambda e: min(1.0, float(np.nanmin(e.ratios)) if not np.isnan(e.ratios).all() else 1.0))}
    for i, d in enumerate(DECISIONS):
        if any(not math.isnan(e.ratios[i]) for e in test):
            out[f"static {d}"] = geomean_by_program(test, lambda e, i=i: ratio(e, i))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", default=str(ROOT / "benchmarks" / "results" / "loops-real"))
    ap.add_argument("--generated", default=str(ROOT / "benchmarks" / "results" / "loops"))
    a = ap.parse_args()
    config = replace(load_config(ROOT / "models" / "loop-decisions" / "config.toml"), select=False)
    generated, real = load_loops(a.generated), load_loops(a.real)
    programs = sorted({e.family for e in real})
    halves = [set(programs[0::2]), set(programs[1::2])]
    rows = []
    with tempfile.TemporaryDirectory(prefix="irpipe-lpr-") as tmp:
        for k, held in enumerate(halves):
            test = [e for e in real if e.family in held]
            other = [e for e in real if e.family not in held]
            row = {"half": k, "programs": len(held), "loops": len(test), **references(test)}
            for name, train in (("policy, generated only", generated), ("policy, + other half's real", generated + other)):
                out = Path(tmp) / f"{k}-{len(row)}"
                fit(config, train, test, out)
                row[name] = policy_ratio(LoopPolicy.of(LoopPolicy.load(out).model, config), test)
            rows.append(row)
    keys = [k for k in rows[0] if k not in ("half", "programs", "loops")]
    both = {k: math.exp(sum(math.log(r[k]) * r["programs"] for r in rows) / sum(r["programs"] for r in rows)) for k in keys}
    for k in sorted(keys, key=both.get):
        print(f"{k:45} " + "  ".join(f"{r[k]:.4f}" for r in rows) + f"   both halves {both[k]:.4f}")
    print(json.dumps({"config": {k: getattr(config, k) for k in ("hidden", "weight_decay", "margin", "body_facts")},
                      "halves": rows, "both": both}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
