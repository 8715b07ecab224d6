"""Filters and signal processing: FIR filtering, moving averages, autocorrelation, resampling, a DCT as a
matrix product, windowed frames, an IIR filter as a scan, and peak picking.  Inputs are any
float arrays of the shapes given in the recipe."""

import jax.numpy as jnp
from jax import lax


def fir_filter(x, taps):
    """Causal FIR filter of every row of x[B, L] with taps[K] (zero history)."""
    k = taps.shape[0]
    pad = jnp.pad(x, ((0, 0), (k - 1, 0)))
    return sum(pad[:, i:i + x.shape[1]] * taps[k - 1 - i] for i in range(k))


def moving_average(x):
    """Centred 9-point moving average of every row of x[B, L] (edges padded by reflection)."""
    pad = jnp.pad(x, ((0, 0), (4, 4)), mode="reflect")
    return lax.reduce_window(pad, 0.0, lax.add, (1, 9), (1, 1), "VALID") / 9.0


def autocorrelation(x):
    """Normalized autocorrelation of every row of x[B, L] at lags 0..31 (direct products)."""
    x = x - jnp.mean(x, axis=1, keepdims=True)
    lags = [jnp.sum(x[:, lag:] * x[:, :x.shape[1] - lag], axis=1) for lag in range(32)]
    r = jnp.stack(lags, axis=1)
    return r / (r[:, :1] + 1e-6)


def decimate_by_4(x):
    """Low-pass (4-tap box) then keep every 4th sample of every row of x[B, L] (L divisible by 4)."""
    b, n = x.shape
    return jnp.mean(x.reshape(b, n // 4, 4), axis=2)


def linear_upsample_3x(x):
    """Linear interpolation of every row of x[B, L] to 3L - 2 samples."""
    a, b = x[:, :-1], x[:, 1:]
    parts = jnp.stack([a, (2.0 * a + b) / 3.0, (a + 2.0 * b) / 3.0], axis=2)
    return jnp.concatenate([parts.reshape(x.shape[0], -1), x[:, -1:]], axis=1)


def dct2_matrix(x):
    """DCT-II of every row of x[B, N], as a product with the cosine matrix built in the function."""
    n = x.shape[1]
    k = jnp.arange(n, dtype=jnp.float32)[:, None]
    i = jnp.arange(n, dtype=jnp.float32)[None, :]
    basis = jnp.cos(jnp.pi / n * (i + 0.5) * k)
    return x @ basis.T


def hann_frames_energy(x):
    """Energy of Hann-windowed frames of 64 samples, hop 32, of every row of x[B, L]."""
    b, n = x.shape
    starts = jnp.arange(0, n - 64 + 1, 32)
    frames = x[:, starts[:, None] + jnp.arange(64)[None, :]]
    w = 0.5 - 0.5 * jnp.cos(2.0 * jnp.pi * jnp.arange(64, dtype=jnp.float32) / 63.0)
    return jnp.sum((frames * w) ** 2, axis=-1)


def iir_lowpass(x):
    """First-order IIR low-pass y[t] = 0.9 y[t-1] + 0.1 x[t] over time, for x[L, B] (a scan)."""
    def step(y, xt):
        y = 0.9 * y + 0.1 * xt
        return y, y
    return lax.scan(step, jnp.zeros(x.shape[1], x.dtype), x)[1]


def peak_mask(x):
    """1.0 where a sample of every row of x[B, L] exceeds both neighbours and 0.5, else 0.0."""
    mid = x[:, 1:-1]
    peak = (mid > x[:, :-2]) & (mid > x[:, 2:]) & (mid > 0.5)
    return jnp.pad(peak.astype(jnp.float32), ((0, 0), (1, 1)))
