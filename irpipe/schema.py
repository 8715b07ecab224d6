"""Every Arrow table irpipe writes, declared once, with its invariants.

Tables are built with ``pa.Table.from_pylist(rows, schema=...)`` and never inferred from
pandas.  Each Parquet file carries ``irpipe.schema`` (the table name) and
``irpipe.schema_version`` in its key/value metadata; every reader checks each file when it
opens it (:func:`check_schema`: table name, a version it knows, every column with its type)
and refuses it with one error naming the file (:func:`irpipe.runtime.shards.open_shard`).

ComPile compatibility: the first six columns of :data:`MODULES` are exactly the
public ComPile release's columns, in its order and with its types, so a reader
of ComPile shards reads ours, and :func:`irpipe.runtime.shards.read_modules`
reads ComPile shards (the other columns come back null).
"""

from __future__ import annotations

from typing import Any, Iterable

import pyarrow as pa

from irpipe.errors import SchemaError, printable

#: Bumped on any change of a column's name, type or meaning.
SCHEMA_VERSION = "4"
#: Older versions this irpipe still reads, and how they differ (a null ir_kind means "llvm").
READABLE_VERSIONS = {"1": "MODULES without ir_kind, dialects, mlir_level (LLVM only)",
                     "2": "LOOP_LABELS without the loop body facts (LOOP_BODY_FACTS)",
                     "3": "LOOP_LABELS without subloops (counted from the program's other rows)", "4": "current"}
#: What the pass plugin's loop listing says of a loop's body (passes/lib/LoopIds.cpp, in its
#: order): instruction counts by kind, loads and stores by address (contiguous, strided,
#: invariant, indirect in their innermost loop), header reductions, narrowest/widest access bits.
LOOP_BODY_FACTS = ("instructions", "loads", "stores", "fp_ops", "int_ops", "calls", "cond_branches",
                   "contiguous", "strided", "invariant", "indirect", "reductions", "min_access_bits",
                   "max_access_bits")
#: Columns a table of an older readable version may lack (readers fill them with nulls).
ADDED_SINCE = {"1": {"modules": ("ir_kind", "dialects", "mlir_level"), "mlir_runs": (),
                     "loop_labels": (*LOOP_BODY_FACTS, "subloops")},
               "2": {"loop_labels": (*LOOP_BODY_FACTS, "subloops")}, "3": {"loop_labels": ("subloops",)}}

#: The columns of the public ComPile release, in its order.
COMPILE_COLUMNS = ("content", "license_expression", "license_source", "license_files", "package_source",
                   "language")

# A conformant MODULES row must:
# - have `ir_kind` "llvm" or "mlir" (null in v1 shards: "llvm");
# - for ir_kind "llvm", hold in `content` the bytes of ONE LLVM bitcode module (starting with the
#   magic BC C0 DE or the bitcode wrapper DE C0 17 0B) as embedded by
#   clang-22 -Xclang -fembed-bitcode=all (pre-optimization IR), rustc
#   --emit=llvm-bc -C no-prepopulate-passes, or numba's inspect_llvm();
# - for ir_kind "mlir", hold in `content` the UTF-8 text of ONE MLIR module as printed by
#   irpipe.mlir.ir (IREE 3.13's MLIR, no locations), `dialects` the dialects of its ops
#   (builtin excluded, sorted), `mlir_level` the lowering level (irpipe.mlir.ir.LEVELS: "source"
#   is the frontend's StableHLO, then IREE's phases down to "vm"), `structural_hash` =
#   irpipe.mlir.ir.structural_hash, `function_count` its function ops, `instruction_count` its
#   ops, `source_path` the "module:function[arg specs]" it was lowered from and `compile_command`
#   how (jax.jit(...).lower(...), or the iree-compile phase); modules of one source share
#   `object_path` (the source's id) so that splits keep a program's levels together;
# - for ir_kind "llvm", have `structural_hash` = irpipe.llvm.ir.structural_hash(content): equal for
#   modules that differ only in value names, metadata, debug info or PIC-ness;
#   no two rows of one dataset share it (dedup keeps the first by package id);
# - have `language` in {"c", "c++", "objective-c", "rust", "python-numba", "python-jax", "fortran", "other"};
# - have `license_expression` an SPDX expression that the job's allow-list accepted,
#   `license_source` telling where it came from ("debian-copyright", "pypi-metadata",
#   "cargo-toml", "recipe") and `license_files` the license text(s) found;
# - have `function_count` = defined functions, `instruction_count` = instructions
#   in defined functions, both as parsed by llvmlite (LLVM 22.1);
# - hold UTF-8 text in every string column: a file name that is not UTF-8 (a path column) keeps
#   its odd bytes as "\udcXX" escapes, as irpipe prints it (to_table does this).
MODULES = pa.schema(
    [
        pa.field("content", pa.binary(), nullable=False),
        pa.field("license_expression", pa.string()),
        pa.field("license_source", pa.string()),
        pa.field("license_files", pa.string()),
        pa.field("package_source", pa.string()),
        pa.field("language", pa.string()),
        pa.field("package_name", pa.string()),
        pa.field("package_version", pa.string()),
        pa.field("recipe_id", pa.string()),
        pa.field("source_kind", pa.string()),
        pa.field("build_kind", pa.string()),
        pa.field("source_path", pa.string()),
        pa.field("object_path", pa.string()),
        pa.field("compile_command", pa.string()),
        pa.field("target_triple", pa.string()),
        pa.field("llvm_version", pa.string()),
        pa.field("structural_hash", pa.string()),
        pa.field("bitcode_size", pa.int64()),
        pa.field("function_count", pa.int32()),
        pa.field("instruction_count", pa.int64()),
        pa.field("ir_kind", pa.string()),
        pa.field("dialects", pa.list_(pa.string())),
        pa.field("mlir_level", pa.string()),
    ]
)

