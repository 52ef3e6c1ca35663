"""Closed-form (and one Monte Carlo) true information quantities, in nats. Pure functions.

Mutual information (``gaussian_mi``, ``student_t_mi``, ``additive_uniform_mi``, the
Monte Carlo ``gaussian_label_mi_monte_carlo`` and ``gaussian_mixture_mi_monte_carlo``), pointwise MI of a Gaussian
(``gaussian_pointwise_mi``), conditional MI (``gaussian_cmi``, ``student_t_cmi``) and
differential entropy (``gaussian_entropy``, ``student_t_entropy``,
``student_t_entropy_dispersion``, ``uniform_box_entropy``) plus the expectations that
turn an entropy into the entropy of a coordinatewise transform
(``gaussian_expected_log_abs``, ``gaussian_expected_log_derivative``).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.special import digamma, gammaln, logsumexp

EULER_GAMMA = 0.57721566490153286061


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


def gaussian_mixture_logpdf(
    v: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """log of the mixture density ``sum_k w_k N(v; means[k], covariances[k])`` per row.

    Shapes: v (n, d), weights (K,), means (K, d), covariances (K, d, d) -> (n,).
    """
    v = np.asarray(v, dtype=np.float64)
    terms = np.empty((v.shape[0], len(weights)))
    for k, (w, mean, cov) in enumerate(zip(weights, means, covariances)):
        terms[:, k] = np.log(w) + _gaussian_logpdf_zero_mean(v - mean, cov)
    return logsumexp(terms, axis=1)


def gaussian_mixture_pointwise_mi(
    x: np.ndarray, y: np.ndarray, weights, means, covariances
) -> np.ndarray:
    """``log p(x, y) - log p(x) - log p(y)`` per row for (X, Y) drawn from a Gaussian
    mixture over the concatenated (x, y); the marginals are the mixtures of the
    components' marginal Gaussians (same weights). Shapes: x (n, dim_x), y (n, dim_y),
    means (K, dim_x + dim_y), covariances (K, dim_x + dim_y, dim_x + dim_y) -> (n,)."""
    dx = x.shape[1]
    means = np.asarray(means, dtype=np.float64)
    covs = np.asarray(covariances, dtype=np.float64)
    joint = gaussian_mixture_logpdf(np.hstack([x, y]), weights, means, covs)
    px = gaussian_mixture_logpdf(x, weights, means[:, :dx], covs[:, :dx, :dx])
    py = gaussian_mixture_logpdf(y, weights, means[:, dx:], covs[:, dx:, dx:])
    return joint - px - py


def sample_gaussian_mixture(n: int, rng: np.random.Generator, weights, means, choleskys):
    """n draws (n, d) of the Gaussian mixture given by weights (K,), means (K, d) and the
    Cholesky factors (K, d, d) of its covariances."""
    labels = rng.choice(len(weights), size=n, p=np.asarray(weights))
    noise = rng.standard_normal((n, means.shape[1]))
    return means[labels] + np.einsum("nij,nj->ni", choleskys[labels], noise)


def gaussian_mixture_mi_monte_carlo(
    weights, means, covariances, dim_x: int, n_samples: int, seed: int,
    chunk_size: int = 2**15,
) -> Tuple[float, float]:
    """Monte Carlo I(X; Y) of a Gaussian mixture over (x, y), x the first ``dim_x``
    coordinates: the mean of :func:`gaussian_mixture_pointwise_mi` over ``n_samples``
    draws of the mixture (exact densities; deterministic for a given ``seed``).

    Returns:
        (mi, stderr): the estimate and its Monte Carlo standard error.
    """
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covs = np.asarray(covariances, dtype=np.float64)
    chols = np.linalg.cholesky(covs)
    rng = np.random.default_rng(seed)
    values = np.empty(n_samples)
    for start in range(0, n_samples, chunk_size):
        m = min(chunk_size, n_samples - start)
        v = sample_gaussian_mixture(m, rng, weights, means, chols)
        values[start:start + m] = gaussian_mixture_pointwise_mi(
            v[:, :dim_x], v[:, dim_x:], weights, means, covs)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(n_samples))


# ----------------------------------------------------------------- conditional MI


def _check_split3(matrix: np.ndarray, dim_x: int, dim_y: int, name: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    if isinstance(dim_x, bool) or not isinstance(dim_x, (int, np.integer)) or dim_x < 1:
        raise ValueError(f"dim_x: expected a positive integer, got {dim_x!r}")
    if isinstance(dim_y, bool) or not isinstance(dim_y, (int, np.integer)) or dim_y < 1:
        raise ValueError(f"dim_y: expected a positive integer, got {dim_y!r}")
    if dim_x + dim_y > n:
        raise ValueError(
            f"dim_x, dim_y: expected dim_x + dim_y <= {n} (the size of {name}), "
            f"got {dim_x} + {dim_y}"
        )
    return matrix


def gaussian_cmi(covariance: np.ndarray, dim_x: int, dim_y: int) -> float:
    """I(X; Y | Z) for (X, Y, Z) ~ N(mu, covariance) in the order (x, y, z): X the first
    ``dim_x`` coordinates, Y the next ``dim_y``, Z the rest (possibly none, then I(X; Y)).

    ``1/2 [log det Sigma_{x|z} - log det Sigma_{x|yz}]``, computed with Schur complements
    as ``1/2 (log det Sigma_xz + log det Sigma_yz - log det Sigma_z - log det Sigma)``.
    """
    cov = _check_split3(covariance, dim_x, dim_y, "covariance")
    ix = np.arange(dim_x)
    iy = np.arange(dim_x, dim_x + dim_y)
    iz = np.arange(dim_x + dim_y, cov.shape[0])
    xz, yz = np.concatenate([ix, iz]), np.concatenate([iy, iz])
    logdet_xz = _logdet_pd(cov[np.ix_(xz, xz)], "covariance")
    logdet_yz = _logdet_pd(cov[np.ix_(yz, yz)], "covariance")
    logdet_z = _logdet_pd(cov[np.ix_(iz, iz)], "covariance") if iz.size else 0.0
    logdet = _logdet_pd(cov, "covariance")
    return 0.5 * (logdet_xz + logdet_yz - logdet_z - logdet)


def student_t_cmi(dispersion: np.ndarray, dim_x: int, dim_y: int, df: float) -> float:
    """I(X; Y | Z) for a multivariate Student-t (X, Y, Z) with dispersion matrix
    ``dispersion`` (order x, y, z; dim_z >= 1) and ``df`` degrees of freedom.

    Every marginal of a multivariate t is a t with the same ``df`` and the sub-matrix as
    dispersion, so by the chain rule I(X; Y | Z) = I(X; (Y, Z)) - I(X; Z), each an exact
    :func:`student_t_mi`:
    ``gaussian_cmi(dispersion) + c(dim_x, dim_y + dim_z, df) - c(dim_x, dim_z, df)``
    with c = :func:`student_t_mi_correction`.
    """
    disp = _check_split3(dispersion, dim_x, dim_y, "dispersion")
    dim_z = disp.shape[0] - dim_x - dim_y
    if dim_z < 1:
        raise ValueError("dispersion: expected at least one z coordinate after x and y")
    if not df > 0:
        raise ValueError(f"df: expected a positive number, got {df}")
    return (
        gaussian_cmi(disp, dim_x, dim_y)
        + student_t_mi_correction(dim_x, dim_y + dim_z, df)
        - student_t_mi_correction(dim_x, dim_z, df)
    )


# ------------------------------------------------------------------- pointwise MI


def _gaussian_logpdf_zero_mean(v: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(v; 0, cov) per row; v (n, d) -> (n,)."""
    chol = np.linalg.cholesky(cov)
    white = np.linalg.solve(chol, v.T)  # (d, n)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    d = cov.shape[0]
    return -0.5 * (np.sum(white**2, axis=0) + logdet + d * np.log(2.0 * np.pi))


