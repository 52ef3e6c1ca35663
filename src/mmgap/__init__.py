"""mmgap: mutual information from the MMSE gap of one conditional diffusion denoiser.

Quick use::

    import mmgap
    res = mmgap.estimate_mi(x, y)          # -> MIResult(mi, stderr, ci95, ...)
    print(res.summary())
    mmgap.estimate_mi(x, y, z)             # I(X;Y|Z)
    mmgap.pointwise_mi(x, y).values        # i(x_i; y_i) per row, cross-fitted
    mmgap.estimate_entropy(x)              # h(X); estimate_entropy(x, y): h(X|Y)

Public names are imported lazily so that ``import mmgap`` (and the CLI's ``--help``)
stays fast; torch is loaded on first use of an estimator.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "MIResult": "mmgap.types",
    "MMSECurve": "mmgap.types",
    "MIEstimator": "mmgap.types",
    "MMGWarning": "mmgap.types",
    "MMGEstimator": "mmgap.estimator",
    "estimate_mi": "mmgap.api",
    "VARIANTS": "mmgap.estimator",
    "plot_mmse_curve": "mmgap.plotting",
    "PointwiseResult": "mmgap.types",
    "EntropyEstimator": "mmgap.entropy",
    "estimate_entropy": "mmgap.entropy",
    "pointwise_mi": "mmgap.pointwise",
    "mi_matrix": "mmgap.matrix",
    "MIMatrix": "mmgap.matrix",
    "mutual_info_regression": "mmgap.matrix",
    "mutual_info_classif": "mmgap.matrix",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        try:  # submodules, e.g. mmgap.estimator after a bare ``import mmgap``
            return import_module(f"mmgap.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'mmgap' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
