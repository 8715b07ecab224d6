"""Does a graph network over each loop's part of the program graph beat the static rule?

    .venv/bin/python benchmarks/loop_policy_gnn.py [--epochs 12] [--hidden 16] [--seeds 3]
                                                   [--features shape|none] [--graphs out/loop-graphs.json]

Issue J item 4 asks for a per-loop policy that is a GNN over the loop's part of the program graph
with its function context.  Each labelled program (benchmarks/results/loops: 7 families, 300
programs; benchmarks/results/loops-heldout: 2 families never trained on) is regenerated and built at
-O3 with the pass plugin listing its loops and writing the IR at the vectorizer start
(``-mllvm -irpipe-loop-ir``; ``LoopLabeler.graphs``, cached in ``--graphs``, resumable, about a
minute for 388 programs here).  Each loop's graph is cut from its function's ProGraML graph
(:mod:`irpipe.label.loop_graphs`: the loop's instructions, the rest of its nest as context, the
values they use and define), and :class:`irpipe.nn.loop_gnn.LoopGraphNet` (message passing, the
loop's and the context's means, with the loop's 8 shape facts or none, an MLP head) predicts each
decision's log proxy ratio, trained with masked MSE (AdamW, batches of 64, ``--epochs`` fixed in
advance: no epoch is chosen on held-out loops; ``--seeds`` models averaged).

Scored as ``benchmarks/loop_policy_profile.py`` scores the feature models: trained on one half of
the seven families and scored on the other (both ways), and trained on all seven, scored on the two
held-out families; the released policy (best prediction below 1 - margin, else -O3) and the residual
one (start from the static rule); per program the product of label ratios, geomean over programs.
Proxy cycles estimated from the labels, not CPU time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from irpipe.bench import stats
from irpipe.ir.graph import ProgramGraph
from irpipe.label.loops import for_each_program
from irpipe.problems.loop_decisions import family_halves, picks, program_ratios, static_rule
from irpipe.train.loop_decisions import FEATURES, SHAPE_FEATURES, LoopExample, load_loops

ROOT = Path(__file__).resolve().parents[1]


def gm(per_program: dict[str, float]) -> float:
    """Geomean of per-program ratios."""
    return stats.geomean(list(per_program.values()))


def graphs_of(examples: list[LoopExample], path: Path, work: Path) -> dict[tuple[str, str], ProgramGraph]:
    """Per (program, loop id), the loop's cut graph (built once, cached in ``path``)."""
    def cut(labeler, program) -> dict:
        return {lid: {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in g.to_row().items()}
                for lid, g in labeler.graphs(program).items()}

    rows = for_each_program(sorted({e.program for e in examples}), work, path, cut)
    return {(p, lid): ProgramGraph.from_row(r) for p, loops in rows.items() for lid, r in loops.items()}


class Fitted:
    """``seeds`` LoopGraphNets trained on ``train``; :meth:`predict` averages their log ratios."""

    def __init__(self, train: list[LoopExample], graphs: dict, args: argparse.Namespace) -> None:
        from torch_geometric.data import Batch

        from irpipe.nn.loop_gnn import LoopGraphNet, loop_data, loop_vocab

        self.graphs, self.args, self.Batch, self.loop_data = graphs, args, Batch, loop_data
        self.vocab = loop_vocab(graphs[e.program, e.loop_id] for e in train)
        x = self._facts(train)
        self.mu, self.sd = (x.mean(0), x.std(0).clip(1e-3)) if x.size else (0.0, 1.0)
        y = np.stack([e.ratios for e in train])
        mask = ~np.isnan(y)
        yt = torch.tensor(np.where(mask, np.log(np.where(mask, y, 1.0)), 0.0), dtype=torch.float32)  # [N, D]
        mt, xt, data = torch.tensor(mask), self._scaled(x), self._data(train)
        self.nets = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            order_rng = np.random.default_rng(seed)
            net = LoopGraphNet(len(self.vocab) + 1, xt.shape[1], y.shape[1], hidden=args.hidden)
            opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.01)
            for _ in range(args.epochs):
                net.train()
                order = order_rng.permutation(len(train))
                for i in range(0, len(order), 64):
                    idx = order[i:i + 64]
                    opt.zero_grad()
                    err = (net(Batch.from_data_list([data[j] for j in idx]), xt[idx]) - yt[idx]) ** 2
                    loss = (err * mt[idx]).sum() / mt[idx].sum().clamp(min=1)
                    loss.backward()
                    opt.step()
            self.nets.append(net.eval())

    def _facts(self, ex: list[LoopExample]) -> np.ndarray:
        cols = [FEATURES.index(f) for f in SHAPE_FEATURES] if self.args.features == "shape" else []
        return np.nan_to_num(np.stack([e.features[cols] for e in ex]))

    def _scaled(self, x: np.ndarray) -> torch.Tensor:
        return torch.tensor((x - self.mu) / self.sd, dtype=torch.float32)

    def _data(self, ex: list[LoopExample]) -> list:
        return [self.loop_data(self.graphs[e.program, e.loop_id], self.vocab) for e in ex]

    def predict(self, ex: list[LoopExample]) -> np.ndarray:
        """Log ratios [loops, decisions], the mean over the seeds' models."""
        data, xt = self._data(ex), self._scaled(self._facts(ex))
        with torch.no_grad():
            return np.mean([np.concatenate([net(self.Batch.from_data_list(data[i:i + 256]), xt[i:i + 256]).numpy()
                                            for i in range(0, len(data), 256)]) for net in self.nets], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", default=str(ROOT / "benchmarks/results/loops"))
    ap.add_argument("--heldout", default=str(ROOT / "benchmarks/results/loops-heldout"))
    ap.add_argument("--graphs", default=str(ROOT / "out/loop-graphs.json"))
    ap.add_argument("--work", default=str(ROOT / "out/loop-graph-corpus"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--features", choices=("shape", "none"), default="shape")
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.monotonic()
    seven, heldout = load_loops(args.labels), load_loops(args.heldout)
    graphs = graphs_of(seven + heldout, Path(args.graphs), Path(args.work))
    got: dict[bool, dict[str, float]] = {False: {}, True: {}}
    static: dict[str, float] = {}
    for held in family_halves(seven):
        train = [e for e in seven if e.family not in held]
        test = [e for e in seven if e.family in held]
        rule = static_rule(train)
        static.update(program_ratios(test, [rule if e.allowed[rule] else -1 for e in test]))
        pred = Fitted(train, graphs, args).predict(test)
        for residual in got:
            got[residual].update(program_ratios(test, picks(pred, test, rule, residual)))
        print(f"fold {','.join(held)} done ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    rule = static_rule(seven)
    pred = Fitted(seven, graphs, args).predict(heldout)
    far = {r: gm(program_ratios(heldout, picks(pred, heldout, rule, r))) for r in got}
    far_static = gm(program_ratios(heldout, [rule if e.allowed[rule] else -1 for e in heldout]))
    name = f"GNN h{args.hidden}, {args.epochs} epochs, x{args.seeds}, {'graph + shape' if args.features == 'shape' else 'graph'}"
    print("| model | policy | 7 families, cross-fitted | 2 held-out families |\n|---|---|---:|---:|\n"
          f"| static rule | | {gm(static):.4f} | {far_static:.4f} |")
    for residual in got:
        print(f"| {name} | {'residual' if residual else 'released'} | {gm(got[residual]):.4f} | {far[residual]:.4f} |")
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
