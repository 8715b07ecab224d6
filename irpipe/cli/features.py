"""``irpipe features FILE``: CompilerGym's InstCount and Autophase of one module."""

from __future__ import annotations

import argparse
import json


def add_module_arguments(p: argparse.ArgumentParser) -> None:
    """FILE and --max-module-mb, shared by the commands that read one module."""
    p.add_argument("file", help="LLVM 22 IR text (.ll) or bitcode (.bc)")
    p.add_argument("--max-module-mb", type=float, default=64.0,
                   help="refuse larger modules instead of risking memory (default 64)")


def read_input(args: argparse.Namespace) -> tuple[bytes, int]:
    """(the module's bytes, the byte limit) for a command that reads one module."""
    from irpipe.llvm import ir

    max_bytes = int(args.max_module_mb * 2**20)
    return ir.read_module(args.file, max_bytes=max_bytes), max_bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="InstCount (70) and Autophase (56) features of a module")
    add_module_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--per-function", action="store_true", help="also per defined function")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.llvm import features

    data, max_bytes = read_input(args)
    result = features.compute(data, name=args.file, per_function=args.per_function,
                              max_bytes=max_bytes).as_dict()
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for space in ("InstCount", "Autophase"):
        print(f"# {space}")
        for key, value in result[space].items():
            print(f"{key:<22} {value}")
    for fn, spaces in result.get("functions", {}).items():
        ic = spaces["InstCount"]
        print(f"# function {fn}: {ic['TotalInsts']} instructions, {ic['TotalBlocks']} blocks")
    return 0
