"""Multi-layer perceptrons and feed-forward blocks: a plain two-layer ReLU perceptron, a
SwiGLU feed-forward layer and an MLP-Mixer block (token mixing across the sequence, then
channel mixing).  Every function takes only arrays and keeps activations bounded (weights are
scaled by 1/sqrt(fan_in) inside the function)."""

import jax.numpy as jnp
from jax import lax


def _scaled(x, w):
    return (x @ w) * lax.rsqrt(jnp.float32(w.shape[0]))


def mlp2(x, w1, w2):
    """Two-layer ReLU perceptron: relu(x @ w1) @ w2, fan-in scaled."""
    return _scaled(jnp.maximum(_scaled(x, w1), 0.0), w2)


def swiglu_ffn(x, w_gate, w_up, w_down):
    """SwiGLU feed-forward layer: (silu(x @ Wg) * (x @ Wu)) @ Wd."""
    g = _scaled(x, w_gate)
    u = _scaled(x, w_up)
    return _scaled(g * (1.0 / (1.0 + jnp.exp(-g))) * u, w_down)


def mixer_block(x, w_tok1, w_tok2, w_ch1, w_ch2):
    """MLP-Mixer block on x[batch, tokens, channels]: token-mixing MLP then channel-mixing MLP."""
    def norm(v):
        m = jnp.mean(v, axis=-1, keepdims=True)
        return (v - m) * lax.rsqrt(jnp.var(v, axis=-1, keepdims=True) + 1e-5)
    t = jnp.swapaxes(norm(x), 1, 2)                      # [B, C, T]
    t = _scaled(jnp.maximum(_scaled(t, w_tok1), 0.0), w_tok2)
    x = x + jnp.swapaxes(t, 1, 2)
    c = _scaled(jnp.maximum(_scaled(norm(x), w_ch1), 0.0), w_ch2)
    return x + c
