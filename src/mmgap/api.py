"""The one-call API: :func:`estimate_mi` picks a method by name (:mod:`mmgap.methods`) and
runs it on held-out data. It sits above the method registry and the estimators, so that
nothing below imports it (DESIGN.md §7): the MMG path is
:func:`mmgap.estimator.fit_estimate`, the others :func:`mmgap.methods.run_method`."""

from __future__ import annotations

from typing import Any, Optional

from .crossfit import cross_fit_estimate
from .estimator import fit_estimate
from .methods import MMG_METHODS, run_method
from .types import MIResult
from .validation import code_text_inputs

__all__ = ["estimate_mi"]


def estimate_mi(x: Any, y: Any, z: Any = None, *, method: str = "mmg",
                test_size: Optional[float] = None, random_state: Optional[int] = 0,
                repair: bool = True, n_folds: Optional[int] = None,
                **params: Any) -> MIResult:
    """One call: split off ``test_size`` of the samples as held-out data, fit an
    :class:`MMGEstimator` (``**params``) on the rest (standardised with training
    statistics), and estimate I(X;Y) on the held-out part. ``seconds`` covers everything.

    With ``z`` (continuous (n, dim_z), image-shaped, or labels with ``z_discrete=True``):
    the conditional MI I(X;Y|Z), ``quantity == "cmi"``, and ``p_value`` tests conditional
    independence.

    ``method`` picks another estimator by name (see :mod:`mmgap.methods`: the MMG variants
    ``mmg-direct`` ..., or a baseline such as ``ksg``; baselines use all samples).

    ``test_size``: share held out, default 0.2 (not with ``n_folds``).

    ``n_folds`` (MMG methods; default None, the single split): cross-fit instead. The rows
    are split into ``n_folds`` folds and ``n_folds`` networks are trained, each on the other
    folds and evaluated on its own, so every row is held out once; the pooled estimate has
    a smaller held-out error and its standard error includes the spread between the
    networks (:mod:`mmgap.crossfit`). It costs ``n_folds`` fits; 5 trains each network on
    80% of the rows, like the single split. ``n_jobs=J`` (with ``n_folds``) fits J folds at
    once in worker processes that share the cores.

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
    mmg = method == "mmg" or method in MMG_METHODS
    if n_folds is not None:
        if test_size is not None:
            raise ValueError("test_size: a cross-fit (n_folds) holds out each fold in turn; "
                             "give n_folds or test_size, not both")
        if not mmg:
            raise ValueError(f"n_folds: cross-fitting is for the MMG methods, not {method!r} "
                             "(the baselines other than MINDE use all rows)")
        params["n_folds"] = n_folds
    elif "n_jobs" in params:
        raise ValueError("n_jobs: parallel fits are for a cross-fit; give n_folds too (one "
                         "split is one fit)")
    test_size = 0.2 if test_size is None else test_size
    x, y, z = code_text_inputs({"x": x, "y": y, "z": z}, params, mmg=mmg, method=method)
    if method != "mmg":
        if z is not None:
            params["z"] = z
        if method in MMG_METHODS:
            params["repair"] = repair
        return run_method(method, x, y, test_size=test_size, random_state=random_state, **params)
    if n_folds is not None:
        return cross_fit_estimate(x, y, z, random_state=random_state, repair=repair, **params)
    return fit_estimate(x, y, test_size=test_size, random_state=random_state, z=z,
                        repair=repair, **params)[1]
