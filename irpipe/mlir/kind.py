"""MLIR as an :class:`~irpipe.ir.kinds.IRKind`: named op/FLOP/byte features and op graphs.

The text is parsed in an isolated child (a parser crash costs one error line, not the process).
"""

from __future__ import annotations

from typing import Any

from irpipe.ir.graph import ProgramGraph


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 6)


class MLIRKind:
    """MLIR text (space ``MLIR``: op counts per dialect and category, FLOPs, bytes)."""

    name = "mlir"

    def features(self, data: bytes, *, name: str, per_function: bool = False,
                 max_bytes: int | None = None) -> dict[str, Any]:
        """The ``MLIR`` space of :mod:`irpipe.mlir.features` (and per ``func.func``)."""
        from irpipe.mlir import features, ir

        module = ir.parse(data, name=name, isolate=True)
        out: dict[str, Any] = {"MLIR": {k: _number(v) for k, v in features.features(module).items()}}
        if per_function:
            out["functions"] = {fn: {"MLIR": {k: _number(v) for k, v in f.items()}}
                                for fn, f in features.function_features(module).items()}
        return out

    def function_summary(self, spaces: dict[str, Any]) -> str:
        f = spaces["MLIR"]
        return f"{f['total_ops']} ops, {f['blocks']} blocks, {f['flops']} flops"

    def graph(self, data: bytes, *, name: str, function: str | None = None, types: bool = True,
              full_text: bool = False, max_bytes: int | None = None) -> ProgramGraph:
        """The op graph (:func:`irpipe.mlir.graph.build_graph`; MLIR graphs have no type nodes)."""
        from irpipe.mlir import graph, ir

        module = ir.parse(data, name=name, isolate=True)
        return graph.build_graph(module, name=name, function=function, full_text=full_text)


KIND = MLIRKind()
