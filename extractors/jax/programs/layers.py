"""Neural-network layers beyond the MLP: GELU and GLU feed-forwards, 1-D and pooled convolutions,
embedding lookups, rotary and sinusoidal position encodings, squeeze-and-excitation, and a
gated residual block.  Every function takes only arrays; weights are scaled by 1/sqrt(fan_in)
inside the function, and integer ids are hashed into range, so any inputs are valid."""

import jax.numpy as jnp
from jax import lax


def _dense(x, w):
    return (x @ w) * lax.rsqrt(jnp.float32(w.shape[0]))


def gelu_mlp(x, w1, w2):
    """Two-layer perceptron with the tanh-approximated GELU."""
    h = _dense(x, w1)
    h = 0.5 * h * (1.0 + jnp.tanh(0.7978845608 * (h + 0.044715 * h * h * h)))
    return _dense(h, w2)


def glu_layer(x, w):
    """Gated linear unit: the first half of x @ w gated by the sigmoid of the second half."""
    h = _dense(x, w)
    a, b = jnp.split(h, 2, axis=-1)
    return a * (1.0 / (1.0 + jnp.exp(-b)))


def conv1d_same(x, w):
    """1-D convolution x[N, L, Cin] * w[K, Cin, Cout] with SAME padding, then tanh."""
    y = lax.conv_general_dilated(x, w, (1,), "SAME", dimension_numbers=("NWC", "WIO", "NWC"))
    return jnp.tanh(y * lax.rsqrt(jnp.float32(w.shape[0] * w.shape[1])))


def avg_pool2d(x):
    """2x2 average pooling with stride 2 over x[N, H, W, C] (H and W even)."""
    s = lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return s * 0.25


def global_pool_head(x, w):
    """Global average pooling of x[N, H, W, C], then a linear classifier and log-softmax."""
    z = _dense(jnp.mean(x, axis=(1, 2)), w)
    return z - jnp.max(z, axis=-1, keepdims=True) - jnp.log(
        jnp.sum(jnp.exp(z - jnp.max(z, axis=-1, keepdims=True)), axis=-1, keepdims=True))


def squeeze_excite(x, w1, w2):
    """Squeeze-and-excitation over x[N, H, W, C]: channel gates from the pooled features."""
    s = jnp.maximum(_dense(jnp.mean(x, axis=(1, 2)), w1), 0.0)
    g = 1.0 / (1.0 + jnp.exp(-_dense(s, w2)))
    return x * g[:, None, None, :]


def embedding_bag(table, ids):
    """Mean of the table rows selected by ids[B, K] (hashed with their position into the table)."""
    pos = jnp.arange(ids.size, dtype=jnp.uint32).reshape(ids.shape)
    idx = (((ids.astype(jnp.uint32) + pos * jnp.uint32(8)) * jnp.uint32(2654435761)) >> 7) % jnp.uint32(table.shape[0])
    rows = jnp.take(table, idx.astype(jnp.int32), axis=0)
    return jnp.mean(rows, axis=1)


def rotary_embedding(x):
    """Rotary position embedding of x[T, D] (D even), base 10000."""
    t, d = x.shape
    inv = 1.0 / (10000.0 ** (jnp.arange(0, d, 2, dtype=jnp.float32) / d))
    ang = jnp.arange(t, dtype=jnp.float32)[:, None] * inv[None, :]
    x1, x2 = x[:, 0::2], x[:, 1::2]
    c, s = jnp.cos(ang), jnp.sin(ang)
    return jnp.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)


def sinusoid_add(x):
    """x[T, D] plus the sinusoidal position encoding of the Transformer."""
    t, d = x.shape
    pos = jnp.arange(t, dtype=jnp.float32)[:, None]
    i = jnp.arange(d, dtype=jnp.float32)[None, :]
    ang = pos / (10000.0 ** (2.0 * jnp.floor(i / 2.0) / d))
    return x + jnp.where(jnp.mod(jnp.arange(d), 2) == 0, jnp.sin(ang), jnp.cos(ang))


def gated_residual(x, w1, w2, wg):
    """Gated residual network block: x + sigmoid(x @ wg) * (elu(x @ w1) @ w2)."""
    h = _dense(x, w1)
    h = jnp.where(h > 0, h, jnp.exp(jnp.minimum(h, 0.0)) - 1.0)
    return x + (1.0 / (1.0 + jnp.exp(-_dense(x, wg)))) * _dense(h, w2)
