"""Kozachenko–Leonenko k-nearest-neighbour estimator of the differential entropy h(X).

Maths (Kozachenko & Leonenko, Probl. Inf. Transm. 23, 95, 1987; the k-NN form of Kraskov,
Stögbauer & Grassberger, Phys. Rev. E 69, 066138, 2004, eq. 20)::

    h(X) = psi(N) - psi(k) + log V_d + (d / N) sum_i log r_i

with r_i the distance from point i to its k-th nearest neighbour and V_d the volume of the
unit ball of the norm used, in dimension d:

* ``metric="euclidean"`` (default, the classical KL estimator): r_i Euclidean,
  ``log V_d = d/2 log(pi) - log Gamma(d/2 + 1)``;
* ``metric="chebyshev"`` (the max-norm of KSG): r_i max-norm, V_d = 2^d (a cube of side 2).

Both are consistent; they differ in finite-sample bias. One
:class:`scipy.spatial.cKDTree` k-NN query, O(N log N) in low dimension.

Entropy, unlike MI, changes under scaling: h(X / s) = h(X) - sum_j log s_j. The estimator
class standardises each column (for a better-conditioned neighbour search) and adds
``sum_j log s_j`` back, so the result is h of the data as given.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Tuple

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

from mmgap.types import MIResult
from mmgap.validation import (as_2d_array, check_finite, check_not_constant,
                              check_positive_int, column_scales)

from ._base import ParamsMixin, baseline_result, check_knn_options
from .ksg import count_duplicate_rows

__all__ = ["KLEntropyEstimator", "kl_entropy", "kl_entropy_terms", "log_unit_ball_volume",
           "estimate_kl_entropy", "METRICS"]

METRICS = ("euclidean", "chebyshev")


def log_unit_ball_volume(dim: int, metric: str = "euclidean") -> float:
    """log of the volume of the unit ball in dimension ``dim``: Euclidean
    ``d/2 log(pi) - log Gamma(d/2 + 1)``; Chebyshev (max-norm) ``d log 2``."""
    dim = check_positive_int(dim, "dim")
    if metric == "euclidean":
        return float(0.5 * dim * np.log(np.pi) - gammaln(0.5 * dim + 1.0))
    if metric == "chebyshev":
        return float(dim * np.log(2.0))
    raise ValueError(f"metric: expected one of {list(METRICS)}, got {metric!r}")


def _knn_radius(x: np.ndarray, k: int, metric: str, n_jobs: int) -> np.ndarray:
    p = 2 if metric == "euclidean" else np.inf
    dist, _ = cKDTree(x).query(x, k=k + 1, p=p, workers=n_jobs)
    return dist[:, -1]


def kl_entropy_terms(radius: np.ndarray, dim: int, k: int, metric: str = "euclidean"
                     ) -> np.ndarray:
    """Per-point terms psi(N) - psi(k) + log V_d + d log r_i, shape (N,); their mean is the
    Kozachenko–Leonenko estimate. ``radius`` (N,) must be positive."""
    n = radius.size
    return digamma(n) - digamma(k) + log_unit_ball_volume(dim, metric) + dim * np.log(radius)


def _check_input(x: Any, k: Any, metric: Any) -> Tuple[np.ndarray, int]:
    if metric not in METRICS:
        raise ValueError(f"metric: expected one of {list(METRICS)}, got {metric!r}")
    xa = check_finite(as_2d_array(x, "x"), "x")
    k = check_positive_int(k, "k")
    if k >= xa.shape[0]:
        raise ValueError(
            f"k: expected an integer below the number of samples {xa.shape[0]}, got {k}"
        )
    return xa, k


def _check_radius(radius: np.ndarray, k: int) -> None:
    zero = int(np.count_nonzero(radius == 0))
    if zero:
        raise ValueError(
            f"x: {zero} point(s) have their {k}-th nearest neighbour at distance 0 (at least "
            f"{k} duplicate rows); the Kozachenko-Leonenko estimate is -inf for data with "
            "ties. Remove duplicates or use an estimator for discrete data."
        )


def kl_entropy(
    x: Any, k: int = 3, *, metric: str = "euclidean", n_jobs: int = 1
) -> Tuple[float, np.ndarray]:
    """Kozachenko–Leonenko estimate of h(X) in nats, and its per-point terms.

    x : (n, d) samples (1-D: one column); 1 <= k < n; ``metric`` "euclidean" (default) or
    "chebyshev" (see the module notes). Returns ``(h, terms)`` with terms of shape (n,) and
    ``h = terms.mean()``. No rescaling is applied. ValueError when some point has k
    duplicates (zero radius: the estimate would be -inf).
    """
    xa, k = _check_input(x, k, metric)
    radius = _knn_radius(xa, k, metric, n_jobs)
    _check_radius(radius, k)
    terms = kl_entropy_terms(radius, xa.shape[1], k, metric)
    return float(terms.mean()), terms


class KLEntropyEstimator(ParamsMixin):
    """Kozachenko–Leonenko k-nearest-neighbour estimator of the differential entropy h(X).

    Parameters
    ----------
    k : int, default 3
        Number of nearest neighbours.
    metric : "euclidean" (default) or "chebyshev"
        Norm of the neighbour search (unit-ball volume as in :mod:`mmgap.baselines.kl_entropy`).
    standardise : bool, default True
        Divide each column by its scale before the search and add ``sum_j log s_j`` back,
        so the estimate is h of the data as given (h is *not* scale invariant).
    units : "nats" (default) or "bits".
    n_jobs : int, default 1
        Worker threads for the cKDTree query (-1: all cores). Does not change the result.

    Notes
    -----
    * ``fit(x)`` only validates and records ``dim_x_`` and ``n_fit_``; ``estimate(x)`` runs on
      the data passed to it and may be called without ``fit``.
    * The result is an :class:`~mmgap.types.MIResult` whose ``mi`` field holds h(X) (it may be
      negative): ``quantity == "entropy"`` (so ``ci95`` is not clipped at 0), repeated in
      ``diagnostics["quantity"]``.
    * ``stderr`` is the standard deviation of the per-point terms divided by sqrt(N); the
      terms are not independent, so it is approximate. Measured on
      ``entropy-gauss-2-0.5-1.0-0.0`` (h = 2.694, N = 2000, k = 3, 100 seeds): mean
      estimate 2.680, mean reported stderr 0.0257 against a seed-to-seed spread of 0.0254
      (Chebyshev metric: 2.679, 0.0257, 0.0254). The bias grows with the dimension
      (-0.06 nats on the 5-D task at N = 2000).
    * Constant columns (h = -inf) and points with k duplicates (zero radius) raise
      ValueError; fewer duplicates raise a ``UserWarning`` (also in ``diagnostics``).
    """

    name = "kl"
    quantities = ("entropy",)
    description = ("Kozachenko-Leonenko k-nearest-neighbour estimator of the differential "
                   "entropy h(X)")
    reference = ("L. F. Kozachenko, N. N. Leonenko, Sample estimate of the entropy of a random "
                 "vector, Probl. Inf. Transm. 23, 95-101 (1987)")

    def __init__(self, k: int = 3, metric: str = "euclidean", standardise: bool = True,
                 units: str = "nats", n_jobs: int = 1) -> None:
        self.k = k
        self.metric = metric
        self.standardise = standardise
        self.units = units
        self.n_jobs = n_jobs

    def _validate(self, x: Any) -> Tuple[np.ndarray, int]:
        check_knn_options(self)
        xa, k = _check_input(x, self.k, self.metric)
        check_not_constant(xa, "x")
        return xa, k

    def fit(self, x: Any) -> "KLEntropyEstimator":
        """Validate parameters and data; record ``dim_x_`` and ``n_fit_``."""
        xa, _ = self._validate(x)
        self.dim_x_ = int(xa.shape[1])
        self.n_fit_ = int(xa.shape[0])
        return self

    def estimate(self, x: Any) -> MIResult:
        """Kozachenko–Leonenko estimate of h(X) on these samples, x: (n, d)."""
        start = time.perf_counter()
        xa, k = self._validate(x)
        dim_x = getattr(self, "dim_x_", None)
        if dim_x is not None and xa.shape[1] != dim_x:
            raise ValueError(f"x: expected {dim_x} column(s) as in fit, got {xa.shape[1]}")
        n, d = xa.shape
        dup = count_duplicate_rows(xa)
        if dup:
            warnings.warn(
                f"kl_entropy: {dup} duplicate row(s) among the {n} samples; the estimator "
                "assumes continuous data, so ties bias it downwards.",
                UserWarning,
                stacklevel=2,
            )
        log_scale = 0.0
        if self.standardise:
            s1 = column_scales(xa)
            a = xa / s1
            s2 = a.std(axis=0)  # > 0: constant columns were rejected
            xa = a / s2
            log_scale = float(np.sum(np.log(s1)) + np.sum(np.log(s2)))
        radius = _knn_radius(xa, k, self.metric, int(self.n_jobs))
        _check_radius(radius, k)
        terms = kl_entropy_terms(radius, d, k, self.metric) + log_scale
        h = float(terms.mean())
        stderr = float(terms.std(ddof=1) / np.sqrt(n))
        diagnostics: Dict[str, Any] = {
            "k": k,
            "metric": self.metric,
            "standardise": bool(self.standardise),
            "log_scale": log_scale,
            "mean_log_radius": float(np.mean(np.log(radius))),
            "duplicate_rows": dup,
            "stderr_method": "sd of per-point terms / sqrt(N); ignores dependence between "
                             "neighbour distances (approximate)",
            "entropy_nats": h,
        }
        return baseline_result(self, h, stderr, n, start, diagnostics, quantity="entropy")


def estimate_kl_entropy(x: Any, **params: Any) -> MIResult:
    """One call: ``KLEntropyEstimator(**params).estimate(x)``."""
    return KLEntropyEstimator(**params).estimate(x)
