"""Frenzel–Pompe k-nearest-neighbour estimator of the conditional MI I(X;Y|Z).

Maths (Frenzel & Pompe, Phys. Rev. Lett. 99, 204101, 2007; the KSG idea of
:mod:`mmgap.baselines.ksg` applied to I(X;Y|Z) = I(X;(Y,Z)) - I(X;Z))::

    I(X;Y|Z) = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >

For each point i, eps_i is the max-norm distance to its k-th nearest neighbour in the joint
(x, y, z) space; n_xz(i), n_yz(i) and n_z(i) count the *other* points strictly closer than
eps_i in the (x, z), (y, z) and z subspaces (max-norm there too). The average runs over the
N points. N itself cancels out of the formula.

Vectorised exactly as :func:`mmgap.baselines.ksg.ksg_neighbour_counts`: one
:class:`scipy.spatial.cKDTree` k-NN query in the joint space, then three radius counts with
radius ``nextafter(eps_i, 0)`` ("strictly less than eps_i") by
:func:`mmgap.baselines.ksg.count_within`.

A discrete z (integer labels) is handled by **exact equality**: two points with different
labels are infinitely far apart in z and two with the same label are at distance 0. Then the
formula splits by class c: the k-NN search and the counts n_x, n_y run within the class,
n_z = N_c - 1, and I(X;Y|Z) = sum_c (N_c / N) I_KSG(X;Y | class c), with each class term
psi(k) + psi(N_c) - < psi(n_x + 1) + psi(n_y + 1) >_c -- the KSG estimate of I(X;Y) within
the class. (One-hot coding would instead mix classes whenever eps_i >= 1 in the max-norm,
which depends on the arbitrary scale of the code.) Every class needs more than k points.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mmgap.types import MIResult
from mmgap.validation import as_2d_array, as_labels, check_finite, check_positive_int, check_xy

from ._base import ParamsMixin, baseline_result, check_fit_dims, check_knn_options
from .ksg import _standardise_columns, count_duplicate_rows, count_within

__all__ = ["KSGCMIEstimator", "ksg_cmi", "ksg_cmi_counts", "ksg_cmi_terms", "estimate_ksg_cmi"]


def _check_xyz(x: Any, y: Any, z: Any, *, z_discrete: bool, min_samples: int):
    """Validated (x (n, dx) float64, y (n, dy) float64, z (n, dz) float64 or (n,) int64)."""
    xa, ya = check_xy(x, y, min_samples=min_samples)
    if z_discrete:
        za = as_labels(z, "z")
    else:
        za = check_finite(as_2d_array(z, "z"), "z")
    if za.shape[0] != xa.shape[0]:
        raise ValueError(
            f"x and z: expected the same number of samples (rows), got {xa.shape[0]} and "
            f"{za.shape[0]}"
        )
    return xa, ya, za


def _check_k(k: Any, n: int) -> int:
    k = check_positive_int(k, "k")
    if k >= n:
        raise ValueError(f"k: expected an integer below the number of samples {n}, got {k}")
    return k


def ksg_cmi_counts(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, k: int = 5, *, n_jobs: int = 1
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Joint k-NN radius and the three subspace counts of the Frenzel–Pompe estimator.

    Parameters
    ----------
    x : (n, dim_x), y : (n, dim_y), z : (n, dim_z) float arrays (already validated).
    k : number of neighbours, 1 <= k < n.
    n_jobs : ``workers`` for cKDTree (-1: all cores).

    Returns
    -------
    eps : (n,) max-norm distance from each point to its k-th neighbour in (x, y, z).
    n_xz, n_yz, n_z : (n,) int64, numbers of other points at max-norm distance < eps_i in
        the (x, z), (y, z) and z subspaces.
    """
    xyz = np.hstack([x, y, z])
    dist, _ = cKDTree(xyz).query(xyz, k=k + 1, p=np.inf, workers=n_jobs)
    eps = dist[:, -1]
    radius = np.nextafter(eps, 0)  # "strictly within eps" as a closed ball
    n_xz = count_within(np.hstack([x, z]), radius, n_jobs=n_jobs)
    n_yz = count_within(np.hstack([y, z]), radius, n_jobs=n_jobs)
    n_z = count_within(z, radius, n_jobs=n_jobs)
    return eps, n_xz, n_yz, n_z


def ksg_cmi_terms(n_xz: np.ndarray, n_yz: np.ndarray, n_z: np.ndarray, k: int) -> np.ndarray:
    """Per-point terms psi(k) - psi(n_xz + 1) - psi(n_yz + 1) + psi(n_z + 1), shape (n,)."""
    return digamma(k) - digamma(n_xz + 1.0) - digamma(n_yz + 1.0) + digamma(n_z + 1.0)


