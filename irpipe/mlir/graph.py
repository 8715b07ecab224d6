"""ProGraML-style graphs of MLIR modules: :class:`OpGraph`, a
:class:`~irpipe.ir.graph.ProgramGraph` with MLIR's node types and flows, so
``to_heterodata``, ``to_networkx``, ``to_dot``, ``to_row`` and ``count`` work
unchanged and :class:`irpipe.nn.gnn.GraphEncoder` reads it (pass
``node_types=OpGraph.node_types, flows=OpGraph.flows, function_node_type="op"``).

A conformant OpGraph of a module (or of one function op) holds:

Nodes (``node_types``):
  * ``op``: one per operation nested in the module (the module op itself, its
    region and its block are not nodes); text = the op name
    (``stablehlo.dot_general``); full text = the name (and ``@symbol`` for
    symbol ops), or the printed op (one line) for region-free ops with
    ``full_text=True``;
  * ``value``: one per SSA value, i.e. every op result and every block
    argument; text = its type with every static size replaced by ``?``
    (:func:`normalize_type`: ``tensor<64x128xf32>`` -> ``tensor<?x?xf32>``), so
    the vocabulary generalizes across shapes; full text = the type as printed;
  * ``block`` and ``region``: one per block and region; text ``block`` /
    ``region``; full text ``^bbN`` (N = node_block) / ``region N`` (its index).

Edges (``flows``), each ``source -> target`` with a position:
  * ``data``: value -> each op using it (operand index); op -> each of its
    results (result index);
  * ``contain``: op -> its regions (region index); region -> its blocks (block
    index); block -> its ops (index in the block); block -> its arguments
    (argument index);
  * ``control``: op -> the next op of its block (0); terminator -> each
    successor block (successor index);
  * ``call``: an op with a ``callee`` flat symbol (``func.call``, ``util.call``,
    ``vm.call``, ...) -> the function op (``FUNCTION_OPS``) of that name, when
    the graph holds it (looked up in the caller's nearest ``builtin.module`` or
    ``vm.module`` first, then anywhere).  Nested references such as
    ``flow.dispatch @ex::@entry`` get no call edge.

``functions`` lists the ``sym_name`` of every function op in pre-order;
``node_function`` is the index of the enclosing function op (a function op is
in its own function; -1 outside functions); ``node_block`` is the index of the
enclosing block within its function, blocks numbered in pre-order within the
function (a block node carries its own index; a value that of its block; a
region that of its parent op; -1 outside function bodies).

    USAGE: g = build_graph(text, name="mlp.mlir"); g.to_heterodata(vocab)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from irpipe.errors import MLIRError
from irpipe.ir.graph import ProgramGraph
from irpipe.ir.graph import load_pt as _load_pt
from irpipe.mlir import ir

NODE_TYPES = ("op", "value", "block", "region")
FLOWS = ("control", "data", "call", "contain")
OP, VALUE, BLOCK, REGION = range(4)
CONTROL, DATA, CALL, CONTAIN = range(4)
SYMBOL_TABLES = frozenset({"builtin.module", "vm.module"})

_SHAPE = re.compile(r"(?<=<)(?:(?:\d+|\?|\[\d+\])x)+")     # 64x?x[8]x right after "<"
_SIZE = re.compile(r"\d+")
_LLVM_ARRAY = re.compile(r"(?<=<)\d+(?= x )")                 # !llvm.array<4 x i8>
_STRIDED = re.compile(r"strided<\[[^\]]*\](?:, offset: [^>]*)?>")


def normalize_type(text: str) -> str:
    """A printed MLIR type with every static size replaced by ``?`` and strided
    layouts collapsed: ``tensor<64x128xf32>`` -> ``tensor<?x?xf32>``, ``vector<[8]xf32>``
    -> ``vector<[?]xf32>``, ``memref<4x8xf32, strided<[8, 1]>>`` -> ``memref<?x?xf32, strided<?>>``."""
    text = _SHAPE.sub(lambda m: _SIZE.sub("?", m.group(0)), text)
    return _STRIDED.sub("strided<?>", _LLVM_ARRAY.sub("?", text))


class OpGraph(ProgramGraph):
    """A program graph of an MLIR module (see the module docstring for what it holds)."""

    node_types: ClassVar[tuple[str, ...]] = NODE_TYPES
    flows: ClassVar[tuple[str, ...]] = FLOWS
    dot_shapes: ClassVar[tuple[str, ...]] = ("box", "ellipse", "circle", "folder")
    dot_colors: ClassVar[tuple[str, ...]] = ("black", "blue", "green", "grey")


def load_pt(path: str) -> OpGraph:
    """Read an OpGraph written by :func:`irpipe.ir.graph.save_pt` (an :class:`~irpipe.errors.IRError`
    for a file holding another kind of graph)."""
    return _load_pt(path, OpGraph)


def _symbol(op: Any, key: str) -> str | None:
    """The string value of a StringAttr / FlatSymbolRefAttr attribute, or None."""
    if key not in op.attributes:
        return None
    value = getattr(op.attributes[key], "value", None)
    return value if isinstance(value, str) else None


class _Builder:
    """Collects nodes and edges in one pre-order walk, then the operand, successor and call edges."""

    def __init__(self, printed: bool) -> None:
        self.printed = printed
        self.texts: dict[str, int] = {}
        self.nodes: list[tuple[int, int, int, int]] = []   # type, text id, function, block
        self.full: list[str] = []
        self.edges: list[tuple[int, int, int, int]] = []   # source, target, flow, position
        self.values: dict[Any, int] = {}
        self.blocks: dict[Any, int] = {}
        self.ops: list[tuple[Any, int, int]] = []          # (op, node, scope node)
        self.functions: list[str] = []
        self.function_nodes: dict[tuple[int, str], int] = {}

    def node(self, kind: int, text: str, full: str, fn: int, blk: int) -> int:
        self.nodes.append((kind, self.texts.setdefault(text, len(self.texts)), fn, blk))
        self.full.append(full)
        return len(self.nodes) - 1

    def edge(self, source: int, target: int, flow: int, position: int) -> None:
        self.edges.append((source, target, flow, position))

    def value(self, v: Any, fn: int, blk: int) -> int:
        full = str(v.type)
        n = self.values[v] = self.node(VALUE, normalize_type(full), full, fn, blk)
        return n

    def op(self, op: Any, fn: int, blk: int, scope: int, counter: list[int]) -> int:
        """Add ``op`` and everything nested in it; return its node."""
        name = op.name
        sym = _symbol(op, "sym_name")
        full = f"{name} @{sym}" if sym is not None else name
        if self.printed and not len(op.regions):
            full = " ".join(op.get_asm(enable_debug_info=False, use_local_scope=True).split())
        if name in ir.FUNCTION_OPS:
            fn, blk, counter = len(self.functions), -1, [0]
            self.functions.append(sym or "")
        n = self.node(OP, name, full, fn, blk)
        if name in ir.FUNCTION_OPS and sym is not None:
            self.function_nodes.setdefault((scope, sym), n)
            self.function_nodes.setdefault((-2, sym), n)       # -2: any scope
        self.ops.append((op, n, scope))
        for i, r in enumerate(op.results):
            self.edge(n, self.value(r, fn, blk), DATA, i)
        inner = n if name in SYMBOL_TABLES else scope
        for ri, region in enumerate(op.regions):
            rn = self.node(REGION, "region", f"region {ri}", fn, blk)
            self.edge(n, rn, CONTAIN, ri)
            for bi, block in enumerate(region.blocks):
                b = -1
                if fn >= 0:
                    b, counter[0] = counter[0], counter[0] + 1
                bn = self.blocks[block] = self.node(BLOCK, "block", f"^bb{b}", fn, b)
                self.edge(rn, bn, CONTAIN, bi)
                for ai, arg in enumerate(block.arguments):
                    self.edge(bn, self.value(arg, fn, b), CONTAIN, ai)
                prev = -1
                for oi, child in enumerate(block.operations):
                    cn = self.op(child.operation, fn, b, inner, counter)
                    self.edge(bn, cn, CONTAIN, oi)
                    if prev >= 0:
                        self.edge(prev, cn, CONTROL, 0)
                    prev = cn
        return n

    def uses(self) -> None:
        """Operand, successor and call edges (after the walk: uses may precede definitions)."""
        for op, n, scope in self.ops:
            for i, v in enumerate(op.operands):
                self.edge(self.values[v], n, DATA, i)
            for i, block in enumerate(op.successors):
                self.edge(n, self.blocks[block], CONTROL, i)
            callee = _symbol(op, "callee")
            if callee is not None:
                target = self.function_nodes.get((scope, callee), self.function_nodes.get((-2, callee)))
                if target is not None:
                    self.edge(n, target, CALL, 0)

    def graph(self) -> OpGraph:
        nodes = np.asarray(self.nodes, dtype=np.int64).reshape(-1, 4)
        edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 4)
        return OpGraph(
            node_type=nodes[:, 0].astype(np.uint8), node_text=nodes[:, 1].astype(np.int32),
            node_function=nodes[:, 2].astype(np.int32), node_block=nodes[:, 3].astype(np.int32),
            edge_source=edges[:, 0].astype(np.int32), edge_target=edges[:, 1].astype(np.int32),
            edge_flow=edges[:, 2].astype(np.uint8), edge_position=edges[:, 3].astype(np.int32),
            texts=list(self.texts), functions=self.functions, full_text=self.full)


def build_graph(text_or_module: str | bytes | ir.Module, *, name: str = "<mlir>",
                function: str | None = None, full_text: bool = False) -> OpGraph:
    """The :class:`OpGraph` of an MLIR module (or of one function op).

    Args:
        text_or_module: MLIR text (parsed and verified here) or a parsed :class:`irpipe.mlir.ir.Module`.
        name: used in error messages.
        function: build the graph of the function op with this ``sym_name`` only
            (calls out of it then have no call edge).
        full_text: print every region-free op into its node's ``full_text`` (for DOT; slower).

    Raises:
        MLIRError: unreadable MLIR, or no function named ``function``.
    """
    module = text_or_module if isinstance(text_or_module, ir.Module) else ir.parse(text_or_module, name=name)
    b = _Builder(full_text)
    if function is None:
        for block in module.op.regions[0].blocks:
            for op in block.operations:
                b.op(op.operation, -1, -1, -1, [0])
    else:
        ops = [op for op, _ in module.operations()
               if op.name in ir.FUNCTION_OPS and _symbol(op, "sym_name") == function]
        if not ops:
            names = sorted({_symbol(op, "sym_name") or "" for op, _ in module.operations()
                            if op.name in ir.FUNCTION_OPS})
            raise MLIRError(f"{module.name}: no function {function!r} (functions: {', '.join(names)})")
        b.op(ops[0], -1, -1, -1, [0])
    b.uses()
    return b.graph()
