"""Per-variable preprocessing fitted on training data only.

MI is invariant under invertible maps of X and of Y separately, so these transforms change
nothing in the truth, only how hard the problem is for the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .validation import column_blocks, column_scales

__all__ = ["Standardizer", "RankNormal", "SmoothRankNormal", "MixtureGaussianizer",
           "ChannelStandardizer", "OneHot", "DiscreteColumns",
           "make_scaler", "scaler_from_dict", "PREPROCESS"]

PREPROCESS = ("standardize", "rank", "rank-knots", "gaussianize", "none")
#: Gaussian-mixture components per column of the "gaussianize" map (and EM iterations)
GAUSSIANIZE_COMPONENTS, GAUSSIANIZE_ITERATIONS = 12, 200

#: knots of the default rank map: the CDF is interpolated between at most this many training
#: quantiles, which smooths the map. With a knot at every training value, the random gaps
#: between neighbouring order statistics make the map's slope jump from point to point;
#: on a 5+5-dim Gaussian with I = 14.5 nats (orthogonal-adaptive, 8,000 training points)
#: that cost 1.1 nats (13.40), against 14.10 with 100 knots and 14.08 with 300.
RANK_KNOTS = 256


@dataclass
class Standardizer:
    """Per-column ``(a - mean) / std`` with statistics from the data passed to :meth:`fit`.

    Each column is first divided by its largest |value| (``scale``), so the statistics stay
    finite for any finite data (x * 1e300 and x * 1e-300 give the same map as x);
    ``mean`` and ``std`` are those of the scaled columns."""

    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None

    def fit(self, a: np.ndarray, name: str = "x") -> "Standardizer":
        """Statistics in float64, computed in blocks of columns (any float input, memory
        maps included, is never converted whole; the result is bit-identical to the
        whole-table computation, see :func:`mmgap.validation.column_blocks`)."""
        n, d = a.shape
        mean, std, scale = np.empty(d), np.empty(d), np.empty(d)
        for cols in column_blocks(n, d):
            block = np.asarray(a[:, cols], dtype=np.float64, order="K")
            s = column_scales(block)
            b = block / s
            scale[cols], mean[cols], std[cols] = s, b.mean(axis=0), b.std(axis=0)
        if np.any(std == 0):
            col = int(np.flatnonzero(std == 0)[0])
            raise ValueError(f"{name}: column {col} is constant; drop constant columns first")
        self.mean, self.std, self.scale = mean, std, scale
        return self

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted")
        a = np.asarray(a)
        if a.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"{name}: expected {self.mean.shape[0]} columns as in fit, got {a.shape[1]}"
            )
        scale = np.ones_like(self.mean) if self.scale is None else self.scale
        return (a / scale - self.mean) / self.std

    def log_abs_det_jacobian_rows(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        """The same constant for each row of ``a``, shape (n,)."""
        return np.full(a.shape[0], self.log_abs_det_jacobian(a.shape[1]))

    def log_abs_det_jacobian(self, dim: int) -> float:
        """log |det d transform(a) / d a| (a constant: the map is affine), for entropies:
        h(A) = h(transform(A)) - this."""
        scale = np.ones_like(self.mean) if self.scale is None else self.scale
        if dim != self.mean.shape[0]:
            raise ValueError(f"dim: expected {self.mean.shape[0]}, got {dim}")
        return float(-np.sum(np.log(scale) + np.log(self.std)))

    def to_dict(self) -> dict:
        d = {"mean": self.mean.tolist(), "std": self.std.tolist()}
        if self.scale is not None:
            d["scale"] = self.scale.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        scale = None if d.get("scale") is None else np.asarray(d["scale"], dtype=np.float64)
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64),
                   scale)


@dataclass
class RankNormal:
    """Per-column rank-to-normal map fitted on training data.

    Each distinct training value v gets its mid-rank CDF level u(v) = (rank + 1/2) / n (tied
    values share their mean rank); between distinct training values u is interpolated
    linearly, and the result is the standard normal quantile of u. ``max_knots`` keeps only
    that many of these knots (evenly spaced in rank, the extremes included), which smooths
    the map. The map is continuous and strictly increasing inside the training range, so no
    fine structure is lost; values outside the range map to the extreme levels. Monotone per
    variable, so MI is unchanged; it tames heavy tails that plain standardisation leaves in
    place.
    """

    knots: Optional[list] = None  # per column: (distinct values, CDF levels)
    max_knots: Optional[int] = None

    def fit(self, a: np.ndarray, name: str = "x") -> "RankNormal":
        n = a.shape[0]
        self.knots = []
        for j in range(a.shape[1]):  # one column at a time (a float32 column sorts as float32)
            values, counts = np.unique(a[:, j], return_counts=True)
            if values.size < 2:  # the message of Standardizer's check
                raise ValueError(f"{name}: column {j} is constant; drop constant columns first")
            values = values.astype(np.float64)
            before = np.concatenate([[0], np.cumsum(counts)[:-1]])
            levels = (before + (counts - 1) / 2.0 + 0.5) / n
            if self.max_knots is not None and values.size > self.max_knots:
                keep = np.unique(np.round(np.linspace(0, values.size - 1, self.max_knots)).astype(int))
                values, levels = values[keep], levels[keep]
            self.knots.append((values, levels))
        return self

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        from scipy.special import ndtri

        if self.knots is None:
            raise RuntimeError("RankNormal is not fitted")
        if a.shape[1] != len(self.knots):
            raise ValueError(f"{name}: expected {len(self.knots)} columns as in fit, got {a.shape[1]}")
        a = np.asarray(a)
        out = np.empty(a.shape, dtype=np.float64)
        for j, (values, levels) in enumerate(self.knots):
            out[:, j] = ndtri(np.interp(a[:, j], values, levels))
        return out

    def to_dict(self) -> dict:
        return {"kind": "rank", "max_knots": self.max_knots,
                "knots": [[v.tolist(), u.tolist()] for v, u in self.knots]}

    @classmethod
    def from_dict(cls, d: dict) -> "RankNormal":
        return cls([(np.asarray(v, dtype=np.float64), np.asarray(u, dtype=np.float64))
                    for v, u in d["knots"]], d.get("max_knots"))


#: order statistics kept per column by the smoothed rank map (evenly spaced in rank)
SMOOTH_RANK_POINTS = 1024
#: the smoothed map reflects its kernel mass at the sample's extremes, each moved out by the
#: mean of this many spacings at that edge
EDGE_SPACINGS = 5


@dataclass
class SmoothRankNormal:
    """Per-column smoothed rank-to-normal map, the default ("rank").

    ``u = Phi^-1(F(w))`` with ``w = asinh((a - median) / s)`` (s the column's interquartile
    range / 1.349, or its sd where that is 0) and F a kernel-smoothed empirical CDF of the
    training w: a triangular kernel of half-width ``h = sqrt(6) * 0.9 min(sd_w, IQR_w /
    1.349) n^(-1/5)`` (Silverman's rule, converted to the triangular kernel's sd) on at most
    :data:`SMOOTH_RANK_POINTS` order statistics (both extremes among them). The kernel mass
    that falls beyond the sample's edges is reflected back at two points, each one mean edge
    spacing (:data:`EDGE_SPACINGS`) beyond the smallest and largest value, so that data with a
    hard edge (a uniform or a probability) still reach the normal's tails; an edge value that
    is tied (an atom) gets no reflection. F is mixed with weight 1/(2n) with a Cauchy CDF of
    w's mean and sd, so that it is strictly increasing on the whole line (held-out values
    outside the training range keep their order). Evaluated exactly through prefix sums.

    Why smoothed: an empirical CDF interpolated between order statistics has a slope that
    jumps with the random gaps between neighbouring training values. That is harmless for
    weak dependence, but when x and y are tightly coupled (high MI) each variable's map
    adds its own jitter, on the scale of the gaps, to a relation whose conditional spread is
    smaller still; the learned denoiser reads the jitter as noise. On a 5+5 Gaussian with I =
    14.51 nats (seed 10, a tuning seed), the Gaussian MI of the held-out rows after the map
    is 14.22 with the 256-knot map ("rank-knots") and 14.50 with this one
    (``benchmarks/rank_map_probe.py``, design note 31). The map is strictly increasing, so MI
    is unchanged, and like the rank map it tames heavy tails.
    """

    # per column: (median, s, h, mean_w, sd_w, sorted w, n, lower edge, upper edge)
    params: Optional[list] = None

    def fit(self, a: np.ndarray, name: str = "x") -> "SmoothRankNormal":
        n = a.shape[0]
        self.params = []
        for j in range(a.shape[1]):
            v = np.sort(np.asarray(a[:, j], dtype=np.float64))
            if v[0] == v[-1]:
                raise ValueError(f"{name}: column {j} is constant; drop constant columns first")
            med = float(np.median(v))
            q25, q75 = np.quantile(v, [0.25, 0.75])
            s = float(q75 - q25) / 1.349
            if not s > 0:
                s = float(v.std())
            w = np.arcsinh((v - med) / s)
            wq25, wq75 = np.quantile(w, [0.25, 0.75])
            sd_w = float(w.std())
            spread = min(sd_w, float(wq75 - wq25) / 1.349) if wq75 > wq25 else sd_w
            h = float(np.sqrt(6.0) * 0.9 * spread * n ** -0.2)
            # reflection points: one mean edge spacing beyond the sample's extremes; none
            # where the extreme value is tied (an atom, e.g. the lowest level of a discrete
            # or rounded column, keeps the plain kernel CDF's mid-rank there)
            k = min(EDGE_SPACINGS, w.size - 1)
            lo_edge = float(w[0] - (w[k] - w[0]) / k) if w[1] > w[0] else -np.inf
            hi_edge = float(w[-1] + (w[-1] - w[-1 - k]) / k) if w[-1] > w[-2] else np.inf
            if w.size > SMOOTH_RANK_POINTS:
                # evenly spaced in rank, both extremes included
                w = w[np.round(np.linspace(0, w.size - 1, SMOOTH_RANK_POINTS)).astype(int)]
            self.params.append((med, s, h, float(w.mean()), sd_w, w, n, lo_edge, hi_edge))
        return self

    @staticmethod
    def _tails(w_eval: np.ndarray, pts: np.ndarray, h: float):
        """(F, 1 - F) of the triangular-kernel CDF of ``pts`` at ``w_eval``, both computed
        as sums of non-negative terms (no 1 - F cancellation)."""
        m = pts.size
        c0 = np.arange(m + 1, dtype=np.float64)
        c1 = np.concatenate([[0.0], np.cumsum(pts)])
        c2 = np.concatenate([[0.0], np.cumsum(pts * pts)])
        lo = np.searchsorted(pts, w_eval - h, side="right")   # pts <= t - h: fully below
        mid = np.searchsorted(pts, w_eval, side="right")
        hi = np.searchsorted(pts, w_eval + h, side="left")    # pts >= t + h: fully above

        def sq(i0, i1, centre):  # sum over pts[i0:i1] of (pts - centre)^2
            k, s1, s2 = c0[i1] - c0[i0], c1[i1] - c1[i0], c2[i1] - c2[i0]
            return np.maximum(s2 - 2 * centre * s1 + centre * centre * k, 0.0), k

        a_sq, a_k = sq(lo, mid, w_eval - h)   # (t-h, t]: C = 1 - (v - t + h)^2 / 2h^2
        b_sq, b_k = sq(mid, hi, w_eval + h)   # (t, t+h): C = (t + h - v)^2 / 2h^2
        two_h2 = 2.0 * h * h
        lower = (lo + a_k - a_sq / two_h2 + b_sq / two_h2) / m
        upper = ((m - hi) + b_k - b_sq / two_h2 + a_sq / two_h2) / m
        return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)

    @classmethod
    def _reflected(cls, t: np.ndarray, pts: np.ndarray, h: float, lo: float, hi: float):
        """(F, 1 - F) of the kernel CDF with the kernel mass that falls outside [lo, hi]
        reflected back inside: ``G(t) = C(t) - C(2 lo - t) + (1 - C(2 hi - t))`` with C the
        plain kernel CDF, renormalised so that F(lo) = 0 and F(hi) = 1 (zero outside)."""
        m = t.size
        # an infinite edge means no reflection on that side (its terms are exactly 0)
        lo_f, hi_f = np.isfinite(lo), np.isfinite(hi)
        lo_r = lo if lo_f else pts[0] - 2 * h - 1.0   # any point the kernel cannot reach
        hi_r = hi if hi_f else pts[-1] + 2 * h + 1.0
        both = np.concatenate([t, 2 * lo_r - t, 2 * hi_r - t,
                               [lo_r, hi_r, 2 * hi_r - lo_r, 2 * lo_r - hi_r]])
        low, up = cls._tails(both, pts, h)
        c_t, u_t = low[:m], up[:m]
        c_lo = low[m:2 * m] if lo_f else np.zeros(m)
        c_hi = up[2 * m:3 * m] if hi_f else np.zeros(m)
        g_lo = up[3 * m + 2] if hi_f else 0.0           # G(lo) = 1 - C(2 hi - lo), about 0
        g_hi_up = low[3 * m + 3] if lo_f else 0.0       # 1 - G(hi) = C(2 lo - hi), about 0
        mass = 1.0 - g_lo - g_hi_up
        lower = (c_t - c_lo + c_hi - g_lo) / mass
        upper = (u_t + c_lo - c_hi - g_hi_up) / mass
        inside = (t > lo) & (t < hi)
        lower = np.where(t >= hi, 1.0, np.where(inside, lower, 0.0))
        upper = np.where(t <= lo, 1.0, np.where(inside, upper, 0.0))
        return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        from scipy.special import ndtri

        if self.params is None:
            raise RuntimeError("SmoothRankNormal is not fitted")
        if a.shape[1] != len(self.params):
            raise ValueError(f"{name}: expected {len(self.params)} columns as in fit, got {a.shape[1]}")
        out = np.empty(a.shape, dtype=np.float64)
        for j, (med, s, h, mean_w, sd_w, pts, n, lo_edge, hi_edge) in enumerate(self.params):
            w = np.arcsinh((np.asarray(a[:, j], dtype=np.float64) - med) / s)
            eps = 0.5 / n
            lower, upper = self._reflected(w, pts, h, lo_edge, hi_edge)
            zs = (w - mean_w) / sd_w
            # a Cauchy CDF (never flat in floating point, unlike a normal one far out)
            lower = (1.0 - eps) * lower + eps * np.arctan2(1.0, -zs) / np.pi
            upper = (1.0 - eps) * upper + eps * np.arctan2(1.0, zs) / np.pi
            lower, upper = np.maximum(lower, 1e-300), np.maximum(upper, 1e-300)
            out[:, j] = np.where(lower < upper, ndtri(lower), -ndtri(upper))
        return out

    def to_dict(self) -> dict:
        return {"kind": "smooth-rank",
                "params": [[med, s, h, mw, sw, pts.tolist(), n,
                            lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None]
                           for med, s, h, mw, sw, pts, n, lo, hi in self.params]}

    @classmethod
    def from_dict(cls, d: dict) -> "SmoothRankNormal":
        params = []
        for j, (med, s, h, mw, sw, pts, n, lo, hi) in enumerate(d["params"]):
            pts = np.asarray(pts, dtype=np.float64)
            col = (float(med), float(s), float(h), float(mw), float(sw), pts, int(n),
                   -np.inf if lo is None else float(lo), np.inf if hi is None else float(hi))
            if not (pts.ndim == 1 and pts.size >= 1 and np.isfinite(pts).all()
                    and (np.diff(pts) >= 0).all()):
                raise ValueError(f"column {j}: the points must be a non-empty sorted list of "
                                 "finite numbers")
            if not (np.isfinite(col[:5]).all() and min(col[1], col[2], col[4]) > 0
                    and col[6] >= 1):
                raise ValueError(f"column {j}: scale, bandwidth and sd must be positive and "
                                 "finite, n at least 1")
            params.append(col)
        return cls(params)


@dataclass
class MixtureGaussianizer:
    """Per-column smooth map to a standard normal: u = Phi^-1(F(a)), with F the CDF of a
    one-dimensional Gaussian mixture (``GAUSSIANIZE_COMPONENTS`` components, EM on the
    standardised training column, variances floored at 1e-4). Like the rank map it is
    strictly increasing (MI is unchanged) and makes each column close to normal; unlike it,
    its derivative is known in closed form, du/da = f(a) / phi(u), so entropies can be carried
    through it exactly (:meth:`log_abs_det_jacobian_rows`). Whatever the fitted mixture, the
    map is an exact invertible function: a poor fit only makes the network's job harder.
    """

    standardizer: Optional[Standardizer] = None
    params: Optional[list] = None  # per column: (weights, means, sds) on the standardised scale

    def fit(self, a: np.ndarray, name: str = "x") -> "MixtureGaussianizer":
        st = self.standardizer = Standardizer().fit(a, name)
        self.params = []
        for j in range(a.shape[1]):  # one standardised column at a time
            col = np.asarray(a[:, j], dtype=np.float64)
            self.params.append(_fit_mixture_1d((col / st.scale[j] - st.mean[j]) / st.std[j]))
        return self

    def _columns(self, a: np.ndarray, name: str):
        if self.params is None:
            raise RuntimeError("MixtureGaussianizer is not fitted")
        b = self.standardizer.transform(a, name)
        for j, (w, m, sd) in enumerate(self.params):
            z = (b[:, j:j + 1] - m) / sd
            yield j, z, np.log(w)

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        from scipy.special import log_ndtr, logsumexp, ndtri_exp

        out = np.empty(a.shape, dtype=np.float64)
        for j, z, logw in self._columns(a, name):
            lower = logsumexp(logw + log_ndtr(z), axis=1)    # log F
            upper = logsumexp(logw + log_ndtr(-z), axis=1)   # log (1 - F)
            out[:, j] = np.where(lower < upper, ndtri_exp(lower), -ndtri_exp(upper))
        return out

    def log_abs_det_jacobian_rows(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        """log |det du/da| of each row, shape (n,): sum over columns of log f(a) - log phi(u),
        plus the standardisation's constant."""
        from scipy.special import logsumexp

        u = self.transform(a, name)
        total = np.full(a.shape[0], self.standardizer.log_abs_det_jacobian(a.shape[1]))
        half_log_2pi = 0.5 * np.log(2 * np.pi)
        for j, z, logw in self._columns(a, name):
            sd = self.params[j][2]
            log_f = logsumexp(logw - np.log(sd) - 0.5 * z ** 2 - half_log_2pi, axis=1)
            total += log_f - (-0.5 * u[:, j] ** 2 - half_log_2pi)
        return total

    def to_dict(self) -> dict:
        return {"kind": "gaussianize", "standardizer": self.standardizer.to_dict(),
                "params": [[w.tolist(), m.tolist(), sd.tolist()] for w, m, sd in self.params]}

    @classmethod
    def from_dict(cls, d: dict) -> "MixtureGaussianizer":
        return cls(Standardizer.from_dict(d["standardizer"]),
                   [tuple(np.asarray(v, dtype=np.float64) for v in col) for col in d["params"]])


