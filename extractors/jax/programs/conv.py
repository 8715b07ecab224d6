"""Convolutions through lax.conv_general_dilated: a 2-D NHWC convolution with bias and ReLU,
a strided convolution followed by max pooling (reduce_window), a depthwise convolution, a
gated dilated causal 1-D convolution (WaveNet style), a transposed (fractionally strided)
convolution and a 3-D volumetric convolution.  Filters are scaled by 1/sqrt(fan_in)."""

import jax.numpy as jnp
from jax import lax

_NHWC = ("NHWC", "HWIO", "NHWC")


def _fan_scale(w):
    fan_in = 1
    for d in w.shape[:-1]:
        fan_in *= d
    return lax.rsqrt(jnp.float32(fan_in))


def conv2d_bias_relu(x, w, b):
    """3x3 'SAME' NHWC convolution x[N,H,W,C] * w[KH,KW,C,O] plus bias, then ReLU."""
    y = lax.conv_general_dilated(x, w * _fan_scale(w), (1, 1), "SAME", dimension_numbers=_NHWC)
    return jnp.maximum(y + b, 0.0)


def conv2d_stride2_maxpool(x, w):
    """Stride-2 'SAME' convolution followed by a 2x2 max pool (reduce_window)."""
    y = lax.conv_general_dilated(x, w * _fan_scale(w), (2, 2), "SAME", dimension_numbers=_NHWC)
    return lax.reduce_window(y, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def depthwise_conv2d(x, w):
    """Depthwise 3x3 convolution: one filter per channel, w[KH,KW,1,C], feature_group_count=C."""
    c = x.shape[-1]
    return lax.conv_general_dilated(x, w * _fan_scale(w), (1, 1), "SAME",
                                    dimension_numbers=_NHWC, feature_group_count=c)


def dilated_causal_conv1d(x, w_filter, w_gate):
    """Gated dilated causal 1-D convolution (dilation 4) over x[N, T, C] with tanh*sigmoid gating."""
    k = w_filter.shape[0]
    pad = ((4 * (k - 1), 0),)
    dn = ("NWC", "WIO", "NWC")
    f = lax.conv_general_dilated(x, w_filter * _fan_scale(w_filter), (1,), pad,
                                 rhs_dilation=(4,), dimension_numbers=dn)
    g = lax.conv_general_dilated(x, w_gate * _fan_scale(w_gate), (1,), pad,
                                 rhs_dilation=(4,), dimension_numbers=dn)
    return jnp.tanh(f) * (1.0 / (1.0 + jnp.exp(-g)))


def conv_transpose2d(x, w):
    """Stride-2 transposed convolution (upsampling x2) of x[N,H,W,C] with w[KH,KW,C,O]."""
    return lax.conv_transpose(x, w * _fan_scale(w), (2, 2), "SAME", dimension_numbers=_NHWC)


def conv3d(x, w):
    """3x3x3 'SAME' volumetric convolution of x[N,D,H,W,C] with w[KD,KH,KW,C,O]."""
    return lax.conv_general_dilated(x, w * _fan_scale(w), (1, 1, 1), "SAME",
                                    dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))
