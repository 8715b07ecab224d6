"""Image processing on float images: grayscale conversion with Sobel gradient magnitude,
bilinear 2x upsampling (jax.image.resize), a 3x3 median filter built from a sort of the nine
neighbours, and box filtering through a summed-area table (2-D cumulative sum)."""

import jax
import jax.numpy as jnp


def sobel_magnitude(img):
    """Luma of img[N, H, W, 3] followed by the Sobel gradient magnitude (valid region)."""
    g = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    gx = (g[:, :-2, 2:] + 2 * g[:, 1:-1, 2:] + g[:, 2:, 2:]
          - g[:, :-2, :-2] - 2 * g[:, 1:-1, :-2] - g[:, 2:, :-2])
    gy = (g[:, 2:, :-2] + 2 * g[:, 2:, 1:-1] + g[:, 2:, 2:]
          - g[:, :-2, :-2] - 2 * g[:, :-2, 1:-1] - g[:, :-2, 2:])
    return jnp.sqrt(gx * gx + gy * gy + 1e-6)


def bilinear_upsample2x(img):
    """Bilinear 2x upsampling of img[N, H, W, C] with jax.image.resize."""
    n, h, w, c = img.shape
    return jax.image.resize(img, (n, 2 * h, 2 * w, c), "bilinear")


def median_filter3x3(img):
    """3x3 median filter of img[N, H, W] (valid region): sort of the nine shifted neighbours."""
    h, w = img.shape[1] - 2, img.shape[2] - 2
    stack = jnp.stack([img[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=-1)
    return jnp.sort(stack, axis=-1)[..., 4]


def box_filter_integral(img):
    """5x5 box filter of img[N, H, W] (valid region) through a summed-area table."""
    s = jnp.cumsum(jnp.cumsum(img, axis=1), axis=2)
    s = jnp.pad(s, ((0, 0), (1, 0), (1, 0)))
    return (s[:, 5:, 5:] - s[:, :-5, 5:] - s[:, 5:, :-5] + s[:, :-5, :-5]) / 25.0
