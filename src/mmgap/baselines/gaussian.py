"""Gaussian (canonical-correlation) MI: the MI of the Gaussian with the sample covariance.

Maths. For (X, Y) jointly Gaussian with covariance S = [[Sx, Sxy], [Syx, Sy]]::

    I = 1/2 (log det Sx + log det Sy - log det S) = -1/2 sum_i log(1 - r_i^2)

with r_i the canonical correlations (singular values of Sx^{-1/2} Sxy Sy^{-1/2}). From data
they are computed stably as the singular values of Qx^T Qy, where Qx, Qy are the thin-QR
orthonormal bases of the centred x and y (no covariance matrix is ever inverted).

What it measures. Only linear dependence: it is the true MI when (X, Y) is jointly Gaussian,
and zero whenever X and Y are uncorrelated, however dependent they are. It is a *lower bound*
on I(X;Y) when X or Y is Gaussian (marginally): e.g. for X Gaussian,
h(X|Y) <= h(X - AY) <= 1/2 log det(2 pi e Sx|y) with A the linear regression of X on Y, so
I(X;Y) >= 1/2 log(det Sx / det Sx|y), which is the Gaussian MI (Cover & Thomas max-entropy
argument; see also Pires & Perdigão, Entropy 14, 1103, 2012). It is *not* a lower bound in
general: X uniform on {-1, +1}, Y = X + small Gaussian noise has I(X;Y) <= log 2 while its
correlation tends to 1, so the Gaussian MI tends to infinity.

Standard error. Non-parametric delta method: I is a smooth function of the sample covariance,
and its influence function at point i is
``1/2 (m_x(i) + m_y(i) - m_xy(i))`` (Mahalanobis squared norms of the centred point in x, y,
and the joint space; they average to zero). ``stderr = sd(influence) / sqrt(N)``. It needs
finite fourth moments but no Gaussianity; for Gaussian data it reduces to
sqrt(sum_i r_i^2 / N). Near independence (all r_i ~ 0) it is not meaningful: there the
estimate behaves like chi^2 / (2N) with an upward bias of about dim_x * dim_y / (2N).
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Tuple

import numpy as np

from mmgap.types import MIResult, check_units
from mmgap.validation import check_xy, column_scales

from ._base import ParamsMixin, baseline_result, check_fit_dims, record_fit_dims

__all__ = ["GaussianMI", "gaussian_mi", "gaussian_mi_from_cov", "canonical_correlations",
           "estimate_gaussian"]


def _orthonormal_basis(a: np.ndarray, name: str) -> np.ndarray:
    """Thin-QR basis Q (n, d) of the centred columns of ``a``; ValueError if rank-deficient."""
    centred = a - a.mean(axis=0)
    q, r = np.linalg.qr(centred, mode="reduced")
    diag = np.abs(np.diag(r))
    tol = np.finfo(float).eps * max(a.shape) * max(float(diag.max()), np.finfo(float).tiny)
    if diag.min() <= tol:
        raise ValueError(
            f"{name}: the columns are linearly dependent or constant (the sample covariance "
            "is singular); drop redundant columns first"
        )
    return q


def _bases(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    n, dim = x.shape[0], x.shape[1] + y.shape[1]
    if n < dim + 2:
        raise ValueError(
            f"x, y: expected more than dim_x + dim_y + 1 = {dim + 1} samples for a "
            f"non-singular sample covariance, got {n}"
        )
    return _orthonormal_basis(x, "x"), _orthonormal_basis(y, "y")


def canonical_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample canonical correlations of x (n, dim_x) and y (n, dim_y), validated arrays.

    Returns shape (min(dim_x, dim_y),), descending, clipped to [0, 1].
    """
    qx, qy = _bases(x, y)
    r = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return np.clip(r, 0.0, 1.0)


