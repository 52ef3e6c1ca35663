"""Cross-fitted I(X;Y): every row is evaluated once, by a network that never saw it.

``cross_fit_estimate(x, y[, z], n_folds=K)`` splits the rows into K folds (stratified on
discrete y, else on discrete z, as the single split is). For each fold the default pipeline
(:func:`mmgap.estimator.fit_rows`: fit on the other K - 1 folds, estimate on the fold, repair
when a cross-check fires) runs as it does after the single 80/20 split, and
:func:`combine_folds` pools the K results:

* estimate and both integrand forms: the means over folds weighted by fold size (every row
  counts once, so the held-out part of the error shrinks as if all N rows were held out);
* standard error: the larger of the pooled held-out (Monte Carlo) error
  ``sqrt(sum_k w_k^2 se_k^2)`` and the spread between the K fold estimates
  ``sd_k / sqrt(K)`` (which also holds the randomness of training K networks), then the same
  model-error terms as a single fit (:func:`mmgap.inference.calibrated_stderr`: the pooled
  disagreement of the forms and the relative floor);
* p-value: twice the mean of the K folds' p-values (capped at 1). Each fold's test is exact
  (its network never saw the fold), but the folds' tests are dependent (their networks share
  training rows); twice the mean is a valid p-value under any dependence (Rüschendorf 1982;
  Vovk and Wang 2020), so under independence P(p <= alpha) <= alpha still holds;
* interval: the pooled estimate +- 1.96 standard errors, its upper end raised to the pooled
  cross-checks as for one fit (:func:`mmgap.inference.upper_end_floor`: the k-NN and
  Gaussian-copula values averaged over the folds, the latter's error pooled like the
  estimate's); when a fold was repaired with a hull (design note 27) it also holds the
  pooled estimate with those folds' first fits in place of their refits; no upper end when
  any fold has none;
* flags: every flag raised on any fold, with the folds it came from.

Cost: K fits, each on (K - 1) / K of the rows (K = 5 trains each network on 80%, like the
single split). The design note is docs/design-notes.md, note 29.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import distributed
from .estimator import FitInputs, fit_rows, prepare_fit_inputs
from .inference import DELTA_WEIGHT_CHECKED, REPAIR_HULL, calibrated_stderr, upper_end_floor
from .pointwise import fold_indices
from .types import Z95, MIResult, MMGWarning
from .parallel import process_map
from .validation import check_positive_int, check_random_state

__all__ = ["cross_fit_estimate", "combine_folds", "MAX_FOLDS"]

logger = logging.getLogger(__name__)

#: most folds accepted: each fold is a whole fit, and the held-out part of the error has
#: long stopped shrinking by then (it is already that of all N rows at any K)
MAX_FOLDS = 20


def check_n_folds(n_folds: Any) -> int:
    """``n_folds`` as an int in 2 .. MAX_FOLDS, else ValueError naming the argument."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)):
        raise ValueError(f"n_folds: expected an integer from 2 to {MAX_FOLDS}, got {n_folds!r}")
    k = int(n_folds)
    if not 2 <= k <= MAX_FOLDS:
        raise ValueError(f"n_folds: expected an integer from 2 to {MAX_FOLDS}, got {k}")
    return k


