"""``irpipe`` entry point.  Importing this must not import torch or ray."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from irpipe import __version__
from irpipe.errors import IrpipeError

SUBCOMMANDS = ("env", "extract", "info", "features", "graph", "featurize", "tokenizer", "label",
               "measure", "measure-mlir", "vocab", "train", "train-inliner", "evaluate", "optimize", "serve", "bench",
               "train-mlir-cost", "predict-cost")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="irpipe", description="Compiler-IR dataset and ML optimizer pipeline (LLVM 22).")
    parser.add_argument("--version", action="version", version=f"irpipe {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"irpipe.cli.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; irpipe errors print one line and exit 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.run(args) or 0)
    except IrpipeError as exc:
        print(f"irpipe {args.command}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
