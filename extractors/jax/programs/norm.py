"""Normalization layers: layer norm with affine parameters, RMS norm, batch norm in training
mode (statistics computed over the batch axis) and group norm on NHWC images.  Epsilons are
constants inside each function so outputs stay finite."""

import jax.numpy as jnp
from jax import lax


def layer_norm(x, gamma, beta):
    """Layer normalization over the last axis with scale gamma and shift beta."""
    m = jnp.mean(x, axis=-1, keepdims=True)
    v = jnp.mean(jnp.square(x - m), axis=-1, keepdims=True)
    return (x - m) * lax.rsqrt(v + 1e-5) * gamma + beta


def rms_norm(x, gamma):
    """RMS normalization over the last axis with a learned scale."""
    return x * lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + 1e-6) * gamma


def batch_norm_train(x, gamma, beta):
    """Batch normalization of x[N, C] using the batch mean and variance of each feature."""
    m = jnp.mean(x, axis=0)
    v = jnp.var(x, axis=0)
    return (x - m) * lax.rsqrt(v + 1e-5) * gamma + beta


def group_norm(x, gamma, beta):
    """Group normalization of x[N, H, W, C] with 8 channel groups and per-channel affine."""
    n, h, w, c = x.shape
    g = x.reshape(n, h, w, 8, c // 8)
    m = jnp.mean(g, axis=(1, 2, 4), keepdims=True)
    v = jnp.mean(jnp.square(g - m), axis=(1, 2, 4), keepdims=True)
    g = (g - m) * lax.rsqrt(v + 1e-5)
    return g.reshape(n, h, w, c) * gamma + beta
