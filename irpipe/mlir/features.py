"""Named features of an MLIR module: op counts and an analytical cost (for the analytical
baseline and ``irpipe features FILE.mlir``).

:func:`features` returns, in :func:`feature_names` order (all floats):

* ``ops_<dialect>``: ops per dialect of :data:`DIALECTS`, the rest in ``ops_other``;
* ``<category>_ops``: ops per category of :data:`CATEGORIES` (elementwise;
  contraction: dot/dot_general/matmul/batch_matmul/convolution/conv_*; reduction;
  data movement: transpose/reshape/broadcast/slice/concatenate/gather/pad/...;
  control flow: while/if/case/scf.for/branches; constants; calls);
* ``total_ops`` (the module op excluded), ``functions``, ``blocks``, ``values``
  (op results and block arguments), ``loops`` (while/for/forall/parallel ops;
  JAX's ``fori_loop`` is a ``stablehlo.while``);
* ``flops``: contractions ``2 * result elements * contracted size`` (dot_general:
  2*batch*M*N*K from the operand shapes and contracting dims; convolution:
  2 * result elements * kernel spatial elements * input features per group);
  elementwise ops: result elements, times :data:`TRANSCENDENTAL_WEIGHT` (4) for
  transcendentals (exp, log, tanh, logistic, sin, cos, pow, sqrt, rsqrt, erf, ...);
  reductions: input elements; ``linalg.generic``/``linalg.map``: the largest
  operand's elements times the cost of its body ops; anything else 0.  A loop
  body counts once (trip counts are unknown): ``loops`` flags such modules;
* ``bytes``: result bytes of every shaped (tensor, memref, vector) result of the
  ops directly in a function body, plus the bytes of the functions' shaped arguments;
* ``log_flops``, ``log_bytes``: ``log1p`` of the two;
* ``dynamic_shapes``: 1 when a shape with a dynamic size was counted (each ``?``
  counts as 1, so flops and bytes are then lower bounds), else 0.

Ops nested in the per-element bodies of other ops (``stablehlo.reduce``, ``linalg.*``,
``sort``, ``scatter``, ...) count in the dialect counts and ``total_ops`` but not in
the categories or flops: their parent accounts for them.  The cost is most meaningful
at the StableHLO ("source") level; lower levels get what can be counted there
(``linalg.matmul``, ``linalg.generic`` elements, scalar ``arith``/``llvm`` ops as 1
each, with their loops flagged); IREE's dispatch and HAL ops cost 0.

    USAGE: f = features(text); f["flops"], f["ops_stablehlo"]
"""

from __future__ import annotations

import math
import re
from typing import Any

from irpipe.errors import MLIRError
from irpipe.mlir import ir

DIALECTS = ("builtin", "func", "stablehlo", "chlo", "mhlo", "tosa", "arith", "math", "linalg",
            "tensor", "scf", "cf", "affine", "memref", "vector", "bufferization", "llvm", "util",
            "flow", "stream", "hal", "vm")
CATEGORIES = ("elementwise", "contraction", "reduction", "data_movement", "control_flow",
              "constant", "call")
TOTALS = ("total_ops", "functions", "blocks", "values", "loops", "dynamic_shapes",
          "flops", "bytes", "log_flops", "log_bytes")
TRANSCENDENTAL_WEIGHT = 4

_CONTRACTION = frozenset({"dot", "dot_general", "convolution", "conv", "matmul", "batch_matmul",
                          "matvec", "vecmat", "batch_matvec", "batch_vecmat", "contract", "einsum",
                          "conv2d", "conv3d", "depthwise_conv2d", "transpose_conv2d",
                          "fully_connected", "mmt4d", "batch_mmt4d", "batch_reduce_matmul"})
_REDUCTION = frozenset({"reduce", "reduce_window", "reduction", "multi_reduction", "argmax",
                        "argmin", "all_reduce", "reduce_scatter", "max_pool2d", "avg_pool2d"})