def _fold(data: FitInputs, tr: np.ndarray, te: np.ndarray, seed: int, params: dict) -> MIResult:
    """One fold's fit, estimate and repair (its warnings are pooled by the caller)."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return fit_rows(data, tr, te, random_state=seed, params=params)[1]


def cross_fit_estimate(x: Any, y: Any, z: Any = None, *, n_folds: int = 5,
                       random_state: Optional[int] = 0, repair: bool = True,
                       estimator: Optional[type] = None, n_jobs: int = 1,
                       **params: Any) -> MIResult:
    """Cross-fitted estimate of I(X;Y) (or I(X;Y|Z) with ``z``) from ``n_folds`` fits; see
    the module docstring for how the folds are pooled. ``params`` go to each fold's
    :class:`mmgap.MMGEstimator`; ``random_state`` seeds the folds and, through one seed per
    fold drawn from it, each fold's fit. ``diagnostics["cross_fit"]["folds"]`` holds every
    fold's own result (estimate, interval, p-value, flags, repair).

    ``n_jobs`` > 1 fits that many folds at once in worker processes
    (:func:`mmgap.parallel.process_map`), each with an equal share of the cores as torch
    threads and no progress bar; each worker gets a copy of the data. The numbers then
    differ slightly from ``n_jobs=1`` (a different thread count changes floating-point
    sums), but are the same for the same ``n_jobs`` on the same machine. The workers are
    spawned, so a script that calls this with ``n_jobs`` > 1 must keep its top-level code
    under ``if __name__ == "__main__":`` (Python's rule for spawned processes: each worker
    imports the main module)."""
    t0 = time.perf_counter()
    k = check_n_folds(n_folds)
    jobs = check_positive_int(n_jobs, "n_jobs")
    if jobs > 1 and distributed.launched():
        raise ValueError("n_jobs: under torchrun every rank trains each fold data-parallel "
                         "already; use n_jobs=1 (the folds then run one after another)")
    check_random_state(random_state)
    data = prepare_fit_inputs(x, y, z, estimator=estimator, repair=repair, params=params)
    if data.n < 20 * k:
        raise ValueError(f"x: expected at least {20 * k} rows for n_folds={k} (each fold's "
                         f"network trains on the other folds and is checked on this one), "
                         f"got {data.n}")
    fold = fold_indices(data.n, k, random_state, data.labels)
    seeds = np.random.default_rng(random_state).integers(0, 2**31, size=k)
    parts = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]
    results: List[Optional[MIResult]] = [None] * k
    if jobs > 1 and k > 1:
        quiet = dict(params, verbose=False)
        logger.info("cross-fit: %d folds on %d worker processes", k, min(jobs, k))
        for f, res in process_map(_fold, [(data, tr, te, int(seeds[f]), quiet)
                                          for f, (tr, te) in enumerate(parts)], min(jobs, k)):
            results[f] = res
    else:
        for f, (tr, te) in enumerate(parts):
            logger.info("cross-fit: fold %d of %d (%d training rows, %d held out)",
                        f + 1, k, tr.size, te.size)
            results[f] = _fold(data, tr, te, int(seeds[f]), params)
    out = combine_folds(results, [int(te.size) for _, te in parts])
    for flag in out.flags:
        warnings.warn(flag["message"], MMGWarning, stacklevel=2)
    out.seconds = time.perf_counter() - t0
    return out


def _merged_flags(results: Sequence[MIResult]) -> List[Dict[str, str]]:
    """One flag per code raised on any fold, its message naming the folds (1-based)."""
    merged: Dict[str, Dict[str, Any]] = {}
    for i, res in enumerate(results):
        for flag in res.flags:
            entry = merged.setdefault(flag["code"], {"flag": flag, "folds": []})
            entry["folds"].append(i + 1)
    k = len(results)
    out = []
    for code, entry in merged.items():
        folds = entry["folds"]
        where = (f"fold {folds[0]} of {k}" if len(folds) == 1
                 else f"folds {', '.join(map(str, folds))} of {k}")
        out.append({"code": code, "message": f"{entry['flag']['message']} ({where})",
                    "action": entry["flag"].get("action", ""), "folds": folds})
    return out


def _seconds(res: MIResult) -> float:
    """A fold's fits and estimate (``fit_rows`` leaves the estimate's time in ``seconds``;
    a repaired fold also spent its first fit's)."""
    first = (res.diagnostics.get("repair") or {}).get("first_fit") or {}
    return float(res.seconds + (res.diagnostics.get("seconds_fit") or 0.0)
                 + (first.get("seconds") or 0.0))


