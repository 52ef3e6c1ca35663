"""Critic networks for the variational bounds: (x (B, dim_x), y (B, dim_y)) -> scores (B, B)
with ``scores[i, j] = f(x_i, y_j)``. They know nothing of the bounds or of training.

- :class:`SeparableCritic`: ``f(x, y) = g(x) . h(y) / sqrt(k)`` with two MLP encoders into
  R^k. All B^2 scores cost two encoder passes and one matrix product, so it is the default.
- :class:`JointCritic`: ``f(x, y) = MLP([x, y])``, evaluated on all B^2 pairs; more
  expressive, B times more expensive per step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["CRITICS", "SeparableCritic", "JointCritic", "make_critic", "mlp"]


def mlp(dim_in: int, width: int, depth: int, dim_out: int) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with SiLU, then a linear output layer."""
    layers, d = [], dim_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.SiLU()]
        d = width
    layers.append(nn.Linear(d, dim_out))
    return nn.Sequential(*layers)


class SeparableCritic(nn.Module):
    """f(x, y) = g(x) . h(y) / sqrt(embed_dim)."""

    def __init__(self, dim_x: int, dim_y: int, width: int = 128, depth: int = 2,
                 embed_dim: int = 32):
        super().__init__()
        self.g = mlp(dim_x, width, depth, embed_dim)
        self.h = mlp(dim_y, width, depth, embed_dim)
        self.scale = 1.0 / math.sqrt(embed_dim)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.g(x) @ self.h(y).T) * self.scale


class JointCritic(nn.Module):
    """f(x, y) = MLP([x, y]) on every pair (x_i, y_j) of the batch."""

    def __init__(self, dim_x: int, dim_y: int, width: int = 128, depth: int = 2,
                 embed_dim: int = 32):
        super().__init__()
        del embed_dim  # same signature as SeparableCritic; a joint critic has no embedding
        self.f = mlp(dim_x + dim_y, width, depth, 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        b_x, b_y = x.shape[0], y.shape[0]
        pairs = torch.cat([x[:, None, :].expand(b_x, b_y, x.shape[1]),
                           y[None, :, :].expand(b_x, b_y, y.shape[1])], dim=-1)
        return self.f(pairs).squeeze(-1)


CRITICS = {"separable": SeparableCritic, "joint": JointCritic}


def make_critic(kind: str, dim_x: int, dim_y: int, *, width: int, depth: int,
                embed_dim: int) -> nn.Module:
    if kind not in CRITICS:
        raise ValueError(f"critic: expected one of {sorted(CRITICS)}, got {kind!r}")
    return CRITICS[kind](dim_x, dim_y, width=width, depth=depth, embed_dim=embed_dim)