def _discrete_counts(x, y, labels, k, n_jobs):
    """Counts for a discrete z by exact equality: within-class KSG counts, n_z = N_c - 1."""
    n = x.shape[0]
    eps = np.empty(n)
    n_xz = np.empty(n, dtype=np.int64)
    n_yz = np.empty(n, dtype=np.int64)
    n_z = np.empty(n, dtype=np.int64)
    classes, sizes = np.unique(labels, return_counts=True)
    small = sizes <= k
    if small.any():
        c = int(np.flatnonzero(small)[0])
        raise ValueError(
            f"z: class {classes[c]} has {sizes[c]} sample(s); with a discrete z every class "
            f"needs more than k = {k} samples (drop rare classes or lower k)"
        )
    for c in classes:
        rows = np.flatnonzero(labels == c)
        xc, yc = x[rows], y[rows]
        xy = np.hstack([xc, yc])
        dist, _ = cKDTree(xy).query(xy, k=k + 1, p=np.inf, workers=n_jobs)
        eps[rows] = dist[:, -1]
        radius = np.nextafter(dist[:, -1], 0)
        n_xz[rows] = count_within(xc, radius, n_jobs=n_jobs)
        n_yz[rows] = count_within(yc, radius, n_jobs=n_jobs)
        n_z[rows] = rows.size - 1
    return eps, n_xz, n_yz, n_z, classes.size


def ksg_cmi(
    x: Any, y: Any, z: Any, k: int = 5, *, z_discrete: bool = False, n_jobs: int = 1
) -> Tuple[float, np.ndarray]:
    """Frenzel–Pompe estimate of I(X;Y|Z) in nats, and its per-point terms.

    x : (n, dim_x), y : (n, dim_y) sample arrays; z : (n, dim_z) samples, or (n,) integer
    labels when ``z_discrete`` (exact equality, see the module notes). 1-D inputs are one
    column. 1 <= k < n. Returns ``(cmi, terms)`` with terms of shape (n,) and
    ``cmi = terms.mean()``. No rescaling and no noise are applied here
    (:class:`KSGCMIEstimator` standardises by default).
    """
    xa, ya, za = _check_xyz(x, y, z, z_discrete=z_discrete, min_samples=2)
    k = _check_k(k, xa.shape[0])
    if z_discrete:
        _, n_xz, n_yz, n_z, _ = _discrete_counts(xa, ya, za, k, n_jobs)
    else:
        _, n_xz, n_yz, n_z = ksg_cmi_counts(xa, ya, za, k, n_jobs=n_jobs)
    terms = ksg_cmi_terms(n_xz, n_yz, n_z, k)
    return float(terms.mean()), terms


