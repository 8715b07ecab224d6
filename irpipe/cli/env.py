"""``irpipe env``: every version a bug report needs; non-zero when LLVM 22 is not usable."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

from irpipe import __version__
from irpipe.errors import ToolError
from irpipe.llvm.tools import DEFAULT_BINDIR, TOOLS, Toolchain, rustc_llvm_version

PY_PACKAGES = ("llvmlite", "numba", "pyarrow", "ray", "torch", "torch_geometric", "duckdb", "datasets",
               "tokenizers", "jax", "jaxlib", "iree-base-compiler", "iree-base-runtime")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("env", help="print tool and library versions (for bug reports)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def collect() -> tuple[dict[str, str], list[str]]:
    """(name -> version or path, problems) for every tool and library irpipe uses."""
    info: dict[str, str] = {"irpipe": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    problems: list[str] = []
    chain = Toolchain(bindir=Path(os.environ.get("IRPIPE_LLVM_BINDIR", DEFAULT_BINDIR)))
    for name in TOOLS:
        try:
            tool = chain.find(name)
            info[f"{name}-22"] = f"{tool.version} ({tool.path})"
        except ToolError as exc:
            info[f"{name}-22"] = "MISSING/MISMATCHED"
            problems.append(str(exc).splitlines()[0])
    try:
        from irpipe.llvm import ir

        info["llvmlite LLVM"] = ir.llvm_version()
        if not info["llvmlite LLVM"].startswith("22."):
            problems.append(f"llvmlite is built on LLVM {info['llvmlite LLVM']}; supported: 22.x (llvmlite 0.50)")
    except ImportError as exc:
        problems.append(f"llvmlite not importable: {exc}")
    try:
        from irpipe.llvm import native

        info["libIRPipeAnalysis"] = f"{native.llvm_version()} ({native.library_path()})"
    except ToolError as exc:
        info["libIRPipeAnalysis"] = "MISSING/MISMATCHED"
        problems.append(str(exc).splitlines()[0])
    plugin = native.plugin_path()
    info["libIRPipe (pass plugin)"] = str(plugin) if plugin.is_file() else "not built (make native)"
    try:
        info["rustc LLVM"] = rustc_llvm_version()
    except ToolError as exc:
        info["rustc LLVM"] = f"unavailable ({str(exc).splitlines()[0]})"
    try:
        from irpipe.mlir.tools import IreeTools

        tools = IreeTools()
        info["iree-compile (MLIR)"] = f"{tools.version()} ({tools.path('iree-compile')})"
    except ToolError as exc:
        info["iree-compile (MLIR)"] = "MISSING/MISMATCHED"
        problems.append(str(exc).splitlines()[0])
    for pkg in PY_PACKAGES:
        try:
            info[pkg] = importlib.metadata.version(pkg.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    return info, problems


def run(args: argparse.Namespace) -> int:
    info, problems = collect()
    if args.json:
        print(json.dumps({"versions": info, "problems": problems}, indent=1))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
        sys.stdout.flush()  # the errors come after the table, also when both go to one pipe
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
