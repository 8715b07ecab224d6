"""The CLI imports only the subcommand it runs, and parses it as the whole parser does."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from irpipe.cli import main as cli


@pytest.mark.parametrize("argv, named", [
    (["optimize", "a.ll"], "optimize"),
    (["-v", "serve", "--socket", "s"], "serve"),
    (["--help"], None),
    (["--version", "optimize"], None),
    (["-h", "optimize"], None),
    (["optimiz", "a.ll"], None),      # an unknown name: the whole parser says what exists
    ([], None),
])
def test_named_subcommand(argv: list[str], named: str | None) -> None:
    assert cli.named_subcommand(argv) == named


def _choices(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_lean_parser_parses_as_the_whole_one() -> None:
    argv = ["optimize", "in.ll", "-o", "out.bc", "--objective", "instcount", "--verify", "4", "--json"]
    lean, whole = cli.build_parser("optimize"), cli.build_parser()
    assert _choices(lean) == ["optimize"]
    assert _choices(whole) == list(cli.SUBCOMMANDS)
    assert vars(lean.parse_args(argv)).keys() == vars(whole.parse_args(argv)).keys()
    assert {k: v for k, v in vars(lean.parse_args(argv)).items() if k != "run"} == \
        {k: v for k, v in vars(whole.parse_args(argv)).items() if k != "run"}


def test_optimize_imports_no_other_subcommand() -> None:
    code = "import sys, irpipe.cli.main as m; m.build_parser(m.named_subcommand(['optimize'])); " \
           "print(*sorted(n for n in sys.modules if n.startswith('irpipe.cli.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["irpipe.cli.args", "irpipe.cli.main", "irpipe.cli.optimize"]
