"""Closed-form (and one Monte Carlo) true mutual informations, in nats. Pure functions."""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.special import digamma, gammaln, logsumexp


def _check_split(matrix: np.ndarray, dim_x: int, name: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {matrix.shape}")
    if not 1 <= dim_x < matrix.shape[0]:
        raise ValueError(
            f"dim_x: expected an integer in [1, {matrix.shape[0] - 1}], got {dim_x}"
        )
    return matrix


def _logdet_pd(matrix: np.ndarray, name: str) -> float:
    sign, logdet = np.linalg.slogdet(matrix)
    if sign <= 0:
        raise ValueError(f"{name}: expected a positive-definite matrix")
    return float(logdet)


def gaussian_mi(covariance: np.ndarray, dim_x: int) -> float:
    """I(X; Y) for (X, Y) ~ N(mu, covariance), X the first ``dim_x`` coordinates.

    ``1/2 (log det Sigma_xx + log det Sigma_yy - log det Sigma)``.
    """
    cov = _check_split(covariance, dim_x, "covariance")
    logdet_x = _logdet_pd(cov[:dim_x, :dim_x], "covariance")
    logdet_y = _logdet_pd(cov[dim_x:, dim_x:], "covariance")
    logdet_xy = _logdet_pd(cov, "covariance")
    return 0.5 * (logdet_x + logdet_y - logdet_xy)


def student_t_entropy(dim: int, df: float) -> float:
    """Differential entropy of the standard multivariate Student-t t_df(0, I_dim).

    Arellano-Valle, Contreras-Reyes and Genton (2013), Eq. (7):
    ``log G(df/2) - log G((df+dim)/2) + dim/2 log(df pi)
    + (df+dim)/2 [psi((df+dim)/2) - psi(df/2)]``.
    """
    half_sum = 0.5 * (df + dim)
    return float(
        gammaln(0.5 * df)
        - gammaln(half_sum)
        + 0.5 * dim * np.log(df * np.pi)
        + half_sum * (digamma(half_sum) - digamma(0.5 * df))
    )


def student_t_mi_correction(dim_x: int, dim_y: int, df: float) -> float:
    """The non-Gaussian part of the Student-t MI: h(t_x) + h(t_y) - h(t_xy) for identity
    dispersion. It depends on the dimensions and ``df`` only (Czyz et al. 2023, Beyond
    Normal, Appendix on the multivariate Student distribution); it is positive and tends to
    0 as ``df`` grows."""
    return (
        student_t_entropy(dim_x, df)
        + student_t_entropy(dim_y, df)
        - student_t_entropy(dim_x + dim_y, df)
    )


def student_t_mi(dispersion: np.ndarray, dim_x: int, df: float) -> float:
    """I(X; Y) for a multivariate Student-t with dispersion (not covariance) matrix
    ``dispersion`` and ``df`` degrees of freedom: the Gaussian MI of the dispersion plus the
    correction :func:`student_t_mi_correction`."""
    disp = _check_split(dispersion, dim_x, "dispersion")
    if not df > 0:
        raise ValueError(f"df: expected a positive number, got {df}")
    dim_y = disp.shape[0] - dim_x
    return gaussian_mi(disp, dim_x) + student_t_mi_correction(dim_x, dim_y, df)


def additive_uniform_mi(epsilon: float) -> float:
    """I(X; X + N) for X ~ U(0, 1), N ~ U(-epsilon, epsilon).

    ``epsilon - log(2 epsilon)`` for epsilon <= 1/2 and ``1/(4 epsilon)`` otherwise
    (h(Y) - h(N) with the trapezoidal density of Y).
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon: expected a positive number, got {epsilon}")
    if epsilon <= 0.5:
        return float(epsilon - np.log(2.0 * epsilon))
    return float(0.25 / epsilon)


def label_posterior_log(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """log p(y = k | x) for y uniform on K labels and x | y = k ~ N(means[k], I).

    Shapes: x (n, d), means (K, d) -> (n, K).
    """
    # -1/2 ||x - mu_k||^2 up to a term constant in k
    logits = x @ means.T - 0.5 * np.sum(means**2, axis=1)
    return logits - logsumexp(logits, axis=1, keepdims=True)


def gaussian_label_mi_monte_carlo(
    means: np.ndarray, n_samples: int, seed: int, chunk_size: int = 2**16
) -> Tuple[float, float]:
    """Monte Carlo I(X; Y) for Y uniform on K labels and X | Y = k ~ N(means[k], I).

    Uses the Rao-Blackwellised form ``I = log K - E_x[H(Y | X = x)]`` with the exact
    posterior, averaged over ``n_samples`` draws of x from the mixture; deterministic for a
    given ``seed``. With logits l_k = log p(x | k) + const, m = max_k l_k and
    e_k = exp(l_k - m): ``-H(Y | x) = sum_k e_k l_k / sum_k e_k - m - log sum_k e_k``.

    Returns:
        (mi, stderr): the estimate and its Monte Carlo standard error.
    """
    means = np.asarray(means, dtype=np.float64)
    n_classes, dim = means.shape
    offsets = 0.5 * np.sum(means**2, axis=1)
    rng = np.random.default_rng(seed)
    values = np.empty(n_samples)
    for start in range(0, n_samples, chunk_size):
        m = min(chunk_size, n_samples - start)
        labels = rng.integers(n_classes, size=m)
        x = means[labels] + rng.standard_normal((m, dim))
        logits = x @ means.T - offsets
        top = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - top)
        total = e.sum(axis=1)
        neg_entropy = np.einsum("ij,ij->i", e, logits) / total - top[:, 0] - np.log(total)
        values[start : start + m] = np.log(n_classes) + neg_entropy
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n_samples))
