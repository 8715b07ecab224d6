"""``irpipe`` entry point.  Importing this must not import torch or ray."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from irpipe import __version__
from irpipe.cli.args import check_paths
from irpipe.errors import IrpipeError
from irpipe.runtime.files import printable

SUBCOMMANDS = ("env", "extract", "info", "features", "graph", "featurize", "tokenizer", "label",
               "measure", "measure-mlir", "vocab", "train", "train-inliner", "evaluate", "predict", "optimize", "serve", "bench",
               "train-mlir-cost", "predict-cost")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered (``only``: just that one)."""
    parser = argparse.ArgumentParser(prog="irpipe", description="Compiler-IR dataset and ML optimizer pipeline (LLVM 22).")
    parser.add_argument("--version", action="version", version=f"irpipe {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    for name in (only,) if only in SUBCOMMANDS else SUBCOMMANDS:
        importlib.import_module(f"irpipe.cli.{name.replace('-', '_')}").register(sub)
    return parser


def error_line(command: str, exc: BaseException) -> str:
    """The one line an error prints: ``irpipe CMD: error: ...``, printable whatever the file
    names in it (undecodable bytes of a name come out as ``\\udcXX``)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and not isinstance(exc, IrpipeError):  # e.g. an unwritable output
        where = exc.filename if exc.filename is not None else ""
        text = f"{where}: {exc.strerror}" if where and exc.strerror else text
    prefix = f"irpipe {command}: "
    first = text.splitlines()[0] if text.splitlines() else text
    first = first[len(prefix):] if first.startswith(prefix) else first  # already prefixed: once only
    return printable(f"{prefix}error: {first}")


def _say(line: str) -> None:
    """Write ``line`` to stderr; never raises (a closed or odd stderr loses the line, not the status)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _tolerant_streams() -> None:
    """Let stdout and stderr print file names that are not UTF-8 (as ``\\udcff``) instead of
    raising ``UnicodeEncodeError`` (Python's own stderr already does; a captured one may not)."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def named_subcommand(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names before its own arguments (None: none, or ``--help``/``--version``
    first, which need every subcommand)."""
    for arg in argv:
        if arg in ("-h", "--help", "--version"):
            return None
        if not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; irpipe errors (and file-system errors) print one line and exit 1.

    Only the named subcommand's module is imported (a quick ``irpipe optimize --server`` starts
    in tens of milliseconds); ``irpipe --help`` and an unknown name build the whole parser."""
    _tolerant_streams()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(named_subcommand(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        check_paths(parser, args)
        return int(args.run(args) or 0)
    except BrokenPipeError:  # the reader of stdout left (`| head`): stop quietly, like `cat`
        _quiet_stdout()
        return 1
    except (IrpipeError, OSError) as exc:
        logging.debug("irpipe %s failed", args.subcommand, exc_info=True)
        _say(error_line(args.subcommand, exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
