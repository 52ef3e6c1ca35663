"""Adapt the log-SNR proposal from a pilot MMSE curve (the MMG-adaptive variants).

The rule implemented (documented in the README and DESIGN.md):

- ``l_c(p)``: the log-SNR where the conditional eps-MMSE curve first reaches the fraction p
  of dim_x (it rises from 0 at low SNR to dim_x at high SNR), by linear interpolation on the
  grid; ``l_u(p)`` likewise for the unconditional curve.
- ``loc = l_c(1/2)``.
- ``scale = max(min_scale, (l_c(1/2) - l_c(1/4)) / ln 3)``: for a single logistic curve
  dim_x * sigmoid((l - loc) / scale) this recovers its scale exactly.
- ``clip = (max(l_c(1/2) - l_u(1/2), 0) + margin) / scale``: the window reaches ``margin``
  log-SNR units beyond both half-crossings, so it covers the whole gap between the curves
  (the gap's tails decay like exp(-|distance|), so truncation bias is about exp(-margin)).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from .logsnr import TruncatedLogistic

__all__ = ["crossing", "adapt_proposal"]


def crossing(grid: np.ndarray, curve: np.ndarray, level: float) -> Optional[float]:
    """First log-SNR at which ``curve`` reaches ``level`` (linear interpolation between grid
    points); None if it never does. grid, curve: shape (n,), grid increasing."""
    grid = np.asarray(grid, dtype=np.float64)
    curve = np.asarray(curve, dtype=np.float64)
    above = np.flatnonzero(curve >= level)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(grid[0])
    x0, x1, c0, c1 = grid[i - 1], grid[i], curve[i - 1], curve[i]
    return float(x0 + (level - c0) * (x1 - x0) / (c1 - c0)) if c1 != c0 else float(x1)


def adapt_proposal(grid: np.ndarray, mmse: np.ndarray, mmse_cond: np.ndarray, dim_x: int,
                   *, margin: float = 8.0, min_scale: float = 1.0) -> Tuple[TruncatedLogistic, dict]:
    """New proposal from pilot curves (see the module docstring). Returns (proposal, info);
    ``info`` records the crossings and any fallback taken."""
    notes = []
    lc_half = crossing(grid, mmse_cond, dim_x / 2)
    lc_quarter = crossing(grid, mmse_cond, dim_x / 4)
    lu_half = crossing(grid, mmse, dim_x / 2)
    if lc_half is None:
        lc_half = float(grid[-1])
        notes.append("conditional curve never reached dim_x/2 on the grid; loc set to grid end")
    if lc_quarter is None or lc_quarter > lc_half:
        lc_quarter = lc_half - min_scale * math.log(3.0)
        notes.append("conditional curve never reached dim_x/4 below its half crossing")
    if lu_half is None:
        lu_half = lc_half
        notes.append("unconditional curve never reached dim_x/2 on the grid")
    scale = max(min_scale, (lc_half - lc_quarter) / math.log(3.0))
    clip = (max(lc_half - lu_half, 0.0) + margin) / scale
    info = {
        "lc_half": lc_half,
        "lc_quarter": lc_quarter,
        "lu_half": lu_half,
        "notes": notes,
    }
    return TruncatedLogistic(loc=float(lc_half), scale=float(scale), clip=float(clip)), info
