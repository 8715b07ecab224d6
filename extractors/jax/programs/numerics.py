"""Numerical kernels: matrix-product chains, centered Gram matrices, pairwise distances,
Jacobi relaxation of the Laplace equation under lax.fori_loop, Horner polynomial evaluation,
power iteration, conjugate gradient on a symmetric positive definite system, an RK4
integrator for the Van der Pol oscillator, softened N-body accelerations, Mandelbrot escape
counts and an FFT power spectrum.  Iteration counts are constants; inputs are squashed where
needed so that every iteration stays finite."""

import jax.numpy as jnp
from jax import lax


def matmul_chain(a, b, c, d):
    """Chain of three matrix products ((a @ b) @ c) @ d, fan-in scaled."""
    ab = (a @ b) * lax.rsqrt(jnp.float32(a.shape[1]))
    abc = (ab @ c) * lax.rsqrt(jnp.float32(b.shape[1]))
    return (abc @ d) * lax.rsqrt(jnp.float32(c.shape[1]))


def centered_gram(x):
    """Doubly centered Gram matrix H (x x^T / d) H of the rows of x[N, d]."""
    k = (x @ x.T) / x.shape[1]
    k = k - jnp.mean(k, axis=0, keepdims=True)
    return k - jnp.mean(k, axis=1, keepdims=True)


def pairwise_sq_distances(x, y):
    """Squared Euclidean distances between the rows of x[N, d] and y[M, d]."""
    d2 = jnp.sum(x * x, axis=1)[:, None] - 2.0 * (x @ y.T) + jnp.sum(y * y, axis=1)[None, :]
    return jnp.maximum(d2, 0.0)


def jacobi_laplace_2d(u):
    """40 Jacobi sweeps of the 5-point Laplace stencil on u[H, W] with fixed boundary values."""
    def sweep(_, v):
        inner = 0.25 * (v[:-2, 1:-1] + v[2:, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:])
        return v.at[1:-1, 1:-1].set(inner)
    return lax.fori_loop(0, 40, sweep, u)


def horner_poly(coeffs, x):
    """Evaluate the polynomial with coefficients coeffs[K] (highest first) at tanh(x) by Horner."""
    t = jnp.tanh(x)

    def step(i, acc):
        return acc * t + coeffs[i]
    return lax.fori_loop(0, coeffs.shape[0], step, jnp.zeros_like(t))


def power_iteration(a):
    """50 power-iteration steps on the PSD matrix a a^T / n; returns lambda * v for the top pair."""
    m = (a @ a.T) / a.shape[1]

    def step(_, v):
        w = m @ v
        return w * lax.rsqrt(jnp.sum(w * w) + 1e-30)
    v = lax.fori_loop(0, 50, step, jnp.ones((m.shape[0],), a.dtype) * lax.rsqrt(jnp.float32(m.shape[0])))
    return (v @ m @ v) * v


def conjugate_gradient(a, b):
    """24 conjugate-gradient iterations solving (a a^T / n + I) x = b[n, k] for k right-hand sides."""
    m = (a @ a.T) / a.shape[1] + jnp.eye(a.shape[0], dtype=a.dtype)

    def step(_, state):
        x, r, p, rr = state
        mp = m @ p
        alpha = rr / (jnp.sum(p * mp, axis=0) + 1e-30)
        x = x + alpha * p
        r = r - alpha * mp
        rr_new = jnp.sum(r * r, axis=0)
        p = r + (rr_new / (rr + 1e-30)) * p
        return x, r, p, rr_new
    x0 = jnp.zeros_like(b)
    return lax.fori_loop(0, 24, step, (x0, b, b, jnp.sum(b * b, axis=0)))[0]


def rk4_van_der_pol(x, v):
    """200 RK4 steps (dt 0.01) of the Van der Pol oscillator (mu 1.5) for states (tanh x, tanh v)."""
    mu, dt = 1.5, 0.01

    def f(s):
        p, q = s
        return q, mu * (1.0 - p * p) * q - p

    def step(_, s):
        k1 = f(s)
        k2 = f((s[0] + 0.5 * dt * k1[0], s[1] + 0.5 * dt * k1[1]))
        k3 = f((s[0] + 0.5 * dt * k2[0], s[1] + 0.5 * dt * k2[1]))
        k4 = f((s[0] + dt * k3[0], s[1] + dt * k3[1]))
        return (s[0] + dt / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                s[1] + dt / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))
    p, q = lax.fori_loop(0, 200, step, (jnp.tanh(x), jnp.tanh(v)))
    return jnp.stack([p, q])


def nbody_accelerations(pos, mass):
    """Softened gravitational accelerations on bodies pos[N, 3] with masses |mass[N]|."""
    d = pos[None, :, :] - pos[:, None, :]
    r2 = jnp.sum(d * d, axis=-1) + 0.05
    inv3 = lax.rsqrt(r2) / r2
    return jnp.einsum("ij,ijk->ik", inv3 * jnp.abs(mass)[None, :], d)


def mandelbrot_escape(cr, ci):
    """Escape-time counts (up to 64 iterations) of z <- z^2 + c for c = cr + i ci."""
    def step(_, s):
        zr, zi, n = s
        alive = zr * zr + zi * zi < 4.0
        nzr = zr * zr - zi * zi + cr
        nzi = 2.0 * zr * zi + ci
        return (jnp.where(alive, nzr, zr), jnp.where(alive, nzi, zi),
                n + alive.astype(jnp.float32))
    z = jnp.zeros_like(cr)
    return lax.fori_loop(0, 64, step, (z, z, z))[2]


def fft_power_spectrum(x):
    """Power spectrum |rfft(x)|^2 / n of every row of x[B, N], after a Hann window."""
    n = x.shape[-1]
    win = 0.5 - 0.5 * jnp.cos(2.0 * jnp.pi * jnp.arange(n, dtype=jnp.float32) / n)
    f = jnp.fft.rfft(x * win, axis=-1)
    return (jnp.real(f) ** 2 + jnp.imag(f) ** 2) / n
