"""Child process: jit Python functions with numba and write their LLVM IR.

    USAGE: python -m irpipe.extract.numba_dump --path SRC --out DIR "pkg.mod:func=float64(float64[:])" ...

Runs inside the build sandbox (no network): it imports the package's own code
from SRC, compiles each function for each signature with ``numba.njit`` (or
uses the function's own dispatcher when it is already jitted) and writes
``inspect_llvm()`` for that signature to DIR/NNNN.ll with a JSON index.
"""

from __future__ import annotations

import sys

from irpipe.extract.child import parse_args, resolve, write_index


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    specs, out = parse_args(argv)
    import numba  # imported here: only this child needs it

    index, errors = [], []
    for spec in specs:
        target, _, sig = spec.partition("=")
        try:
            obj = resolve(target)
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
    write_index(out, {"modules": index, "errors": errors})
    return 0


if __name__ == "__main__":
    sys.exit(main())
