"""Conditional denoiser networks. They know nothing of noise schedules or MI: a network maps
(z, logsnr, y, keep, context) to an output of shape (B, dim_x); how that output becomes a
noise prediction is decided by the caller (see ``training.EpsDenoiser``).

Conditioning convention (DESIGN.md §4): y enters through an embedding that is replaced by a
learned null embedding where ``keep == 0``; the unconditional pass is never "y = 0". An
optional ``context`` (dim_context > 0) is always present and never dropped: it is the slot
for Z in conditional MI I(X;Y|Z).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

__all__ = ["default_width", "default_depth", "LogSNREmbedding", "ResidualMLP"]


def default_width(dim_x: int, dim_y: int, dim_context: int = 0) -> int:
    """Hidden width from the dimensions: the power of two >= 8 * (total dims), in [64, 128]
    (the residual blocks are twice as wide inside). Wider networks over-fit 10^4 samples in
    50 dimensions within a few thousand steps (measured: docs/benchmarks/core.md)."""
    total = dim_x + dim_y + dim_context
    return int(min(128, max(64, 2 ** math.ceil(math.log2(8 * total)))))


def default_depth(dim_x: int, dim_y: int, dim_context: int = 0) -> int:
    """Number of residual blocks: 2 for small problems (<= 10 dims in all), else 3."""
    return 2 if dim_x + dim_y + dim_context <= 10 else 3


class LogSNREmbedding(nn.Module):
    """Fixed Fourier features of logsnr / 8 and a linear map. (B,) -> (B, width)."""

    def __init__(self, width: int, n_frequencies: int = 8):
        super().__init__()
        freqs = math.pi * (2.0 ** torch.arange(n_frequencies, dtype=torch.float32)) / 16.0
        self.register_buffer("freqs", freqs, persistent=False)
        self.linear = nn.Linear(2 * n_frequencies + 1, width)

    def forward(self, logsnr: Tensor) -> Tensor:
        u = (logsnr / 8.0)[:, None]
        ang = u * self.freqs[None, :]
        return self.linear(torch.cat([u, torch.sin(ang), torch.cos(ang)], dim=-1))


class _Block(nn.Module):
    """Pre-norm residual block: h + W2 silu(W1 LayerNorm(h))."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, h: Tensor) -> Tensor:
        return h + self.fc2(self.drop(nn.functional.silu(self.fc1(self.norm(h)))))


class ResidualMLP(nn.Module):
    """Residual MLP denoiser for vector data.

    The first layer sums linear embeddings of z, of Fourier features of logsnr, of y (or a
    learned null vector where keep == 0) and of the context; ``depth`` pre-norm residual
    blocks (hidden size 2 * width) follow, then a zero-initialised output layer. A lean
    design on purpose: on a CPU, a small network's step time is dominated by the number of
    operations, not their size.

    Parameters
    ----------
    dim_x, dim_y : sizes of the noised variable and of the condition.
    dim_context : size of an always-present extra condition (0 = none).
    width, depth : hidden width and number of residual blocks (defaults from the dims).
    dropout : dropout inside the blocks.

    forward(z (B, dim_x), logsnr (B,), y (B, dim_y), keep (B,), context (B, dim_context) or
    None) -> (B, dim_x).
    """

    def __init__(self, dim_x: int, dim_y: int, dim_context: int = 0, width: Optional[int] = None,
                 depth: Optional[int] = None, dropout: float = 0.0):
        super().__init__()
        self.dim_x, self.dim_y, self.dim_context = int(dim_x), int(dim_y), int(dim_context)
        self.width = int(width) if width is not None else default_width(dim_x, dim_y, dim_context)
        self.depth = int(depth) if depth is not None else default_depth(dim_x, dim_y, dim_context)
        if self.width < 1 or self.depth < 1:
            raise ValueError(f"width and depth: expected positive integers, got {width}, {depth}")
        w = self.width
        self.embed_z = nn.Linear(self.dim_x, w)
        self.embed_logsnr = LogSNREmbedding(w)
        self.embed_y = nn.Linear(self.dim_y, w, bias=False)
        self.null_y = nn.Parameter(torch.zeros(w))
        self.embed_context = (nn.Linear(self.dim_context, w, bias=False)
                              if self.dim_context > 0 else None)
        self.blocks = nn.Sequential(*(_Block(w, dropout) for _ in range(self.depth)))
        self.out_norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, self.dim_x)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                context: Optional[Tensor] = None) -> Tensor:
        k = keep.to(z.dtype)[:, None]
        h = self.embed_z(z) + self.embed_logsnr(logsnr) + k * self.embed_y(y) + (1 - k) * self.null_y
        if self.embed_context is not None:
            if context is None:
                raise ValueError("context: this network was built with dim_context > 0")
            h = h + self.embed_context(context)
        return self.out(self.out_norm(self.blocks(h)))