def _fit_mixture_1d(b: np.ndarray, k: int = None, iterations: int = None):
    """(weights, means, sds) of a k-component 1-D Gaussian mixture fitted to ``b`` by EM,
    started from equal-mass quantile bins; sds floored at 1e-2."""
    from scipy.special import logsumexp

    k = GAUSSIANIZE_COMPONENTS if k is None else k
    iterations = GAUSSIANIZE_ITERATIONS if iterations is None else iterations
    edges = np.quantile(b, np.linspace(0, 1, k + 1))
    means = 0.5 * (edges[:-1] + edges[1:])
    sds = np.maximum(np.diff(edges), 1e-2)
    w = np.full(k, 1.0 / k)
    x = b[:, None]
    prev = -np.inf
    for _ in range(iterations):
        logp = np.log(w) - np.log(sds) - 0.5 * ((x - means) / sds) ** 2
        norm = logsumexp(logp, axis=1, keepdims=True)
        r = np.exp(logp - norm)
        nk = r.sum(0) + 1e-12
        w = nk / nk.sum()
        means = (r * x).sum(0) / nk
        sds = np.sqrt(np.maximum((r * (x - means) ** 2).sum(0) / nk, 1e-4))
        ll = float(norm.mean())
        if ll - prev < 1e-7:
            break
        prev = ll
    return w, means, sds


