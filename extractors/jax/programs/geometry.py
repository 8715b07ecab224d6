"""Geometry and graphics: point-cloud transforms, nearest neighbours, ray-sphere intersection,
barycentric coordinates, bounding boxes, quaternion rotation, chamfer distance and a soft
rasterizer.  Points are float arrays ``[N, 3]`` (or ``[N, 2]``), any values."""

import jax.numpy as jnp


def rigid_transform(points, rotation, shift):
    """points[N, 3] @ R^T + t, with R orthonormalized from rotation[3, 3] (Gram-Schmidt)."""
    a, b = rotation[0], rotation[1]
    e1 = a / (jnp.linalg.norm(a) + 1e-6)
    b = b - jnp.dot(e1, b) * e1
    e2 = b / (jnp.linalg.norm(b) + 1e-6)
    r = jnp.stack([e1, e2, jnp.cross(e1, e2)])
    return points @ r.T + shift


def nearest_neighbor_dist(a, b):
    """Distance from every point of a[N, D] to its nearest point of b[M, D]."""
    d2 = jnp.sum(a * a, 1)[:, None] - 2.0 * a @ b.T + jnp.sum(b * b, 1)[None, :]
    return jnp.sqrt(jnp.maximum(jnp.min(d2, axis=1), 0.0))


def chamfer_distance(a, b):
    """Symmetric chamfer distance between point sets a[N, D] and b[M, D]."""
    d2 = jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
    return jnp.mean(jnp.min(d2, axis=1)) + jnp.mean(jnp.min(d2, axis=0))


def ray_sphere_hits(origins, dirs, spheres):
    """Nearest hit distance of rays (origins, dirs [R, 3]) against spheres[S, 4] (centre, radius);
    1e9 where a ray hits nothing."""
    d = dirs / (jnp.linalg.norm(dirs, axis=1, keepdims=True) + 1e-6)
    oc = origins[:, None, :] - spheres[None, :, :3]
    b = jnp.sum(oc * d[:, None, :], axis=-1)
    c = jnp.sum(oc * oc, axis=-1) - spheres[None, :, 3] ** 2
    disc = b * b - c
    t = -b - jnp.sqrt(jnp.maximum(disc, 0.0))
    t = jnp.where((disc > 0) & (t > 0), t, 1e9)
    return jnp.min(t, axis=1)


def barycentric_coords(p, tri):
    """Barycentric coordinates of points p[N, 2] in every triangle tri[T, 3, 2]: [N, T, 3]."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1 = b - a, c - a
    v2 = p[:, None, :] - a[None]
    d00 = jnp.sum(v0 * v0, -1)
    d01 = jnp.sum(v0 * v1, -1)
    d11 = jnp.sum(v1 * v1, -1)
    d20 = jnp.sum(v2 * v0[None], -1)
    d21 = jnp.sum(v2 * v1[None], -1)
    den = d00 * d11 - d01 * d01 + 1e-6
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    return jnp.stack([1.0 - v - w, v, w], axis=-1)


def bounding_boxes(points):
    """Per-cloud axis-aligned bounding box and centroid of points[B, N, 3]: [B, 9]."""
    return jnp.concatenate([jnp.min(points, 1), jnp.max(points, 1), jnp.mean(points, 1)], axis=-1)


def quaternion_rotate(q, v):
    """Rotate vectors v[N, 3] by unit quaternions q[N, 4] (normalized here)."""
    q = q / (jnp.linalg.norm(q, axis=1, keepdims=True) + 1e-6)
    w, u = q[:, :1], q[:, 1:]
    t = 2.0 * jnp.cross(u, v)
    return v + w * t + jnp.cross(u, t)


def soft_rasterize(centers, image):
    """Splat Gaussian blobs at centers[K, 2] (in [-1, 1]) onto an image[H, W] grid and blend."""
    h, w = image.shape
    ys = jnp.linspace(-1.0, 1.0, h)[:, None, None]
    xs = jnp.linspace(-1.0, 1.0, w)[None, :, None]
    d2 = (ys - centers[None, None, :, 1]) ** 2 + (xs - centers[None, None, :, 0]) ** 2
    return 0.5 * image + jnp.sum(jnp.exp(-d2 * 200.0), axis=-1)
