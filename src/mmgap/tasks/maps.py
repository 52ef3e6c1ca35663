"""Invertible maps applied to the samples of one variable (arrays in, arrays out).

Each map takes an array of shape (n, d) and returns shape (n, d') with d' = d except
:func:`swissroll2d` (1 -> 2). They follow the definitions of the Beyond-Normal benchmark
(Czyz et al., NeurIPS 2023; package ``benchmark-mi``), re-implemented with numpy/scipy.
Every map is injective, so I(f(X); g(Y)) = I(X; Y).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import ndtr

_WIGGLY_X = ((0.4, 1.0, 0.0), (0.2, 1.7, 1.0), (0.03, 3.3, -2.5))
_WIGGLY_Y = ((-0.4, 0.4, 0.0), (0.17, 1.3, 3.5), (0.02, 4.3, -2.5))


def half_cube(x: np.ndarray) -> np.ndarray:
    """Signed power 3/2, elementwise: ``x * sqrt(|x|)``."""
    return x * np.sqrt(np.abs(x))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF, elementwise (values in (0, 1))."""
    return ndtr(x)


def asinh(x: np.ndarray) -> np.ndarray:
    """Inverse hyperbolic sine, elementwise (tames heavy tails)."""
    return np.arcsinh(x)


def _wiggle(x: np.ndarray, terms) -> np.ndarray:
    out = np.array(x, dtype=np.float64, copy=True)
    for amplitude, frequency, phase in terms:
        out += amplitude * np.sin(frequency * x + phase)
    return out


def wiggly_x(x: np.ndarray) -> np.ndarray:
    """``x + 0.4 sin(x) + 0.2 sin(1.7 x + 1) + 0.03 sin(3.3 x - 2.5)``, elementwise.

    Strictly increasing: the derivative is at least 1 - 0.4 - 0.34 - 0.099 > 0.
    """
    return _wiggle(x, _WIGGLY_X)


def wiggly_y(x: np.ndarray) -> np.ndarray:
    """``x - 0.4 sin(0.4 x) + 0.17 sin(1.3 x + 3.5) + 0.02 sin(4.3 x - 2.5)``, elementwise.

    Strictly increasing: the derivative is at least 1 - 0.16 - 0.221 - 0.086 > 0.
    """
    return _wiggle(x, _WIGGLY_Y)


def spiral(x: np.ndarray, i: int, j: int, speed: float) -> np.ndarray:
    """The spiral ``x -> exp(speed * ||x||^2 * A_ij) x`` of Beyond-Normal.

    ``A_ij`` is the canonical so(n) generator with ``A[i, j] = -1``, ``A[j, i] = 1``, so the
    matrix exponential is the rotation by the angle ``theta = speed * ||x||^2`` in the (i, j)
    coordinate plane:  x_i -> cos(theta) x_i - sin(theta) x_j,
    x_j -> sin(theta) x_i + cos(theta) x_j. Rotations keep ||x||, so the inverse is the
    rotation by -theta.

    Shapes: x (n, d) with 0 <= i < j < d -> (n, d).
    """
    x = np.asarray(x, dtype=np.float64)
    theta = speed * np.sum(x**2, axis=1)
    cos, sin = np.cos(theta), np.sin(theta)
    out = x.copy()
    out[:, i] = cos * x[:, i] - sin * x[:, j]
    out[:, j] = sin * x[:, i] + cos * x[:, j]
    return out


def swissroll2d(x: np.ndarray) -> np.ndarray:
    """Embed a 1-D variable (meant to lie in [0, 1]) as a 2-D Swiss roll.

    ``t = 1.5 pi (1 + 2 u)``, ``u -> (t cos t, t sin t) / 21``. Injective on [0, 1]
    (the radius ``t / 21`` grows with u). Shapes: (n, 1) -> (n, 2).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"x: expected shape (n, 1), got {x.shape}")
    t = 1.5 * np.pi * (1.0 + 2.0 * x[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def normal_mixture_cdf(x: np.ndarray, weights: Sequence[float], means: Sequence[float]):
    """CDF of the 1-D mixture sum_k weights[k] N(means[k], 1), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return sum(w * ndtr(x - m) for w, m in zip(weights, means))


def normal_to_mixture(
    z: np.ndarray, weights: Sequence[float], means: Sequence[float], tol: float = 1e-13
) -> np.ndarray:
    """Monotone map sending N(0, 1) to the mixture sum_k weights[k] N(means[k], 1).

    Returns ``Q(Phi(z))`` with Q the mixture quantile function, found by bisection to
    absolute precision ``tol``. For unit-variance components the quantile of level Phi(z)
    lies between ``z + min(means)`` and ``z + max(means)``, which brackets the root exactly.
    The upper tail is solved on the mirrored mixture (means -> -means, z -> -z, x -> -x),
    so the equation is always ``sum_k w_k Phi(x - m_k) = Phi(-|z|)`` and stays accurate far
    in both tails. Elementwise; any shape.
    """
    z = np.asarray(z, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    sign = np.where(z > 0, -1.0, 1.0)  # mirror the upper tail onto the lower one
    target = ndtr(-np.abs(z))
    lo = -np.abs(z) + np.where(sign > 0, means.min(), -means.max())
    hi = -np.abs(z) + np.where(sign > 0, means.max(), -means.min())
    width = max(float(means.max() - means.min()), tol)
    for _ in range(int(np.ceil(np.log2(width / tol))) + 1):
        mid = 0.5 * (lo + hi)
        cdf = sum(w * ndtr(mid - sign * m) for w, m in zip(weights, means))
        below = cdf < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return sign * 0.5 * (lo + hi)