def make_scaler(kind: str):
    """A fresh per-column preprocessor for ``kind`` in :data:`PREPROCESS` (None for "none")."""
    if kind == "standardize":
        return Standardizer()
    if kind == "rank":
        return SmoothRankNormal()
    if kind == "rank-knots":
        return RankNormal(max_knots=RANK_KNOTS)
    if kind == "gaussianize":
        return MixtureGaussianizer()
    if kind == "none":
        return None
    raise ValueError(f"preprocess: expected one of {list(PREPROCESS)}, got {kind!r}")


@dataclass
class ChannelStandardizer:
    """Images flattened channel-major to (n, channels * pixels): one mean and one sd per
    channel over all its pixels and samples. The image preprocessing: it keeps the relative
    intensities of the pixels (a per-pixel map would not), and pixels that are constant in
    every image (borders, masked rows) are fine."""

    channels: int = 1
    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None  # per-channel max |value|, divided out first

    def _view(self, a: np.ndarray, name: str) -> np.ndarray:
        if a.shape[1] % self.channels:
            raise ValueError(f"{name}: {a.shape[1]} columns do not split into {self.channels} channels")
        return a.reshape(a.shape[0], self.channels, -1)

    def fit(self, a: np.ndarray, name: str = "x") -> "ChannelStandardizer":
        v = self._view(a, name)
        scale = np.max(np.abs(v), axis=(0, 2))
        scale = np.where(scale > 0, scale, 1.0)
        v = v / scale[None, :, None]
        std = v.std(axis=(0, 2))
        if np.any(std == 0):
            ch = int(np.flatnonzero(std == 0)[0])
            raise ValueError(f"{name}: image channel {ch} is constant in every sample")
        self.mean, self.std, self.scale = v.mean(axis=(0, 2)), std, scale
        return self

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("ChannelStandardizer is not fitted")
        v = self._view(a, name)
        if self.scale is not None:
            v = v / self.scale[None, :, None]
        return ((v - self.mean[None, :, None]) / self.std[None, :, None]).reshape(a.shape)

    def log_abs_det_jacobian_rows(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        """The same constant for each row of ``a``, shape (n,)."""
        return np.full(a.shape[0], self.log_abs_det_jacobian(a.shape[1]))

    def log_abs_det_jacobian(self, dim: int) -> float:
        """log |det d transform(a) / d a| for rows of ``dim`` = channels * pixels values
        (affine per channel, so a constant)."""
        if dim % self.channels:
            raise ValueError(f"dim: {dim} values do not split into {self.channels} channels")
        scale = np.ones_like(self.mean) if self.scale is None else self.scale
        return float(-(dim // self.channels) * np.sum(np.log(scale) + np.log(self.std)))

    def to_dict(self) -> dict:
        d = {"kind": "channel", "channels": self.channels, "mean": self.mean.tolist(),
             "std": self.std.tolist()}
        if self.scale is not None:
            d["scale"] = self.scale.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ChannelStandardizer":
        scale = None if d.get("scale") is None else np.asarray(d["scale"], dtype=np.float64)
        return cls(int(d["channels"]), np.asarray(d["mean"], dtype=np.float64),
                   np.asarray(d["std"], dtype=np.float64), scale)


def scaler_from_dict(d: Optional[dict]):
    """Inverse of ``to_dict`` for any preprocessor (None stays None)."""
    if d is None:
        return None
    kind = d.get("kind")
    if kind == "rank":
        return RankNormal.from_dict(d)
    if kind == "smooth-rank":
        return SmoothRankNormal.from_dict(d)
    if kind == "gaussianize":
        return MixtureGaussianizer.from_dict(d)
    if kind == "channel":
        return ChannelStandardizer.from_dict(d)
    if kind == "discrete":
        return DiscreteColumns.from_dict(d)
    return Standardizer.from_dict(d)


@dataclass
class OneHot:
    """Integer class labels -> one-hot rows, with the classes seen in :meth:`fit`."""

    classes: Optional[np.ndarray] = None

    def fit(self, labels: np.ndarray, name: str = "y") -> "OneHot":
        classes = np.unique(labels)
        if classes.size < 2:
            raise ValueError(f"{name}: discrete labels take a single value; need at least 2 classes")
        self.classes = classes
        return self

    def transform(self, labels: np.ndarray, name: str = "y") -> np.ndarray:
        if self.classes is None:
            raise RuntimeError("OneHot is not fitted")
        pos = np.searchsorted(self.classes, labels)
        pos_c = np.clip(pos, 0, self.classes.size - 1)
        unseen = self.classes[pos_c] != labels
        if unseen.any():
            row = int(np.flatnonzero(unseen)[0])
            raise ValueError(
                f"{name}: label {labels[row]} at row {row} was not seen in fit "
                f"(classes: {self.classes.tolist()[:10]})"
            )
        out = np.zeros((labels.shape[0], self.classes.size), dtype=np.float64)
        out[np.arange(labels.shape[0]), pos_c] = 1.0
        return out

    def to_dict(self) -> dict:
        return {"classes": self.classes.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "OneHot":
        return cls(np.asarray(d["classes"], dtype=np.int64))


#: encodings of discrete columns: "ordinal" for the noised variable x (one code per column,
#: equally spaced, so dimensions do not grow), "onehot" for conditions (y, z)
ENCODINGS = ("ordinal", "onehot")


@dataclass
class DiscreteColumns:
    """A table whose ``columns`` are discrete: each of those is coded by ``encoding``, the
    other columns go through ``continuous`` (any per-column scaler, or None for no map).

    - "ordinal": the value's position among the classes seen in :meth:`fit`, standardised
      (mean 0, sd 1 over the training rows), so the codes are equally spaced. A value not
      seen in fit is placed by linear interpolation between its neighbouring classes (or
      extrapolated with the end spacing): the code stays strictly increasing in the value.
    - "onehot": one indicator column per class seen in fit; an unseen value is an error.

    Both maps are injective per column, so the MI is unchanged, and neither adds noise:
    the I-MMSE identity holds exactly for discrete variables (their MMSE curve falls to 0 at
    high SNR once the classes are resolved; :meth:`resolving_logsnr` says where).
    """

    columns: Optional[list] = None
    encoding: str = "ordinal"
    continuous: Optional[object] = None
    classes: Optional[list] = None
    code_mean: Optional[list] = None
    code_std: Optional[list] = None
    n_columns: int = 0

    def fit(self, a: np.ndarray, name: str = "x") -> "DiscreteColumns":
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding: expected one of {list(ENCODINGS)}, got {self.encoding!r}")
        a = np.ascontiguousarray(a, dtype=np.float64)
        self.n_columns = int(a.shape[1])
        self.classes, self.code_mean, self.code_std = [], [], []
        for j in self.columns:
            classes, idx = np.unique(a[:, j], return_inverse=True)
            if classes.size < 2:
                raise ValueError(f"{name}: discrete column {j} takes a single value; drop it")
            self.classes.append(classes)
            self.code_mean.append(float(idx.mean()))
            self.code_std.append(float(idx.std()))
        rest = self._continuous_columns()
        if not rest:
            self.continuous = None  # nothing to map (and an unfitted map would not save)
        if self.continuous is not None:
            self.continuous.fit(a[:, rest], name)
        return self

    def _continuous_columns(self) -> list:
        return [j for j in range(self.n_columns) if j not in set(self.columns)]

    @property
    def out_dim(self) -> int:
        rest = len(self._continuous_columns())
        if self.encoding == "ordinal":
            return rest + len(self.columns)
        return rest + sum(c.size for c in self.classes)

    def _ordinal(self, col: np.ndarray, i: int) -> np.ndarray:
        classes = self.classes[i]
        pos = np.arange(classes.size, dtype=np.float64)
        code = np.interp(col, classes, pos)
        lo, hi = col < classes[0], col > classes[-1]
        if lo.any():
            code[lo] = (col[lo] - classes[0]) / (classes[1] - classes[0])
        if hi.any():
            code[hi] = pos[-1] + (col[hi] - classes[-1]) / (classes[-1] - classes[-2])
        return (code - self.code_mean[i]) / self.code_std[i]

    def transform(self, a: np.ndarray, name: str = "x") -> np.ndarray:
        if self.classes is None:
            raise RuntimeError("DiscreteColumns is not fitted")
        a = np.ascontiguousarray(a, dtype=np.float64)
        if a.shape[1] != self.n_columns:
            raise ValueError(f"{name}: expected {self.n_columns} columns as in fit, got {a.shape[1]}")
        rest = self._continuous_columns()
        parts = {}  # column -> its coded block; blocks keep the input's column order
        if rest:
            b = a[:, rest]
            b = b if self.continuous is None else self.continuous.transform(b, name)
            parts.update({j: b[:, i:i + 1] for i, j in enumerate(rest)})
        for i, j in enumerate(self.columns):
            col = a[:, j]
            if self.encoding == "ordinal":
                parts[j] = self._ordinal(col, i)[:, None]
            else:
                parts[j] = OneHot(self.classes[i]).transform(col, f"{name} column {j}")
        return np.concatenate([parts[j] for j in range(self.n_columns)], axis=1)

    def min_spacing(self) -> float:
        """Smallest distance between two neighbouring ordinal codes (inf for one-hot, whose
        classes are sqrt(2) apart, and for a map without discrete columns)."""
        if self.encoding != "ordinal" or not self.columns:
            return float("inf")
        return float(min(1.0 / s for s in self.code_std))

    def resolving_logsnr(self) -> float:
        """The log-SNR above which neighbouring classes are resolved: two codes delta apart
        are confused with probability Q(sqrt(snr) delta / 2) <= 1e-4 once
        snr >= (2 * 3.72 / delta)^2, so the MMSE gap left above it is negligible."""
        delta = min(self.min_spacing(), float(np.sqrt(2.0)))
        return float(2.0 * np.log(2.0 * 3.72 / delta))

    def to_dict(self) -> dict:
        return {"kind": "discrete", "columns": [int(j) for j in self.columns],
                "encoding": self.encoding, "n_columns": self.n_columns,
                "classes": [c.tolist() for c in self.classes], "code_mean": self.code_mean,
                "code_std": self.code_std,
                "continuous": None if self.continuous is None else self.continuous.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "DiscreteColumns":
        return cls(columns=[int(j) for j in d["columns"]], encoding=str(d["encoding"]),
                   continuous=scaler_from_dict(d.get("continuous")),
                   classes=[np.asarray(c, dtype=np.float64) for c in d["classes"]],
                   code_mean=[float(v) for v in d["code_mean"]],
                   code_std=[float(v) for v in d["code_std"]], n_columns=int(d["n_columns"]))
