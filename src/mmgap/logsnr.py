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

    def to_dict(self) -> Dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def logsnr_grid(low: float = -10.0, high: float = 14.0, n: int = 49, *, device=None,
                dtype=torch.float32) -> Tensor:
    """Evenly spaced log-SNR values, shape (n,)."""
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"logsnr_grid: expected finite low < high, got {low!r}, {high!r}")
    if n < 2:
        raise ValueError(f"n: expected at least 2 grid points, got {n!r}")
    return torch.linspace(low, high, n, device=device, dtype=dtype)
