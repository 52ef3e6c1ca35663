"""Result types and the estimator Protocol shared by every estimator in mmgap.

This module imports nothing from mmgap, so every other module may depend on it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Protocol, Tuple, runtime_checkable

import numpy as np

NATS = "nats"
BITS = "bits"
UNITS = (NATS, BITS)
LN2 = math.log(2.0)
Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


class MMGWarning(UserWarning):
    """A result that may be unreliable (integrand forms disagree, budget ran out, ...)."""


def check_units(units: str) -> str:
    """Return ``units`` if it is ``"nats"`` or ``"bits"``, else raise ValueError."""
    if units not in UNITS:
        raise ValueError(f"units: expected 'nats' or 'bits', got {units!r}")
    return units


def nats_to(value: float, units: str) -> float:
    """Convert a value in nats to ``units`` ("nats" or "bits")."""
    return value / LN2 if check_units(units) == BITS else value


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays and nested containers into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else value
    return value


QUANTITIES = {"mi": "I(X;Y)", "cmi": "I(X;Y|Z)", "entropy": "h(X)",
              "conditional_entropy": "h(X|Y)"}


@dataclass
class MIResult:
    """One estimate of an information quantity (by default the mutual information).

    Attributes
    ----------
    mi : the estimate, in ``units`` (of ``quantity``; for entropies it is h, not an MI).
    stderr : standard error of ``mi`` (see the estimator's docs for what it covers).
    ci95 : (low, high): ``mi +- 1.96 stderr`` clipped to [0, upper_bound] (MI is never
        negative); low is 0 when ``p_value`` > 0.05 (independence not rejected at 5%);
        high is ``inf`` when ``lower_bound_only``.
    p_value : p-value of the test of independence (H0: I(X;Y) = 0), or None if not run.
    upper_bound : a known cap on the MI (e.g. H(Y) for discrete labels), or None.
    lower_bound_only : the estimate misses part of the MI (e.g. the MMSE gap is still open at
        the edge of the log-SNR window), so the interval has no upper end.
    ci_high_floor : a value the interval's upper end is raised to (a cross-check estimate
        that lay above it, e.g. the k-NN check of MMG's ``knn_above`` flag), or None.
    ci_low_ceiling : a value the interval's lower end is lowered to, or None (with
        ``ci_high_floor``: another fit's interval that the 95% interval is widened to hold,
        e.g. the first fit's after a k-NN repair, design note 27).
    units : "nats" or "bits".
    variant : which estimator/variant produced it (e.g. "orthogonal").
    n_train, n_test : sample sizes used for fitting and for the estimate.
    seconds : wall time of fit + estimate (or of the estimate alone when fit was separate).
    diagnostics : everything else (the other integrand form, proposal, training log summary,
        warnings), JSON-serialisable.
    quantity : what ``mi`` holds: "mi" I(X;Y), "cmi" I(X;Y|Z), "entropy" h(X) or
        "conditional_entropy" h(X|Y) (differential entropies: may be negative, so their
        interval is not clipped at 0).
    """

    mi: float
    stderr: float
    units: str = NATS
    variant: str = ""
    n_train: int = 0
    n_test: int = 0
    seconds: float = 0.0
    diagnostics: Dict[str, Any] = field(default_factory=dict)
    p_value: Optional[float] = None
    upper_bound: Optional[float] = None
    lower_bound_only: bool = False
    quantity: str = "mi"
    ci_high_floor: Optional[float] = None
    ci_low_ceiling: Optional[float] = None

    @property
    def value(self) -> float:
        """The estimate (alias of ``mi``, natural for entropies)."""
        return self.mi

    @property
    def ci95(self) -> Tuple[float, float]:
        half = Z95 * self.stderr if math.isfinite(self.stderr) else math.inf
        if self.quantity in ("entropy", "conditional_entropy"):
            return (self.mi - half, self.mi + half)
        cap = math.inf if self.upper_bound is None else self.upper_bound
        lo = max(self.mi - half, 0.0)
        if self.ci_low_ceiling is not None:
            lo = max(min(lo, self.ci_low_ceiling), 0.0)
        if self.p_value is not None and self.p_value > 0.05:
            lo = 0.0  # the test does not reject I = 0 at 5%: 0 stays in the 95% set
        hi = math.inf if self.lower_bound_only else min(self.mi + half, cap)
        if self.ci_high_floor is not None:
            hi = max(hi, min(self.ci_high_floor, cap))
        hi = max(hi, 0.0)
        return (min(lo, hi), hi)

    @property
    def flags(self) -> list:
        """Reliability flags ({"code", "message", "action"}) raised for this estimate."""
        return list(self.diagnostics.get("flags", []))

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        lo, hi = self.ci95
        out["ci95"] = [lo, hi if math.isfinite(hi) else None]
        return _jsonable(out)

    def summary(self) -> str:
        """One line such as ``I(X;Y) = 0.412 ± 0.006 nats (95% CI 0.400–0.424), orthogonal, ...``."""
        lo, hi = self.ci95
        hi_text = f"{hi:.3f}" if math.isfinite(hi) else "inf"
        p = "" if self.p_value is None else f", p = {self.p_value:.3g}"
        name = QUANTITIES.get(self.quantity, self.quantity)
        return (
            f"{name} = {self.mi:.3f} \u00b1 {self.stderr:.3f} {self.units} "
            f"(95% CI {lo:.3f}\u2013{hi_text}){p}, {self.variant}, "
            f"{self.n_train}/{self.n_test} samples, {self.seconds:.1f} s"
        )

    def __str__(self) -> str:  # pragma: no cover - thin alias
        return self.summary()


@dataclass
class PointwiseResult:
    """Pointwise mutual information i(x_i; y_i) = log p(x_i | y_i) - log p(x_i) per row.

    Attributes
    ----------
    values : (n,) estimates, in ``units``; each is a Monte Carlo average over noise draws.
    stderr : (n,) Monte Carlo standard error of each value (the noise of the draws only;
        the error of the fitted network is not in it).
    units : "nats" or "bits".
    quantity : "pmi" (i(x;y)) or "pcmi" (i(x;y|z)).
    diagnostics : the integrand form, draws per row, folds, ... (JSON-serialisable).
    """

    values: np.ndarray
    stderr: np.ndarray
    units: str = NATS
    quantity: str = "pmi"
    diagnostics: Dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """The mean of the values: an estimate of I(X;Y) (or I(X;Y|Z))."""
        return float(np.mean(self.values))

    @property
    def mean_stderr(self) -> float:
        """Standard error of :attr:`mean` over the rows."""
        v = np.asarray(self.values, dtype=np.float64)
        return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf

    def to_dict(self) -> Dict[str, Any]:
        out = _jsonable(asdict(self))
        out["mean"], out["mean_stderr"] = self.mean, self.mean_stderr
        return out


@dataclass
class MMSECurve:
    """Unconditional and conditional eps-MMSE on a log-SNR grid.

    All arrays have shape (n_grid,). ``*_stderr`` are Monte Carlo standard errors over
    the evaluation points. ``gap = mmse - mmse_cond``; the MI is 1/2 the area under ``gap``.
    """

    logsnr: np.ndarray
    mmse: np.ndarray
    mmse_cond: np.ndarray
    mmse_stderr: np.ndarray
    mmse_cond_stderr: np.ndarray
    dim_x: int
    gap_orthogonal: Optional[np.ndarray] = None

    @property
    def gap(self) -> np.ndarray:
        return self.mmse - self.mmse_cond

    def to_dict(self) -> Dict[str, Any]:
        return _jsonable(asdict(self))


@runtime_checkable
class MIEstimator(Protocol):
    """What every estimator in mmgap (MMG and baselines) provides."""

    def fit(self, x: Any, y: Any) -> "MIEstimator":  # pragma: no cover - protocol
        ...

    def estimate(self, x: Any, y: Any) -> MIResult:  # pragma: no cover - protocol
        ...

    def get_params(self, deep: bool = True) -> Dict[str, Any]:  # pragma: no cover - protocol
        ...