_DATA_MOVEMENT = frozenset({
    "transpose", "reshape", "dynamic_reshape", "broadcast", "broadcast_in_dim",
    "dynamic_broadcast_in_dim", "slice", "dynamic_slice", "dynamic_update_slice",
    "real_dynamic_slice", "concatenate", "concat", "gather", "dynamic_gather", "scatter", "pad",
    "dynamic_pad", "reverse", "extract_slice", "insert_slice", "parallel_insert_slice",
    "expand_shape", "collapse_shape", "copy", "extract", "insert", "extract_strided_slice",
    "insert_strided_slice", "shape_cast", "shuffle", "shufflevector", "extractelement",
    "insertelement", "extractvalue", "insertvalue", "transfer_read", "transfer_write", "load",
    "store", "tile", "pack", "unpack", "splat", "memcpy"})
_CONTROL = frozenset({"while", "if", "case", "for", "forall", "parallel", "br", "cond_br",
                      "switch", "execute_region", "index_switch", "while_loop", "cond_if"})
_LOOPS = frozenset({"while", "for", "forall", "parallel", "while_loop"})
_TRANSCENDENTAL = frozenset({
    "exponential", "exponential_minus_one", "exp", "expm1", "exp2", "log", "log_plus_one",
    "log1p", "log2", "log10", "logistic", "sigmoid", "tanh", "tan", "sine", "sin", "cosine",
    "cos", "atan", "atan2", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "erf",
    "erfc", "erf_inv", "power", "pow", "powf", "fpowi", "ipowi", "sqrt", "rsqrt", "cbrt",
    "lgamma", "digamma", "polygamma", "zeta"})
_ELEMENTWISE = _TRANSCENDENTAL | frozenset({
    "abs", "add", "and", "ceil", "clamp", "compare", "complex", "convert", "count_leading_zeros",
    "divide", "floor", "imag", "is_finite", "maximum", "minimum", "multiply", "negate", "not",
    "or", "popcnt", "real", "remainder", "round_nearest_afz", "round_nearest_even", "select",
    "shift_left", "shift_right_arithmetic", "shift_right_logical", "sign", "subtract", "xor",
    "bitcast_convert", "reduce_precision", "map", "square", "next_after", "sub", "mul", "div",
    "reciprocal", "cast", "equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "arithmetic_right_shift", "logical_left_shift", "logical_right_shift", "clz", "max", "min",
    "negf", "elementwise", "round", "rescale", "fadd", "fsub", "fmul", "fdiv", "frem", "fneg",
    "sdiv", "udiv", "srem", "urem", "shl", "lshr", "ashr", "icmp", "fcmp", "fma", "fmuladd",
    "sext", "zext", "trunc", "fpext", "fptrunc", "sitofp", "uitofp", "fptosi", "fptoui",
    "maxnum", "minnum"})
#: ops whose regions compute per element (their body ops are costed through them)
_PAYLOAD = frozenset({"reduce", "reduce_window", "scatter", "select_and_scatter", "sort", "map",
                      "all_reduce", "reduce_scatter", "multi_reduction", "generic"})

_SHAPED = re.compile(r"^(?:tensor|memref|vector)<((?:(?:\d+|\?|\[\d+\])x)*)(.*)>$")
_BITS = re.compile(r"^[a-z]*?(\d+)")
_DOT_DIMS = re.compile(r"lhs_contracting_dimensions = \[([\d, ]*)\]")
_CONV_KERNEL = re.compile(r"\]x\[([^\]]*)\]")


def feature_names() -> list[str]:
    """Every feature :func:`features` returns, in order."""
    return ([f"ops_{d}" for d in (*DIALECTS, "other")] + [f"{c}_ops" for c in CATEGORIES]
            + list(TOTALS))


def shape_of(type_text: str) -> tuple[list[int | None], str] | None:
    """``([sizes, None for dynamic], element type)`` of a printed tensor, memref or vector
    type; None for any other type (and for unranked tensors)."""
    m = _SHAPED.match(type_text)
    if m is None or m.group(2).startswith("*"):
        return None
    dims = [None if d == "?" else int(d.strip("[]")) for d in m.group(1).split("x")[:-1]]
    depth, element = 0, m.group(2)
    for i, ch in enumerate(element):                  # the element type ends at a top-level ","
        depth += ch in "<([{"
        depth -= ch in ">)]}"
        if ch == "," and depth == 0:
            element = element[:i]
            break
    return dims, element.strip()


