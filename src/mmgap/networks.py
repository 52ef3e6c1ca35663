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

__all__ = ["default_width", "default_depth", "LogSNREmbedding", "ResidualMLP", "ConvUNet", "unet_levels",
           "build_network"]


def default_width(dim_x: int, dim_y: int, dim_context: int = 0) -> int:
    """Hidden width: 128 whatever the dimensions (the residual blocks are twice as wide
    inside). Wider networks over-fit 10^4 samples in 50 dimensions within a few thousand
    steps (docs/benchmarks/core.md); narrower ones (64, the earlier choice below 8 dims in
    all) could not learn the spiral tasks' coupling (docs/benchmarks/bmi40.md, variants).
    The arguments are kept so that a rule depending on them can return."""
    for name, v in (("dim_x", dim_x), ("dim_y", dim_y), ("dim_context", dim_context)):
        if v < 0:
            raise ValueError(f"{name}: expected a non-negative integer, got {v}")
    return 128


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


# ---------------------------------------------------------------------------- images
def unet_levels(height: int, width: int, max_levels: int = 2) -> int:
    """How many 2x down-samplings a U-Net does on an image of this size: while both sides are
    even and the halved image is at least 4 x 4, at most ``max_levels`` (8x8 -> 1; 28x28 -> 2)."""
    levels = 0
    while levels < max_levels and height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
        height, width, levels = height // 2, width // 2, levels + 1
    return levels


class _ConvBlock(nn.Module):
    """GroupNorm-SiLU-conv3x3, plus a per-channel shift from the embedding, then
    GroupNorm-SiLU-conv3x3; residual (1x1 conv where the channel count changes)."""

    def __init__(self, c_in: int, c_out: int, dim_emb: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(dim_emb, c_out)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        out = self.conv1(nn.functional.silu(self.norm1(h))) + self.emb(emb)[:, :, None, None]
        out = self.conv2(nn.functional.silu(self.norm2(out)))
        return self.skip(h) + out


class ConvUNet(nn.Module):
    """Small convolutional U-Net denoiser for image-shaped x, on flattened inputs.

    x is an image (C, H, W) passed flattened channel-major as (B, C*H*W), like every mmgap
    network, and reshaped inside. The condition y is either an image of the same H x W
    (y_shape = (C_y, H, W), embedded by a 3x3 convolution into ``width`` feature maps that
    are added to the first layer) or a vector (y_shape = (dim_y,), embedded with the
    log-SNR). Where keep == 0 the y embedding is replaced by a learned null embedding (a
    feature map, or a vector), as in :class:`ResidualMLP`. One residual block per level,
    :func:`unet_levels` down-samplings (stride-2 convolutions, channels doubling), one
    block at the bottom, nearest-neighbour up-sampling with skip connections, and a
    zero-initialised output convolution.

    forward(z (B, C*H*W), logsnr (B,), y (B, dim_y), keep (B,), context=None) -> (B, C*H*W)
    """

    def __init__(self, x_shape, y_shape, width: int = 32, dim_context: int = 0):
        super().__init__()
        if len(x_shape) != 3:
            raise ValueError(f"x_shape: expected (channels, height, width), got {tuple(x_shape)}")
        if dim_context:
            raise ValueError("dim_context: ConvUNet has no context slot yet")
        self.x_shape = tuple(int(v) for v in x_shape)
        self.y_shape = tuple(int(v) for v in y_shape)
        c, h, w = self.x_shape
        self.y_is_image = len(self.y_shape) == 3
        if self.y_is_image and self.y_shape[1:] != (h, w):
            raise ValueError(f"y_shape: an image condition must be {h} x {w} like x, got {self.y_shape}")
        self.width, self.depth = int(width), unet_levels(h, w)
        wd = self.width
        dim_emb = 4 * wd
        self.embed_logsnr = nn.Sequential(LogSNREmbedding(dim_emb), nn.SiLU(), nn.Linear(dim_emb, dim_emb))
        self.conv_in = nn.Conv2d(c, wd, 3, padding=1)
        if self.y_is_image:
            self.embed_y = nn.Conv2d(self.y_shape[0], wd, 3, padding=1, bias=False)
            self.null_y = nn.Parameter(torch.zeros(wd, h, w))
        else:
            self.embed_y = nn.Linear(self.y_shape[0], dim_emb, bias=False)
            self.null_y = nn.Parameter(torch.zeros(dim_emb))
        chans = [wd * 2 ** i for i in range(self.depth + 1)]
        self.down = nn.ModuleList(_ConvBlock(chans[i], chans[i], dim_emb) for i in range(self.depth))
        self.pool = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1)
                                  for i in range(self.depth))
        self.mid = _ConvBlock(chans[-1], chans[-1], dim_emb)
        self.up = nn.ModuleList(_ConvBlock(chans[i + 1] + chans[i], chans[i], dim_emb)
                                for i in reversed(range(self.depth)))
        self.out_norm = nn.GroupNorm(min(8, wd), wd)
        self.out = nn.Conv2d(wd, c, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                context: Optional[Tensor] = None) -> Tensor:
        b = z.shape[0]
        k = keep.to(z.dtype)
        emb = self.embed_logsnr(logsnr)
        h = self.conv_in(z.view(b, *self.x_shape))
        if self.y_is_image:
            ey = self.embed_y(y.view(b, *self.y_shape))
            h = h + k[:, None, None, None] * ey + (1 - k)[:, None, None, None] * self.null_y
        else:
            emb = emb + k[:, None] * self.embed_y(y) + (1 - k)[:, None] * self.null_y
        skips = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, emb)
            skips.append(h)
            h = pool(h)
        h = self.mid(h, emb)
        for block in self.up:
            skip = skips.pop()
            h = nn.functional.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), emb)
        out = self.out(nn.functional.silu(self.out_norm(h)))
        return out.reshape(b, -1)


