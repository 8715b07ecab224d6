"""``irpipe info``: a dataset's numbers (per language, licenses, dedup, failures), card and sample."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from irpipe.cli.args import DATASET, OUT_DIR, OUT_FILE
from irpipe.runtime.files import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarize a dataset directory; write its card and a small sample")
    p.add_argument("dataset", type=DATASET, help="dataset directory written by `irpipe extract`")
    p.add_argument("--json", action="store_true")
    p.add_argument("--card", type=OUT_FILE, help="write a Markdown dataset card here")
    p.add_argument("--name", default=None, help="dataset name for the card")
    p.add_argument("--command", default="irpipe extract ...", help="the command that built it, for the card")
    p.add_argument("--sample", type=OUT_DIR, help="write a small stratified sample dataset here")
    p.add_argument("--sample-mb", type=float, default=15.0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.extract.card import render_card, summarize, write_sample

    s = summarize(Path(args.dataset))
    name = printable(args.name or Path(args.dataset).name)  # the card is UTF-8 whatever the name's bytes
    card = render_card(name, s, printable(args.command))
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        print(card)
    if args.card:
        Path(args.card).write_text(card)
    if args.sample:
        n = write_sample(Path(args.dataset), Path(args.sample), int(args.sample_mb * 1024 * 1024))
        print(f"sample: {n} modules -> {args.sample}")
    return 0
