"""Adapt the log-SNR proposal from a pilot run (the MMG-adaptive variants).

The rule (documented in the README and docs/design-notes.md): the ideal importance density
for the Monte Carlo over log-SNR is proportional to the integrand, the MMSE gap. After a
pilot (``pilot_fraction`` of the steps), the gap curve is evaluated on a grid from -12 to
24: the pilot's orthogonal gap ||eps_hat(z, y) - eps_hat(z)||^2 per grid point, and, where
the denoiser has a Gaussian prior, at least the gap of that fitted Gaussian (known in closed
form at every log-SNR, including beyond the pilot's training window). The new proposal is a
truncated logistic matched to that curve read as a density: loc its median, scale from its
interquartile range, and a window from its 0.5% to 99.5% quantiles widened by 3 log-SNR
units on each side (:func:`gap_quantile_proposal`).
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from .logsnr import TruncatedLogistic

__all__ = ["gaussian_gap_curve", "gap_quantile_proposal", "gaussian_tail_share", "AUTO_TAIL_SHARE"]


def gaussian_gap_curve(grid: np.ndarray, eig_u: np.ndarray, eig_c: np.ndarray) -> np.ndarray:
    """eps-MMSE gap of a Gaussian with covariance eigenvalues ``eig_u`` (of Sigma_x) and
    ``eig_c`` (of Sigma_{x|y}): sum sigmoid(l + log eig_u) - sum sigmoid(l + log eig_c)."""
    from scipy.special import expit

    lam = np.asarray(grid, dtype=np.float64)[:, None]
    eu = np.log(np.clip(np.asarray(eig_u, dtype=np.float64), 1e-300, None))
    ec = np.log(np.clip(np.asarray(eig_c, dtype=np.float64), 1e-300, None))
    return expit(lam + eu[None, :]).sum(1) - expit(lam + ec[None, :]).sum(1)


def gap_quantile_proposal(grid: np.ndarray, gap: np.ndarray, *, margin: float = 3.0,
                          tail: float = 0.005, min_scale: float = 1.0
                          ) -> Tuple[TruncatedLogistic, dict]:
    """Proposal shaped like the gap curve itself (the ideal importance density is
    proportional to the integrand). With the gap, clipped at 0, read as a density on the grid
    and q(p) its quantiles:

    - ``loc = q(1/2)``; ``scale = max(min_scale, (q(3/4) - q(1/4)) / (2 ln 3))`` (the
      interquartile range of a logistic is 2 ln 3 scales);
    - the window covers [q(tail) - margin, q(1 - tail) + margin]:
      ``clip = max(loc - low, high - loc) / scale``.

    Returns (proposal, info with the quantiles)."""
    grid = np.asarray(grid, dtype=np.float64)
    g = np.clip(np.nan_to_num(np.asarray(gap, dtype=np.float64)), 0.0, None)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(grid))])
    notes = []
    if cum[-1] <= 0:
        notes.append("no gap on the grid; proposal centred on the grid")
        q = {p: float(grid[0] + p * (grid[-1] - grid[0])) for p in (tail, 0.25, 0.5, 0.75, 1 - tail)}
    else:
        cdf = cum / cum[-1]
        q = {p: float(np.interp(p, cdf, grid)) for p in (tail, 0.25, 0.5, 0.75, 1 - tail)}
    loc = q[0.5]
    scale = max(min_scale, (q[0.75] - q[0.25]) / (2.0 * math.log(3.0)))
    low, high = q[tail] - margin, q[1 - tail] + margin
    clip = max(loc - low, high - loc) / scale
    info = {"quantiles": {str(k): v for k, v in q.items()}, "notes": notes}
    return TruncatedLogistic(loc=float(loc), scale=float(scale), clip=float(clip)), info


# Share of the Gaussian gap area beyond the fixed window above which variant="auto" uses the
# adapted proposal. On seed-0 samples of every bmi40 task the share is at most 0.001; on the
# 50 high-MI sparse/half-cube tasks it is 0.12 to 0.37 (docs/design-notes.md, note 16).
AUTO_TAIL_SHARE = 0.02


def gaussian_tail_share(eig_u: np.ndarray, eig_c: np.ndarray, high: float, *,
                        grid: np.ndarray = None) -> float:
    """Share of the area under the Gaussian gap curve (:func:`gaussian_gap_curve`) that lies
    above the log-SNR ``high``, on a grid from -12 to 40 (0 when there is no gap)."""
    g_grid = np.linspace(-12.0, 40.0, 1041) if grid is None else np.asarray(grid, dtype=np.float64)
    gap = np.clip(gaussian_gap_curve(g_grid, eig_u, eig_c), 0.0, None)
    total = float(np.trapezoid(gap, g_grid))
    if total <= 0:
        return 0.0
    above = g_grid >= high
    if above.sum() < 2:
        return 0.0
    return float(np.trapezoid(gap[above], g_grid[above]) / total)
