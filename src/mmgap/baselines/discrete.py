"""Plug-in and Miller-Madow estimators of I(X;Y) for discrete X and Y.

Maths. Every row of x (and of y) is one joint symbol; with n_x(a), n_y(b), n_xy(a, b) the
numbers of rows showing symbol a in x, b in y, (a, b) jointly, the plug-in (maximum
likelihood) estimate is ::

    I_plugin = H(X) + H(Y) - H(X, Y) = (1/n) sum_i log( n n_xy(i) / (n_x(i) n_y(i)) ),

the entropies of the empirical distributions. It is biased upwards by about
(m_xy - m_x - m_y + 1) / (2n) (Miller 1955; Paninski, Neural Computation 15, 1191, 2003),
m the numbers of symbols with positive probability. Miller and Madow correct each entropy
by ``(m - 1) / (2n)`` with m the number of *observed* symbols::

    I_MM = I_plugin + ((m_x - 1) + (m_y - 1) - (m_xy - 1)) / (2n).

Standard error: the delta-method (asymptotic) standard deviation of the plug-in MI,
``sd_i( log n n_xy(i) / (n_x(i) n_y(i)) ) / sqrt(n)``, the sample standard deviation of
the per-row pointwise terms whose mean is the plug-in estimate. It covers the sampling
error, not the bias. Where every row has the same pointwise term (a balanced table of
independent symbols, or Y a one-to-one function of a uniform X) it is 0, although the
estimate still varies at order 1/n there.

Input: x and y are arrays of integers (any integer dtype, or floats that are whole
numbers), 1-D (one column) or 2-D (n, d). A column holding a non-integer value is a
ValueError naming the argument: bin continuous data yourself (these estimators never
discretise silently).
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Tuple

import numpy as np

from mmgap.types import MIResult, check_units
from mmgap.validation import as_2d_array, as_labels, check_finite

from ._base import ParamsMixin, baseline_result

__all__ = ["PluginMI", "MillerMadowMI", "plugin_mi", "miller_madow_mi", "as_symbols",
           "discrete_mi_terms", "estimate_plugin", "estimate_miller_madow"]

# floats above this are not exact integers in float64
_MAX_EXACT_FLOAT = 2.0**53


def _integer_array(a: Any, name: str) -> np.ndarray:
    """An int64 array of shape (n, d) holding exactly the integers in ``a`` (1-D: one
    column). ValueError naming ``name`` for non-numeric, non-finite or non-integer values."""
    raw = a.detach().cpu().numpy() if hasattr(a, "detach") and hasattr(a, "cpu") else a
    arr = np.asarray(raw) if not hasattr(raw, "dtypes") else None
    if arr is not None and arr.dtype.kind in "iub":  # integers stay exact
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"{name}: expected a non-empty 1-D or 2-D array of integers, "
                             f"got shape {arr.shape}")
        if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name}: values above 2**63 - 1 are not supported")
        return arr.astype(np.int64)
    values = check_finite(as_2d_array(a, name), name)
    whole = values == np.round(values)
    if not whole.all():
        row, col = (int(v) for v in np.argwhere(~whole)[0])
        raise ValueError(
            f"{name}: column {col} is not integer-valued (row {row} holds "
            f"{float(values[row, col])!r}); the plug-in estimators need discrete data (integer "
            "symbols): bin continuous columns first, or use a k-NN estimator "
            "(ksg, mixed-ksg)"
        )
    if np.any(np.abs(values) > _MAX_EXACT_FLOAT):
        raise ValueError(f"{name}: float values above 2**53 are not exact integers; pass "
                         "them as an integer array")
    return values.astype(np.int64)


def _symbols(a: Any, name: str) -> Tuple[np.ndarray, int, int]:
    """``(codes, n_symbols, n_columns)``: see :func:`as_symbols`."""
    arr = _integer_array(a, name)
    if arr.shape[1] == 1:
        flat = arr[:, 0]
    else:
        low = arr.min(axis=0)
        span = arr.max(axis=0).astype(object) - low.astype(object) + 1  # exact, no overflow
        if np.prod(span) < 2**62:  # mixed-radix code of the row: exact in int64
            shifted = arr - low
            flat = np.zeros(arr.shape[0], dtype=np.int64)
            for j in range(arr.shape[1]):
                flat = flat * int(span[j]) + shifted[:, j]
        else:  # huge ranges: sort the rows themselves
            _, flat = np.unique(arr, axis=0, return_inverse=True)
            flat = flat.reshape(-1)
    symbols, codes = np.unique(flat, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), int(symbols.size), int(arr.shape[1])


def as_symbols(a: Any, name: str) -> Tuple[np.ndarray, int]:
    """Joint symbols of the rows of an integer array: ``(codes, n_symbols)`` with codes an
    int64 array of shape (n,) in [0, n_symbols), equal exactly for equal rows.

    ``a``: (n,) or (n, d) integers (or whole-number floats); ValueError naming ``name``
    for non-numeric, non-finite or non-integer values."""
    codes, n_symbols, _ = _symbols(a, name)
    return codes, n_symbols


def _check_pair(x: Any, y: Any, y_discrete: bool
                ) -> Tuple[np.ndarray, np.ndarray, int, int, int, int]:
    """Validated symbol codes of x and y: (codes_x, codes_y, m_x, m_y, dim_x, dim_y)."""
    cx, m_x, dim_x = _symbols(x, "x")
    # y_discrete: one column of labels, checked as the MMG estimator checks labels
    cy, m_y, dim_y = _symbols(as_labels(y, "y") if y_discrete else y, "y")
    if cx.size != cy.size:
        raise ValueError(f"x and y: expected the same number of samples (rows), got "
                         f"{cx.size} and {cy.size}")
    if cx.size < 2:
        raise ValueError(f"x: expected at least 2 samples, got {cx.size}")
    return cx, cy, m_x, m_y, dim_x, dim_y


def _joint_counts(codes_x: np.ndarray, codes_y: np.ndarray, n_symbols_y: int
                  ) -> Tuple[np.ndarray, int]:
    """n_xy of each row's joint symbol (shape (n,)) and the number of joint symbols m_xy."""
    joint = codes_x * np.int64(n_symbols_y) + codes_y
    _, inverse, counts = np.unique(joint, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)], int(counts.size)


