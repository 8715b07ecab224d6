"""LLVM IR as an :class:`~irpipe.ir.kinds.IRKind`: CompilerGym's feature spaces and ProGraML graphs."""

from __future__ import annotations

from typing import Any

from irpipe.ir.graph import ProgramGraph


class LLVMKind:
    """LLVM 22 IR text or bitcode (spaces ``InstCount`` and ``Autophase``)."""

    name = "llvm"

    def features(self, data: bytes, *, name: str, per_function: bool = False,
                 max_bytes: int | None = None) -> dict[str, Any]:
        """InstCount and Autophase under CompilerGym's keys (see :mod:`irpipe.llvm.features`)."""
        from irpipe.llvm import features

        return features.compute(data, name=name, per_function=per_function, max_bytes=max_bytes).as_dict()

    def function_summary(self, spaces: dict[str, Any]) -> str:
        ic = spaces["InstCount"]
        return f"{ic['TotalInstsCount']} instructions, {ic['TotalBlocksCount']} blocks"

    def graph(self, data: bytes, *, name: str, function: str | None = None, types: bool = True,
              full_text: bool = False, max_bytes: int | None = None) -> ProgramGraph:
        """The program graph (:func:`irpipe.llvm.graph.build_graph`)."""
        from irpipe.llvm import graph

        return graph.build_graph(data, name=name, function=function, types=types, full_text=full_text,
                                 max_bytes=max_bytes)


KIND = LLVMKind()
