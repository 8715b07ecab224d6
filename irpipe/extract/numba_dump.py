"""Child process: jit Python functions with numba and write their LLVM IR.

    USAGE: python -m irpipe.extract.numba_dump --path SRC --out DIR "pkg.mod:func=float64(float64[:])" ...

Runs inside the build sandbox (no network): it imports the package's own code
from SRC, compiles each function for each signature with ``numba.njit`` (or
uses the function's own dispatcher when it is already jitted) and writes
``inspect_llvm()`` for that signature to DIR/NNNN.ll with a JSON index.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args(argv)
    import numba  # imported here: only this child needs it

    sys.path.insert(0, args.path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index, errors = [], []
    for spec in args.specs:
        target, _, sig = spec.partition("=")
        modname, _, fname = target.partition(":")
        try:
            obj = getattr(importlib.import_module(modname), fname)
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                # a package's own dispatcher may have compilation disabled after eager
                # compiles: jit its Python function afresh for the requested signature
                disp = obj if obj._can_compile else numba.njit(obj.py_func)
            else:
                disp = numba.njit(obj)
            disp.compile(sig)
            args, _ = numba.core.sigutils.normalize_signature(sig)
            name = f"{len(index):04d}.ll"
            (out / name).write_text(disp.inspect_llvm(tuple(args)))
            index.append({"file": name, "function": target, "signature": sig})
        except Exception as exc:  # noqa: BLE001 - reported per function to the parent, which records it
            errors.append({"function": target, "signature": sig, "error": f"{type(exc).__name__}: {exc}"[:500]})
    (out / "index.json").write_text(json.dumps({"modules": index, "errors": errors}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