def gaussian_pointwise_mi(
    covariance: np.ndarray, dim_x: int, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Pointwise MI ``i(x; y) = log p(x | y) - log p(x)`` of (X, Y) ~ N(0, covariance).

    ``log N(x; B y, Sigma_{x|y}) - log N(x; 0, Sigma_x)`` with
    ``B = Sigma_xy Sigma_yy^{-1}`` and ``Sigma_{x|y} = Sigma_xx - B Sigma_yx`` (zero means).
    Its mean over draws of (X, Y) is :func:`gaussian_mi`.

    Shapes: covariance (dim_x + dim_y, dim_x + dim_y), x (n, dim_x), y (n, dim_y) -> (n,).
    """
    cov = _check_split(covariance, dim_x, "covariance")
    dim_y = cov.shape[0] - dim_x
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim_x:
        raise ValueError(f"x: expected shape (n, {dim_x}), got {x.shape}")
    if y.ndim != 2 or y.shape[1] != dim_y or y.shape[0] != x.shape[0]:
        raise ValueError(f"y: expected shape ({x.shape[0]}, {dim_y}), got {y.shape}")
    _logdet_pd(cov, "covariance")
    sxx, sxy, syy = cov[:dim_x, :dim_x], cov[:dim_x, dim_x:], cov[dim_x:, dim_x:]
    b = np.linalg.solve(syy, sxy.T).T  # Sigma_xy Sigma_yy^{-1}, (dim_x, dim_y)
    cond = sxx - b @ sxy.T
    cond = 0.5 * (cond + cond.T)
    return _gaussian_logpdf_zero_mean(x - y @ b.T, cond) - _gaussian_logpdf_zero_mean(x, sxx)


# ------------------------------------------------------------------------ entropy


def gaussian_entropy(covariance: np.ndarray) -> float:
    """h(X) for X ~ N(mu, covariance): ``1/2 log det(2 pi e Sigma)``."""
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] < 1:
        raise ValueError(f"covariance: expected a square matrix, got shape {cov.shape}")
    d = cov.shape[0]
    return 0.5 * (d * np.log(2.0 * np.pi * np.e) + _logdet_pd(cov, "covariance"))


def student_t_entropy_dispersion(dispersion: np.ndarray, df: float) -> float:
    """h(X) for a multivariate Student-t with dispersion ``dispersion`` and ``df`` degrees
    of freedom: :func:`student_t_entropy` ``(dim, df) + 1/2 log det dispersion``."""
    disp = np.asarray(dispersion, dtype=np.float64)
    if disp.ndim != 2 or disp.shape[0] != disp.shape[1] or disp.shape[0] < 1:
        raise ValueError(f"dispersion: expected a square matrix, got shape {disp.shape}")
    if not df > 0:
        raise ValueError(f"df: expected a positive number, got {df}")
    return student_t_entropy(disp.shape[0], df) + 0.5 * _logdet_pd(disp, "dispersion")


def uniform_box_entropy(widths) -> float:
    """h(X) for X uniform on a box with side lengths ``widths``: ``sum log widths``."""
    widths = np.asarray(widths, dtype=np.float64)
    if widths.ndim != 1 or widths.size < 1 or not np.all(widths > 0):
        raise ValueError(f"widths: expected a non-empty 1-D array of positive numbers, "
                         f"got {widths!r}")
    return float(np.sum(np.log(widths)))


def gaussian_expected_log_abs(std) -> np.ndarray:
    """E log|G| for G ~ N(0, std^2), elementwise: ``log std - (gamma + log 2) / 2``
    (gamma the Euler-Mascheroni constant)."""
    std = np.asarray(std, dtype=np.float64)
    if not np.all(std > 0):
        raise ValueError(f"std: expected positive numbers, got {std!r}")
    return np.log(std) - 0.5 * (EULER_GAMMA + np.log(2.0))


def gaussian_expected_log_derivative(name: str, mean, std) -> np.ndarray:
    """E log|f'(G)| for G ~ N(mean, std^2), elementwise, for the coordinatewise maps f
    whose expectation has a closed form. Then h(f(X)) = h(X) + sum over columns.

    * ``"half_cube"``  f(x) = x |x|^{1/2}, f' = 3/2 |x|^{1/2}:
      ``log 3/2 + 1/2 E log|G|`` (needs mean 0; see :func:`gaussian_expected_log_abs`).
    * ``"exp"``        f' = exp(x): ``mean`` (the log-normal).
    * ``"normal_cdf"`` f' = phi(x): ``-1/2 log(2 pi) - (std^2 + mean^2) / 2``.
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    if not np.all(std > 0):
        raise ValueError(f"std: expected positive numbers, got {std!r}")
    if name == "half_cube":
        if np.any(mean != 0):
            raise ValueError("mean: the half_cube expectation is closed-form only for mean 0")
        return np.log(1.5) + 0.5 * gaussian_expected_log_abs(std) + 0.0 * mean
    if name == "exp":
        return mean + 0.0 * std
    if name == "normal_cdf":
        return -0.5 * np.log(2.0 * np.pi) - 0.5 * (std**2 + mean**2)
    raise ValueError(f"name: expected 'half_cube', 'exp' or 'normal_cdf', got {name!r}")
