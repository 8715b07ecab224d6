"""Path arguments of the subcommands: declared once with their kind, checked before any work.

A subcommand declares a path argument with one of the :class:`PathArg` markers as
its argparse ``type`` (``p.add_argument("--out", type=OUT_DIR)``).  The marker does
no I/O while parsing; :func:`check_paths` (called by :func:`irpipe.cli.main.main`
right after parsing) checks every given path of the chosen subcommand, so a missing
input, a directory where a file belongs, a FIFO, a device, or an output into a
missing directory costs one error line naming it, before a model is loaded or Ray
is started.  Tests find every path argument with :func:`path_arguments`.

    USAGE: p.add_argument("file", type=args.MODULE_FILE, help=...)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Iterator

from irpipe.runtime import files


@dataclass(frozen=True)
class PathArg:
    """An argparse ``type`` that marks a path argument; parsing leaves the text as it is.

    Args:
        kind: "file" (an existing regular file), "dir" (an existing directory), "any"
            (an existing directory or regular file), "out-file" (a file to write: its
            directory must exist, it must not be a directory) or "out-dir" (a
            directory to create or reuse).
        what: what the path holds, for messages ("LLVM IR or bitcode", "model directory").
        content: what the file holds, for tests that feed bad content ("module", "toml",
            "json", "shards", "tables", "mlir", "recipes"; "" when nothing reads it as such).
        precheck: False when the command checks the path itself, before any work, with
            errors of its own (``extract --recipes``: one line per bad recipe, exit status 2).
    """

    kind: str
    what: str
    content: str = ""
    precheck: bool = True

    @property
    def __name__(self) -> str:  # argparse names the type in its messages
        return self.what

    def __call__(self, text: str) -> str:
        return text

    def check(self, path: str) -> None:
        """Raise :class:`irpipe.errors.PathError` when ``path`` cannot serve as this argument."""
        if self.kind == "out-file":
            files.check_output_file(path, what=self.what)
        elif self.kind == "out-dir":
            files.check_output_dir(path, what=self.what)
        else:
            files.check_input(path, self.kind, what=self.what)


MODULE_FILE = PathArg("file", "LLVM IR or bitcode", "module")
ANY_MODULE_FILE = PathArg("file", "LLVM IR, bitcode or MLIR", "module")
MLIR_FILE = PathArg("file", "MLIR text", "mlir")
DATASET = PathArg("any", "dataset", "shards")
MODEL_DIR = PathArg("dir", "model directory")
CONFIG_FILE = PathArg("file", "config TOML", "toml")
PIPELINES_FILE = PathArg("file", "pipeline set JSON", "json")
JOB_OUTPUT = PathArg("dir", "job output directory", "tables")
RECIPES = PathArg("any", "recipe", "recipes", precheck=False)
SUITE_DIR = PathArg("dir", "benchmark suite directory")
OUT_FILE = PathArg("out-file", "output file")
OUT_DIR = PathArg("out-dir", "output directory")


def _given(action: argparse.Action, value: object) -> list[str]:
    if value is None or value is action.default:  # irpipe's own defaults are checked where used
        return []
    if isinstance(value, list):
        return [v for item in value for v in (item if isinstance(item, list) else [item])]
    return [value] if isinstance(value, str) else []


def path_arguments(parser: argparse.ArgumentParser) -> Iterator[tuple[argparse.Action, PathArg]]:
    """Every ``(action, marker)`` of ``parser``'s own path arguments (not its subcommands')."""
    for action in parser._actions:
        if isinstance(action.type, PathArg):
            yield action, action.type


def chosen_parsers(parser: argparse.ArgumentParser, args: argparse.Namespace
                   ) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and the (nested) subcommand parsers ``args`` were parsed with."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if name in action.choices:
                yield from chosen_parsers(action.choices[name], args)


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check every path argument given to the chosen subcommand (see the module docstring)."""
    for p in chosen_parsers(parser, args):
        for action, marker in path_arguments(p):
            for path in _given(action, getattr(args, action.dest, None)) if marker.precheck else ():
                marker.check(path)


def add_loop_search(p: argparse.ArgumentParser, who: str) -> None:
    """``--loop-search K`` and ``--loop-search-by`` (irpipe.optimize.loopsearch) for ``who``
    (optimize, bench): the same flags and help in both."""
    p.add_argument("--loop-search", type=int, default=0, metavar="K",
                   help=f"speed: {who} also tries each per-loop decision on the K loops that run the most "
                        "iterations (a counting run), and their best together as one more candidate (0: off)")
    p.add_argument("--loop-search-by", choices=("proxy", "time"), default="proxy",
                   help="speed: how the loop search scores a decision: proxy cycles under cachegrind "
                        "(deterministic, 20-50x a run; bench: on the count workload) or CPU time (default: proxy)")


def add_polly(p: argparse.ArgumentParser, who: str) -> None:
    """``--no-polly`` (irpipe.optimize.polly) for ``who`` (optimize, bench): the same flag and help."""
    p.add_argument("--no-polly", dest="polly", action="store_false",
                   help=f"speed: {who} screens no -O3 build with Polly, LLVM's polyhedral loop optimizer "
                        "(`clang-22 -O3 -mllvm -polly`; kept only when its output is identical and it is "
                        "confirmed faster)")
