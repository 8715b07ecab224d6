"""Load a trained checkpoint and rank the candidate pipelines of a module.

    USAGE: p = Predictor.load("models/default"); pred = p.predict(bitcode)
           pred.ranking("instcount")[:10]   # candidate pipelines, best first
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from irpipe.data.examples import Encoders, ModuleInput, module_input, objective_index
from irpipe.errors import ModelError
from irpipe.label import vocab
from irpipe.train.config import from_dict


@dataclass
class Prediction:
    """Model output for one module: predicted cost and policy scores per candidate."""

    pipelines: list[str]
    cost: np.ndarray          # [K, O] predicted log(metric / input instructions)
    scores: np.ndarray        # [O, K] policy scores, higher = better
    input_instructions: int

    def ranking(self, objective: str = "instcount", head: str = "policy") -> list[str]:
        """Candidate pipelines, best first, by the policy head (or the cost head)."""
        o = objective_index(objective)
        key = self.scores[o] if head == "policy" else -self.cost[:, o]
        return [self.pipelines[k] for k in np.argsort(-key, kind="stable")]

    def predicted(self, objective: str = "instcount") -> np.ndarray:
        """Predicted metric per candidate (instructions or .text bytes)."""
        o = objective_index(objective)
        return np.exp(self.cost[:, o]) * max(self.input_instructions, 1)


class Predictor:
    """A loaded checkpoint: encoders, candidate pipelines and the model (CPU, eval mode)."""

    def __init__(self, directory: Path, meta: dict, model: object, encoders: Encoders,
                 pset: vocab.PipelineSet):
        self.directory, self.meta, self.model = directory, meta, model
        self.encoders, self.pset = encoders, pset
        self.config = from_dict(meta["config"])

    @classmethod
    def load(cls, directory: str | Path) -> "Predictor":
        """Load ``directory``; :class:`ModelError` when it is missing, corrupt or mismatched."""
        from irpipe.errors import ConfigError
        from irpipe.label.actions import ACTIONS
        from irpipe.train.checkpoint import load_weights, read_meta
        from irpipe.train.loop import build_model

        directory = Path(directory)
        meta = read_meta(directory)
        if meta.get("actions") != [a.name for a in ACTIONS]:
            raise ModelError(f"{directory}: trained on another action space; retrain the model")
        try:
            encoders = Encoders.load(directory, meta["encoders"])
            pset = vocab.load(directory / "pipelines.json")
            cfg = from_dict(meta["config"])
        except (ConfigError, KeyError, OSError, ValueError) as exc:
            raise ModelError(f"{directory}: incomplete checkpoint: {exc}") from None
        model = build_model(cfg, encoders, pset)
        load_weights(directory, model)
        model.eval()
        return cls(directory, meta, model, encoders, pset)

    @property
    def arch(self) -> str:
        return self.config.model.arch

    def picks(self, verify: int) -> dict[str, int] | None:
        """Calibrated policy picks per objective for ``verify`` compiles (None: not calibrated)."""
        policy = self.meta.get("policy") or {}
        return policy.get("picks") if policy.get("verify") == verify else None

    def verify_set(self, prediction: "Prediction", objective: str = "instcount", n: int = 10) -> list[str]:
        """The ``n`` pipelines to compile for ``objective``: -Oz (or -O3), the policy's picks,
        then the vocabulary order (irpipe.train.metrics.choose)."""
        from irpipe.train.metrics import choose

        o = objective_index(objective)
        picks = (self.picks(n) or {}).get(objective)
        chosen = choose(prediction.scores[o], n, self.meta["reference"], picks)
        return [self.pset.pipelines[k] for k in chosen]

    def inputs(self, data: bytes | str, name: str = "<module>") -> ModuleInput:
        """Parse a module for this model (isolated LLVM)."""
        return module_input(data, name=name, max_nodes=self.config.data.max_nodes)

    def cache_key(self, x: ModuleInput) -> str:
        """A digest of what this model's encoder reads of ``x``: equal keys, equal predictions.

        The GNN reads the graph and the Autophase vector (a -fPIC and a non-PIC compile of one
        file give the same graph), the transformer the function texts and Autophase.
        """
        import hashlib

        h = hashlib.sha256(self.arch.encode())
        h.update(np.ascontiguousarray(x.autophase).tobytes())
        h.update(str(x.instructions).encode())
        if self.arch == "gnn":
            g = x.graph
            for a in (g.node_type, g.node_text, g.node_function, g.node_block, g.edge_source,
                      g.edge_target, g.edge_flow, g.edge_position):
                h.update(np.ascontiguousarray(a).tobytes())
            h.update("\0".join(g.texts).encode())
        else:
            h.update("\0".join(x.functions).encode())
        return h.hexdigest()

    def predict_inputs(self, inputs: Sequence[ModuleInput], batch_size: int = 16) -> list[Prediction]:
        """Predictions for parsed modules (batched)."""
        from irpipe.train.data import encode
        from irpipe.train.loop import predict

        items = [encode(x, self.encoders, self.arch) for x in inputs]
        cost, scores = predict(self.model, items, batch_size=batch_size)
        return [Prediction(self.pset.pipelines, c, s, x.instructions)
                for c, s, x in zip(cost, scores, inputs)]

    def predict(self, data: bytes | str, name: str = "<module>") -> Prediction:
        """Prediction for one module (bitcode or IR text)."""
        return self.predict_inputs([self.inputs(data, name)])[0]