def _mi_from_canonical(r: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return float(-0.5 * np.sum(np.log1p(-np.square(r))))


def gaussian_mi(x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
    """Gaussian MI (nats) of the sample covariance of x (n, dim_x), y (n, dim_y).

    Returns ``(mi, influence)``: influence has shape (n,), the per-point influence values
    (mean 0) whose sd / sqrt(n) is the delta-method standard error. ``mi`` is ``inf`` (and
    influence all NaN) when some canonical correlation is 1.
    """
    x, y = x / column_scales(x), y / column_scales(y)  # MI is scale-free; QR's tolerance is not
    qx, qy = _bases(x, y)
    r = np.clip(np.linalg.svd(qx.T @ qy, compute_uv=False), 0.0, 1.0)
    mi = _mi_from_canonical(r)
    n = x.shape[0]
    if not np.isfinite(mi):
        return mi, np.full(n, np.nan)
    try:
        qxy = _orthonormal_basis(np.hstack([x, y]), "x, y")
    except ValueError:  # joint covariance numerically singular: r == 1 up to rounding
        return float("inf"), np.full(n, np.nan)
    # Mahalanobis norm of centred row i w.r.t. the (1/n) sample covariance = n * leverage.
    lev = (np.einsum("ij,ij->i", qx, qx) + np.einsum("ij,ij->i", qy, qy)
           - np.einsum("ij,ij->i", qxy, qxy))
    return mi, 0.5 * n * lev


def gaussian_mi_from_cov(cov: Any, dim_x: int) -> float:
    """I = 1/2 (log det Sx + log det Sy - log det S) in nats for a covariance matrix.

    cov : (d, d) symmetric positive-definite; the first ``dim_x`` coordinates are X, the
    rest Y. Log-determinants via Cholesky. Raises ValueError for a bad shape or a matrix
    that is not positive-definite.
    """
    s = np.asarray(cov, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"cov: expected a square 2-D matrix, got shape {s.shape}")
    d = s.shape[0]
    if isinstance(dim_x, bool) or not isinstance(dim_x, (int, np.integer)) \
            or not 1 <= dim_x < d:
        raise ValueError(f"dim_x: expected an integer in [1, {d - 1}], got {dim_x!r}")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12):
        raise ValueError("cov: expected a symmetric matrix")

    def logdet(m: np.ndarray) -> float:
        try:
            chol = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            raise ValueError("cov: expected a positive-definite matrix") from None
        return 2.0 * float(np.sum(np.log(np.diag(chol))))

    return 0.5 * (logdet(s[:dim_x, :dim_x]) + logdet(s[dim_x:, dim_x:]) - logdet(s))


class GaussianMI(ParamsMixin):
    """MI of the Gaussian with the sample covariance of (x, y), via canonical correlations.

    Measures linear dependence only: exact for jointly Gaussian data, a lower bound on
    I(X;Y) when X or Y is marginally Gaussian, neither in general (see the module docs).

    Parameters
    ----------
    units : "nats" (default) or "bits".

    Notes
    -----
    ``fit`` estimates nothing (it validates and records the widths); ``estimate`` computes the
    closed form on the data passed to it (``n_train`` is 0) and may be called without ``fit``.
    ``stderr``: non-parametric delta method (influence function of the covariance), valid
    for non-Gaussian data with finite fourth moments; meaningless near independence, where
    the estimate carries an upward bias of about dim_x * dim_y / (2 N) nats.
    """

    name = "cca"
    description = ("Gaussian MI of the sample covariance (canonical correlations); "
                   "linear dependence only")
    reference = ("T. M. Cover, J. A. Thomas, Elements of Information Theory, 2nd ed. (2006), "
                 "ch. 8 (Gaussian MI); H. Hotelling, Biometrika 28 (1936) (canonical correlations)")

    def __init__(self, units: str = "nats") -> None:
        self.units = units

    def fit(self, x: Any, y: Any) -> "GaussianMI":
        """Validate parameters and data; record ``dim_x_``, ``dim_y_``, ``n_fit_``."""
        check_units(self.units)
        xa, ya = check_xy(x, y)
        record_fit_dims(self, xa, ya)
        return self

    def estimate(self, x: Any, y: Any) -> MIResult:
        """Gaussian MI of these samples. x: (n, dim_x), y: (n, dim_y)."""
        start = time.perf_counter()
        check_units(self.units)
        xa, ya = check_xy(x, y)
        check_fit_dims(self, xa, ya)
        n = xa.shape[0]
        r = canonical_correlations(xa, ya)
        mi, influence = gaussian_mi(xa, ya)
        if np.isfinite(mi):
            stderr = float(influence.std(ddof=1) / np.sqrt(n))
        else:
            stderr = float("nan")
            warnings.warn(
                "cca: a canonical correlation is 1 (y is an exact linear function of x or "
                "vice versa); the Gaussian MI is infinite",
                UserWarning,
                stacklevel=2,
            )
        diagnostics: Dict[str, Any] = {
            "canonical_correlations": r.tolist(),
            "stderr_method": "non-parametric delta method (influence function of the "
                             "sample covariance); not meaningful near independence",
            "bias_at_independence_nats": xa.shape[1] * ya.shape[1] / (2.0 * n),
            "mi_nats": mi,
        }
        return baseline_result(self, mi, stderr, n, start, diagnostics)


def estimate_gaussian(x: Any, y: Any, **params: Any) -> MIResult:
    """One call: ``GaussianMI(**params).estimate(x, y)``."""
    return GaussianMI(**params).estimate(x, y)
