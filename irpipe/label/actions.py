"""The action space: LLVM 22 new-PM passes for phase ordering, plus the O-level pipelines.

How the list was chosen (CompilerGym had 124 flags for LLVM 10's legacy PM):

1. Start from CompilerGym's 124 LLVM 10 flags and map each to its LLVM 22 new-PM
   name (``-functionattrs`` -> ``function-attrs``, ``-loop-unswitch`` ->
   ``simple-loop-unswitch``, ``-instcombine`` -> ``instcombine<no-verify-fixpoint>``: in
   LLVM 22 a plain ``instcombine`` that does not reach a fixpoint aborts the process).
2. Drop what LLVM 22 no longer has (``-prune-eh``, ``-loop-reroll``, ``-loop-unswitch``,
   ``-sancov``, ``-barrier``, ``-function-specialization`` as a pass), analyses and
   printers, instrumentation (sanitizers, profiling, coverage), and passes that only
   rename or strip (``-instnamer``, ``-strip*``).
3. Add the LLVM 11–22 transforms that change code: ``constraint-elimination``,
   ``vector-combine``, ``dfa-jump-threading``, ``iroutliner``, ``loop-flatten``,
   ``loop-bound-split``, ``function-specialization`` happens inside ``ipsccp``,
   ``mergeicmps`` and a few parameterized variants that matter for size
   (``simplifycfg<hoist-common-insts;sink-common-insts>``, ``gvn<no-pre>``).
   ``attributor`` / ``attributor-cgscc`` (CompilerGym had ``-attributor``) are left out:
   they are in no LLVM 22 default pipeline, and a searched sequence containing
   ``attributor`` miscompiled benchmarks/programs/nbody.c (the program segfaults).
4. Keep only names LLVM 22's PassBuilder parses at their level and that run on real
   dataset modules without error (checked by tests/label/test_actions.py).

Each action has a level; a sequence becomes one pipeline string with consecutive
actions of a level grouped: ``module``, ``cgscc(...)``, ``function(...)`` and
``function(loop(...))`` / ``function(loop-mssa(...))``.  O-level actions (``default<Oz>`` …) are module-level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from irpipe.errors import IRError

O_LEVELS = ("O0", "O1", "O2", "O3", "Os", "Oz")

_MODULE = """always-inline constmerge deadargelim globaldce globalopt ipsccp mergefunc
strip-dead-prototypes called-value-propagation elim-avail-extern rpo-function-attrs inferattrs
partial-inliner hotcoldsplit globalsplit iroutliner"""
_CGSCC = "inline function-attrs argpromotion"
_FUNCTION = """adce aggressive-instcombine alignment-from-assumptions bdce break-crit-edges
callsite-splitting consthoist constraint-elimination correlated-propagation dce div-rem-pairs dse
early-cse early-cse<memssa> float2int gvn gvn<no-pre> gvn-hoist gvn-sink infer-address-spaces
instcombine<no-verify-fixpoint> instsimplify irce jump-threading lcssa libcalls-shrinkwrap
load-store-vectorizer loop-data-prefetch loop-distribute loop-fusion loop-load-elim loop-simplify
loop-sink lower-constant-intrinsics lower-expect lower-switch lower-invoke mem2reg memcpyopt
mergeicmps mldst-motion nary-reassociate newgvn partially-inline-libcalls reassociate reg2mem sccp
separate-const-offset-from-gep simplifycfg simplifycfg<hoist-common-insts;sink-common-insts> sink
slp-vectorizer slsr speculative-execution sroa<modify-cfg> tailcallelim loop-vectorize
vector-combine dfa-jump-threading loop-unroll loop-versioning loop-unroll-and-jam loop-flatten"""
# Loop passes that preserve MemorySSA run under loop-mssa(...), the others under loop(...):
# LLVM aborts ("Loop pass manager using MemorySSA contains a pass that does not preserve
# MemorySSA") otherwise, as the O-level pipelines arrange it.
_LOOP_MSSA = """licm loop-rotate loop-instsimplify loop-simplifycfg simple-loop-unswitch
simple-loop-unswitch<nontrivial>"""
_LOOP = """loop-deletion loop-idiom loop-interchange loop-predication loop-reduce loop-unroll-full
indvars loop-bound-split loop-versioning-licm"""


@dataclass(frozen=True)
class Action:
    """One action: a pass (or an O-level pipeline) and the level it runs at."""

    name: str
    level: str  # "module" | "cgscc" | "function" | "loop" | "loop-mssa" | "olevel"

    def text(self) -> str:
        """The pipeline text of this action alone."""
        return pipeline([self])


def _actions() -> tuple[Action, ...]:
    out = [Action(f"default<{o}>", "olevel") for o in O_LEVELS]
    for level, names in (("module", _MODULE), ("cgscc", _CGSCC), ("function", _FUNCTION),
                         ("loop-mssa", _LOOP_MSSA), ("loop", _LOOP)):
        out += [Action(n, level) for n in names.split()]
    return tuple(out)


#: The action space, in a fixed order (the index is the gym action id).
ACTIONS: tuple[Action, ...] = _actions()
#: Actions by name.
BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


def lookup(names: Iterable[str]) -> list[Action]:
    """Actions by name; :class:`IRError` naming an unknown one."""
    out = []
    for n in names:
        if n not in BY_NAME:
            raise IRError(f"unknown action {n!r}; the action space has {len(ACTIONS)} "
                          "(irpipe.label.actions.ACTIONS)")
        out.append(BY_NAME[n])
    return out


def pipeline(actions: Sequence[Action]) -> str:
    """One new-PM pipeline string running ``actions`` in order (same-level runs grouped)."""
    parts: list[str] = []
    i = 0
    while i < len(actions):
        level = actions[i].level
        j = i
        while j < len(actions) and actions[j].level == level and level != "olevel":
            j += 1
        j = max(j, i + 1)
        names = ",".join(a.name for a in actions[i:j])
        parts.append({"olevel": names, "module": names, "cgscc": f"cgscc({names})",
                      "function": f"function({names})",
                      "loop": f"function(loop({names}))",
                      "loop-mssa": f"function(loop-mssa({names}))"}[level])
        i = j
    return ",".join(parts) or "verify"


def baseline(o_level: str) -> str:
    """The pipeline text of an O level (``"Oz"`` -> ``"default<Oz>"``)."""
    if o_level not in O_LEVELS:
        raise IRError(f"unknown O level {o_level!r}; supported: {', '.join(O_LEVELS)}")
    return f"default<{o_level}>"


def _split_top(text: str) -> list[str]:
    """Split a pipeline text at its top-level commas (not inside parentheses or <...>)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
            if depth < 0:
                raise IRError(f"unbalanced pipeline text {text!r}")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise IRError(f"unbalanced pipeline text {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_WRAPPERS = (("function(loop-mssa(", "loop-mssa"), ("function(loop(", "loop"),
             ("cgscc(", "cgscc"), ("function(", "function"))


def parse(text: str) -> list[Action]:
    """The actions of a pipeline text written by :func:`pipeline` (its inverse).

    ``parse(pipeline(a)) == a`` for every action sequence ``a``; a text naming a
    pass outside the action space raises :class:`IRError`.
    """
    if text.strip() in ("", "verify"):
        return []
    out: list[Action] = []
    for part in _split_top(text):
        for prefix, level in _WRAPPERS:
            if part.startswith(prefix):
                inner = part[len(prefix):-prefix.count("(")]
                if part[-prefix.count("("):] != ")" * prefix.count("("):
                    raise IRError(f"cannot read pipeline element {part!r}")
                names = _split_top(inner)
                break
        else:
            level, names = ("olevel" if part.startswith("default<") else "module"), [part]
        for name in names:
            action = BY_NAME.get(name)
            if action is None or action.level != level:
                raise IRError(f"pipeline element {name!r} (at {level} level) is not in the action "
                              f"space of {len(ACTIONS)} actions (irpipe.label.actions)")
            out.append(action)
    return out
