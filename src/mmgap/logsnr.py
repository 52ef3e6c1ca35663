"""The variance-preserving channel, log-SNR proposals and deterministic grids.

``logsnr`` (lambda) is the only noise coordinate used anywhere in mmgap:

    z = sqrt(sigmoid(logsnr)) * x + sqrt(sigmoid(-logsnr)) * eps,   eps ~ N(0, I)

so alpha^2 = sigmoid(logsnr), sigma^2 = sigmoid(-logsnr), alpha^2 + sigma^2 = 1.

A proposal is a small object with ``sample(n, generator) -> (logsnr, weight)`` where
``weight = 1 / density(logsnr)``, so that ``mean(weight * f(logsnr))`` is an unbiased Monte
Carlo estimate of the integral of f over the proposal's support.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    "alpha_sigma",
    "logsnr_from_alpha_sigma",
    "add_noise",
    "TruncatedLogistic",
    "VPLinearUniformT",
    "proposal_from_dict",
    "logsnr_grid",
]


def alpha_sigma(logsnr: Tensor) -> Tuple[Tensor, Tensor]:
    """Signal and noise scales of the VP channel. Shapes follow ``logsnr``."""
    return torch.sigmoid(logsnr).sqrt(), torch.sigmoid(-logsnr).sqrt()


def logsnr_from_alpha_sigma(alpha: Tensor, sigma: Tensor) -> Tensor:
    """Inverse of :func:`alpha_sigma`: ``logsnr = log(alpha^2 / sigma^2)``."""
    return 2.0 * (torch.log(alpha) - torch.log(sigma))


def add_noise(x: Tensor, logsnr: Tensor, eps: Tensor) -> Tensor:
    """The VP channel. x, eps: (batch, dim); logsnr: (batch,). Returns z: (batch, dim)."""
    alpha, sigma = alpha_sigma(logsnr)
    return alpha[:, None] * x + sigma[:, None] * eps


@dataclass(frozen=True)
class TruncatedLogistic:
    """Logistic(loc, scale) log-SNR proposal truncated to ``loc +- clip * scale``.

    Sampled by inverse CDF. With ``u = (l - loc) / scale`` its density is

        q(l) = sigmoid(u) * sigmoid(-u) / (scale * tanh(clip / 2))

    and ``E_q[1/q] = 2 * clip * scale``, the length of the window.
    """

    loc: float = 1.0
    scale: float = 2.0
    clip: float = 4.0

    def __post_init__(self):
        for name in ("loc", "scale", "clip"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name}: expected a finite number, got {v!r}")
        if self.scale <= 0:
            raise ValueError(f"scale: expected a positive number, got {self.scale!r}")
        if self.clip <= 0:
            raise ValueError(f"clip: expected a positive number, got {self.clip!r}")

    @property
    def low(self) -> float:
        return self.loc - self.clip * self.scale

    @property
    def high(self) -> float:
        return self.loc + self.clip * self.scale

    @property
    def _mass(self) -> float:
        # sigmoid(clip) - sigmoid(-clip)
        return math.tanh(self.clip / 2.0)

    def icdf(self, v: Tensor) -> Tensor:
        """Map v in [0, 1] to logsnr in [low, high] (inverse CDF)."""
        c = self.clip
        lo = 1.0 / (1.0 + math.exp(c))  # sigmoid(-clip)
        p = lo + v * self._mass
        return self.loc + self.scale * torch.logit(p)

    def cdf(self, logsnr: Tensor) -> Tensor:
        u = ((logsnr - self.loc) / self.scale).clamp(-self.clip, self.clip)
        lo = 1.0 / (1.0 + math.exp(self.clip))
        return (torch.sigmoid(u) - lo) / self._mass

    def density(self, logsnr: Tensor) -> Tensor:
        """q(logsnr); zero outside the window."""
        u = (logsnr - self.loc) / self.scale
        q = torch.sigmoid(u) * torch.sigmoid(-u) / (self.scale * self._mass)
        return torch.where(u.abs() <= self.clip, q, torch.zeros_like(q))

    def weight(self, logsnr: Tensor) -> Tensor:
        """1 / q(logsnr) inside the window (callers only pass logsnr drawn from q)."""
        u = (logsnr - self.loc) / self.scale
        return self.scale * self._mass / (torch.sigmoid(u) * torch.sigmoid(-u))

    def sample(
        self,
        n: int,
        generator: Optional[torch.Generator] = None,
        *,
        device=None,
        dtype=torch.float32,
        stratified: bool = False,
    ) -> Tuple[Tensor, Tensor]:
        """Draw n log-SNR values and their importance weights 1/q, each shape (n,).

        ``stratified=True`` draws one uniform in each of n equal strata of [0, 1]
        (in random order); the weights are unchanged.
        """
        v = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        if stratified:
            perm = torch.randperm(n, generator=generator, device=device)
            v = (perm.to(torch.float64) + v) / n
        # keep v strictly inside (0, 1) so logit stays finite in float64
        v = v.clamp(1e-12, 1 - 1e-12)
        logsnr = self.icdf(v)
        w = self.weight(logsnr)
        return logsnr.to(dtype), w.to(dtype)

    def widened_to(self, high: Optional[float]) -> "TruncatedLogistic":
        """The same proposal with its upper edge raised to ``high`` (same lower edge and
        scale); itself when ``high`` is None or already inside the window."""
        if high is None or high <= self.high:
            return self
        return TruncatedLogistic((self.low + high) / 2, self.scale,
                                 (high - self.low) / (2 * self.scale))

    def to_dict(self) -> Dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class VPLinearUniformT:
    """The log-SNR distribution induced by t ~ U[t_min, 1] on the VP SDE with a linear
    schedule beta(t) = beta_min + t (beta_max - beta_min) (Song et al. 2021; the time
    sampling of MINDE). With B(t) = beta_min t + (beta_max - beta_min) t^2 / 2:

        alpha_t^2 = exp(-B),  sigma_t^2 = 1 - exp(-B),  logsnr(t) = -log(expm1(B))

    logsnr decreases in t, so the window is [logsnr(1), logsnr(t_min)], and the weight is
    1/q = (1 - t_min) |d logsnr / dt| = (1 - t_min) beta(t) / sigma_t^2. With it,
    ``E[w * f(logsnr)]`` is MINDE's ``E_t[beta(t) / sigma_t^2 f]`` up to (1 - t_min).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = 1e-3

    def __post_init__(self):
        for name in ("beta_min", "beta_max", "t_min"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name}: expected a finite positive number, got {v!r}")
        if self.beta_max < self.beta_min:
            raise ValueError(f"beta_max: expected >= beta_min ({self.beta_min}), got {self.beta_max!r}")
        if self.t_min >= 1:
            raise ValueError(f"t_min: expected a number in (0, 1), got {self.t_min!r}")

    def _b(self, t):
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def logsnr_of_t(self, t: Tensor) -> Tensor:
        return -torch.log(torch.expm1(self._b(t)))

    @property
    def low(self) -> float:
        return -math.log(math.expm1(self._b(1.0)))

    @property
    def high(self) -> float:
        return -math.log(math.expm1(self._b(self.t_min)))

    def t_of_logsnr(self, logsnr: Tensor) -> Tensor:
        """Inverse of :meth:`logsnr_of_t`: solve B(t) = log1p(exp(-logsnr)) for t >= 0."""
        b = torch.nn.functional.softplus(-logsnr.double())
        a = 0.5 * (self.beta_max - self.beta_min)
        if a == 0:
            return b / self.beta_min
        return (torch.sqrt(self.beta_min ** 2 + 4 * a * b) - self.beta_min) / (2 * a)

    def weight(self, logsnr: Tensor) -> Tensor:
        t = self.t_of_logsnr(logsnr)
        beta = self.beta_min + t * (self.beta_max - self.beta_min)
        sigma2 = -torch.expm1(-self._b(t))
        return ((1.0 - self.t_min) * beta / sigma2).to(logsnr.dtype)

    def density(self, logsnr: Tensor) -> Tensor:
        """q(logsnr); zero outside the window."""
        q = 1.0 / self.weight(logsnr)
        inside = (logsnr >= self.low) & (logsnr <= self.high)
        return torch.where(inside, q, torch.zeros_like(q))

    def sample(self, n: int, generator: Optional[torch.Generator] = None, *, device=None,
               dtype=torch.float32, stratified: bool = False) -> Tuple[Tensor, Tensor]:
        """Draw n log-SNR values (t uniform, optionally stratified) and weights 1/q."""
        v = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        if stratified:
            perm = torch.randperm(n, generator=generator, device=device)
            v = (perm.to(torch.float64) + v) / n
        t = self.t_min + (1.0 - self.t_min) * v
        logsnr = self.logsnr_of_t(t)
        beta = self.beta_min + t * (self.beta_max - self.beta_min)
        w = (1.0 - self.t_min) * beta / (-torch.expm1(-self._b(t)))
        return logsnr.to(dtype), w.to(dtype)

    def to_dict(self) -> Dict[str, float]:
        d: Dict = {k: float(v) for k, v in asdict(self).items()}
        d["kind"] = "vp-linear-uniform-t"
        return d


def proposal_from_dict(d: Dict) -> "TruncatedLogistic | VPLinearUniformT":
    """Rebuild a proposal from its ``to_dict`` (a dict without "kind" is a TruncatedLogistic)."""
    d = dict(d)
    kind = d.pop("kind", "truncated-logistic")
    if kind == "truncated-logistic":
        return TruncatedLogistic(**d)
    if kind == "vp-linear-uniform-t":
        return VPLinearUniformT(**d)
    raise ValueError(f"proposal: unknown kind {kind!r}")


def logsnr_grid(low: float = -10.0, high: float = 14.0, n: int = 49, *, device=None,
                dtype=torch.float32) -> Tensor:
    """Evenly spaced log-SNR values, shape (n,)."""
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"logsnr_grid: expected finite low < high, got {low!r}, {high!r}")
    if n < 2:
        raise ValueError(f"n: expected at least 2 grid points, got {n!r}")
    return torch.linspace(low, high, n, device=device, dtype=dtype)
