"""Reductions: row-wise logsumexp, per-column statistical moments, fixed-bin histograms,
top-k selection (lax.top_k), segment sums keyed by integer ids (scatter-add) and one Lloyd
(k-means) centroid update.  Integer inputs are folded into range inside each function
(modulo), so any small integers are valid inputs."""

import jax
import jax.numpy as jnp
from jax import lax


def logsumexp_rows(x):
    """Numerically stable log-sum-exp of every row."""
    m = jnp.max(x, axis=-1, keepdims=True)
    return m[..., 0] + jnp.log(jnp.sum(jnp.exp(x - m), axis=-1))


def column_moments(x):
    """Mean, variance, skewness and excess kurtosis of every column of x[N, C], stacked [4, C]."""
    m = jnp.mean(x, axis=0)
    d = x - m
    v = jnp.mean(d * d, axis=0)
    s = jnp.mean(d * d * d, axis=0) * lax.rsqrt(v * v * v + 1e-12)
    k = jnp.mean(d * d * d * d, axis=0) / (v * v + 1e-12) - 3.0
    return jnp.stack([m, v, s, k])


def histogram_fixed_bins(x):
    """Counts of the entries of each row of x falling into 32 equal bins on [-4, 4]."""
    edges = jnp.linspace(-4.0, 4.0, 33, dtype=jnp.float32)
    below = (x[..., None] < edges[1:]).astype(jnp.float32)
    above = (x[..., None] >= edges[:-1]).astype(jnp.float32)
    return jnp.sum(below * above, axis=-2)


def top_k_rows(x):
    """The 8 largest values of every row, in descending order (lax.top_k)."""
    return lax.top_k(x, 8)[0]


def segment_sum_ids(data, ids):
    """Sum rows of data[N, d] into 16 segments chosen by integer ids (mod 16), via scatter-add."""
    return jax.ops.segment_sum(data, jnp.mod(ids, 16), num_segments=16)


def kmeans_step(x, centroids):
    """One Lloyd iteration: assign points x[N, d] to the nearest centroid and return new centroids."""
    d2 = (jnp.sum(x * x, axis=1)[:, None] - 2.0 * x @ centroids.T
          + jnp.sum(centroids * centroids, axis=1)[None, :])
    onehot = (jnp.argmin(d2, axis=1)[:, None] == jnp.arange(centroids.shape[0])[None, :])
    onehot = onehot.astype(x.dtype)
    counts = jnp.sum(onehot, axis=0)[:, None]
    return (onehot.T @ x + centroids) / (counts + 1.0)
