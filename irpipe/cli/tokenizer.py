"""``irpipe tokenizer``: train the BPE tokenizer over normalized IR of a dataset."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import DATASET, OUT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train the IR BPE tokenizer on a dataset (in-process)")
    p.add_argument("--dataset", required=True, type=DATASET, help="dataset directory of MODULES shards")
    p.add_argument("--out", required=True, type=OUT_DIR, help="model directory to save tokenizer.json into")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--min-frequency", type=int, default=2)
    p.add_argument("--max-modules", type=int, default=2000, help="train on at most this many modules")
    p.add_argument("--max-module-kb", type=int, default=512,
                   help="skip modules whose normalized text is larger (they dominate BPE counts)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.data.tokenizer import dataset_texts, normalize_ir, train_tokenizer

    texts = (t for t in (normalize_ir(x) for x in dataset_texts(args.dataset, limit=args.max_modules))
             if len(t) <= args.max_module_kb * 1024)
    tok = train_tokenizer(texts, vocab_size=args.vocab_size, min_frequency=args.min_frequency,
                          normalized=True, source=str(args.dataset))
    tok.save(args.out)
    print(json.dumps(tok.meta))
    return 0
