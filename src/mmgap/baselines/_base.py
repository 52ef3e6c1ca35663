"""Shared plumbing for the baselines: remembering and checking the widths seen in ``fit``.

Parameter handling (``get_params`` / ``set_params``) comes from :mod:`mmgap.base`; input
validation of sample arrays from :func:`mmgap.validation.check_xy`.
"""

from __future__ import annotations

import time
from typing import Any, Dict

import numpy as np

from mmgap.base import ParamsMixin
from mmgap.types import MIResult, check_units, nats_to

__all__ = ["ParamsMixin", "record_fit_dims", "check_fit_dims", "baseline_result",
           "check_knn_options"]


def check_knn_options(est: Any, flags=("standardise",)) -> None:
    """The options the k-NN baselines share: ``units``, the boolean ``flags`` and ``n_jobs``
    (a positive integer or -1); ValueError naming the first bad one."""
    check_units(est.units)
    for name in flags:
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ValueError(f"{name}: expected True or False, got {getattr(est, name)!r}")
    n_jobs = est.n_jobs
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) \
            or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs: expected a positive integer or -1, got {n_jobs!r}")


def baseline_result(est: Any, mi: float, stderr: float, n: int, start: float,
                    diagnostics: Dict[str, Any], quantity: str = "mi") -> MIResult:
    """MIResult of a training-free baseline: values in nats converted to ``est.units``,
    ``n_train = 0``, ``n_test = n``, seconds since ``start`` (a perf_counter value);
    ``quantity`` also goes into ``diagnostics["quantity"]`` for quantities other than MI."""
    if quantity != "mi":
        diagnostics["quantity"] = quantity
    return MIResult(
        mi=nats_to(mi, est.units),
        stderr=nats_to(stderr, est.units),
        units=est.units,
        variant=est.name,
        n_train=0,
        n_test=n,
        seconds=time.perf_counter() - start,
        diagnostics=diagnostics,
        quantity=quantity,
    )


def record_fit_dims(est: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Store ``dim_x_``, ``dim_y_`` and ``n_fit_`` (validated arrays x, y) on ``est``."""
    est.dim_x_ = int(x.shape[1])
    est.dim_y_ = int(y.shape[1])
    est.n_fit_ = int(x.shape[0])


def check_fit_dims(est: Any, x: np.ndarray, y: np.ndarray) -> None:
    """If ``est`` was fitted, raise ValueError when x / y have other widths than at fit."""
    dim_x = getattr(est, "dim_x_", None)
    dim_y = getattr(est, "dim_y_", None)
    if dim_x is not None and x.shape[1] != dim_x:
        raise ValueError(f"x: expected {dim_x} column(s) as in fit, got {x.shape[1]}")
    if dim_y is not None and y.shape[1] != dim_y:
        raise ValueError(f"y: expected {dim_y} column(s) as in fit, got {y.shape[1]}")