def element_bytes(element: str) -> int:
    """Bytes of one element: ``f32`` 4, ``bf16`` 2, ``i1`` 1, ``index`` 8, ``complex<f32>`` 8;
    0 for types of unknown width."""
    if element.startswith("complex<"):
        return 2 * element_bytes(element[8:-1])
    if element == "index":
        return 8
    m = _BITS.match(element)
    return (int(m.group(1)) + 7) // 8 if m else 0


class _Counter:
    """Walks the ops once and accumulates every feature."""

    def __init__(self) -> None:
        self.f = dict.fromkeys(feature_names(), 0.0)

    def elements(self, type_text: str) -> int:
        """Elements of a shaped type (1 for scalars; a dynamic size counts as 1 and is flagged)."""
        shape = shape_of(type_text)
        if shape is None:
            return 1
        if None in shape[0]:
            self.f["dynamic_shapes"] = 1.0
        return math.prod(d or 1 for d in shape[0])

    def nbytes(self, value: Any) -> int:
        shape = shape_of(str(value.type))
        return self.elements(str(value.type)) * element_bytes(shape[1]) if shape else 0

    def walk(self, roots: list[Any]) -> None:
        stack = [(op, False, False) for op in reversed(roots)]   # (op, in a function body, in a payload)
        while stack:
            op, top, payload = stack.pop()
            name = op.name
            dialect, _, base = name.partition(".")
            last = base.rsplit(".", 1)[-1]
            f = self.f
            f[f"ops_{dialect}" if dialect in DIALECTS else "ops_other"] += 1
            f["total_ops"] += 1
            f["values"] += len(op.results)
            is_function = name in ir.FUNCTION_OPS
            if is_function:
                f["functions"] += 1
                blocks = op.regions[0].blocks if len(op.regions) else []
                if len(blocks):                                  # a declaration has none
                    f["bytes"] += sum(self.nbytes(a) for a in blocks[0].arguments)
            if top:
                f["bytes"] += sum(self.nbytes(r) for r in op.results)
            if not payload:
                category = _category(op, dialect, base, last)
                if category:
                    f[f"{category}_ops"] += 1
                f["loops"] += float(category == "control_flow" and last in _LOOPS)
                f["flops"] += self.flops(op, dialect, last, category)
            inner = payload or dialect == "linalg" or last in _PAYLOAD
            children = []
            for region in op.regions:
                for block in region.blocks:
                    f["blocks"] += 1
                    f["values"] += len(block.arguments)
                    children += [(o.operation, is_function, inner) for o in block.operations]
            stack.extend(reversed(children))
        f["log_flops"], f["log_bytes"] = math.log1p(f["flops"]), math.log1p(f["bytes"])

    def flops(self, op: Any, dialect: str, last: str, category: str | None) -> float:
        """The analytical flops of one op (see the module docstring)."""
        types = [str(v.type) for v in op.operands]
        out = str(op.results[0].type) if len(op.results) else (types[-1] if types else "")
        if last in ("generic", "map") and dialect == "linalg":
            body = [o.operation.name for r in op.regions for b in r.blocks for o in b.operations]
            cost = sum(_weight(n.rsplit(".", 1)[-1]) for n in body
                       if n.rsplit(".", 1)[-1] not in ("yield", "index", "constant"))
            return max(self.elements(t) for t in types + [out]) * max(cost, 1)
        if category == "elementwise":
            return self.elements(out) * _weight(last)
        if category == "reduction":
            inputs = types[:max(1, len(types) // 2)] if last != "reduction" else types[:1]
            if last.startswith("pooling_") and len(types) >= 2:
                return self.elements(out) * self.elements(types[1])
            return sum(self.elements(t) for t in inputs)
        if category != "contraction" or len(types) < 2:
            return 0.0
        lhs, rhs = shape_of(types[0]), shape_of(types[1])
        if lhs is None or rhs is None:
            return 0.0
        k = 1
        if last == "dot_general":
            m = _DOT_DIMS.search(str(op.attributes["dot_dimension_numbers"]))
            for d in (int(x) for x in (m.group(1).split(",") if m and m.group(1).strip() else [])):
                k *= lhs[0][d] or 1
        elif last == "convolution":                     # kernel dims but the output feature "o"
            m = _CONV_KERNEL.search(str(op.attributes["dimension_numbers"]))
            layout = [s.strip() for s in m.group(1).split(",")] if m else []
            o = layout.index("o") if "o" in layout else len(rhs[0]) - 1
            k = math.prod(d or 1 for i, d in enumerate(rhs[0]) if i != o)
        elif "conv" in last:     # linalg.conv_2d_nhwc_hwcf: kernel dims but f, g (c, m if depthwise)
            layout = last.rsplit("_", 1)[-1] if "_" in last else ""
            if dialect == "tosa":                       # weights OHWI, depthwise HWCM
                layout = "hwcm" if "depthwise" in last else "f" + "x" * (len(rhs[0]) - 1)
            drop = {"c", "m", "f", "g"} if "depthwise" in last else {"f", "g"}
            k = math.prod(d or 1 for i, d in enumerate(rhs[0])
                          if not (len(layout) == len(rhs[0]) and layout[i] in drop))
        elif lhs[0]:
            k = (lhs[0][-2] if "transpose_a" in last and len(lhs[0]) >= 2 else lhs[0][-1]) or 1
        return 2.0 * self.elements(out) * k


def _weight(last: str) -> int:
    return TRANSCENDENTAL_WEIGHT if last in _TRANSCENDENTAL else 1


def _category(op: Any, dialect: str, base: str, last: str) -> str | None:
    """The category of an op (one of :data:`CATEGORIES`) or None."""
    if last == "constant" or base.startswith("const."):
        return "constant"
    if "callee" in op.attributes or last in ("call", "call_indirect", "dispatch") \
            or base.split(".")[0] in ("call", "call_indirect"):
        return "call"
    if last in _CONTROL and dialect in ("stablehlo", "mhlo", "scf", "affine", "cf", "llvm", "vm",
                                        "tosa"):
        return "control_flow"
    if last in _CONTRACTION or last.startswith(("conv_", "depthwise_conv_", "matmul_",
                                                "batch_matmul_")):
        return "contraction"
    if last in _REDUCTION or last.startswith(("reduce_", "pooling_")):
        return "reduction"
    if last == "generic" and "iterator_types" in op.attributes \
            and "reduction" in str(op.attributes["iterator_types"]):
        return "reduction"
    if last in _DATA_MOVEMENT:
        return "data_movement"
    if dialect in ("arith", "math", "complex") or last in _ELEMENTWISE or last == "generic" \
            or (dialect == "chlo" and last.startswith("broadcast_")):
        return "elementwise"
    return None


def _module(module_or_text: str | bytes | ir.Module, name: str) -> ir.Module:
    return module_or_text if isinstance(module_or_text, ir.Module) else ir.parse(module_or_text, name=name)


def _functions(module: ir.Module) -> list[tuple[Any, str]]:
    """(function op, its sym_name) of every function op, in module order."""
    return [(op, op.attributes["sym_name"].value if "sym_name" in op.attributes else "")
            for op, _ in module.operations() if op.name in ir.FUNCTION_OPS]


def features(module_or_text: str | bytes | ir.Module, *, name: str = "<mlir>",
             function: str | None = None) -> dict[str, float]:
    """The named features (:func:`feature_names`) of an MLIR module, or of the function op
    whose ``sym_name`` is ``function``.  Raises :class:`MLIRError` on unreadable MLIR."""
    module = _module(module_or_text, name)
    roots = [o.operation for b in module.op.regions[0].blocks for o in b.operations]
    if function is not None:
        functions = _functions(module)
        roots = [op for op, fn in functions if fn == function][:1]
        if not roots:
            raise MLIRError(f"{module.name}: no function {function!r} (functions: "
                            f"{', '.join(sorted(fn for _, fn in functions))})")
    counter = _Counter()
    counter.walk(roots)
    return counter.f


def function_features(module_or_text: str | bytes | ir.Module, *, name: str = "<mlir>"
                      ) -> dict[str, dict[str, float]]:
    """:func:`features` of every function op, by ``sym_name`` (in module order; the first of
    equal names)."""
    module = _module(module_or_text, name)        # keep it alive: its ops do not
    out: dict[str, dict[str, float]] = {}
    for op, fn in _functions(module):
        if fn not in out:
            counter = _Counter()
            counter.walk([op])
            out[fn] = counter.f
    return out
