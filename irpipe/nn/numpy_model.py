"""The irpipe model's forward pass in numpy: inference without importing torch.

It computes what :class:`irpipe.nn.model.IRPipeModel` computes in eval mode (dropout
off), from the same checkpoint (``model.safetensors`` read by
:func:`irpipe.nn.checkpoint_files.read_arrays`), for both released architectures:

* ``gnn``: :class:`irpipe.nn.gnn.GraphEncoder` over the module's program graph;
* ``transformer``: :class:`irpipe.nn.transformer.TokenEncoder` over function chunks;

then the global features, the fuse MLP, the pipeline GRU (run once at load: the
candidates are fixed), the cost head and the policy head.  Float32 throughout, like
torch on CPU; GELU is the exact (erf) one, with an erf good to ~1e-7.  The parity
with torch (cost and scores to 1e-4, identical rankings) is tests/nn/test_numpy_model.py.

    USAGE: m = NumpyModel.load("models/default", config, encoders)
           cost, scores = m.predict([module_input(data)])   # [N, K, 2], [N, 2, K]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from irpipe.errors import ModelError
from irpipe.nn.checkpoint_files import Weights, read_arrays
from irpipe.nn.numpy_encoders import GraphEncoder, Linear, TokenEncoder, gelu, layer_norm
from irpipe.runtime.heap import keep_heap

if TYPE_CHECKING:
    from irpipe.data.examples import Encoders, ModuleInput
    from irpipe.nn.config import ModelConfig



class HasModel(Protocol):
    """A model config (:class:`irpipe.train.config.Config`): its ``[model]`` table is what counts here."""

    model: "ModelConfig"


#: The architectures this module runs; another arch needs the torch model.
NUMPY_ARCHS = ("gnn", "transformer")
AUTOPHASE_DIM = 56
OBJECTIVE_COUNT = 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def pipeline_vectors(w: Weights, candidates: np.ndarray, hidden: int) -> np.ndarray:
    """:class:`irpipe.nn.heads.PipelineEncoder` on ``candidates`` [K, T] (action id + 1, 0 = pad):
    the GRU state at each pipeline's last action, ``empty`` for no action.  Shape [K, H]."""
    embed = w("pipelines.embed.weight", (None, hidden))
    position = w("pipelines.position.weight", (None, hidden))
    w_ih = w("pipelines.gru.weight_ih_l0", (3 * hidden, hidden))    # rows: r, z, n gates
    w_hh = w("pipelines.gru.weight_hh_l0", (3 * hidden, hidden))
    b_ih, b_hh = w("pipelines.gru.bias_ih_l0", (3 * hidden,)), w("pipelines.gru.bias_hh_l0", (3 * hidden,))
    empty = w("pipelines.empty", (hidden,))
    actions = candidates[:, : position.shape[0]]                     # [K, T]
    k, t = actions.shape
    lengths = (actions != 0).sum(1)                                  # [K]
    if t == 0:
        return np.repeat(empty[None], k, axis=0)
    x = embed[actions] + position[:t]                                # [K, T, H]
    h = np.zeros((k, hidden), np.float32)
    out = np.zeros((k, t, hidden), np.float32)
    for step in range(t):                                            # torch's GRU equations (r, z, n)
        gi, gh = x[:, step] @ w_ih.T + b_ih, h @ w_hh.T + b_hh       # [K, 3H]
        r = _sigmoid(gi[:, :hidden] + gh[:, :hidden])
        z = _sigmoid(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
        n = np.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
        h = (1.0 - z) * n + z * h
        out[:, step] = h
    last = out[np.arange(k), np.clip(lengths - 1, 0, None)]          # [K, H]
    return np.where((lengths > 0)[:, None], last, empty[None]).astype(np.float32)


class NumpyModel:
    """A loaded checkpoint of arch ``gnn`` or ``transformer``, run in numpy.

    Args:
        arch: ``"gnn"`` or ``"transformer"``.
        encoder: the module encoder (graph or tokens -> [H]).
        encoders: the checkpoint's node vocabulary and tokenizer.
        globals_: ``(norm weight, norm bias, Linear)`` of the Autophase features, or None.
        fuse: ``(Linear, norm weight, norm bias)`` of the fuse MLP.
        pipelines: [K, H] candidate pipeline vectors.
        cost, policy: the two heads' MLPs, each ``(Linear, Linear)``.
    """

    def __init__(self, arch: str, encoder: GraphEncoder | TokenEncoder, encoders: "Encoders",
                 globals_: tuple[np.ndarray, np.ndarray, Linear] | None,
                 fuse: tuple[Linear, np.ndarray, np.ndarray], pipelines: np.ndarray,
                 cost: tuple[Linear, Linear], policy: tuple[Linear, Linear]):
        self.arch, self.encoder, self.encoders = arch, encoder, encoders
        self.globals, self.fuse, self.pipelines = globals_, fuse, pipelines
        self.cost, self.policy = cost, policy

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.arch!r}, candidates={len(self.pipelines)})"

    @classmethod
    def load(cls, directory: str | Path, config: "HasModel", encoders: "Encoders") -> "NumpyModel":
        """Read ``directory/model.safetensors`` for ``config``; :class:`ModelError` when the
        weights are unreadable or do not match (a tensor missing, unexpected or misshapen)."""
        m = config.model
        if m.arch not in NUMPY_ARCHS:
            raise ModelError(f"arch {m.arch!r} has no numpy forward pass ({', '.join(NUMPY_ARCHS)})")
        keep_heap()  # the layers' temporaries reuse freed heap (irpipe.runtime.heap): ~1.5x on big graphs
        w = Weights(read_arrays(directory), Path(directory) / "model.safetensors")
        h = m.hidden
        if m.arch == "gnn":
            encoder: GraphEncoder | TokenEncoder = GraphEncoder.load(
                w, "encoder", len(encoders.node_vocab) + 1, h, m.layers)
        else:
            encoder = TokenEncoder.load(w, "encoder", encoders.tokenizer.vocab_size, h, m.d_model,
                                        m.heads, m.layers, m.ff)
        globals_ = None
        if m.global_features:
            globals_ = (w("globals.norm.weight", (AUTOPHASE_DIM,)), w("globals.norm.bias", (AUTOPHASE_DIM,)),
                        Linear.load(w, "globals.linear", h, AUTOPHASE_DIM))
        fuse = (Linear.load(w, "fuse.0", h, h * (2 if m.global_features else 1)),
                w("fuse.2.weight", (h,)), w("fuse.2.bias", (h,)))
        candidates = w("candidates", (None, None)).astype(np.int64)
        k = candidates.shape[0]
        pipelines = pipeline_vectors(w, candidates, h)
        cost = (Linear.load(w, "cost.mlp.0", h, 3 * h), Linear.load(w, "cost.mlp.2", OBJECTIVE_COUNT, h))
        policy = (Linear.load(w, "policy.mlp.0", h, h),
                  Linear.load(w, "policy.mlp.2", OBJECTIVE_COUNT * k, h))
        w.done()
        return cls(m.arch, encoder, encoders, globals_, fuse, pipelines, cost, policy)

    def module_vector(self, x: "ModuleInput") -> np.ndarray:
        """The fused module vector [H] of one module (``IRPipeModel.encode``)."""
        if self.arch == "gnn":
            m = self.encoder(x.graph, self.encoders.node_ids(x.graph))
        else:
            m = self.encoder(self.encoders.token_ids(x))
        if self.globals is not None:
            norm_w, norm_b, linear = self.globals
            f = np.log1p(np.clip(np.asarray(x.autophase).astype(np.float32), 0, None))   # [56]
            m = np.concatenate([m, gelu(linear(layer_norm(f, norm_w, norm_b)))])
        linear, norm_w, norm_b = self.fuse
        return layer_norm(gelu(linear(m)), norm_w, norm_b)

    def heads(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cost [K, O], policy scores [O, K]) for one module vector ``m`` [H]."""
        p = self.pipelines                                           # [K, H]
        mm = np.broadcast_to(m, p.shape)
        first, second = self.cost
        cost = second(gelu(first(np.concatenate([mm, p, mm * p], axis=-1))))   # [K, O]
        first, second = self.policy
        scores = second(gelu(first(m))).reshape(OBJECTIVE_COUNT, len(p))        # [O, K]
        return cost, scores

    def predict(self, inputs: Sequence["ModuleInput"]) -> tuple[np.ndarray, np.ndarray]:
        """(cost [N, K, O], policy scores [N, O, K]) for parsed modules, like
        :func:`irpipe.train.phase_order.predict`."""
        k = len(self.pipelines)
        costs, scores = [], []
        for x in inputs:
            c, s = self.heads(self.module_vector(x))
            costs.append(c)
            scores.append(s)
        return (np.stack(costs) if costs else np.zeros((0, k, OBJECTIVE_COUNT), np.float32),
                np.stack(scores) if scores else np.zeros((0, OBJECTIVE_COUNT, k), np.float32))
