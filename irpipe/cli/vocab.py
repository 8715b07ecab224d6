"""``irpipe vocab``: mine a policy's candidate pipelines from labels (pool, then select)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import JOB_OUTPUT, OUT_FILE, PIPELINES_FILE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vocab", help="mine candidate pipelines from labels (train split only)")
    steps = p.add_subparsers(dest="step", required=True)
    pool = steps.add_parser("pool", help="distinct best pipelines of the training labels, plus O levels")
    pool.add_argument("--labels", required=True, type=JOB_OUTPUT, help="output directory of irpipe label")
    pool.add_argument("--size", type=int, default=128)
    pool.add_argument("--seed", type=int, default=0, help="split seed")
    pool.add_argument("--out", required=True, type=OUT_FILE, help="pipeline set JSON to write")
    sel = steps.add_parser("select", help="greedy set-cover of gains over a measured pool")
    sel.add_argument("--pool", required=True, type=PIPELINES_FILE, help="pipeline set JSON of `irpipe vocab pool`")
    sel.add_argument("--measurements", required=True, type=JOB_OUTPUT, help="output directory of irpipe measure")
    sel.add_argument("--size", type=int, default=32)
    sel.add_argument("--out", required=True, type=OUT_FILE, help="pipeline set JSON to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pyarrow.compute as pc

    from irpipe.data.splits import assign_splits
    from irpipe.runtime.units import read_table
    from irpipe.label import vocab

    if args.step == "pool":
        labels = assign_splits(read_table(args.labels, "labels"), seed=args.seed)
        pset = vocab.candidate_pool(labels.filter(pc.equal(labels["split"], "train")), size=args.size)
    else:
        pset = vocab.select(read_table(args.measurements, "measurements"), vocab.load(args.pool),
                            size=args.size)
    vocab.save(pset, args.out)
    print(json.dumps({"pipelines": len(pset.pipelines), **pset.info}))
    return 0