def build_network(kind: str, dim_x: int, dim_y: int, *, width: Optional[int] = None,
                  depth: Optional[int] = None, x_shape=None, y_shape=None,
                  dim_context: int = 0) -> nn.Module:
    """The denoiser network ``kind`` ("mlp" or "conv") for flattened inputs of these sizes;
    "conv" needs ``x_shape`` (C, H, W) and takes ``y_shape`` (C_y, H, W) or None (vector y).
    ``dim_context``: size of the always-present condition (the z of I(X;Y|Z); MLP only)."""
    if kind == "mlp":
        return ResidualMLP(dim_x, dim_y, dim_context=dim_context, width=width, depth=depth)
    if kind == "conv":
        if x_shape is None:
            raise ValueError("network: 'conv' needs image-shaped x")
        return ConvUNet(x_shape, y_shape if y_shape is not None else (dim_y,),
                        width=32 if width is None else width, dim_context=dim_context)
    raise ValueError(f"network: expected 'mlp' or 'conv', got {kind!r}")


class PairNets(nn.Module):
    """``n_nets`` independent small MLPs evaluated together by batched matrix products
    (one ``baddbmm`` per layer), for many tiny denoisers trained side by side (one per pair
    of variables in :mod:`mmgap.matrix`). SiLU hidden layers; the output layer starts at
    zero, so every net starts as "no correction".

    forward(h (n_nets, B, dim_in)) -> (n_nets, B)
    """

    def __init__(self, n_nets: int, dim_in: int, width: int = 32, depth: int = 2):
        super().__init__()
        if min(n_nets, dim_in, width, depth) < 1:
            raise ValueError(f"n_nets, dim_in, width, depth: expected positive integers, got "
                             f"{n_nets}, {dim_in}, {width}, {depth}")
        self.n_nets, self.dim_in, self.width, self.depth = int(n_nets), int(dim_in), int(width), int(depth)
        sizes = [self.dim_in] + [self.width] * self.depth
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(n_nets, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_nets, 1, fan_out).uniform_(-bound, bound)))
        self.out_w = nn.Parameter(torch.zeros(n_nets, self.width, 1))
        self.out_b = nn.Parameter(torch.zeros(n_nets, 1, 1))

    def forward(self, h: Tensor) -> Tensor:
        for w, b in zip(self.weights, self.biases):
            h = nn.functional.silu(torch.baddbmm(b, h, w))
        return torch.baddbmm(self.out_b, h, self.out_w).squeeze(-1)
