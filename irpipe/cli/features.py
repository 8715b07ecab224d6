"""``irpipe features FILE``: CompilerGym's InstCount and Autophase of an LLVM module, or
irpipe's named MLIR features (op counts, flops, bytes) of an MLIR module.

LLVM keys are spelled as CompilerGym's ``InstCountDict`` / ``AutophaseDict`` observations
spell them (``TotalInstsCount``, ``RetCount``, …; ``BBNumArgsHi``, …)."""

from __future__ import annotations

import argparse
import json

from irpipe.cli.args import ANY_MODULE_FILE, MLIR_FILE
from irpipe.ir.kinds import looks_like_mlir
from irpipe.runtime import files


def add_module_arguments(p: argparse.ArgumentParser, *, mlir_only: bool = False) -> None:
    """FILE and --max-module-mb, shared by the commands that read one module (``mlir_only``:
    the command reads MLIR text only)."""
    if mlir_only:
        p.add_argument("file", type=MLIR_FILE, help="MLIR text (.mlir; StableHLO as jax.jit(f).lower() prints it)")
    else:
        p.add_argument("file", type=ANY_MODULE_FILE,
                       help="LLVM 22 IR text (.ll) or bitcode (.bc), or MLIR text (.mlir)")
    p.add_argument("--max-module-mb", type=float, default=64.0,
                   help="refuse larger modules instead of risking memory (default 64)")


def read_input(args: argparse.Namespace) -> tuple[bytes, int]:
    """(the module's bytes, the byte limit) for a command that reads one LLVM module."""
    from irpipe.llvm import ir

    max_bytes = int(args.max_module_mb * 2**20)
    return ir.read_module(args.file, max_bytes=max_bytes), max_bytes


def read_any_input(args: argparse.Namespace) -> tuple[str, bytes, int]:
    """``(kind, data, max_bytes)`` of FILE: kind "mlir" (see :func:`irpipe.ir.kinds.looks_like_mlir`)
    or "llvm"."""
    max_bytes = int(args.max_module_mb * 2**20)
    if not looks_like_mlir(args.file):
        data, max_bytes = read_input(args)
        return ("mlir" if looks_like_mlir(args.file, data[:64]) else "llvm"), data, max_bytes
    from irpipe.errors import MLIRError

    return "mlir", files.read_bounded(args.file, max_bytes, error=MLIRError, what="MLIR text"), max_bytes


def read_mlir_input(args: argparse.Namespace) -> bytes:
    """FILE's bytes for a command that reads MLIR text only; :class:`MLIRError` for anything else."""
    from irpipe.errors import MLIRError

    data = files.read_bounded(args.file, int(args.max_module_mb * 2**20), error=MLIRError, what="MLIR text")
    if data.strip() and not looks_like_mlir(args.file, data[:64]):
        raise MLIRError(f"{files.shown(args.file)}: not MLIR text; expected StableHLO as jax.jit(f).lower() "
                        "prints it")
    return data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="InstCount (70) and Autophase (56) features of an LLVM "
                                        "module; op counts, flops and bytes of an MLIR module")
    add_module_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--per-function", action="store_true", help="also per defined function")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.ir import kinds

    name, data, max_bytes = read_any_input(args)
    kind = kinds.get(name)
    result = kind.features(data, name=args.file, per_function=args.per_function, max_bytes=max_bytes)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for space, values in result.items():
        if space == "functions":
            continue
        print(f"# {space}")
        for key, value in values.items():
            print(f"{key:<22} {value}")
    for fn, spaces in result.get("functions", {}).items():
        print(f"# function {fn}: {kind.function_summary(spaces)}")
    return 0