def discrete_mi_terms(codes_x: np.ndarray, codes_y: np.ndarray, n_symbols_y: int
                      ) -> Tuple[np.ndarray, int]:
    """Per-row plug-in terms ``log(n n_xy / (n_x n_y))`` (shape (n,); their mean is the
    plug-in MI) and the number of observed joint symbols m_xy. ``codes_x``, ``codes_y``:
    (n,) int64 symbol codes, the latter in [0, n_symbols_y)."""
    n = codes_x.size
    count_x = np.bincount(codes_x)[codes_x]
    count_y = np.bincount(codes_y)[codes_y]
    count_xy, m_xy = _joint_counts(codes_x, codes_y, n_symbols_y)
    terms = np.log(n) + np.log(count_xy) - np.log(count_x) - np.log(count_y)
    return terms, m_xy


def _entropy_of(codes: np.ndarray) -> float:
    """Plug-in entropy (nats) of the symbols ``codes`` (n,)."""
    p = np.bincount(codes) / codes.size
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def plugin_mi(x: Any, y: Any) -> float:
    """Plug-in estimate of I(X;Y) in nats for integer arrays x, y ((n,) or (n, d))."""
    cx, cy, _, m_y, _, _ = _check_pair(x, y, False)
    terms, _ = discrete_mi_terms(cx, cy, m_y)
    return float(terms.mean())


def miller_madow_mi(x: Any, y: Any) -> float:
    """Miller-Madow-corrected estimate of I(X;Y) in nats for integer arrays x, y."""
    cx, cy, m_x, m_y, _, _ = _check_pair(x, y, False)
    terms, m_xy = discrete_mi_terms(cx, cy, m_y)
    return float(terms.mean() + (m_x + m_y - m_xy - 1) / (2.0 * cx.size))


