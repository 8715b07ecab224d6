"""MLIR access: IREE's compiler and runtime tools (subprocess) and MLIR (IREE's bindings, in-process).

The upstream MLIR Python bindings are not on PyPI under their own name; irpipe
takes them from ``iree-base-compiler`` (``iree.compiler.ir``), whose context
registers StableHLO, TOSA, linalg, tensor, arith, scf, vector, llvm and IREE's
own dialects, and whose ``iree-compile`` lowers StableHLO to native CPU code that
``iree-base-runtime`` runs.  Why this and not Debian's mlir-opt-22: see
``irpipe/mlir/tools.py``.
"""
