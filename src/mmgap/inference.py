"""Inference on top of a fitted denoiser: the calibrated error bar, the permutation test of
independence, and the reliability flags (docs/design-notes.md, note 16).

Pure functions of numbers and of a denoiser (the :data:`mmgap.gap.Denoiser` signature); no
training and no estimator state in here.

- :func:`calibrated_stderr`: the reported standard error,
  ``sqrt(se_mc^2 + delta^2 + (MODEL_ERROR_REL * mi)^2)``: the Monte Carlo / held-out error
  of the one fitted network, the disagreement ``delta`` between the two integrand forms on
  the same draws (the bias the fitted model shows), and a floor proportional to the
  estimate for the training randomness and bias that one fit cannot reveal.
- :func:`permutation_test`: exact permutation p-value of H0: I(X;Y) = 0 from a network
  that never saw the evaluation points: y is permuted *within the held-out points*, the
  fitted denoiser is re-evaluated on fixed (logsnr, eps) draws, and
  p = (1 + #{T_perm >= T_obs}) / (1 + n_permutations).
- :func:`reliability_flags`: conditions under which the interval cannot be trusted.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .gap import Denoiser
from .logsnr import add_noise

__all__ = ["MODEL_ERROR_REL", "calibrated_stderr", "permutation_test", "label_entropy",
           "reliability_flags", "EDGE_GAP_REL", "EDGE_GAP_ABS", "FEW_SAMPLES_PER_DIM",
           "OVERFIT_REL", "DISAGREE_REL", "z_strata", "STRATUM_SIZE", "PERMUTATION_MAX_ROWS",
           "capped_rows"]

# Relative model-error floor of the calibrated stderr. Chosen on seed 0 only (bmi40, 40 tasks,
# and the 50 high-MI sparse/half-cube tasks, 90 runs) as the smallest value of 0.01, 0.0125,
# 0.015, 0.0175, 0.02 whose 95% intervals covered >= 95% of the truths; coverage is reported
# on seeds 1 and 2 (docs/benchmarks/calibration.md).
MODEL_ERROR_REL = 0.015

# Flag thresholds (docs/design-notes.md, note 16).
EDGE_GAP_REL = 0.02   # MI density (nats per log-SNR unit) at a window edge, relative to the MI
EDGE_GAP_ABS = 0.005  # ... and in absolute terms (nats per log-SNR unit)
FEW_SAMPLES_PER_DIM = 10  # fewer training samples than this times (dim_x + dim_y)
STRATUM_SIZE = 4  # points per group of nearby z in the conditional permutation test
OVERFIT_REL = 0.25    # training-point estimate above the held-out one by this share (and 3 se)
DISAGREE_REL = 0.5    # integrand forms apart by this share of the estimate (and 0.05, 3 se)

# k-NN cross-check (issue 11/16, design note 20). In at most KNN_CHECK_MAX_DIMS dimensions of
# continuous vectors, KSG (k = 5) on the held-out rows (at most KNN_CHECK_MAX_ROWS) is a
# second estimate that is biased low, not high; when it lies above the interval's upper end
# by more than KNN_CHECK_MARGIN nats the denoiser missed structure. Chosen on seed 0 (bmi40
# and the issue-16 tasks): margin 0.05 fired on 0/47 passing runs and on the 2 narrow-ring
# misses; seeds 1-2 of bmi40: 0/66 passing runs (docs/benchmarks/hard.md).
KNN_CHECK_MAX_DIMS = 10
KNN_CHECK_MAX_ROWS = 4096
KNN_CHECK_MARGIN = 0.05

#: most held-out rows the permutation test of ``MMGEstimator.estimate`` uses. Each of its 99
#: permutations costs one conditional pass over the rows, so on all of them the test would
#: cost about 100 estimates and grow with N. Above the cap it runs on a random subset drawn
#: from the estimator's seed alone, independently of the data, so it stays exactly valid (the
#: network never saw these rows either); only its power is that of 8,192 rows (the null
#: spread of the statistic shrinks as 1/sqrt(rows)). 8,192 rows is twice the ~4,000 draws per
#: permutation the test uses at bmi40 size (N = 10^4: 2,000 rows x 2 draws), where its cost
#: is a few percent of a fit; at 100 + 100 dimensions it costs about 4 s on 2 cores
#: (docs/benchmarks/scale.md). It binds only above 8,192 held-out rows (N > 40,960 with
#: test_size 0.2): nothing changes at bmi40 size.
PERMUTATION_MAX_ROWS = 8192


def calibrated_stderr(mi: float, stderr_mc: float, delta: float,
                      rel: float = MODEL_ERROR_REL) -> float:
    """``sqrt(stderr_mc^2 + delta^2 + (rel * mi)^2)`` (all in the same units)."""
    return float(math.sqrt(stderr_mc ** 2 + delta ** 2 + (rel * mi) ** 2))


def label_entropy(labels: np.ndarray) -> float:
    """Plug-in entropy (nats) of integer labels, shape (n,): the cap I(X;Y) <= H(Y)."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


