"""Baseline MI estimators behind the same interface as :class:`mmgap.MMGEstimator`.

Every baseline is a class with sklearn habits (``fit`` returns self, ``estimate`` returns an
:class:`mmgap.types.MIResult`, ``get_params`` / ``set_params``) and class attributes
``name``, ``description`` and ``reference``. ``BASELINES`` maps names to classes; add a new
baseline with :func:`register_baseline` (or by adding it to the dict).
"""

from __future__ import annotations

from typing import Any, Dict

from .discrete import (MillerMadowMI, PluginMI, estimate_miller_madow, estimate_plugin,
                       miller_madow_mi, plugin_mi)
from .gaussian import (GaussianMI, canonical_correlations, estimate_gaussian, gaussian_mi,
                       gaussian_mi_from_cov)
from .kl_entropy import KLEntropyEstimator, estimate_kl_entropy, kl_entropy
from .ksg import KSGEstimator, estimate_ksg, ksg_mi
from .ksg_cmi import KSGCMIEstimator, estimate_ksg_cmi, ksg_cmi
from .minde import MINDEEstimator
from .mixed_ksg import MixedKSGEstimator, estimate_mixed_ksg, mixed_ksg_mi
from .variational import (DVEstimator, InfoNCEEstimator, MINEEstimator, NWJEstimator,
                          VariationalEstimator)

__all__ = [
    "BASELINES",
    "DVEstimator",
    "InfoNCEEstimator",
    "MINDEEstimator",
    "MINEEstimator",
    "NWJEstimator",
    "VariationalEstimator",
    "GaussianMI",
    "KSGEstimator",
    "KSGCMIEstimator",
    "KLEntropyEstimator",
    "MillerMadowMI",
    "MixedKSGEstimator",
    "PluginMI",
    "canonical_correlations",
    "estimate_gaussian",
    "estimate_ksg",
    "estimate_ksg_cmi",
    "estimate_kl_entropy",
    "estimate_miller_madow",
    "estimate_mixed_ksg",
    "estimate_plugin",
    "gaussian_mi",
    "gaussian_mi_from_cov",
    "get_baseline",
    "ksg_mi",
    "ksg_cmi",
    "kl_entropy",
    "miller_madow_mi",
    "mixed_ksg_mi",
    "plugin_mi",
    "register_baseline",
]

BASELINES: Dict[str, type] = {
    KSGEstimator.name: KSGEstimator,
    GaussianMI.name: GaussianMI,
    InfoNCEEstimator.name: InfoNCEEstimator,
    NWJEstimator.name: NWJEstimator,
    DVEstimator.name: DVEstimator,
    MINEEstimator.name: MINEEstimator,
    MINDEEstimator.name: MINDEEstimator,
    KSGCMIEstimator.name: KSGCMIEstimator,  # conditional MI only (quantities = ("cmi",))
    KLEntropyEstimator.name: KLEntropyEstimator,  # entropy only (quantities = ("entropy",))
    PluginMI.name: PluginMI,  # discrete x and y only (integer columns)
    MillerMadowMI.name: MillerMadowMI,  # discrete x and y only (integer columns)
    MixedKSGEstimator.name: MixedKSGEstimator,  # discrete, continuous or mixed columns
}


def register_baseline(cls: type, name: str = "") -> type:
    """Add ``cls`` to :data:`BASELINES` under ``name`` (default ``cls.name``); returns cls,
    so it also works as a class decorator. ValueError if the name is taken by another class."""
    key = name or getattr(cls, "name", "")
    if not key:
        raise ValueError("name: expected a non-empty name (or a class attribute 'name')")
    if key in BASELINES and BASELINES[key] is not cls:
        raise ValueError(
            f"name: baseline {key!r} is already registered ({BASELINES[key].__name__})"
        )
    BASELINES[key] = cls
    return cls


def get_baseline(name: str, **params: Any) -> Any:
    """A new instance of the baseline called ``name``, constructed with ``params``.

    Raises ValueError naming the valid names when ``name`` is unknown.
    """
    cls = BASELINES.get(name)
    if cls is None:
        raise ValueError(
            f"name: unknown baseline {name!r}; valid names are {sorted(BASELINES)}"
        )
    return cls(**params)
