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
from irpipe.errors import ConfigError, ModelError
from irpipe.label import vocab
from irpipe.train.config import Config, from_dict

#: What can run the model: see :meth:`Predictor.load`.
BACKENDS = ("auto", "numpy", "torch")


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


def _torch_model(directory: Path, cfg: Config, encoders: Encoders, pset: vocab.PipelineSet) -> object:
    """The torch :class:`~irpipe.nn.model.IRPipeModel` of a checkpoint, in eval mode."""
    from irpipe.train.checkpoint import load_weights
    from irpipe.train.phase_order import build_model

    model = build_model(cfg, encoders, pset)
    load_weights(directory, model)
    model.eval()
    return model


class Predictor:
    """A loaded checkpoint: encoders, candidate pipelines and the model (CPU, eval mode).

    The model runs in numpy (:class:`irpipe.nn.numpy_model.NumpyModel`, archs ``gnn`` and
    ``transformer``) unless loaded with ``backend="torch"``: loading and predicting then
    import neither torch, torch_geometric nor scipy, which takes ~6 s off a cold
    ``irpipe optimize``.  ``model`` is the NumpyModel or the torch module (``backend`` says which).
    """

    def __init__(self, directory: Path, meta: dict, model: object, encoders: Encoders,
                 pset: vocab.PipelineSet):
        self.directory, self.meta, self.model = directory, meta, model
        self.encoders, self.pset = encoders, pset
        self.config = from_dict(meta["config"])

    @classmethod
    def load(cls, directory: str | Path, *, backend: str = "auto") -> "Predictor":
        """Load ``directory``; :class:`ModelError` when it is missing, corrupt or mismatched.

        ``backend``: ``"numpy"`` runs the model with :mod:`irpipe.nn.numpy_model` (no torch
        import: archs ``gnn`` and ``transformer``), ``"torch"`` builds the torch model;
        ``"auto"`` takes numpy for the archs it covers and falls back to torch for others.
        """
        from irpipe.label.actions import ACTIONS
        from irpipe.nn.checkpoint_files import read_meta
        from irpipe.nn.numpy_model import NUMPY_ARCHS, NumpyModel

        if backend not in BACKENDS:
            raise ConfigError(f"backend {backend!r}: one of {', '.join(BACKENDS)}")
        directory = Path(directory)
        meta = read_meta(directory, problem="phase-order")
        if meta.get("actions") != [a.name for a in ACTIONS]:
            raise ModelError(f"{directory}: trained on another action space; retrain the model")
        try:
            encoders = Encoders.load(directory, meta["encoders"])
            pset = vocab.load(directory / "pipelines.json")
            cfg = from_dict(meta["config"])
        except (ConfigError, KeyError, OSError, ValueError) as exc:
            raise ModelError(f"{directory}: incomplete checkpoint: {exc}") from None
        if backend == "numpy" or (backend == "auto" and cfg.model.arch in NUMPY_ARCHS):
            model: object = NumpyModel.load(directory, cfg, encoders)
            if len(model.pipelines) != len(pset.pipelines):
                raise ModelError(f"{directory}: {len(model.pipelines)} candidates in the weights, "
                                 f"{len(pset.pipelines)} in pipelines.json")
        else:
            model = _torch_model(directory, cfg, encoders, pset)
        return cls(directory, meta, model, encoders, pset)

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"torch"``: what runs the model."""
        from irpipe.nn.numpy_model import NumpyModel

        return "numpy" if isinstance(self.model, NumpyModel) else "torch"

    @property
    def arch(self) -> str:
        return self.config.model.arch

    def picks(self, verify: int) -> dict[str, int] | None:
        """Calibrated policy picks per objective for ``verify`` compiles (None: not calibrated)."""
        policy = self.meta.get("policy") or {}
        return policy.get("picks") if policy.get("verify") == verify else None

    def verify_set(self, prediction: "Prediction", objective: str = "instcount", n: int = 10) -> list[str]:
        """The ``n`` pipelines to compile for ``objective``: -Oz (or -O3), the policy's picks,
        then the vocabulary order (:func:`irpipe.label.vocab.choose`)."""
        o = objective_index(objective)
        picks = (self.picks(n) or {}).get(objective)
        chosen = vocab.choose(prediction.scores[o], n, self.meta["reference"], picks)
        return [self.pset.pipelines[k] for k in chosen]

    def inputs(self, data: bytes | str, name: str = "<module>", *, digest: bool = False) -> ModuleInput:
        """Parse a module for what this model reads (isolated LLVM): the GNN no function texts
        (``digest``: with the input's digest, :func:`~irpipe.data.examples.input_digest`)."""
        return module_input(data, name=name, max_nodes=self.config.data.max_nodes, texts=self.arch != "gnn",
                            digest=digest)

    @property
    def digest_covers_input(self) -> bool:
        """Whether :func:`~irpipe.data.examples.input_digest` covers all this model reads (the GNN:
        graph and features; the transformer also reads function texts)."""
        return self.arch == "gnn"

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
        """Predictions for parsed modules (batched on the torch backend)."""
        if self.backend == "numpy":
            cost, scores = self.model.predict(inputs)
        else:
            from irpipe.train.data import encode
            from irpipe.train.phase_order import predict

            items = [encode(x, self.encoders, self.arch) for x in inputs]
            cost, scores = predict(self.model, items, batch_size=batch_size)
        return [Prediction(self.pset.pipelines, c, s, x.instructions)
                for c, s, x in zip(cost, scores, inputs)]

    def predict(self, data: bytes | str, name: str = "<module>") -> Prediction:
        """Prediction for one module (bitcode or IR text)."""
        return self.predict_inputs([self.inputs(data, name)])[0]
