"""``irpipe info``: a dataset's numbers (per language, licenses, dedup, failures), card and sample."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarize a dataset directory; write its card and a small sample")
    p.add_argument("dataset", help="dataset directory written by `irpipe extract`")
    p.add_argument("--json", action="store_true")
    p.add_argument("--card", help="write a Markdown dataset card here")
    p.add_argument("--name", default=None, help="dataset name for the card")
    p.add_argument("--command", default="irpipe extract ...", help="the command that built it, for the card")
    p.add_argument("--sample", help="write a small stratified sample dataset here")
    p.add_argument("--sample-mb", type=float, default=15.0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.extract.card import render_card, summarize, write_sample

    s = summarize(Path(args.dataset))
    name = args.name or Path(args.dataset).name
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        print(render_card(name, s, args.command))
    if args.card:
        Path(args.card).write_text(render_card(name, s, args.command))
    if args.sample:
        n = write_sample(Path(args.dataset), Path(args.sample), int(args.sample_mb * 1024 * 1024))
        print(f"sample: {n} modules -> {args.sample}")
    return 0
