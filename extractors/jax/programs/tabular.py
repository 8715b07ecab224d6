"""Data and tabular work: standardization, correlation, quantile binning, one-hot and
gather/scatter encodings, sparse products by index lists, integer hashing, a drawdown scan
and a decision stump ensemble.  Integer inputs are hashed with their position into range."""

import jax
import jax.numpy as jnp
from jax import lax


def _spread(ids, n):
    """Integer ids (any small values) mixed with their position into [0, n): a multiplicative hash,
    so a few distinct input values still touch the whole table."""
    pos = jnp.arange(ids.size, dtype=jnp.uint32).reshape(ids.shape)
    h = (ids.astype(jnp.uint32) + pos * jnp.uint32(8)) * jnp.uint32(2654435761)
    return ((h >> 7) % jnp.uint32(n)).astype(jnp.int32)


def standardize_clip(x):
    """Per-column z-scores of x[N, C], clipped to [-3, 3]."""
    m = jnp.mean(x, axis=0)
    s = jnp.std(x, axis=0) + 1e-6
    return jnp.clip((x - m) / s, -3.0, 3.0)


def pearson_matrix(x):
    """Pearson correlation matrix of the columns of x[N, C]."""
    z = (x - jnp.mean(x, axis=0)) / (jnp.std(x, axis=0) + 1e-6)
    return z.T @ z / x.shape[0]


def quantile_bins(x):
    """Rank of every entry of x[N] among all (argsort twice), bucketed into 16 quantile bins."""
    ranks = jnp.argsort(jnp.argsort(x))
    return (ranks * 16) // x.shape[0]


def one_hot_matmul(ids, w):
    """one_hot(ids mod V) @ w for ids[N] and w[V, D]: an embedding lookup as a dense product."""
    oh = jax.nn.one_hot(_spread(ids, w.shape[0]), w.shape[0], dtype=w.dtype)
    return oh @ w


def scatter_max(values, ids):
    """Per-segment maximum of values[N, D] over 32 segments chosen by hashed ids[N] (0 if empty)."""
    m = jax.ops.segment_max(values, _spread(ids, 32), num_segments=32)
    return jnp.where(jnp.isfinite(m), m, 0.0)


def sparse_matvec(vals, cols, x):
    """y[r] = sum_j vals[r, j] * x[cols[r, j]]: a row-padded sparse (ELL) matrix times x."""
    return jnp.sum(vals * jnp.take(x, _spread(cols, x.shape[0])), axis=1)


def xorshift_hash(keys):
    """Three rounds of xorshift32 mixing of integer keys[N], bucketed into 1024."""
    h = keys.astype(jnp.uint32) * jnp.uint32(2654435761)
    for _ in range(3):
        h = h ^ (h << 13)
        h = h ^ (h >> 17)
        h = h ^ (h << 5)
    return (h & jnp.uint32(1023)).astype(jnp.int32)


def bincount_weighted(ids, weights):
    """Weighted counts of hashed ids[N] in 256 bins (a scatter-add)."""
    return jnp.zeros(256, weights.dtype).at[_spread(ids, 256)].add(weights)


def stump_ensemble(x, thresholds, leaves):
    """Sum over T decision stumps (stump t splits feature t mod C of x[N, C] at thresholds[T],
    leaves[T, 2] the two outputs)."""
    feats = x[:, jnp.arange(thresholds.shape[0]) % x.shape[1]]
    right = (feats > thresholds[None, :]).astype(x.dtype)
    return jnp.sum(leaves[None, :, 0] * (1.0 - right) + leaves[None, :, 1] * right, axis=1)


def cumulative_max_drawdown(x):
    """Maximum drawdown of every row of x[B, L] read as a price path (cumulative max via scan)."""
    peak = lax.cummax(x, axis=1)
    return jnp.max(peak - x, axis=1)