class KSGCMIEstimator(ParamsMixin):
    """Frenzel–Pompe (KSG-style) k-nearest-neighbour estimator of I(X;Y|Z).

    Parameters
    ----------
    k : int, default 5
        Number of nearest neighbours in the joint (x, y, z) space.
    standardise : bool, default True
        Divide every column of x, y and (a continuous) z by its standard deviation before the
        neighbour search, as :class:`~mmgap.baselines.KSGEstimator` does. I(X;Y|Z) is
        invariant to this; the max-norm neighbourhoods are not.
    z_discrete : bool, default False
        z holds integer class labels, shape (n,): neighbours are counted within the class
        (exact equality; see :mod:`mmgap.baselines.ksg_cmi`). Every class needs > k points.
    units : "nats" (default) or "bits".
    n_jobs : int, default 1
        Worker threads for the cKDTree queries (-1: all cores). Does not change the result.

    Notes
    -----
    * Non-parametric: ``fit(x, y, z)`` only validates and records ``dim_x_``, ``dim_y_``,
      ``dim_z_``, ``n_fit_``; ``estimate(x, y, z)`` runs on the data passed to it
      (``n_train`` is 0) and may be called without ``fit``.
    * The result is an :class:`~mmgap.types.MIResult` whose ``mi`` is I(X;Y|Z) (``quantity ==
      "cmi"``, repeated in ``diagnostics["quantity"]``).
    * ``stderr`` is the standard deviation of the per-point terms divided by sqrt(N), as for
      KSG: it treats the terms as independent, which they are not, so it is an approximate
      guide only. Measured on ``cmi-gauss-sparse-1-1-1-1-0.6-1.0`` (I(X;Y|Z) = 0.2231,
      N = 2000, k = 5, 100 seeds): mean estimate 0.2248, mean reported stderr 0.0138
      against a seed-to-seed spread of 0.0174 (about 20 % low).
    * Like KSG it is biased towards 0 as dimensions grow: on
      ``cmi-gauss-sparse-3-3-3-2-0.6-1.0`` (0.446 nats) at N = 2000 it gives 0.337 on
      average (50 seeds, spread 0.015).
    * Ties (duplicate rows) make the counts ill-defined; they raise a ``UserWarning`` and are
      reported in ``diagnostics``. No noise is added silently.
    """

    name = "ksg-cmi"
    quantities = ("cmi",)
    description = ("Frenzel-Pompe k-nearest-neighbour estimator of the conditional mutual "
                   "information I(X;Y|Z) (KSG-style, max-norm)")
    reference = ("S. Frenzel, B. Pompe, Partial mutual information for coupling analysis of "
                 "multivariate time series, Phys. Rev. Lett. 99, 204101 (2007)")

    def __init__(self, k: int = 5, standardise: bool = True, z_discrete: bool = False,
                 units: str = "nats", n_jobs: int = 1) -> None:
        self.k = k
        self.standardise = standardise
        self.z_discrete = z_discrete
        self.units = units
        self.n_jobs = n_jobs

    def _check_params(self) -> int:
        k = check_positive_int(self.k, "k")
        check_knn_options(self, flags=("standardise", "z_discrete"))
        return k

    def _validate(self, x, y, z):
        k = self._check_params()
        xa, ya, za = _check_xyz(x, y, z, z_discrete=bool(self.z_discrete), min_samples=k + 1)
        return k, xa, ya, za

    def fit(self, x: Any, y: Any, z: Any) -> "KSGCMIEstimator":
        """Validate parameters and data; record ``dim_x_``, ``dim_y_``, ``dim_z_``, ``n_fit_``."""
        _, xa, ya, za = self._validate(x, y, z)
        self.dim_x_ = int(xa.shape[1])
        self.dim_y_ = int(ya.shape[1])
        self.dim_z_ = 1 if za.ndim == 1 else int(za.shape[1])
        self.n_fit_ = int(xa.shape[0])
        return self

    def estimate(self, x: Any, y: Any, z: Any) -> MIResult:
        """Frenzel–Pompe estimate of I(X;Y|Z) on these samples.

        x: (n, dim_x), y: (n, dim_y), z: (n, dim_z) (or (n,) labels when ``z_discrete``).
        """
        start = time.perf_counter()
        k, xa, ya, za = self._validate(x, y, z)
        check_fit_dims(self, xa, ya)
        dim_z: Optional[int] = getattr(self, "dim_z_", None)
        if dim_z is not None and not self.z_discrete and za.shape[1] != dim_z:
            raise ValueError(f"z: expected {dim_z} column(s) as in fit, got {za.shape[1]}")
        n = xa.shape[0]

        dup = {"x": count_duplicate_rows(xa), "y": count_duplicate_rows(ya)}
        if not self.z_discrete:
            dup["z"] = count_duplicate_rows(za)
            both = dup["x"] and dup["y"] and dup["z"]
            dup["xyz"] = count_duplicate_rows(np.hstack([xa, ya, za])) if both else 0
        else:
            dup["xyz"] = (count_duplicate_rows(np.hstack([xa, ya, za[:, None]]))
                          if dup["x"] and dup["y"] else 0)
        if any(dup.values()):
            warnings.warn(
                f"ksg_cmi: duplicate rows among the {n} samples ({dup}); the estimator "
                "assumes continuous data without ties, so its neighbour counts are "
                "ill-defined and the estimate may be biased. Remove the ties (e.g. add tiny "
                "noise yourself) or pass a discrete z as labels with z_discrete=True.",
                UserWarning,
                stacklevel=2,
            )
        if self.standardise:
            xa, ya = _standardise_columns(xa), _standardise_columns(ya)
            if not self.z_discrete:
                za = _standardise_columns(za)

        n_classes = None
        if self.z_discrete:
            eps, n_xz, n_yz, n_z, n_classes = _discrete_counts(xa, ya, za, k, int(self.n_jobs))
        else:
            eps, n_xz, n_yz, n_z = ksg_cmi_counts(xa, ya, za, k, n_jobs=int(self.n_jobs))
        terms = ksg_cmi_terms(n_xz, n_yz, n_z, k)
        cmi = float(terms.mean())
        stderr = float(terms.std(ddof=1) / np.sqrt(n))

        diagnostics: Dict[str, Any] = {
            "k": k,
            "algorithm": "frenzel-pompe",
            "standardise": bool(self.standardise),
            "z_discrete": bool(self.z_discrete),
            "mean_n_xz": float(n_xz.mean()),
            "mean_n_yz": float(n_yz.mean()),
            "mean_n_z": float(n_z.mean()),
            "duplicate_rows": dup,
            "n_zero_radius": int(np.count_nonzero(eps == 0)),
            "stderr_method": "sd of per-point terms / sqrt(N); ignores dependence between "
                             "neighbour counts (approximate)",
            "cmi_nats": cmi,
        }
        if n_classes is not None:
            diagnostics["n_classes"] = int(n_classes)
        return baseline_result(self, cmi, stderr, n, start, diagnostics, quantity="cmi")


def estimate_ksg_cmi(x: Any, y: Any, z: Any, **params: Any) -> MIResult:
    """One call: ``KSGCMIEstimator(**params).estimate(x, y, z)``."""
    return KSGCMIEstimator(**params).estimate(x, y, z)
