"""Model inputs and targets: a module becomes a graph, function token chunks and a feature vector.

The same code turns a training module, a held-out module and the file given to
``irpipe optimize`` into model input, so train and serve cannot drift apart:

* :func:`module_input` parses a module once (isolated LLVM) into a :class:`ModuleInput`:
  its ProGraML-style graph (truncated to ``max_nodes``), the text of each defined
  function, its Autophase vector and its instruction count;
* :class:`Encoders` (node-text vocabulary + BPE tokenizer, fitted on the train split
  and saved with the model) turn a ModuleInput into tensors (or, without torch, numpy
  arrays: :meth:`Encoders.node_ids`, :meth:`Encoders.token_ids`);
* :func:`targets` reads a module's row of the MEASUREMENTS matrix as
  ``log(metric / input instructions)`` per candidate pipeline and objective.

    USAGE: enc = Encoders.fit(train_inputs, cfg); x = enc.encode(module_input(data))
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from irpipe.data.tokenizer import IRTokenizer, normalize_ir, train_tokenizer
from irpipe.errors import ConfigError, ModelError
from irpipe.llvm import analysis, graph, ir, isolate

#: Objectives the cost and policy heads predict, in head order, and their MEASUREMENTS column.
OBJECTIVES = (("instcount", "instructions"), ("size", "text_bytes"))


def objective_index(name: str) -> int:
    """The head index of objective ``name`` ("instcount" or "size")."""
    names = [n for n, _ in OBJECTIVES]
    if name not in names:
        raise ModelError(f"objective {name!r}: the model predicts {', '.join(names)}")
    return names.index(name)
_DEFINE = re.compile(r"^define\b.*?\{\s*$(?:.*?)^\}\s*$", re.M | re.S)


@dataclass
class ModuleInput:
    """One module, parsed once: everything the encoders need."""

    graph: graph.ProgramGraph
    functions: list[str]        # printed IR of each defined function (empty when not asked for)
    autophase: np.ndarray       # [56] int64
    instructions: int           # IR instructions of the module as given
    digest: str = ""            # input_digest of the module when asked for (irpipe serve's answers)


def truncate(g: graph.ProgramGraph, max_nodes: int) -> graph.ProgramGraph:
    """``g`` restricted to its first ``max_nodes`` nodes (nodes come function by function)."""
    if g.num_nodes <= max_nodes:
        return g
    keep = (g.edge_source < max_nodes) & (g.edge_target < max_nodes)
    return graph.ProgramGraph(
        node_type=g.node_type[:max_nodes], node_text=g.node_text[:max_nodes],
        node_function=g.node_function[:max_nodes], node_block=g.node_block[:max_nodes],
        edge_source=g.edge_source[keep], edge_target=g.edge_target[keep],
        edge_flow=g.edge_flow[keep], edge_position=g.edge_position[keep],
        texts=g.texts, functions=g.functions)


def module_input(data: bytes | str, *, name: str = "<module>", max_nodes: int = 40000,
                 texts: bool = True, digest: bool = False) -> ModuleInput:
    """Parse ``data`` (bitcode or IR text) into a :class:`ModuleInput` (LLVM in a child process).

    ``texts=False`` leaves ``functions`` empty (the GNN does not read them; printing and
    sending a large module's text back cost about as much as its graph); ``digest`` fills
    ``digest`` (:func:`input_digest`, before truncation)."""
    data = ir.check_input(data, name=name)
    arrays = isolate.shared().call(analysis.analyze, data, name, text=texts, label=name)  # one parse
    g = truncate(graph.ProgramGraph(**arrays["graph"]), max_nodes)
    functions = [m.group(0) for m in _DEFINE.finditer(arrays["text"])] if texts else []
    ap = np.asarray(arrays["autophase"], dtype=np.int64)
    return ModuleInput(g, functions, ap, int(arrays["instcount"][0]), input_digest(arrays) if digest else "")


#: The graph arrays in :func:`input_digest`'s order, with their C++ element types.
_DIGEST_ARRAYS = (("node_type", "<u1"), ("node_text", "<i4"), ("node_function", "<i4"), ("node_block", "<i4"),
                  ("edge_source", "<i4"), ("edge_target", "<i4"), ("edge_flow", "<u1"), ("edge_position", "<i4"))


def input_digest(arrays: dict[str, Any]) -> str:
    """SHA-256 (hex) of what the GNN reads of a module -- its whole program graph, InstCount
    and Autophase -- from :func:`irpipe.llvm.analysis.analyze`'s output: the bytes the pass
    plugin hashes in the compiler (``passes/lib/ModelDigest.cpp``), so ``irpipe serve`` can
    answer a twin (a file's -fPIC compile) it has seen without parsing it."""
    import hashlib
    import struct

    h = hashlib.sha256(b"irpipe-model-input-1\0")
    g = arrays["graph"]
    for key, dtype in _DIGEST_ARRAYS:
        a = np.ascontiguousarray(g[key], dtype=dtype)
        h.update(struct.pack("<Q", a.size))
        h.update(a.tobytes())
    for strings in (g["texts"], g["functions"]):
        h.update(struct.pack("<Q", len(strings)))
        for text in strings:
            h.update(text.encode("utf-8", "surrogateescape") + b"\0")
    for vector in (arrays["instcount"], arrays["autophase"]):
        h.update(np.asarray(vector, dtype="<i8").tobytes())
    return h.hexdigest()


def chunk_ids(functions: Sequence[Sequence[int]], max_chunks: int, chunk_len: int) -> np.ndarray:
    """Pack per-function token ids into an int64 ``[max_chunks, chunk_len]`` array.

    Each function's ids are truncated to ``chunk_len`` and right-padded with 0.
    The ids must already be >= 1: 0 is reserved for padding (a tokenizer's ids
    shifted by one), and a ValueError says so otherwise.  With more than
    ``max_chunks`` functions an evenly spaced subset is kept, first and last
    included, in their original order (deterministic); unused rows stay all 0,
    which the transformer treats as empty chunks.
    """
    n = len(functions)
    if n > max_chunks:
        if max_chunks <= 1:
            picks = [0] * max_chunks
        else:  # spacing (n-1)/(max_chunks-1) > 1, so the picks are strictly increasing
            picks = [i * (n - 1) // (max_chunks - 1) for i in range(max_chunks)]
        functions = [functions[i] for i in picks]
    out = np.zeros((max_chunks, chunk_len), dtype=np.int64)
    for row, ids in enumerate(functions):
        ids = np.asarray(list(ids[:chunk_len]), dtype=np.int64)
        if ids.size and int(ids.min()) < 1:
            raise ModelError(f"chunk_ids: token ids must be >= 1 (0 is padding), got {int(ids.min())}")
        out[row, : ids.size] = ids
    return out


class Encoders:
    """Node-text vocabulary and tokenizer: ModuleInput -> tensors.

    Args:
        node_vocab: node text -> id (ids from 1; 0 = unknown).
        tokenizer: BPE over normalized IR (id 0 is ``[PAD]``, never produced).
        max_functions, chunk_len: transformer chunking (one chunk per function).
    """

    def __init__(self, node_vocab: dict[str, int], tokenizer: IRTokenizer | None,
                 max_functions: int = 16, chunk_len: int = 128):
        self.node_vocab, self.tokenizer = node_vocab, tokenizer
        self.max_functions, self.chunk_len = max_functions, chunk_len

    @classmethod
    def fit(cls, inputs: Sequence[ModuleInput], *, node_vocab: int, tokenizer_vocab: int | None,
            max_functions: int, chunk_len: int) -> "Encoders":
        """Fit on training inputs: the ``node_vocab`` most frequent node texts; BPE if asked."""
        counts: Counter[str] = Counter()
        for x in inputs:
            counts.update(np.asarray(x.graph.texts, dtype=object)[x.graph.node_text])
        vocab = {t: i + 1 for i, (t, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                                                      [:node_vocab])}
        tok = None
        if tokenizer_vocab:
            tok = train_tokenizer((f for x in inputs for f in x.functions), vocab_size=tokenizer_vocab,
                                  source=f"{len(inputs)} training modules")
        return cls(vocab, tok, max_functions, chunk_len)

    def graph(self, x: ModuleInput) -> Any:
        """HeteroData with ``x`` ids per node type (node texts dropped), all edge types present."""
        from irpipe.data.batching import with_all_edge_types

        data = x.graph.to_heterodata(self.node_vocab)
        for store in data.node_stores:
            del store["text"]
        # every graph gets every (src, flow, dst) store, empty where absent: PyG's
        # Batch.from_data_list takes the edge types of the first graph and mis-offsets the rest
        return with_all_edge_types(data)

    def tokens(self, x: ModuleInput) -> Any:
        """LongTensor [max_functions, chunk_len] of token ids (0 = padding)."""
        import torch

        return torch.from_numpy(self.token_ids(x))

    def token_ids(self, x: ModuleInput) -> np.ndarray:
        """int64 [max_functions, chunk_len] of token ids (0 = padding): :meth:`tokens` without torch."""
        if self.tokenizer is None:
            raise ConfigError("this model has no tokenizer (a gnn checkpoint)")
        texts = [normalize_ir(f) for f in x.functions]
        if len(texts) > self.max_functions:  # encode only the chunks that will be kept
            idx = np.linspace(0, len(texts) - 1, self.max_functions).round().astype(int)
            texts = [texts[i] for i in sorted(set(idx.tolist()))]
        ids = [self.tokenizer.encode(t, normalized=True)[:self.chunk_len] for t in texts]
        return chunk_ids(ids, self.max_functions, self.chunk_len)

    def node_ids(self, g: graph.ProgramGraph) -> np.ndarray:
        """int64 [N] vocabulary id of each node's text (0 = unknown), in node order."""
        ids = np.asarray([self.node_vocab.get(t, 0) for t in g.texts], dtype=np.int64)
        return ids[np.asarray(g.node_text, dtype=np.int64)] if len(ids) else np.zeros(g.num_nodes, np.int64)

    def save(self, directory: Path) -> dict[str, Any]:
        """Save the tokenizer under ``directory/tokenizer``; return the JSON part."""
        if self.tokenizer is not None:
            self.tokenizer.save(Path(directory) / "tokenizer")
        return {"node_vocab": self.node_vocab, "max_functions": self.max_functions,
                "chunk_len": self.chunk_len, "tokenizer": self.tokenizer is not None}

    @classmethod
    def load(cls, directory: Path, doc: dict[str, Any]) -> "Encoders":
        tok = IRTokenizer.load(Path(directory) / "tokenizer") if doc.get("tokenizer") else None
        return cls(dict(doc["node_vocab"]), tok, int(doc["max_functions"]), int(doc["chunk_len"]))


def targets(rows: Sequence[dict[str, Any]], pipelines: Sequence[str]) -> np.ndarray:
    """[K, len(OBJECTIVES)] float32 log(metric / input instructions); NaN where not measured."""
    index = {p: i for i, p in enumerate(pipelines)}
    out = np.full((len(pipelines), len(OBJECTIVES)), np.nan, dtype=np.float32)
    for r in rows:
        k = index.get(r["pipeline"])
        base = r.get("input_instructions") or 0
        if k is None or base <= 0:
            continue
        for o, (_, column) in enumerate(OBJECTIVES):
            v = r.get(column)
            if v is not None and v > 0:
                out[k, o] = math.log(v / base)
    return out
