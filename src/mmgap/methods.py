"""Every estimator by name: the MMG variants and the baselines, behind one call.

Names: ``mmg`` (the default MMG variant), ``mmg-direct``, ``mmg-orthogonal``,
``mmg-adaptive``, ``mmg-orthogonal-adaptive``, and the baselines of
:data:`mmgap.baselines.BASELINES` (``ksg``, ``cca``).

How each is run on a data set by :func:`run_method`:
- MMG methods train, so they hold out ``test_size`` of the samples and estimate on it
  (:func:`mmgap.estimator.fit_estimate`);
- trained baselines (class attribute ``needs_heldout``: the neural bounds and MINDE) are
  fitted on the same training part and evaluated on the same held-out part as MMG;
- the training-free baselines (``ksg``, ``cca``) estimate on all samples (nothing is
  fitted to them).
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Optional, Tuple

from .types import MIResult

__all__ = ["MMG_METHODS", "list_methods", "method_info", "method_trains", "run_method",
           "run_entropy_method", "method_quantities", "check_method"]

_MMG_REF = ("Yu, Shi, Kong, Jia, Ver Steeg, Mutual information estimation via the MMSE gap "
            "in diffusion, arXiv 2509.20609")

MMG_METHODS: Dict[str, Tuple[Optional[str], str]] = {
    "mmg": (None, "MMG, default variant auto (orthogonal integrand; adapted proposal when a Gaussian fit puts the gap past the fixed window)"),
    "mmg-direct": ("direct", "MMG: difference of denoising errors, fixed proposal"),
    "mmg-orthogonal": ("orthogonal", "MMG-orthogonal: squared difference of the two predictions"),
    "mmg-adaptive": ("adaptive", "MMG-adaptive: direct integrand, proposal adapted after a pilot"),
    "mmg-orthogonal-adaptive": ("orthogonal-adaptive",
                                "MMG-orthogonal-adaptive: orthogonal integrand, adapted proposal"),
}


def _baselines() -> Dict[str, type]:
    from .baselines import BASELINES

    return BASELINES


def list_methods() -> List[str]:
    return list(MMG_METHODS) + sorted(_baselines())


def method_trains(name: str) -> bool:
    """True for methods that train a network (the MMG variants, the neural bounds, MINDE)."""
    if name in MMG_METHODS:
        return True
    cls = _baselines().get(name)
    return cls is not None and "n_steps" in cls._param_names()


def check_method(name: str) -> str:
    """Return ``name`` if it is a known method, else raise ValueError with suggestions."""
    valid = list_methods()
    if name not in valid:
        close = difflib.get_close_matches(str(name), valid, n=2)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"method: unknown method {name!r}{hint}; expected one of {valid}")
    return name


def method_info(name: str) -> Dict[str, str]:
    """{'name', 'description', 'reference'} of a method."""
    check_method(name)
    if name in MMG_METHODS:
        return {"name": name, "description": MMG_METHODS[name][1], "reference": _MMG_REF}
    cls = _baselines()[name]
    return {"name": name, "description": cls.description, "reference": cls.reference}


def method_quantities(name: str) -> Tuple[str, ...]:
    """The quantities a method estimates: MMG all of "mi", "cmi", "entropy"; a baseline
    those in its class attribute ``quantities`` (default ("mi",))."""
    check_method(name)
    if name in MMG_METHODS:
        return ("mi", "cmi", "entropy")
    return tuple(getattr(_baselines()[name], "quantities", ("mi",)))


def run_entropy_method(name: str, x: Any, *, random_state: Optional[int] = 0,
                       test_size: float = 0.2, units: str = "nats", **params: Any) -> MIResult:
    """Estimate the differential entropy h(X) with the method ``name``: ``mmg`` (the
    :class:`mmgap.entropy.EntropyEstimator`, trained on 1 - ``test_size`` of the rows and
    evaluated on the rest) or an entropy baseline such as ``kl`` (all rows)."""
    from .validation import check_random_state

    check_method(name)
    check_random_state(random_state)
    if "entropy" not in method_quantities(name):
        raise ValueError(f"method: {name!r} does not estimate entropy; use mmg or "
                         + ", ".join(k for k in _baselines() if "entropy" in method_quantities(k)))
    if name in MMG_METHODS:
        from .entropy import estimate_entropy

        if MMG_METHODS[name][0] is not None:
            raise ValueError(f"method: entropy uses 'mmg' (variant orthogonal or direct), not {name!r}")
        params.pop("n_permutations", None)
        res = estimate_entropy(x, test_size=test_size, random_state=random_state, units=units,
                               **params)
    else:
        res = _baselines()[name](units=units, **params).fit(x).estimate(x)
    res.diagnostics["method"] = name
    return res


def run_method(name: str, x: Any, y: Any, *, random_state: Optional[int] = 0,
               y_discrete: Any = None, test_size: float = 0.2, units: str = "nats",
               z: Any = None, **params: Any) -> MIResult:
    """Estimate I(X;Y) (or I(X;Y|Z) with ``z``) with the method ``name``; ``params`` go to
    its constructor. ``y_discrete`` None leaves the method's default (MMG: "auto")."""
    from .validation import check_random_state

    check_method(name)
    check_random_state(random_state)
    wanted = "mi" if z is None else "cmi"
    if wanted not in method_quantities(name):
        if z is None:
            raise ValueError(f"method: {name!r} estimates {', '.join(method_quantities(name))}, "
                             "not I(X;Y)")
        cond = sorted(k for k in _baselines() if "cmi" in method_quantities(k))
        raise ValueError(f"z: method {name!r} does not estimate conditional MI; use an MMG method"
                         + (f" or {', '.join(cond)}" if cond else ""))
    if z is None and params.get("z_discrete") not in (None, False, "auto"):
        raise ValueError("z_discrete: no z given")
    if name in MMG_METHODS:
        from .estimator import DEFAULT_VARIANT, fit_estimate

        variant = MMG_METHODS[name][0] or params.pop("variant", DEFAULT_VARIANT)
        if "variant" in params and params["variant"] != variant:
            raise ValueError(f"variant: method {name!r} fixes variant={variant!r}")
        params.pop("variant", None)
        if y_discrete is not None:
            params["y_discrete"] = y_discrete
        n_folds = params.pop("n_folds", None)
        if n_folds is not None:
            from .crossfit import cross_fit_estimate

            res = cross_fit_estimate(x, y, z, n_folds=n_folds, random_state=random_state,
                                     variant=variant, units=units, **params)
            res.diagnostics["method"] = name
            return res
        _, res, _ = fit_estimate(x, y, test_size=test_size, random_state=random_state,
                                 variant=variant, units=units, z=z, **params)
        res.diagnostics["method"] = name
        return res
    if params.get("n_folds") is not None:
        raise ValueError(f"n_folds: cross-fitting is for the MMG methods, not {name!r}")
    params.pop("n_folds", None)
    cls = _baselines()[name]
    flattened = []
    if name != "minde":  # the baselines other than MINDE take vectors: flatten images
        from .validation import split_image

        x, x_shape = split_image(x, "x")
        if not y_discrete:
            y, y_shape = split_image(y, "y")
        else:
            y_shape = None
        flattened = [v for v, sh in (("x", x_shape), ("y", y_shape)) if sh is not None]
    y_discrete = bool(y_discrete)
    takes_labels = "y_discrete" in cls._param_names()
    if y_discrete and not takes_labels:
        raise ValueError(f"y_discrete: method {name!r} does not take discrete labels; use an MMG "
                         "method or minde")
    if takes_labels:
        params["y_discrete"] = y_discrete
    if getattr(cls, "needs_heldout", False):
        from .estimator import fit_estimate

        _, res, _ = fit_estimate(x, y, test_size=test_size, random_state=random_state,
                                 estimator=cls, units=units, **params)
    elif z is not None:
        est = cls(units=units, **params)
        res = est.fit(x, y, z).estimate(x, y, z)
    else:
        est = cls(units=units, **params)
        res = est.fit(x, y).estimate(x, y)
    if flattened:
        res.diagnostics["flattened_images"] = flattened
    res.diagnostics["method"] = name
    return res