@torch.inference_mode()
def permutation_test(denoise: Denoiser, x: Tensor, y: Tensor, proposal, *,
                     n_permutations: int = 199, k_draws: int = 2,
                     generator: Optional[torch.Generator] = None,
                     batch_size: int = 16384, context: Optional[Tensor] = None,
                     strata: Optional[np.ndarray] = None,
                     residualize: bool = False) -> Dict[str, Any]:
    """Permutation test of independence with a fitted denoiser on points it never saw.

    x: (n, dim_x), y: (n, dim_y) held-out tensors. Statistic: the direct-form MMG estimate
    T = mean of 1/2 w (||eps - eps_hat(z)||^2 - ||eps - eps_hat(z, y)||^2) over k fixed
    (logsnr, eps) draws per point: how much knowing y reduces the denoising error. (The
    orthogonal form is no test statistic: a wrong y moves the conditional prediction as far
    from the unconditional one as the right y does.) The unconditional pass does not depend
    on y and is computed once; each
    permutation costs one conditional pass. Under H0 (x independent of y, the network fitted
    on other data) the permuted pairings have the same law as the observed one, so
    ``p_value = (1 + #{T_b >= T_obs}) / (1 + B)`` is exactly valid: P(p <= a) <= a.

    Conditional version (``context`` = the z of I(X;Y|Z), ``strata`` = integer group of each
    point): y is permuted only within groups, so each point keeps its own z. Under
    H0: X independent of Y given Z this is exact when z is constant within each group
    (discrete z) and approximate otherwise (groups of nearby z, :func:`z_strata`). With
    ``residualize`` (continuous y and z), y is split into its least-squares linear fit on
    (1, z) over these points and the residual, and only the residuals are permuted within
    the groups: a permuted y_j then moves with the z difference, y_j + m(z_i) - m(z_j), a
    first-order correction that keeps the permuted pairs near the data's (y, z) manifold
    when the groups are wide (many dimensions of z).

    Returns {"p_value", "statistic", "null_mean", "null_sd", "n_permutations", "k_draws",
    "n_points"} (``n_points``: the rows tested, n).
    """
    if int(n_permutations) < 1:
        raise ValueError(f"n_permutations: expected an integer >= 1, got {n_permutations!r}")
    n = x.shape[0]
    total = n * k_draws
    lam, w = proposal.sample(total, generator, device=x.device, dtype=x.dtype, stratified=True)
    idx = torch.arange(n, device=x.device).repeat_interleave(k_draws)
    eps = torch.randn((total, x.shape[1]), generator=generator, device=x.device, dtype=x.dtype)
    z = add_noise(x[idx], lam, eps)
    ones = torch.ones(total, device=x.device, dtype=x.dtype)
    ctx = None if context is None else context[idx]

    def c(s):
        return None if ctx is None else ctx[s]

    err_u = torch.cat([((eps[s] - denoise(z[s], lam[s], y[idx[s]], 0 * ones[s], c(s))) ** 2).sum(-1)
                       for s in _slices(total, batch_size)])

    def stat(yp: Tensor) -> float:
        parts = []
        for s in _slices(total, batch_size):
            eps_c = denoise(z[s], lam[s], yp[idx[s]], ones[s], c(s))
            err_c = ((eps[s] - eps_c) ** 2).sum(-1)
            parts.append((0.5 * w[s] * (err_u[s] - err_c)).double().sum())
        return float(torch.stack(parts).sum()) / total

    observed = stat(y)
    null = np.empty(int(n_permutations))
    fitted, resid = None, y
    if residualize and context is not None:
        design = torch.cat([torch.ones(n, 1, dtype=torch.float64, device=y.device),
                            context.double()], 1)
        beta = torch.linalg.lstsq(design.cpu(), y.double().cpu()).solution.to(y.device)
        fitted = (design @ beta).to(y.dtype)
        resid = y - fitted
    groups = None
    if strata is not None:
        strata = np.asarray(strata)
        if strata.shape != (n,):
            raise ValueError(f"strata: expected shape ({n},), got {strata.shape}")
        groups = [torch.as_tensor(np.flatnonzero(strata == g)) for g in np.unique(strata)]
    for b in range(int(n_permutations)):
        if groups is None:
            perm = torch.randperm(n, generator=generator, device="cpu")
        else:
            perm = torch.arange(n)
            for g in groups:
                perm[g] = g[torch.randperm(g.numel(), generator=generator, device="cpu")]
        perm = perm.to(y.device)
        null[b] = stat(y[perm] if fitted is None else fitted + resid[perm])
    p = (1.0 + float(np.sum(null >= observed))) / (1.0 + len(null))
    return {"p_value": p, "statistic": observed, "null_mean": float(null.mean()),
            "null_sd": float(null.std(ddof=1)) if len(null) > 1 else 0.0,
            "n_permutations": int(n_permutations), "k_draws": int(k_draws),
            "n_points": int(n)}


