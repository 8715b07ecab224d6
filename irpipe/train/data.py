"""Training examples: modules with their measured candidate matrix, split by package.

    dataset (MODULES)  --+
                         +--> module_input() --> Encoders.fit(train) --> Example tensors
    MEASUREMENTS  -------+        (graph, function texts, Autophase)       + targets [K, 2]

Splits come from :mod:`irpipe.data.splits` (by package, structural-hash twins kept
only in the most held-out split); the encoders are fitted on the train split only.

    USAGE: examples, encoders, pset = build_examples(cfg.data, arch="gnn")
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import torch

from irpipe.data.examples import Encoders, ModuleInput, module_input, targets
from irpipe.data.splits import assign_splits, select_hashes
from irpipe.runtime.units import read_table
from irpipe.errors import IrpipeError, ModelError
from irpipe.runtime.shards import read_modules
from irpipe.label import vocab
from irpipe.train.config import DataConfig

log = logging.getLogger(__name__)


@dataclass
class Example:
    """One module as model input, with its targets (NaN where a candidate was not measured)."""

    structural_hash: str
    package: str
    split: str
    features: torch.Tensor          # [56] float32 Autophase
    input_instructions: int
    target: torch.Tensor            # [K, 2] float32 log(metric / input instructions)
    graph: Any = None               # HeteroData (gnn)
    tokens: torch.Tensor | None = None  # [C, L] (transformer)


def encode(x: ModuleInput, encoders: Encoders, arch: str) -> dict[str, Any]:
    """Model input of one module for ``arch`` (graph or tokens, plus features)."""
    out: dict[str, Any] = {"features": torch.from_numpy(x.autophase.astype(np.float32))}
    if arch == "gnn":
        out["graph"] = encoders.graph(x)
    else:
        out["tokens"] = encoders.tokens(x)
    return out


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A batch of :func:`encode` outputs (and ``target`` when present)."""
    from torch_geometric.data import Batch

    batch: dict[str, Any] = {"features": torch.stack([i["features"] for i in items])}
    if "graph" in items[0]:
        batch["graph"] = Batch.from_data_list([i["graph"] for i in items])
    if "tokens" in items[0]:
        batch["tokens"] = torch.stack([i["tokens"] for i in items])
    if "target" in items[0]:
        batch["target"] = torch.stack([i["target"] for i in items])
    return batch


def example_items(examples: Iterable[Example]) -> list[dict[str, Any]]:
    """Examples as :func:`collate` items."""
    out = []
    for e in examples:
        item = {"features": e.features, "target": e.target}
        if e.graph is not None:
            item["graph"] = e.graph
        if e.tokens is not None:
            item["tokens"] = e.tokens
        out.append(item)
    return out


def build_examples(cfg: DataConfig, arch: str, *, encoders: Encoders | None = None,
                   progress: bool = True) -> tuple[list[Example], Encoders, vocab.PipelineSet]:
    """Examples of every module that has measurements; fit ``encoders`` on train unless given."""
    from tqdm import tqdm

    pset = vocab.load(cfg.pipelines)
    meas = read_table(cfg.measurements, "measurements")
    if meas.num_rows == 0:
        raise ModelError(f"no measurements under {cfg.measurements}: run irpipe measure first")
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for row in meas.select(["structural_hash", "pipeline", "input_instructions", "instructions",
                            "text_bytes"]).to_pylist():
        by_hash[row["structural_hash"]].append(row)
    modules = read_modules(cfg.dataset, columns=["structural_hash", "recipe_id", "package_name",
                                                 "content"])
    modules = modules.filter(pa.array([h in by_hash for h in modules.column("structural_hash").to_pylist()]))
    modules = assign_splits(modules, seed=cfg.split_seed)
    keep = select_hashes(modules, "all", sample=cfg.max_modules, seed=cfg.split_seed)
    inputs: list[tuple[dict, ModuleInput, np.ndarray]] = []
    for row in tqdm(modules.to_pylist(), desc="modules", disable=not progress, unit="mod"):
        h = row["structural_hash"]
        if h not in keep:
            continue
        t = targets(by_hash[h], pset.pipelines)
        if not np.isfinite(t[:, 0]).any():
            continue  # nothing measured (e.g. a module without instructions)
        try:
            x = module_input(row["content"], name=f"{row['recipe_id']}:{h[:12]}", max_nodes=cfg.max_nodes)
        except IrpipeError as exc:  # a module LLVM cannot analyze: skipped, said
            log.warning("skipping %s: %s", h[:12], exc)
            continue
        inputs.append((row, x, t))
    if encoders is None:
        train = [x for row, x, _ in inputs if row["split"] == "train"]
        if not train:
            raise ModelError("no training modules: the train split is empty")
        encoders = Encoders.fit(train, node_vocab=cfg.node_vocab,
                                tokenizer_vocab=cfg.tokenizer_vocab if arch == "transformer" else None,
                                max_functions=cfg.max_functions, chunk_len=cfg.chunk_len)
    examples = []
    for row, x, t in tqdm(inputs, desc="encode", disable=not progress, unit="mod"):
        enc = encode(x, encoders, arch)
        examples.append(Example(row["structural_hash"], row["recipe_id"] or row["package_name"] or "?",
                                row["split"], enc["features"], x.instructions, torch.from_numpy(t),
                                enc.get("graph"), enc.get("tokens")))
    return examples, encoders, pset
