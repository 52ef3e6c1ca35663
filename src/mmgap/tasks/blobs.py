"""Images with known mutual information: Gaussian latents rendered as blob images.

``blob_images(size, n_latent, mi)`` -> task ``blobs-{size}-{n_latent}-{mi}``. Latents U, V in
R^m (m = ``n_latent`` in 2..4) are unit-variance normals whose m pairs (U_i, V_i) share one
correlation, with ``I(U; V) = mi`` split evenly over the pairs. Each latent vector is drawn
as a ``size`` x ``size`` image of one Gaussian blob,

    I(p) = A exp(-|p - c|^2 / (2 s^2)),   p the integer pixel coordinates (row, column),

whose centre, width and brightness encode the latent coordinate by coordinate:
``c_row = margin + span Phi(u_0)``, ``c_col = margin + span Phi(u_1)`` (``margin`` = size/8,
``span`` = size - 1 - 2 margin), ``s = S_MIN + S_RANGE Phi(u_2)`` (pixels) when m >= 3 and
``A = A_MIN + A_RANGE Phi(u_3)`` when m = 4 (otherwise s = S_MIN + S_RANGE / 2, A = 1).
x is the image of U and y the image of V; both are flattened to (n, size * size) by
``sample`` and carry ``x_shape = y_shape = (size, size)``.

**Why the images' MI is the latents' MI.** The map u -> image is injective: every pixel is
positive, so log I(p) = log A - |p - c|^2 / (2 s^2) is a quadratic in p whose second
difference along a row is -1/s^2 (gives s), whose first difference then gives the row and
column of c, and whose value at one pixel then gives A. So (A, c, s) is a function of the
image, and (A, c, s) determine u because Phi is strictly increasing. For injective maps f
and g with measurable inverses on their images, I(f(U); g(V)) = I(U; V). Hence
``truth = mi`` exactly (the pixels are a smooth embedding of an m-dimensional manifold in
R^(size^2); the density lives on that manifold, the MI does not change).

The family follows the idea of Butakov et al. (MIENF, NeurIPS 2024; InfoBridge, ICLR 2026):
low-dimensional correlated latents pushed into images by an injective map.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import ndtr

from mmgap.tasks.families import _check_dim, _check_positive, pair_correlation
from mmgap.tasks.task import Task

S_MIN, S_RANGE = 1.0, 1.5  # blob width in pixels: 1.0 .. 2.5
A_MIN, A_RANGE = 0.5, 1.0  # brightness 0.5 .. 1.5
MAX_IMAGE_PAIR_MI = 6.0  # per latent pair: conditional sd exp(-6) = 0.0025 in latent units


def render_blobs(latent: np.ndarray, size: int) -> np.ndarray:
    """Images (n, size, size) of the blobs that encode ``latent`` (n, m), m in 2..4."""
    latent = np.asarray(latent, dtype=np.float64)
    n, m = latent.shape
    margin = size / 8.0
    span = size - 1 - 2.0 * margin
    u = ndtr(latent)  # Phi, strictly increasing
    c_row = margin + span * u[:, 0]
    c_col = margin + span * u[:, 1]
    s = S_MIN + S_RANGE * (u[:, 2] if m >= 3 else np.full(n, 0.5))
    a = A_MIN + A_RANGE * u[:, 3] if m >= 4 else np.ones(n)
    grid = np.arange(size, dtype=np.float64)
    rows = np.exp(-((grid[None, :] - c_row[:, None]) ** 2) / (2.0 * s[:, None] ** 2))
    cols = np.exp(-((grid[None, :] - c_col[:, None]) ** 2) / (2.0 * s[:, None] ** 2))
    return a[:, None, None] * rows[:, :, None] * cols[:, None, :]


def _sample(n, rng, size, n_latent, rho):
    u = rng.standard_normal((n, n_latent))
    v = rho * u + np.sqrt(1.0 - rho**2) * rng.standard_normal((n, n_latent))
    return (render_blobs(u, size).reshape(n, -1), render_blobs(v, size).reshape(n, -1))


def blob_images(size: int = 16, n_latent: int = 2, mi: float = 2.0) -> Task:
    """``blobs-{size}-{n_latent}-{mi}``: a pair of blob images whose MI is ``mi`` nats
    (see the module docstring for the construction and the proof that the MI is kept)."""
    size = _check_dim(size, "size")
    if size < 8:
        raise ValueError(f"size: expected at least 8 pixels, got {size}")
    n_latent = _check_dim(n_latent, "n_latent")
    if not 2 <= n_latent <= 4:
        raise ValueError(f"n_latent: expected 2, 3 or 4, got {n_latent}")
    mi = _check_positive(mi, "mi")
    if mi / n_latent > MAX_IMAGE_PAIR_MI:
        raise ValueError(f"mi: expected at most {MAX_IMAGE_PAIR_MI} nats per latent pair "
                         f"({MAX_IMAGE_PAIR_MI * n_latent} for {n_latent}), got {mi!r}")
    rho = pair_correlation(mi / n_latent)
    return Task(
        id=f"blobs-{size}-{n_latent}-{mi}",
        dim_x=size * size,
        dim_y=size * size,
        mutual_information=mi,
        sampler=functools.partial(_sample, size=size, n_latent=n_latent, rho=rho),
        params={"family": "blobs", "size": size, "n_latent": n_latent, "mi": mi,
                "correlation": rho},
        name=f"Blob images {size}x{size} ({n_latent} latents)",
        x_shape=(size, size),
        y_shape=(size, size),
    )
