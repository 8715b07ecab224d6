"""Everything irpipe derives from one module, from ONE native parse (child-side body).

Featurize and the models' inputs both need the program graph, CompilerGym's InstCount and
Autophase and sometimes the structural hash or the printed text; :func:`analyze` computes them
from a single parse by the native library, in whatever process calls it (an
:class:`~irpipe.llvm.isolate.Isolated` child for input from outside irpipe).

    USAGE: arrays = isolate.shared().call(analyze, data, name, label=name)
"""

from __future__ import annotations

from typing import Any

from irpipe.llvm import ir


def analyze(data: bytes, name: str = "<module>", *, per_function: bool = False, need_hash: bool = False,
            text: bool = False, types: bool = True) -> dict[str, Any]:
    """One parse, then: ``graph`` (arrays), ``instcount``, ``autophase``, ``functions``, and when
    asked per-function vectors, ``structural_hash`` and the printed ``text`` (picklable lists)."""
    with ir.native_module(data, name=name) as mod:
        functions = mod.functions
        out: dict[str, Any] = {
            "graph": mod.graph_arrays(-1, types=types),
            "instcount": mod.instcount().tolist(), "autophase": mod.autophase().tolist(),
            "functions": functions,
        }
        if per_function:
            out["function_instcount"] = [mod.instcount(i).tolist() for i in range(len(functions))]
            out["function_autophase"] = [mod.autophase(i).tolist() for i in range(len(functions))]
        out["structural_hash"] = ir.describe(mod).structural_hash if need_hash else None
        if text:
            out["text"] = mod.text()
        return out