def capped_rows(n: int, max_rows: int, seed: int) -> Optional[np.ndarray]:
    """None when ``n <= max_rows``; else ``max_rows`` distinct row indices in increasing
    order, drawn at random from ``seed`` alone (independent of the data), shape (max_rows,)."""
    if n <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=int(max_rows), replace=False))


def z_strata(z: np.ndarray, *, discrete: bool, group_size: int = STRATUM_SIZE) -> np.ndarray:
    """Integer group of each row of the (preprocessed) conditioning variable z, shape (n,),
    for the conditional permutation test.

    Discrete z (one-hot rows): one group per class, so the test is exact. Continuous z:
    groups of about ``group_size`` points with nearby z, by recursive halving at the median
    along the widest-spread coordinate (a k-d tree's cells); y is then permuted only among
    points whose z nearly agree. This is approximate: within a group z still varies a
    little, and the more y depends on z, the more a permuted y disagrees with z
    (docs/benchmarks/cmi.md reports the false-positive rate on common-cause tasks).
    """
    z = np.asarray(z, dtype=np.float64)
    n = z.shape[0]
    if discrete:
        return np.unique(z, axis=0, return_inverse=True)[1].reshape(n)
    out = np.zeros(n, dtype=np.int64)
    stack, label = [np.arange(n)], 0
    while stack:
        idx = stack.pop()
        if idx.size < 2 * group_size:
            out[idx] = label
            label += 1
            continue
        sub = z[idx]
        axis = int(np.argmax(sub.max(0) - sub.min(0)))
        order = idx[np.argsort(sub[:, axis], kind="stable")]
        half = order.size // 2
        stack += [order[:half], order[half:]]
    return out


def _slices(total: int, batch_size: int):
    return [slice(s, min(s + batch_size, total)) for s in range(0, total, batch_size)]


def _flag(code: str, message: str, action: str) -> Dict[str, str]:
    return {"code": code, "message": message, "action": action}


