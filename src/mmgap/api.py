"""The one-call API: :func:`estimate_mi` picks a method by name (:mod:`mmgap.methods`) and
runs it on held-out data. It sits above the method registry and the estimators, so that
nothing below imports it (DESIGN.md §7): the MMG path is
:func:`mmgap.estimator.fit_estimate`, the others :func:`mmgap.methods.run_method`."""

from __future__ import annotations

from typing import Any, Optional

from .estimator import fit_estimate
from .methods import MMG_METHODS, run_method
from .types import MIResult
from .validation import code_text_inputs

__all__ = ["estimate_mi"]


def estimate_mi(x: Any, y: Any, z: Any = None, *, method: str = "mmg", test_size: float = 0.2,
                random_state: Optional[int] = 0, repair: bool = True,
                **params: Any) -> MIResult:
    """One call: split off ``test_size`` of the samples as held-out data, fit an
    :class:`MMGEstimator` (``**params``) on the rest (standardised with training
    statistics), and estimate I(X;Y) on the held-out part. ``seconds`` covers everything.

    With ``z`` (continuous (n, dim_z), image-shaped, or labels with ``z_discrete=True``):
    the conditional MI I(X;Y|Z), ``quantity == "cmi"``, and ``p_value`` tests conditional
    independence.

    ``method`` picks another estimator by name (see :mod:`mmgap.methods`: the MMG variants
    ``mmg-direct`` ..., or a baseline such as ``ksg``; baselines use all samples).

    ``repair`` (MMG methods): refit with the known cure when a cross-check shows the first fit
    missed dependence (see :func:`fit_estimate`; ``diagnostics["repair"]``). False keeps the
    first fit (its flags and raised interval stand).

    Text labels (one column of strings, e.g. ``["cat", "dog", ...]``) for ``x``, ``y`` or
    ``z`` are coded 0, 1, ... by their sorted distinct values and are discrete
    (``x_discrete=False`` etc. then raises).

    Why held out: a denoiser evaluated on its own training pairs can have memorised y -> x,
    which inflates the conditional/unconditional gap; 20% held out keeps the Monte Carlo
    error small while leaving 80% of the data for training.
    """
    if not isinstance(repair, bool):
        raise ValueError(f"repair: expected True or False, got {repair!r}")
    x, y, z = code_text_inputs({"x": x, "y": y, "z": z}, params,
                               mmg=method == "mmg" or method in MMG_METHODS, method=method)
    if method != "mmg":
        if z is not None:
            params["z"] = z
        if method in MMG_METHODS:
            params["repair"] = repair
        return run_method(method, x, y, test_size=test_size, random_state=random_state, **params)
    return fit_estimate(x, y, test_size=test_size, random_state=random_state, z=z,
                        repair=repair, **params)[1]
