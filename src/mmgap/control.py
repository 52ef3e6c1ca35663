"""A control variate for the held-out estimate: a Gaussian denoiser's integrand on every row.

The held-out estimate averages the network's per-row integrand ``m_i`` (the mean of its k
noise draws) over the n_test held-out rows only, so its standard error is mostly the
spread of ``m_i`` over rows: more noise draws per row barely move it (design note 30).
The training rows carry information about that spread as well. ``g_i`` is the same
integrand computed with the exact denoiser of a Gaussian copula fitted to *all* N rows
(no network), on the same noise draws as ``m_i`` for the held-out rows and on independent
draws for the others:

- every column is mapped to normal scores of its average ranks among all N rows, and a
  :class:`mmgap.training.GaussianPrior` is fitted to the scores of all N rows;
- ``g_i`` is its direct or orthogonal integrand at row i (``mmgap.gap.gap_draws``).

``g`` is a permutation-equivariant function of the whole dataset (plus noise draws that
do not depend on the split), so when the held-out rows are a uniformly random subset of the
rows (the split does not look at the data), ``E[mean_test(g) - mean_all(g)] = 0`` exactly,
and

    mi_cv = mean_test(m) - beta * (mean_test(g) - mean_all(g))

has the expectation of ``mean_test(m)`` for any fixed ``beta``. With ``beta = cov(m, g) /
var(g)`` on the held-out rows (an O(1/n) effect) its variance over the sampling of the N
rows is ``var(m - beta g) / n_test + 2 beta cov(m - beta g, g) / N + beta^2 var(g) / N``:
the part of the rows' spread that ``g`` explains is averaged over N rows instead of n_test.
Where the network is close to the Gaussian denoiser (the correlation of m and g is high)
the standard error roughly halves at 20% held out; where it is not, beta goes to 0 and
nothing changes. No constant is tuned: the function ``g`` and the rule for ``beta`` were
fixed before any measurement.

Not applicable (the callers check): stratified splits (discrete labels: the held-out rows
are then not a uniform subset), conditional MI, images, discrete or one-hot columns, and
cross-fits (every row is held out once there, so the correction would be nearly zero).
"""

import math
from typing import Dict, Optional

import numpy as np
import torch
from scipy import special, stats

from .gap import gap_draws
from .training import GaussianPrior

__all__ = ["normal_scores", "gaussian_integrands", "control_variate", "MAX_CELLS"]

#: above this many cells (rows x columns) of the whole dataset the control is skipped: the
#: normal scores are one float64 copy of the data (scale path: memory maps stay unread)
MAX_CELLS = 20_000_000
#: below this many rows per dimension the fitted Gaussian is too noisy to help
MIN_ROWS_PER_DIM = 10


def normal_scores(a: np.ndarray) -> np.ndarray:
    """Columns mapped to standard-normal quantiles of their average ranks / (N + 1)."""
    n = a.shape[0]
    ranks = stats.rankdata(a, axis=0, method="average")
    return special.ndtri(ranks / (n + 1.0))


def gaussian_integrands(x: np.ndarray, y: np.ndarray, n_test: int, proposal, k_draws: int,
                        seed_test: int, seed_rest: int, device=None
                        ) -> Optional[Dict[str, np.ndarray]]:
    """Per-row integrands {"direct", "orthogonal"} (means of ``k_draws`` draws, nats, each
    of shape (N,)) of the exact denoiser of the Gaussian copula fitted to all rows of
    (x, y). Rows ``[:n_test]`` are the held-out rows: their draws come from a generator
    seeded ``seed_test`` (the seed of the network's estimate, so that both see the same
    noise, on ``device``, the network's); the other rows' from ``seed_rest``. None when there are fewer than
    MIN_ROWS_PER_DIM rows per dimension or a column is constant."""
    n, dx = x.shape[0], x.shape[1]
    if n < MIN_ROWS_PER_DIM * (dx + y.shape[1]) or not 2 < n_test < n:
        return None
    s = normal_scores(np.concatenate([x, y], axis=1))
    if not np.all(s.std(axis=0) > 0):
        return None
    st = torch.as_tensor(s, dtype=torch.float32, device=device)
    sx, sy = st[:, :dx], st[:, dx:]
    prior = GaussianPrior(dx, int(sy.shape[1])).fit(sx, sy)
    parts = []
    for rows, seed in ((slice(0, n_test), seed_test), (slice(n_test, n), seed_rest)):
        gen = torch.Generator(device=st.device).manual_seed(int(seed))
        parts.append(gap_draws(prior, sx[rows], sy[rows], proposal, k_draws, gen))
    return {f: np.concatenate([d.pointwise(f) for d in parts]) for f in ("direct", "orthogonal")}


def control_variate(m_test: np.ndarray, g_test: np.ndarray, g_all: np.ndarray
                    ) -> Optional[Dict[str, float]]:
    """The control-variate estimate of the mean of ``m`` from held-out values ``m_test``
    (shape (n_test,) or (n_test, k): k noise draws per row, averaged first), the same rows'
    ``g_test`` and ``g`` of all N rows ``g_all`` (held-out rows included).

    Returns {"mi", "stderr", "beta", "corr", "mi_plain", "stderr_plain", "n_test", "n_all"}
    or None when ``g`` does not vary on the held-out rows."""
    m = np.asarray(m_test, dtype=np.float64)
    if m.ndim == 2:
        m = m.mean(axis=1)
    g = np.asarray(g_test, dtype=np.float64)
    ga = np.asarray(g_all, dtype=np.float64)
    if m.shape != g.shape or m.ndim != 1:
        raise ValueError(f"m_test and g_test: expected the same number of rows, got "
                         f"{m.shape} and {g.shape}")
    n, n_all = m.shape[0], ga.shape[0]
    if n < 3 or n_all < n:
        return None
    var_g = float(g.var(ddof=1))
    if not var_g > 0:
        return None
    cov = float(np.cov(m, g, ddof=1)[0, 1])
    beta = cov / var_g
    resid = m - beta * g
    mi = float(m.mean() - beta * (g.mean() - ga.mean()))
    # var of the combination over the sampling of all N rows (test rows a subset of them);
    # the cross term 2 beta cov(resid, g) / N of the module docstring is exactly 0 here,
    # because beta is the regression coefficient of m on g over these same rows
    var = resid.var(ddof=1) / n + beta ** 2 * float(ga.var(ddof=1)) / n_all
    sd_m = float(m.std(ddof=1))
    corr = cov / (sd_m * math.sqrt(var_g)) if sd_m > 0 else 0.0
    return {"mi": mi, "stderr": math.sqrt(max(var, 0.0)), "beta": beta, "corr": corr,
            "mi_plain": float(m.mean()), "stderr_plain": sd_m / math.sqrt(n),
            "n_test": int(n), "n_all": int(n_all)}
