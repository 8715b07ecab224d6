"""CompilerGym's InstCount (70) and Autophase (56) features on LLVM 22.

Names, order and definitions are CompilerGym's (see
``passes/lib/Features.cpp`` for the definitions and their quirks); the
counting runs in LLVM 22's C++ API through :mod:`irpipe.llvm.native`.

Keys of :meth:`Features.as_dict` are CompilerGym's observation keys: its
``InstCountDict`` spells the InstCount names ``TotalInstsCount``, ``RetCount``, …
(``<name>Count``; the bare names still answer lookups), its ``AutophaseDict`` the
Autophase names as they are.

    USAGE: f = compute(open("a.bc", "rb").read()); f.as_dict()["InstCount"]["TotalInstsCount"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from irpipe.llvm import ir, isolate, native

INSTCOUNT_SIZE = 70
AUTOPHASE_SIZE = 56


def instcount_names() -> tuple[str, ...]:
    """The 70 InstCount names, CompilerGym's order (``TotalInsts``, ``TotalBlocks``, …)."""
    return native.instcount_names()


def instcount_keys() -> tuple[str, ...]:
    """The 70 InstCount names as CompilerGym's ``InstCountDict`` spells them
    (``TotalInstsCount``, ``TotalBlocksCount``, ``TotalFuncsCount``, ``RetCount``, …)."""
    return tuple(f"{name}Count" for name in instcount_names())


class InstCounts(dict):
    """InstCount values under CompilerGym's keys (``"TotalInstsCount"``) that also answer
    ``[]`` lookups by the bare name (``counts["TotalInsts"]``) older callers use."""

    def __missing__(self, key: str) -> int:
        if isinstance(key, str) and not key.endswith("Count") and f"{key}Count" in self:
            return self[f"{key}Count"]
        raise KeyError(key)


def autophase_names() -> tuple[str, ...]:
    """The 56 Autophase names, CompilerGym's order (``BBNumArgsHi``, …, ``testUnary``)."""
    return native.autophase_names()


@dataclass(frozen=True)
class Features:
    """Module-level features and, if asked for, the same per defined function.

    Shapes: ``instcount`` (70,), ``autophase`` (56,), ``function_instcount``
    (F, 70) and ``function_autophase`` (F, 56) with F = ``len(functions)``
    (zero rows unless computed per function).
    """

    instcount: np.ndarray
    autophase: np.ndarray
    functions: list[str] = field(default_factory=list)
    function_instcount: np.ndarray = field(default_factory=lambda: np.zeros((0, 70), np.int64))
    function_autophase: np.ndarray = field(default_factory=lambda: np.zeros((0, 56), np.int64))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"InstCount": {"TotalInstsCount": n, …}, "Autophase": {...},
        "functions": {...}}`` with CompilerGym's keys (see the module docstring)."""
        ic, ap = instcount_keys(), autophase_names()

        def named(names: tuple[str, ...], values: np.ndarray) -> dict[str, int]:
            return {n: int(v) for n, v in zip(names, values)}

        out: dict[str, Any] = {"InstCount": InstCounts(named(ic, self.instcount)),
                               "Autophase": named(ap, self.autophase)}
        if len(self.function_instcount):
            out["functions"] = {
                fn: {"InstCount": InstCounts(named(ic, self.function_instcount[i])),
                     "Autophase": named(ap, self.function_autophase[i])}
                for i, fn in enumerate(self.functions)}
        return out


def compute_arrays(data: bytes, name: str = "<module>",
                   per_function: bool = False) -> dict[str, Any]:
    """Parse ``data`` natively and count (the body of :func:`compute`; picklable result)."""
    with ir.native_module(data, name=name) as mod:
        functions = mod.functions if per_function else []
        return {
            "instcount": mod.instcount(), "autophase": mod.autophase(), "functions": functions,
            "function_instcount": np.stack([mod.instcount(i) for i in range(len(functions))])
            if functions else np.zeros((0, INSTCOUNT_SIZE), np.int64),
            "function_autophase": np.stack([mod.autophase(i) for i in range(len(functions))])
            if functions else np.zeros((0, AUTOPHASE_SIZE), np.int64),
        }


def compute(data: bytes | str, *, name: str = "<module>", per_function: bool = False,
            isolate_llvm: bool = True,
            max_bytes: int | None = ir.MAX_MODULE_BYTES) -> Features:
    """InstCount and Autophase of a module given as bitcode or IR text.

    Args:
        data: the module (bitcode or IR text).
        name: used in error messages.
        per_function: also compute both vectors for every defined function.
        isolate_llvm: parse in a child process (:mod:`irpipe.llvm.isolate`), so a
            malformed input cannot crash the caller. Turn off only for modules
            LLVM 22 itself wrote and verified (the dataset).
        max_bytes: refuse larger inputs with a clear error (None: no limit).
    """
    data = ir.check_input(data, name=name, max_bytes=max_bytes)
    if isolate_llvm:
        arrays = isolate.shared().call(compute_arrays, data, name, per_function, label=name)
    else:
        arrays = compute_arrays(data, name, per_function)
    return Features(**arrays)