class _DiscreteMI(ParamsMixin):
    """Shared body of :class:`PluginMI` and :class:`MillerMadowMI` (``_correct`` differs)."""

    name = ""
    description = ""
    reference = ""
    quantities = ("mi",)
    # x and y must hold integer symbols: callers that loop over methods (the benchmark
    # runner, the contract tests) can skip continuous data with this flag
    discrete_only = True
    _correct = False

    def __init__(self, y_discrete: bool = False, units: str = "nats") -> None:
        self.y_discrete = y_discrete
        self.units = units

    def _check_params(self) -> None:
        check_units(self.units)
        if not isinstance(self.y_discrete, (bool, np.bool_)):
            raise ValueError(f"y_discrete: expected True or False, got {self.y_discrete!r}")

    def fit(self, x: Any, y: Any) -> "_DiscreteMI":
        """Validate parameters and data, record ``dim_x_``, ``dim_y_``, ``n_fit_``."""
        self._check_params()
        cx, _, _, _, dim_x, dim_y = _check_pair(x, y, bool(self.y_discrete))
        self.dim_x_, self.dim_y_, self.n_fit_ = dim_x, dim_y, int(cx.size)
        return self

    def estimate(self, x: Any, y: Any) -> MIResult:
        """The estimate of I(X;Y) on these samples. x: (n,) or (n, dim_x) integers; y: (n,)
        or (n, dim_y) integers (one column of labels when ``y_discrete``)."""
        start = time.perf_counter()
        self._check_params()
        cx, cy, m_x, m_y, dim_x, dim_y = _check_pair(x, y, bool(self.y_discrete))
        for var, dim in (("x", dim_x), ("y", dim_y)):
            fitted = getattr(self, f"dim_{var}_", None)
            if fitted is not None and dim != fitted:
                raise ValueError(f"{var}: expected {fitted} column(s) as in fit, got {dim}")
        n = cx.size
        terms, m_xy = discrete_mi_terms(cx, cy, m_y)
        plugin = float(terms.mean())
        correction = (m_x + m_y - m_xy - 1) / (2.0 * n)
        mi = plugin + correction if self._correct else plugin
        stderr = float(terms.std(ddof=1) / np.sqrt(n))
        singletons = int(np.count_nonzero(_joint_counts(cx, cy, m_y)[0] == 1))
        if singletons > n / 2:
            warnings.warn(
                f"{self.name}: {singletons} of the {n} samples show a joint symbol seen only "
                f"once ({m_xy} joint symbols in all); the plug-in estimate is then dominated "
                "by its bias (are the data really discrete with few symbols?)",
                UserWarning,
                stacklevel=2,
            )
        diagnostics: Dict[str, Any] = {
            "n_symbols_x": m_x,
            "n_symbols_y": m_y,
            "n_symbols_xy": m_xy,
            "singleton_rows": singletons,
            "plugin_nats": plugin,
            "miller_madow_correction_nats": correction,
            "entropy_x_nats": _entropy_of(cx),
            "entropy_y_nats": _entropy_of(cy),
            "stderr_method": "delta method: sd of the per-row plug-in terms / sqrt(n); "
                             "sampling error only, not the bias",
            "mi_nats": mi,
        }
        return baseline_result(self, mi, stderr, n, start, diagnostics)


class PluginMI(_DiscreteMI):
    """Plug-in (maximum-likelihood) estimator of I(X;Y) for discrete X and Y.

    Parameters
    ----------
    y_discrete : bool, default False
        True: y must be one column of integer labels (checked as such, as for the MMG
        estimator). False: y may have several integer columns (rows are joint symbols).
        x and y are discrete either way.
    units : "nats" (default) or "bits".

    Notes
    -----
    * Training-free: ``fit`` only validates and records widths; ``estimate`` counts symbols
      in the data passed to it (``n_train`` is 0) and may be called without ``fit``.
    * Biased upwards by about (m_xy - m_x - m_y + 1)/(2n) for m symbols in use; the
      Miller-Madow version (``miller-madow``) removes that first-order term.
    * ``stderr``: delta method (sd of the per-row terms / sqrt(n)); see the module notes.
    * A UserWarning when more than half the rows show a joint symbol seen once (the estimate
      is then mostly bias).
    """

    name = "plugin"
    description = "Plug-in (maximum-likelihood) estimator for discrete x and y"
    reference = ("L. Paninski, Estimation of entropy and mutual information, Neural "
                 "Computation 15, 1191-1253 (2003)")
    _correct = False


class MillerMadowMI(_DiscreteMI):
    """Plug-in estimator of I(X;Y) with the Miller-Madow bias correction, for discrete X, Y.

    Each plug-in entropy gets ``(m - 1)/(2n)`` added (m the number of observed symbols):
    I_MM = I_plugin + ((m_x - 1) + (m_y - 1) - (m_xy - 1))/(2n). Same parameters, input and
    ``stderr`` as :class:`PluginMI`.
    """

    name = "miller-madow"
    description = "Plug-in estimator for discrete x and y with the Miller-Madow bias correction"
    reference = ("G. A. Miller, Note on the bias of information estimates, in Information "
                 "Theory in Psychology (1955); L. Paninski, Neural Computation 15, 1191 (2003)")
    _correct = True


def estimate_plugin(x: Any, y: Any, **params: Any) -> MIResult:
    """One call: ``PluginMI(**params).estimate(x, y)``."""
    return PluginMI(**params).estimate(x, y)


def estimate_miller_madow(x: Any, y: Any, **params: Any) -> MIResult:
    """One call: ``MillerMadowMI(**params).estimate(x, y)``."""
    return MillerMadowMI(**params).estimate(x, y)