def combine_folds(results: Sequence[MIResult], sizes: Sequence[int]) -> MIResult:
    """Pool the per-fold results of a cross-fit (same units and quantity) into one
    :class:`MIResult`; ``sizes`` are the folds' held-out row counts (the weights). Exact
    rules in the module docstring. The folds' own results stay in
    ``diagnostics["cross_fit"]["folds"]``."""
    if len(results) < 2 or len(results) != len(sizes):
        raise ValueError(f"results and sizes: expected the same number (>= 2) of fold results "
                         f"and sizes, got {len(results)} and {len(sizes)}")
    units = {r.units for r in results}
    quantities = {r.quantity for r in results}
    if len(units) != 1 or len(quantities) != 1:
        raise ValueError(f"results: folds must share units and quantity, got {sorted(units)} "
                         f"and {sorted(quantities)}")
    w = np.asarray(sizes, dtype=np.float64)
    if (w <= 0).any():
        raise ValueError(f"sizes: expected positive row counts, got {list(sizes)}")
    w = w / w.sum()
    k = len(results)

    def pooled(key: str) -> Optional[float]:
        vals = [r.diagnostics.get(key) for r in results]
        if any(v is None for v in vals):
            return None
        return float(np.dot(w, np.asarray(vals, dtype=np.float64)))

    mis = np.array([r.mi for r in results], dtype=np.float64)
    mi = float(np.dot(w, mis))
    se_mc = np.array([r.diagnostics.get("stderr_mc", r.stderr) for r in results], dtype=np.float64)
    se_held = float(math.sqrt(np.dot(w ** 2, se_mc ** 2)))
    se_between = float(mis.std(ddof=1) / math.sqrt(k))
    delta = pooled("direct_minus_orthogonal") or 0.0
    # the cross-checks, pooled like the estimate (each fold ran them on its own rows)
    knn = pooled("knn_check")
    checks = [r.diagnostics.get("gaussian_check") for r in results]
    gauss = None if any(g is None for g in checks) else {
        "mi": float(np.dot(w, [g["mi"] for g in checks])),
        "stderr": float(math.sqrt(np.dot(w ** 2, np.square([g["stderr"] for g in checks]))))}
    se = calibrated_stderr(mi, max(se_held, se_between), delta,
                           delta_weight=1.0 if gauss is None else DELTA_WEIGHT_CHECKED)
    ps = [r.p_value for r in results]
    p = None if any(v is None for v in ps) else min(1.0, 2.0 * float(np.mean(ps)))
    bounds = [r.upper_bound for r in results if r.upper_bound is not None]
    floor = upper_end_floor(mi + Z95 * se, knn_mi=knn, gauss=gauss)
    ceiling = None
    # a fold repaired with a hull (design note 27) had two valid fits: the pooled interval
    # holds the pooled estimate with those folds' first fits in place of their refits too
    repairs = [r.diagnostics.get("repair") or {} for r in results]
    hulls = [rep.get("flag") in REPAIR_HULL for rep in repairs]
    if any(hulls):
        alt = float(np.dot(w, [rep["first_fit"]["mi"] if hull else r.mi
                               for r, rep, hull in zip(results, repairs, hulls)]))
        ceiling = alt - Z95 * se
        floor = max(alt + Z95 * se, -math.inf if floor is None else floor)
    variants = sorted({r.variant for r in results})
    flags = _merged_flags(results)
    folds = []
    for i, r in enumerate(results):
        lo, hi = r.ci95
        folds.append({"fold": i + 1, "mi": r.mi, "stderr": r.stderr,
                      "ci95": [lo, hi if math.isfinite(hi) else None], "p_value": r.p_value,
                      "n_train": r.n_train, "n_test": r.n_test, "variant": r.variant,
                      "mi_direct": r.diagnostics.get("mi_direct"),
                      "mi_orthogonal": r.diagnostics.get("mi_orthogonal"),
                      "flags": [f["code"] for f in r.flags],
                      "repair": r.diagnostics.get("repair"),
                      "seconds": _seconds(r)})
    first = results[0].diagnostics
    diagnostics = {
        "mi_direct": pooled("mi_direct"), "mi_orthogonal": pooled("mi_orthogonal"),
        "direct_minus_orthogonal": delta,
        "stderr_mc": se_held,
        "integrand": first.get("integrand"),
        "knn_check": knn, "gaussian_check": gauss,
        "variant_used": "/".join(variants),
        "flags": flags, "warnings": [f["message"] for f in flags],
        "cross_fit": {
            "n_folds": k, "fold_sizes": [int(s) for s in sizes],
            "stderr_held_out": se_held, "stderr_between_folds": se_between,
            "p_value_rule": "twice the mean of the folds' p-values (valid under dependence)",
            "interval_rule": ("pooled estimate +- 1.96 stderr, raised to the pooled "
                              "cross-checks; hull with the first fits of hull-repaired folds"),
            "folds": folds,
        },
    }
    return MIResult(mi=mi, stderr=se, units=results[0].units, variant="/".join(variants),
                    quantity=results[0].quantity,
                    n_train=int(round(np.mean([r.n_train for r in results]))),
                    n_test=int(sum(r.n_test for r in results)),
                    seconds=float(sum(_seconds(r) for r in results)),
                    diagnostics=diagnostics, p_value=p,
                    upper_bound=max(bounds) if bounds else None,
                    lower_bound_only=any(r.lower_bound_only for r in results),
                    ci_high_floor=floor, ci_low_ceiling=ceiling)
