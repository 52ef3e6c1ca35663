"""Pointwise mutual information for every row, each from a network that never saw that row.

``pointwise_mi(x, y[, z])`` cross-fits: the rows are split into ``n_folds`` folds; for each
fold an :class:`mmgap.MMGEstimator` is trained on the other folds and
:meth:`mmgap.MMGEstimator.pointwise` evaluates the fold's rows. The mean of the values
estimates I(X;Y) (or I(X;Y|Z)); each value has its own Monte Carlo standard error.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from .estimator import MMGEstimator, discrete_spec
from .types import PointwiseResult
from .validation import (as_2d_array, as_labels, check_finite, check_positive_int,
                         check_random_state, check_xy, code_text_inputs, label_column,
                         split_image)

__all__ = ["pointwise_mi", "fold_indices"]


def fold_indices(n: int, n_folds: int, random_state: Any,
                 labels: Optional[np.ndarray] = None) -> np.ndarray:
    """Fold number (0 .. n_folds - 1) of each of n rows, shape (n,). With ``labels`` the
    folds are stratified (each class spread over all folds), and a class with fewer rows
    than folds is refused (it could not be in every training part)."""
    rng = np.random.default_rng(random_state)
    fold = np.empty(n, dtype=np.int64)
    if labels is None:
        fold[rng.permutation(n)] = np.arange(n) % n_folds
        return fold
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < n_folds:
        c = classes[int(np.argmin(counts))]
        raise ValueError(f"y: class {c.item()!r} has {counts.min()} rows, fewer than "
                         f"n_folds={n_folds}; every class needs a row in every fold")
    offset = 0
    for c in range(classes.size):
        idx = rng.permutation(np.flatnonzero(inverse.reshape(-1) == c))
        fold[idx] = (np.arange(idx.size) + offset) % n_folds
        offset += idx.size
    return fold


def pointwise_mi(x: Any, y: Any, z: Any = None, *, n_folds: int = 2, k_draws: int = 64,
                 random_state: Optional[int] = 0, **params: Any) -> PointwiseResult:
    """Pointwise MI i(x_i; y_i) (or i(x_i; y_i | z_i)) of every row, cross-fitted.

    Parameters
    ----------
    x, y, z : as for :func:`mmgap.estimate_mi` (z optional).
    n_folds : folds of the cross-fit (>= 2); each row is evaluated by the network trained
        on the other folds, so ``n_folds`` networks are trained, each on
        (n_folds - 1) / n_folds of the rows.
    k_draws : noise draws per row (the Monte Carlo error of each value falls as
        1 / sqrt(k_draws)).
    random_state : seeds the folds and the networks.
    **params : :class:`mmgap.MMGEstimator` parameters (``n_steps``, ``y_discrete``, ...).

    Returns a :class:`mmgap.types.PointwiseResult`: ``values`` and ``stderr`` of shape (n,)
    in input row order, ``mean`` (an estimate of the MI), ``diagnostics["folds"]``.
    """
    t0 = time.perf_counter()
    n_folds = check_positive_int(n_folds, "n_folds", minimum=2)
    check_positive_int(k_draws, "k_draws")
    check_random_state(random_state)
    x, y, z = code_text_inputs({"x": x, "y": y, "z": z}, params)  # text labels: categories
    xa, ya = np.asarray(x), np.asarray(y)
    za = None if z is None else np.asarray(z)
    y_discrete = label_column(discrete_spec(MMGEstimator, params, "y_discrete"), ya, "y",
                              "y_discrete")
    # check every row first, so that messages name the caller's row numbers
    n = check_xy(split_image(xa, "x")[0], ya if y_discrete else split_image(ya, "y")[0],
                 y_discrete=y_discrete)[0].shape[0]
    if za is not None:
        if za.ndim == 0 or za.shape[0] != n:
            raise ValueError(f"x and z: expected the same number of samples (rows), got "
                             f"{n} and {za.shape[0] if za.ndim else 'a scalar'}")
        if label_column(discrete_spec(MMGEstimator, params, "z_discrete"), za, "z", "z_discrete"):
            as_labels(za, "z")
        else:
            check_finite(as_2d_array(split_image(za, "z")[0], "z"), "z")
    labels = as_labels(ya, "y") if y_discrete else None
    if n < 10 * n_folds:
        raise ValueError(f"x: expected at least {10 * n_folds} rows for {n_folds} folds, got {n}")
    fold = fold_indices(n, n_folds, random_state, labels)
    values, stderr = np.empty(n), np.empty(n)
    folds, units, quantity = [], params.get("units", "nats"), "pmi"
    seeds = np.random.default_rng(random_state).integers(0, 2**31, size=n_folds)
    for f in range(n_folds):
        te, tr = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        est = MMGEstimator(random_state=int(seeds[f]), **params)
        est.fit(xa[tr], ya[tr], None if za is None else za[tr])
        res = est.pointwise(xa[te], ya[te], None if za is None else za[te], k_draws=k_draws)
        values[te], stderr[te] = res.values, res.stderr
        quantity = res.quantity
        folds.append({"fold": f, "n_train": int(tr.size), "n_eval": int(te.size),
                      "mean": float(res.values.mean()), "variant": est.variant_,
                      "seconds_fit": est.seconds_fit_})
    return PointwiseResult(values=values, stderr=stderr, units=units, quantity=quantity,
                           diagnostics={"integrand": "direct", "k_draws": int(k_draws),
                                        "n_folds": n_folds, "folds": folds,
                                        "seconds": time.perf_counter() - t0})
