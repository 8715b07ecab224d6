"""Would a trip-count profile let the loop policy beat the static rule?  Cross-fitted by families.

    .venv/bin/python benchmarks/loop_policy_profile.py [--labels benchmarks/results/loops]
                                                       [--heldout benchmarks/results/loops-heldout]
                                                       [--profiles out/loop-profiles.json]

The loop facts cannot tell a short data-dependent trip count from a long one (models/loop-decisions/
README.md), and ``optimize --objective speed`` runs a counting build anyway.  So: each labelled
program is regenerated from its name (irpipe.label.programs) and its counting build run once on
``count_args`` (``LoopLabeler.profile``: per loop, entries and iterations; cached in ``--profiles``,
resumable, about 75 s for 388 programs here).  Five profile features are added to each loop's:
log2(1 + iterations per entry), log2(1 + entries), log2(1 + iterations), the loop's share of the
program's iterations, and whether it ran at all.

Models (torch, full-batch AdamW, 400 epochs, weight decay 0.1): linear, and an MLP of 8 tanh units,
on the loop's shape (8 facts) or shape + body (22), each with and without the profile; masked MSE on
log proxy ratios, as ``irpipe.train.loop_decisions``.  Two policies: the released one's (the best
predicted decision if below 1 - margin, else -O3), and a residual one that starts from the static
rule and leaves it only where the model predicts the rule loses or another decision beats it by the
margin.  Scored as ``irpipe evaluate`` scores: trained on one half of the seven families, scored on
the other (both ways), and trained on all seven, scored on the two held-out families; per program the
product of label ratios, geomean over programs.  Proxy cycles, not CPU time.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from irpipe.bench import stats
from irpipe.label.loops import for_each_program
from irpipe.problems.loop_decisions import family_halves, picks, program_ratios, static_rule
from irpipe.train.loop_decisions import FEATURES, SHAPE_FEATURES, LoopExample, load_loops

ROOT = Path(__file__).resolve().parents[1]


def gm(per_program: dict[str, float]) -> float:
    """Geomean of per-program ratios."""
    return stats.geomean(list(per_program.values()))


def profiles(examples: list[LoopExample], path: Path, work: Path) -> dict[str, dict]:
    """Per program, per loop id [entries, iterations] of its counting build (cached in ``path``)."""
    return for_each_program(sorted({e.program for e in examples}), work, path,
                            lambda labeler, program: {k: list(v) for k, v in labeler.profile(program).items()})


def features(examples: list[LoopExample], prof: dict[str, dict], body: bool, profile: bool) -> np.ndarray:
    cols = [FEATURES.index(f) for f in (FEATURES if body else SHAPE_FEATURES)]
    total = {p: sum(v[1] for v in loops.values()) for p, loops in prof.items()}
    rows = []
    for e in examples:
        row = list(e.features[cols])
        if profile:
            entries, its = prof[e.program].get(e.loop_id, (0, 0))
            row += [math.log2(1 + (its / entries if entries else 0.0)), math.log2(1 + entries), math.log2(1 + its),
                    its / total[e.program] if total[e.program] else 0.0, float(entries == 0)]
        rows.append(row)
    return np.nan_to_num(np.array(rows, dtype=np.float64))


def fit(x: np.ndarray, examples: list[LoopExample], hidden: int) -> "callable":
    """A model of log ratios per decision; returns predict(x)."""
    y = np.stack([e.ratios for e in examples])
    mask = ~np.isnan(y)
    mu, sd = x.mean(0), x.std(0).clip(1e-3)
    torch.manual_seed(0)
    xt = torch.tensor((x - mu) / sd, dtype=torch.float32)
    yt = torch.tensor(np.where(mask, np.log(np.where(mask, y, 1.0)), 0.0), dtype=torch.float32)
    mt = torch.tensor(mask)
    net = (torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, y.shape[1]))
           if hidden else torch.nn.Linear(x.shape[1], y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(400):
        opt.zero_grad()
        loss = (((net(xt) - yt) ** 2) * mt).sum() / mt.sum()
        loss.backward()
        opt.step()
    return lambda q: net(torch.tensor((q - mu) / sd, dtype=torch.float32)).detach().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", default=str(ROOT / "benchmarks/results/loops"))
    ap.add_argument("--heldout", default=str(ROOT / "benchmarks/results/loops-heldout"))
    ap.add_argument("--profiles", default=str(ROOT / "out/loop-profiles.json"))
    ap.add_argument("--work", default=str(ROOT / "out/loop-profile-corpus"))
    args = ap.parse_args()
    seven, heldout = load_loops(args.labels), load_loops(args.heldout)
    prof = profiles(seven + heldout, Path(args.profiles), Path(args.work))
    halves = family_halves(seven)
    rule_all = static_rule(seven)
    refs = {"static": {}, "oracle": {}}
    for held in halves:
        test = [e for e in seven if e.family in held]
        rule = static_rule([e for e in seven if e.family not in held])
        refs["static"].update(program_ratios(test, [rule if e.allowed[rule] else -1 for e in test]))
        refs["oracle"].update(program_ratios(test, [int(np.nanargmin(e.ratios)) if np.nanmin(e.ratios) < 1 else -1 for e in test]))
    held_static = gm(program_ratios(heldout, [rule_all if e.allowed[rule_all] else -1 for e in heldout]))
    print(f"| model | features | policy | 7 families, cross-fitted | 2 held-out families |\n|---|---|---|---:|---:|\n"
          f"| static rule | | | {gm(refs['static']):.4f} | {held_static:.4f} |\n"
          f"| oracle | | | {gm(refs['oracle']):.4f} | |")
    for hidden in (0, 8):
        for body in (False, True):
            for profile in (False, True):
                for residual in (False, True):
                    got: dict[str, float] = {}
                    for held in halves:
                        train = [e for e in seven if e.family not in held]
                        test = [e for e in seven if e.family in held]
                        model = fit(features(train, prof, body, profile), train, hidden)
                        got.update(program_ratios(test, picks(model(features(test, prof, body, profile)), test,
                                                      static_rule(train), residual)))
                    model = fit(features(seven, prof, body, profile), seven, hidden)
                    far = gm(program_ratios(heldout, picks(model(features(heldout, prof, body, profile)), heldout,
                                                        rule_all, residual)))
                    print(f"| {'MLP 8' if hidden else 'linear'} | {'shape+body' if body else 'shape'}"
                          f"{' + profile' if profile else ''} | {'residual' if residual else 'released'} | "
                          f"{gm(got):.4f} | {far:.4f} |", flush=True)


if __name__ == "__main__":
    main()
