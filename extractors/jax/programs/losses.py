"""Loss functions reduced to a scalar: softmax cross-entropy against integer labels, binary
focal loss and the InfoNCE contrastive loss between two embedding batches.  Integer labels are
taken modulo the class count; means are taken per row first, then over rows."""

import jax.numpy as jnp
from jax import lax


def _log_softmax(z):
    z = z - jnp.max(z, axis=-1, keepdims=True)
    return z - jnp.log(jnp.sum(jnp.exp(z), axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of logits[N, C] against integer labels[N] (mod C)."""
    c = logits.shape[-1]
    onehot = (jnp.mod(labels, c)[:, None] == jnp.arange(c)[None, :]).astype(logits.dtype)
    return -jnp.mean(jnp.sum(onehot * _log_softmax(logits), axis=-1))


def binary_focal_loss(logits, targets):
    """Mean binary focal loss (gamma 2, alpha 0.25) with targets (targets > 0)."""
    y = (targets > 0).astype(logits.dtype)
    logp = -jnp.logaddexp(0.0, -logits)
    log1mp = -jnp.logaddexp(0.0, logits)
    p = jnp.exp(logp)
    pos = -0.25 * (1.0 - p) ** 2 * logp
    neg = -0.75 * p ** 2 * log1mp
    return jnp.mean(jnp.mean(y * pos + (1.0 - y) * neg, axis=-1))


def info_nce(a, b):
    """InfoNCE loss (temperature 0.1) matching rows of a[N, d] to rows of b[N, d] by cosine score."""
    a = a * lax.rsqrt(jnp.sum(a * a, axis=1, keepdims=True) + 1e-12)
    b = b * lax.rsqrt(jnp.sum(b * b, axis=1, keepdims=True) + 1e-12)
    logits = (a @ b.T) / 0.1
    return -jnp.mean(jnp.diagonal(_log_softmax(logits)))
