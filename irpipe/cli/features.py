"""``irpipe features FILE``: CompilerGym's InstCount and Autophase of an LLVM module, or
irpipe's named MLIR features (op counts, flops, bytes) of an MLIR module.

LLVM keys are spelled as CompilerGym's ``InstCountDict`` / ``AutophaseDict`` observations
spell them (``TotalInstsCount``, ``RetCount``, …; ``BBNumArgsHi``, …)."""

from __future__ import annotations

import argparse
import json

from irpipe.runtime import files
from irpipe.cli.args import ANY_MODULE_FILE, MLIR_FILE

#: how MLIR text starts (a file without the .mlir suffix is read as MLIR when it starts so)
MLIR_STARTS = (b"module", b"func.func", b"#", b"//", b'"builtin.module"')


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


def looks_like_mlir(path: str, data: bytes = b"") -> bool:
    """True for a ``.mlir`` file, or one whose text starts like MLIR (``module``,
    ``func.func``, ``#``, ``//``; LLVM's ``module asm`` excluded)."""
    head = data.lstrip()
    return (str(path).endswith(".mlir")
            or (head.startswith(MLIR_STARTS) and not head.startswith(b"module asm")))


def read_any_input(args: argparse.Namespace) -> tuple[str, bytes, int]:
    """``(kind, data, max_bytes)`` of FILE: kind "mlir" (see :func:`looks_like_mlir`) or "llvm"."""
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
    kind, data, max_bytes = read_any_input(args)
    if kind == "mlir":
        return run_mlir(args, data)
    from irpipe.llvm import features

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
        print(f"# function {fn}: {ic['TotalInstsCount']} instructions, {ic['TotalBlocksCount']} blocks")
    return 0


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 6)


def run_mlir(args: argparse.Namespace, data: bytes) -> int:
    """``irpipe features`` of an MLIR module: the "MLIR" space (irpipe.mlir.features)."""
    from irpipe.mlir import features, ir

    module = ir.parse(data, name=args.file, isolate=True)  # a parser crash costs one error line
    result: dict = {"MLIR": {k: _number(v) for k, v in features.features(module).items()}}
    if args.per_function:
        result["functions"] = {fn: {"MLIR": {k: _number(v) for k, v in f.items()}}
                               for fn, f in features.function_features(module).items()}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print("# MLIR")
    for key, value in result["MLIR"].items():
        print(f"{key:<22} {value}")
    for fn, spaces in result.get("functions", {}).items():
        f = spaces["MLIR"]
        print(f"# function {fn}: {f['total_ops']} ops, {f['blocks']} blocks, {f['flops']} flops")
    return 0