def reliability_flags(*, mi: float, edge_density: Optional[Tuple[float, float]] = None,
                      window: Optional[Tuple[float, float]] = None,
                      n_train: int, dim_x: int, dim_y: int,
                      train_mi: Optional[float] = None, train_gap_stderr: float = 0.0,
                      upper_bound: Optional[float] = None, mi_unclipped: Optional[float] = None,
                      time_budget_hit: bool = False, steps: int = 0,
                      adaptive: bool = False, delta: float = 0.0,
                      delta_stderr: float = 0.0,
                      equal_columns: Optional[List[Tuple[int, int]]] = None,
                      knn_mi: Optional[float] = None,
                      ci_high: Optional[float] = None) -> List[Dict[str, str]]:
    """The conditions under which the reported interval should not be trusted, as a list of
    {"code", "message", "action"} (all values in nats).

    - ``gap_open_upper`` / ``gap_open_lower``: the MI density 1/2 gap(logsnr) at a window edge
      (``edge_density`` = (low edge, high edge), nats per log-SNR unit) is at least
      EDGE_GAP_REL * mi and EDGE_GAP_ABS: part of the integral lies outside the window.
    - ``few_samples``: fewer than FEW_SAMPLES_PER_DIM * (dim_x + dim_y) training samples.
    - ``overfit``: the estimate on training points exceeds the held-out one by more than
      OVERFIT_REL of it and 3 standard errors (the network memorised pairs).
    - ``forms_disagree``: the direct and orthogonal forms differ (``delta``) by more than
      DISAGREE_REL of the estimate, 0.05 nats and 3 standard errors; the interval includes
      the difference, so it is wide, and the denoiser has not resolved the dependence.
    - ``exceeds_bound``: the estimate was above a known cap (H(Y) of discrete labels).
    - ``time_budget``: training stopped by the wall-clock budget.
    - ``infinite_mi``: a column of x is identical to a column of y (``equal_columns``, pairs
      (i, j)): for continuous data I(X;Y) is infinite and no finite estimate is right.
    - ``knn_above``: the k-NN (KSG) cross-check ``knn_mi`` exceeds the interval's upper end
      ``ci_high`` by more than KNN_CHECK_MARGIN; the caller raises the upper end to it.
    """
    flags = []
    if equal_columns:
        i, j = equal_columns[0]
        flags.append(_flag("infinite_mi", f"column {i} of x is identical to column {j} of y "
                           f"({len(equal_columns)} such pair(s)): for continuous variables "
                           "I(X;Y) is infinite, so any finite estimate is meaningless; remove "
                           "the copied columns", "the interval's upper end is open"))
    if edge_density is not None and window is not None:
        thresh = max(EDGE_GAP_REL * max(mi, 0.0), EDGE_GAP_ABS)
        for code, value, edge in (("gap_open_lower", edge_density[0], window[0]),
                                  ("gap_open_upper", edge_density[1], window[1])):
            if value >= thresh:
                action = ("the interval's upper end is open (the estimate is a lower bound)"
                          if code == "gap_open_upper" else "none")
                hint = ("" if adaptive else
                        "; try variant='orthogonal-adaptive' (an adapted, wider window)")
                flags.append(_flag(code, f"the MMSE gap is still open at the log-SNR window "
                                   f"edge {edge:.1f} ({value:.4f} nats per unit, estimate "
                                   f"{mi:.4f}): part of the MI lies outside the window{hint}",
                                   action))
    if n_train < FEW_SAMPLES_PER_DIM * (dim_x + dim_y):
        flags.append(_flag("few_samples", f"{n_train} training samples for {dim_x}+{dim_y} "
                           f"dimensions (fewer than {FEW_SAMPLES_PER_DIM} per dimension): "
                           "the denoiser is likely to fit noise; check res.p_value and use "
                           "more samples or fewer dimensions", "none"))
    if train_mi is not None:
        held = mi if mi_unclipped is None else mi_unclipped
        excess = train_mi - held
        if excess > max(OVERFIT_REL * max(held, 0.0), 3.0 * train_gap_stderr, 0.01):
            flags.append(_flag("overfit", f"on training points the estimate is {train_mi:.4f} "
                               f"against {held:.4f} held out: the denoiser memorised pairs; use "
                               "more samples, fewer steps or weight decay", "none"))
    if abs(delta) > max(DISAGREE_REL * abs(mi), 0.05, 3.0 * delta_stderr):
        flags.append(_flag("forms_disagree", f"the direct and orthogonal integrands differ by "
                           f"{delta:+.4f} against an estimate of {mi:.4f}: the denoiser has not "
                           "resolved the dependence; the interval is widened by the difference. "
                           "Raise n_steps or the sample size", "interval widened"))
    if upper_bound is not None and mi_unclipped is not None and mi_unclipped > upper_bound:
        flags.append(_flag("exceeds_bound", f"the estimate {mi_unclipped:.4f} exceeded the "
                           f"entropy of the labels, {upper_bound:.4f}, which caps I(X;Y)",
                           "estimate and interval clipped to the bound"))
    if knn_mi is not None and ci_high is not None and knn_mi > ci_high + KNN_CHECK_MARGIN:
        flags.append(_flag("knn_above", f"a k-nearest-neighbour (KSG) estimate on the same "
                           f"points, {knn_mi:.4f}, lies above the interval's upper end "
                           f"{ci_high:.4f}; KSG is biased low in few dimensions, so the "
                           "denoiser missed fine structure (narrow clusters or modes): raise "
                           "n_steps or the width", "the interval's upper end raised to the "
                           "k-NN estimate"))
    if time_budget_hit:
        flags.append(_flag("time_budget", f"training stopped by the time budget after {steps} "
                           "steps; the denoiser may be under-trained", "none"))
    return flags
