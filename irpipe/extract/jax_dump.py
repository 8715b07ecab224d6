"""Child process: lower Python functions with ``jax.jit(f).lower(...)`` and write their StableHLO.

    USAGE: python -m irpipe.extract.jax_dump --path SRC --out DIR "pkg.mod:f=f32[64,128] f32[128]" ...

Runs inside the build sandbox (no network, time and memory limits): it imports
the package's own code from SRC, lowers each function for each input variant
(abstract ``jax.ShapeDtypeStruct`` arguments: nothing is computed) on the CPU
backend and writes the module text to DIR/NNNN.mlir with a JSON index.  A
function that fails is recorded in the index with its error; the others go on.
"""

from __future__ import annotations

import os
import sys

from irpipe.extract.child import parse_args, resolve, write_index

_DTYPES = {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64", "i8": "int8",
           "i32": "int32", "i64": "int64", "i1": "bool"}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    specs, out = parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax  # imported here: only this child needs it
    import jax.numpy as jnp

    from irpipe.extract.recipes import parse_arg_spec

    if any(d in spec for spec in specs for d in ("f64[", "i64[")):
        jax.config.update("jax_enable_x64", True)
    index, errors = [], []
    for spec in specs:
        target, _, variant = spec.partition("=")
        try:
            fn = resolve(target)
            shapes = [jax.ShapeDtypeStruct(dims, getattr(jnp, _DTYPES[dt]))
                      for dt, dims in map(parse_arg_spec, variant.split())]
            text = jax.jit(fn).lower(*shapes).as_text()
            name = f"{len(index):04d}.mlir"
            (out / name).write_text(text)
            index.append({"file": name, "function": target, "variant": variant})
        except Exception as exc:  # noqa: BLE001 - reported per function to the parent, which records it
            errors.append({"function": target, "variant": variant,
                           "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]})
    write_index(out, {"jax": jax.__version__, "modules": index, "errors": errors})
    return 0


if __name__ == "__main__":
    sys.exit(main())