# A conformant FAILURES row must name the package and recipe, the `stage` in
# {"recipe", "fetch", "license", "build", "timeout", "extract", "lower", "worker", "featurize", "label",
# "measure"} ("lower": an MLIR module that IREE cannot lower, the program's other modules kept), a
# one-line `error`, and the last lines of the relevant log in `log_tail`.
# Module-level problems (a corrupt .llvmbc) are rows too, with `object_path` set;
# the package's other modules are still kept.
FAILURES = pa.schema(
    [
        pa.field("recipe_id", pa.string(), nullable=False),
        pa.field("package_name", pa.string()),
        pa.field("package_version", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
        pa.field("log_tail", pa.string()),
        pa.field("object_path", pa.string()),
    ]
)

# The columns that key every per-module table to a MODULES row (and its package split).
MODULE_KEY = [
    pa.field("structural_hash", pa.string(), nullable=False),
    pa.field("package_name", pa.string()),
    pa.field("recipe_id", pa.string()),
    pa.field("language", pa.string()),
]

# A conformant FEATURES row (written by `irpipe featurize`) must:
# - be keyed by the `structural_hash` of the MODULES row it describes (one row per hash);
# - carry `package_name`, `recipe_id` and `language` of that row (splits are by package);
# - hold CompilerGym's InstCount in `instcount` (70 values, order of
#   irpipe.llvm.features.instcount_names()) and Autophase in `autophase` (56 values),
#   computed on the module as stored (pre-optimization IR);
# - list the defined functions in `functions`, with the same two vectors per function
#   in `function_instcount` / `function_autophase` (same order).
FEATURES = pa.schema(
    [
        *MODULE_KEY,
        pa.field("instcount", pa.list_(pa.int64(), 70), nullable=False),
        pa.field("autophase", pa.list_(pa.int64(), 56), nullable=False),
        pa.field("functions", pa.list_(pa.string())),
        pa.field("function_instcount", pa.list_(pa.list_(pa.int64(), 70))),
        pa.field("function_autophase", pa.list_(pa.list_(pa.int64(), 56))),
    ]
)

# A conformant GRAPHS row must hold the ProGraML-style graph of the whole module
# (irpipe.llvm.graph.ProgramGraph, type nodes included) as parallel arrays:
# node i has type `node_type[i]` (0 instruction, 1 variable, 2 constant, 3 type),
# text `texts[node_text[i]]`, function `node_function[i]` (index into `functions`,
# -1 for none) and block `node_block[i]`; edge j goes `edge_source[j]` ->
# `edge_target[j]` with flow `edge_flow[j]` (0 control, 1 data, 2 call, 3 type)
# and `edge_position[j]`.  Node 0 is the "[external]" root.
GRAPHS = pa.schema(
    [
        *MODULE_KEY,
        pa.field("num_nodes", pa.int64(), nullable=False),
        pa.field("num_edges", pa.int64(), nullable=False),
        pa.field("node_type", pa.list_(pa.int8())),
        pa.field("node_text", pa.list_(pa.int32())),
        pa.field("node_function", pa.list_(pa.int32())),
        pa.field("node_block", pa.list_(pa.int32())),
        pa.field("edge_source", pa.list_(pa.int32())),
        pa.field("edge_target", pa.list_(pa.int32())),
        pa.field("edge_flow", pa.list_(pa.int8())),
        pa.field("edge_position", pa.list_(pa.int32())),
        pa.field("texts", pa.list_(pa.string())),
        pa.field("functions", pa.list_(pa.string())),
    ]
)

# A conformant LABELS row (written by `irpipe label`) must:
# - be keyed by the `structural_hash` of a MODULES row, with its package keys;
# - name the `objective` ("instcount": IR instructions, "size": .text bytes for x86-64-v3,
#   "runtime": median CPU seconds of the program) that every metric in the row measures
#   (smaller is better), and the search (`method`, `seed`, `budget` in evaluations);
# - give the O-level baselines in `baselines` (O0, O1, O2, O3, Os, Oz; null if that one failed);
# - give `best_pipeline` (a textual new-PM pipeline opt-22 -passes= accepts), the action
#   names it was built from (`best_actions`, irpipe.label.actions), and its `best_metric`,
#   which is never worse than the reference baseline (Oz for instcount/size, O3 for runtime);
# - give `improvement` = reference baseline / best_metric (>= 1), `top_k` best distinct
#   pipelines found with their metrics, and the search summary (evaluations, failed
#   evaluations, seconds, a few failure messages).
_BASELINES = pa.struct([(o, pa.float64()) for o in ("O0", "O1", "O2", "O3", "Os", "Oz")])
LABELS = pa.schema(
    [
        *MODULE_KEY,
        pa.field("objective", pa.string(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("seed", pa.int64()),
        pa.field("budget", pa.int64()),
        pa.field("baselines", _BASELINES),
        pa.field("best_pipeline", pa.string(), nullable=False),
        pa.field("best_actions", pa.list_(pa.string())),
        pa.field("best_metric", pa.float64(), nullable=False),
        pa.field("improvement", pa.float64()),
        pa.field("top_k", pa.list_(pa.struct([("pipeline", pa.string()), ("metric", pa.float64())]))),
        pa.field("evaluations", pa.int64()),
        pa.field("failed_evaluations", pa.int64()),
        pa.field("seconds", pa.float64()),
        pa.field("failures", pa.list_(pa.string())),
    ]
)

# A conformant MEASUREMENTS row (written by `irpipe measure`) must:
# - be keyed by (`structural_hash` of a MODULES row, `pipeline`), one row per pair, with the
#   module's package keys;
# - give `pipeline` as a textual new-PM pipeline that irpipe.label.actions.parse reads
#   (its action names in `actions`);
# - give `input_instructions`, the IR instructions of the module as stored (no passes);
# - give `instructions` (IR instructions after the pipeline) and, when the job compiled
#   objects, `text_bytes` (.text bytes for x86-64-v3); both null when the evaluation
#   failed, with the one-line reason in `error`.
MEASUREMENTS = pa.schema(
    [
        *MODULE_KEY,
        pa.field("pipeline", pa.string(), nullable=False),
        pa.field("actions", pa.list_(pa.string())),
        pa.field("input_instructions", pa.int64()),
        pa.field("instructions", pa.int64()),
        pa.field("text_bytes", pa.int64()),
        pa.field("opt_seconds", pa.float64()),
        pa.field("error", pa.string()),
    ]
)

# A conformant MLIR_RUNS row (written by `irpipe measure-mlir`) must:
# - be keyed by (`structural_hash` of a "source"-level MLIR MODULES row, `config`), one row per
#   pair, with the module's package keys and its `source_path` (the program it came from);
# - name the compile `config` (a key of irpipe.label.measure_mlir.CONFIGS) and give the exact
#   iree-compile `flags` it stands for;
# - give `seconds`: the median over `repetitions` Google-benchmark repetitions of CPU seconds per
#   call (iree-benchmark-module, local-sync device, one thread), with `seconds_iqr` their
#   interquartile range; `instructions`: instructions per call under callgrind, as
#   (I(11 calls) - I(1 call)) / 10, so process start and module load cancel out;
#   `vmfb_bytes`, `compile_seconds`;
# - when compiling or running failed: `seconds` and `instructions` null, the reason in `error`.
MLIR_RUNS = pa.schema(
    [
        *MODULE_KEY,
        pa.field("source_path", pa.string()),
        pa.field("config", pa.string(), nullable=False),
        pa.field("flags", pa.list_(pa.string())),
        pa.field("seconds", pa.float64()),
        pa.field("seconds_iqr", pa.float64()),
        pa.field("repetitions", pa.int32()),
        pa.field("instructions", pa.int64()),
        pa.field("vmfb_bytes", pa.int64()),
        pa.field("compile_seconds", pa.float64()),
        pa.field("error", pa.string()),
    ]
)

# A conformant RUNTIME row (benchmarks/proxy_bench.py; corpus irpipe.label.programs) must:
# - be keyed by (`program`, `candidate`): `family` the program's "family:" tag, `pipeline` what the
#   candidate stands for (clang-22 flags such as "-O3 -fno-unroll-loops", or a new-PM pipeline);
# - give `cpu_s`, the median user+sys CPU seconds (never wall) of the `repeats` interleaved runs with
#   `args` listed in `cpu_runs`; cachegrind's totals of one `count_args` run under
#   irpipe.label.proxy.CACHE_FLAGS (`ir`..`bim`) and `proxy_cycles` = irpipe.label.proxy.cycles of them;
# - give `output_sha256` of the `args` run's stdout, equal to the -O0 build's (checked on `count_args`);
#   a failed build, run or output check leaves the measurements null, its one-line reason in `error`.
RUNTIME = pa.schema([
    pa.field("program", pa.string(), nullable=False), pa.field("family", pa.string()),
    pa.field("candidate", pa.string(), nullable=False), pa.field("pipeline", pa.string()),
    pa.field("args", pa.list_(pa.string())), pa.field("cpu_s", pa.float64()), pa.field("repeats", pa.int32()),
    pa.field("cpu_runs", pa.list_(pa.float64())), pa.field("count_args", pa.list_(pa.string())),
    pa.field("proxy_cycles", pa.float64()),
    *(pa.field(n, pa.int64()) for n in ("ir", "i1mr", "ilmr", "d1mr", "d1mw", "dlmr", "dlmw", "bc", "bcm", "bi", "bim")),
    pa.field("output_sha256", pa.string()), pa.field("error", pa.string())])

# A conformant LOOP_LABELS row (irpipe.label.loops; corpus irpipe.label.programs) must:
# - be keyed by (`program`, `loop_id`, `decision`): `loop_id` the plugin's FUNCTION/L<path> id at the
#   vectorizer start of clang-22 -O3, `depth`..`strict_fp_induction` its facts as the plugin lists them,
#   `subloops` the listing's loops inside it (null: count the program's other rows; a table of some loops fills it),
#   LOOP_BODY_FACTS the listing's body facts (null in a v2 table: irpipe.label.loops.refresh_facts fills them),
#   `decision` an irpipe.advice v2 "loops" value as key-sorted compact JSON (e.g. {"unroll":4}), applied
#   alone (source "*"; never a forced vectorization of a strict-FP loop);
# - give `cycles` = irpipe.label.proxy.cycles of one cachegrind run on `count_args`, `baseline_cycles`
#   that of the -O3 build (same plugin, no advice), `ratio` = cycles / baseline_cycles, `same_binary`
#   whether the build is byte-identical to the -O3 one;
# - have `output_ok` true only when that run's stdout equals the -O3 build's bit for bit (else the
#   reason in `error`: never a win); a failed build or run has null cycles and ratio.
LOOP_LABELS = pa.schema([
    pa.field("program", pa.string(), nullable=False), pa.field("family", pa.string()),
    pa.field("loop_id", pa.string(), nullable=False), *(pa.field(n, pa.int32()) for n in ("depth", "blocks")),
    pa.field("trip_count", pa.int64()), pa.field("subloops", pa.int32()),
    *(pa.field(n, pa.bool_()) for n in ("strict_fp_reduction", "strict_fp_induction")),
    *(pa.field(n, pa.int32()) for n in LOOP_BODY_FACTS),
    pa.field("decision", pa.string(), nullable=False), pa.field("count_args", pa.list_(pa.string())),
    *(pa.field(n, pa.float64()) for n in ("cycles", "baseline_cycles", "ratio")),
    pa.field("same_binary", pa.bool_()), pa.field("output_ok", pa.bool_(), nullable=False),
    pa.field("error", pa.string())])

TABLES: dict[str, pa.Schema] = {"modules": MODULES, "failures": FAILURES, "features": FEATURES,
                                "graphs": GRAPHS, "labels": LABELS, "measurements": MEASUREMENTS,
                                "mlir_runs": MLIR_RUNS, "runtime": RUNTIME,
                                "loop_labels": LOOP_LABELS}

FAILURE_STAGES = ("recipe", "fetch", "license", "build", "timeout", "extract", "lower", "worker",
                  "featurize", "label", "measure")


def stamped(schema: pa.Schema, table_name: str) -> pa.Schema:
    """Return ``schema`` with irpipe's table name and version in its metadata."""
    meta = dict(schema.metadata or {})
    meta[b"irpipe.schema"] = table_name.encode()
    meta[b"irpipe.schema_version"] = SCHEMA_VERSION.encode()
    return schema.with_metadata(meta)


def to_table(rows: Iterable[dict[str, Any]], table_name: str) -> pa.Table:
    """Build a table of ``table_name`` from dict rows, stamped, validated."""
    schema = stamped(TABLES[table_name], table_name)
    rows = list(rows)
    unknown = {k for r in rows for k in r} - set(schema.names)
    if unknown:
        raise SchemaError(f"{table_name}: unknown column(s) {sorted(unknown)}; "
                          f"the schema has {schema.names}")
    try:
        try:
            return pa.Table.from_pylist(rows, schema=schema)
        except UnicodeEncodeError:  # a file name that is not UTF-8 (surrogate-escaped by Python)
            return pa.Table.from_pylist([{k: _utf8(v) for k, v in r.items()} for r in rows], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"{table_name}: rows do not fit schema v{SCHEMA_VERSION}: {exc}") from exc


def _utf8(value: Any) -> Any:
    """``value`` with every string UTF-8 text: the undecodable bytes of a file name (lone
    surrogates) become ``\\udcXX`` escapes, as irpipe prints them (Arrow strings are UTF-8)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    return value


def check_metadata(schema: pa.Schema, table_name: str, *, allow_compile: bool = False) -> None:
    """Raise :class:`SchemaError` unless ``schema`` is irpipe's ``table_name`` at our version.

    With ``allow_compile``, a schema with no irpipe metadata that holds ComPile's
    six columns is accepted (the public ComPile release format).
    """
    meta = schema.metadata or {}
    name = meta.get(b"irpipe.schema")
    version = meta.get(b"irpipe.schema_version")
    if name is None:
        if allow_compile and all(c in schema.names for c in COMPILE_COLUMNS):
            return
        raise SchemaError(f"not an irpipe {table_name} table (no irpipe.schema metadata)")
    if name.decode(errors="replace") != table_name:
        raise SchemaError(f"expected an irpipe {table_name} table, got {name.decode(errors='replace')!r}")
    if version is None:
        raise SchemaError(f"irpipe {table_name} table without irpipe.schema_version metadata (damaged, or "
                          f"not written by irpipe); this irpipe reads versions {', '.join(READABLE_VERSIONS)}")
    if version.decode(errors="replace") not in READABLE_VERSIONS:
        raise SchemaError(f"{table_name} table has schema version {version.decode(errors='replace')}, "
                          f"this irpipe reads versions {', '.join(READABLE_VERSIONS)}")


def _base_type(t: pa.DataType) -> pa.DataType:
    """``t`` with large/small variants and list field names ignored (what a cast keeps)."""
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_base_type(t.value_type))
    return t


def check_schema(schema: pa.Schema, table_name: str, *, allow_compile: bool = False) -> None:
    """Check a schema's metadata (:func:`check_metadata`), column names and types against the
    declaration of ``table_name``; columns added after the file's version may be missing.
    A ComPile shard (``allow_compile``, no irpipe metadata) needs ComPile's columns only."""
    check_metadata(schema, table_name, allow_compile=allow_compile)
    meta = schema.metadata or {}
    if b"irpipe.schema" not in meta:  # a ComPile shard: its six columns, nothing else required
        want = [f for f in TABLES[table_name] if f.name in COMPILE_COLUMNS]
        optional: tuple[str, ...] = ()
    else:
        want = list(TABLES[table_name])
        optional = ADDED_SINCE.get(meta[b"irpipe.schema_version"].decode(), {}).get(table_name, ())
    for field in want:
        if field.name not in schema.names:
            if field.name in optional:
                continue
            raise SchemaError(f"{table_name}: missing column {field.name!r}")
        got = schema.field(field.name).type
        if _base_type(got) != _base_type(field.type):
            raise SchemaError(f"{table_name}.{field.name}: type {got}, expected {field.type}")


def validate(table: pa.Table, table_name: str) -> None:
    """Check a table's metadata, column names and exact types against the declaration, and
    that its non-nullable columns hold no nulls."""
    check_schema(table.schema, table_name)
    for field in TABLES[table_name]:
        if field.name not in table.schema.names:  # added after the table's version (check_schema)
            continue
        got = table.schema.field(field.name).type
        if got != field.type:
            raise SchemaError(f"{table_name}.{field.name}: type {got}, expected {field.type}")
        if not field.nullable and table.column(field.name).null_count:
            raise SchemaError(f"{table_name}.{field.name}: nulls in a non-nullable column")
