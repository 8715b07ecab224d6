"""Scans and recurrences: inclusive prefix sums, a first-order linear recurrence computed with
lax.associative_scan, an exponential moving average stepped with lax.scan, and Elman and LSTM
recurrent networks stepped with lax.scan over the time axis.  Gates use sigmoids and tanh, so
every state stays bounded."""

import jax.numpy as jnp
from jax import lax


def _sigmoid(x):
    return 1.0 / (1.0 + jnp.exp(-x))


def cumsum_rows(x):
    """Inclusive prefix sums along the last axis."""
    return jnp.cumsum(x, axis=-1)


def linear_recurrence_assoc(a, x):
    """h_t = sigmoid(a_t) * h_{t-1} + x_t along axis 0, via lax.associative_scan."""
    decay = _sigmoid(a)

    def combine(left, right):
        a_l, b_l = left
        a_r, b_r = right
        return a_l * a_r, a_r * b_l + b_r
    return lax.associative_scan(combine, (decay, x), axis=0)[1]


def ema_scan(x):
    """Exponential moving average (alpha 0.1) of x[T, d] over time with lax.scan."""
    def step(m, xt):
        m = 0.9 * m + 0.1 * xt
        return m, m
    return lax.scan(step, jnp.zeros_like(x[0]), x)[1]


def elman_rnn(x, wx, wh):
    """Elman RNN over x[T, B, d]: h_t = tanh(x_t Wx + h_{t-1} Wh); returns all hidden states."""
    sx = lax.rsqrt(jnp.float32(wx.shape[0]))
    sh = lax.rsqrt(jnp.float32(wh.shape[0]))

    def step(h, xt):
        h = jnp.tanh((xt @ wx) * sx + (h @ wh) * sh)
        return h, h
    h0 = jnp.zeros((x.shape[1], wh.shape[0]), x.dtype)
    return lax.scan(step, h0, x)[1]


def lstm_rnn(x, wx, wh):
    """LSTM over x[T, B, d] with fused gate weights wx[d, 4h], wh[h, 4h]; returns final h."""
    n = wh.shape[0]
    sx = lax.rsqrt(jnp.float32(wx.shape[0]))
    sh = lax.rsqrt(jnp.float32(n))

    def step(carry, xt):
        h, c = carry
        g = (xt @ wx) * sx + (h @ wh) * sh
        i, f, o = _sigmoid(g[:, :n]), _sigmoid(g[:, n:2 * n] + 1.0), _sigmoid(g[:, 2 * n:3 * n])
        c = f * c + i * jnp.tanh(g[:, 3 * n:])
        return (o * jnp.tanh(c), c), None
    z = jnp.zeros((x.shape[1], n), x.dtype)
    return lax.scan(step, (z, z), x)[0][0]
