"""The training loop for conditional denoisers. Knows the noise channel, knows nothing of MI.

Pieces:
- :class:`EpsDenoiser` turns a network output F into a noise prediction with the
  variance-preserving analogue of EDM preconditioning, ``eps_hat = sigma * z - alpha * F``:
  at low SNR it tends to z (the exact answer there), at high SNR the network predicts eps
  directly, and with unit-variance data the regression target for F has unit variance.
  F = 0 (the zero-initialised output layer) is the Bayes-optimal denoiser of N(0, I) data.
- :class:`DenoisingLoss`: a small callable holding only its hyper-parameters (proposal,
  p_uncond); the loop just calls it, so changing the objective never touches the loop.
- :class:`Trainer`: Adam(W) with warm-up + cosine schedule, EMA weights, a step budget and an
  optional time budget, a tqdm bar, NaN detection, a :class:`TrainingLog`.
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import distributed
from .gap import fused_pass, gaussian_mi_bias, shrink_canonical, solve_posterior
from .logsnr import add_noise, alpha_sigma

__all__ = ["EpsDenoiser", "GaussianPrior", "DenoisingLoss", "ValidationLoss", "select_checkpoint", "TrainingLog",
           "Trainer", "TrainingError", "train_denoiser", "lr_factor"]

logger = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training produced a non-finite loss or otherwise cannot continue."""


class GaussianPrior(nn.Module):
    """The Bayes-optimal eps-denoiser of a joint Gaussian fitted to training data, as a
    base for the network to correct (see :class:`EpsDenoiser`).

    With mean (m_x, m_y) and covariance Sigma of (x, y), B = Sigma_xy Sigma_yy^+ and
    Sigma_{x|y} = Sigma_xx - B Sigma_yx:

        E[eps | z]    = sigma (alpha^2 Sigma_xx    + sigma^2 I)^{-1} (z - alpha m_x)
        E[eps | z, y] = sigma (alpha^2 Sigma_{x|y} + sigma^2 I)^{-1} (z - alpha (m_x + B (y - m_y)))

    With a context c (``dim_context`` > 0, the z of I(X;Y|Z)), both passes also condition on
    c: the unconditional one uses the regression of x on c (B_u, Sigma_{x|c}), the
    conditional one the regression of x on (y, c) (B on y, B_cc on c, Sigma_{x|yc}).

    Computed in float64 through eigendecompositions (stored as buffers, so they travel with
    ``state_dict``). For Gaussian data this is already the optimal denoiser at every noise
    level, including the high-SNR end where a network would need to resolve
    (z - alpha B y) / sigma, a tiny difference amplified; the network only learns what the
    Gaussian misses.
    """

    def __init__(self, dim_x: int, dim_y: int, dim_context: int = 0):
        super().__init__()
        self.dim_x, self.dim_y, self.dim_context = int(dim_x), int(dim_y), int(dim_context)
        f64 = torch.float64
        self.register_buffer("mean_x", torch.zeros(dim_x, dtype=f64))
        self.register_buffer("mean_y", torch.zeros(dim_y, dtype=f64))
        self.register_buffer("b", torch.zeros(dim_x, dim_y, dtype=f64))
        self.register_buffer("eval_u", torch.ones(dim_x, dtype=f64))
        self.register_buffer("evec_u", torch.eye(dim_x, dtype=f64))
        self.register_buffer("eval_c", torch.ones(dim_x, dtype=f64))
        self.register_buffer("evec_c", torch.eye(dim_x, dtype=f64))
        if self.dim_context:  # only then, so that saved models without context still load
            self.register_buffer("mean_ctx", torch.zeros(self.dim_context, dtype=f64))
            self.register_buffer("b_ctx_u", torch.zeros(dim_x, self.dim_context, dtype=f64))
            self.register_buffer("b_ctx_c", torch.zeros(dim_x, self.dim_context, dtype=f64))

    @torch.no_grad()
    def fit(self, x: Tensor, y: Tensor, context: Optional[Tensor] = None,
            shrink: bool = False) -> "GaussianPrior":
        """Means and covariances in float64; above :data:`GAUSSIAN_FIT_BLOCK_ROWS` rows they
        are accumulated over row blocks, so no float64 copy of the data is made.

        ``shrink``: the sample canonical correlations r_i of x and y (with a context: of
        their partial covariances given it, n - dc rows' worth of degrees of freedom) are
        shrunk (:func:`mmgap.gap.shrink_canonical`) so that the Gaussian MI the prior implies
        is the plug-in value less its exact expected bias :func:`mmgap.gap.gaussian_mi_bias`
        (about dx dy / 2n: fitted on n rows, B picks up spurious cross-covariance that the
        orthogonal form would count as MI). B and Sigma_{x|y} are then those of the Gaussian
        with the same marginal covariances and the shrunk correlations:
        B = S_x^1/2 U diag(r~) V^T S_y^-1/2, Sigma_{x|y} = S_x^1/2 (I - U diag(r~^2) U^T) S_x^1/2
        (U, V the canonical directions). Nothing changes when n <= dx + dy + 2. Design note 24."""
        if (context is None) != (self.dim_context == 0):
            raise ValueError("context: expected a context exactly when dim_context > 0")
        parts = {"x": x, "y": y}
        if context is not None:
            parts["c"] = context
        means, prod = _centred_products(parts)
        mx, my = means["x"], means["y"]
        n = max(x.shape[0] - 1, 1)
        sxx = prod("x", "x") / n
        if context is not None:
            mc = means["c"]
            # unconditional pass: regression on c; conditional: regression on (y, c) ("v")
            cc_inv = torch.linalg.pinv(prod("c", "c") / n, hermitian=True)
            b_u = (prod("x", "c") / n) @ cc_inv
            uncond = sxx - b_u @ (prod("c", "x") / n)
            shrunk = None
            if shrink:
                # partial covariances given c; their canonical correlations are those of the
                # CMI, with n - 1 - dc degrees of freedom (hence rows - dc below)
                a_yc = (prod("y", "c") / n) @ cc_inv
                shrunk = _shrunk_regression(uncond, prod("x", "y") / n - b_u @ (prod("c", "y") / n),
                                            prod("y", "y") / n - a_yc @ (prod("c", "y") / n),
                                            x.shape[0] - context.shape[1])
            if shrunk is None:
                b_all = (prod("x", "v") / n) @ torch.linalg.pinv(prod("v", "v") / n, hermitian=True)
                cond = sxx - b_all @ (prod("v", "x") / n)
                b, b_cc = b_all[:, :self.dim_y], b_all[:, self.dim_y:]
            else:
                # E[x | y, c] = m_x + B_u (c - m_c) + B (y - m_y - A (c - m_c))
                b, cond = shrunk
                b_cc = b_u - b @ a_yc
            self.mean_ctx.copy_(mc), self.b_ctx_u.copy_(b_u)
            self.b_ctx_c.copy_(b_cc)
        else:
            sxy, syy = prod("x", "y") / n, prod("y", "y") / n
            uncond = sxx
            shrunk = _shrunk_regression(sxx, sxy, syy, x.shape[0]) if shrink else None
            if shrunk is None:
                b = sxy @ torch.linalg.pinv(syy, hermitian=True)
                cond = sxx - b @ sxy.T
            else:
                b, cond = shrunk
        lu, vu = torch.linalg.eigh(0.5 * (uncond + uncond.T))
        lc, vc = torch.linalg.eigh(0.5 * (cond + cond.T))
        # round-off can leave tiny negative eigenvalues; a variance is never below 0
        self.mean_x.copy_(mx), self.mean_y.copy_(my), self.b.copy_(b)
        self.eval_u.copy_(lu.clamp_min(0)), self.evec_u.copy_(vu)
        self.eval_c.copy_(lc.clamp_min(0)), self.evec_c.copy_(vc)
        return self

    def forward(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                context: Optional[Tensor] = None) -> Tensor:
        z64, l64 = z.double(), logsnr.double()
        a2, s2 = torch.sigmoid(l64), torch.sigmoid(-l64)
        a, s = a2.sqrt()[:, None], s2.sqrt()[:, None]
        zc = z64 - a * self.mean_x
        zc_u, zc_c = zc, zc
        if self.dim_context:
            if context is None:
                raise ValueError("context: this prior was fitted with a context")
            cc = context.double() - self.mean_ctx
            zc_u = zc - a * (cc @ self.b_ctx_u.T)
            zc_c = zc - a * (cc @ self.b_ctx_c.T)
        out_u = s * solve_posterior(zc_u, a2, s2, self.eval_u, self.evec_u)
        resid = zc_c - a * ((y.double() - self.mean_y) @ self.b.T)
        out_c = s * solve_posterior(resid, a2, s2, self.eval_c, self.evec_c)
        k = keep.double()[:, None]
        return (k * out_c + (1 - k) * out_u).to(z.dtype)

    def cross_entropy(self, x: Tensor, y: Optional[Tensor] = None,
                      context: Optional[Tensor] = None) -> Tensor:
        """-log g(x) per row (nats, float64, shape (n,)) under the fitted Gaussian g: the
        marginal N(m_x (+ B_u c), Sigma_{x|c}) when ``y`` is None, else the conditional
        N(m_x + B (y - m_y) (+ B_cc c), Sigma_{x|y(c)}). Its mean over held-out points is
        the cross-entropy that the entropy functional corrects."""
        xc = x.double() - self.mean_x
        if y is None:
            ev, vec = self.eval_u, self.evec_u
            if self.dim_context:
                xc = xc - (context.double() - self.mean_ctx) @ self.b_ctx_u.T
        else:
            ev, vec = self.eval_c, self.evec_c
            xc = xc - (y.double() - self.mean_y) @ self.b.T
            if self.dim_context:
                xc = xc - (context.double() - self.mean_ctx) @ self.b_ctx_c.T
        if bool((ev <= 0).any()):
            raise ValueError("x: the fitted Gaussian is degenerate (a direction without "
                             "variance); differential entropy is -inf")
        t = xc @ vec
        maha = (t ** 2 / ev).sum(-1)
        return 0.5 * (maha + torch.log(ev).sum() + self.dim_x * math.log(2 * math.pi))


def _sym_powers(s: Tensor):
    """(S^1/2, S^+1/2, rank) of a symmetric PSD matrix; eigenvalues below 1e-12 of the largest
    count as 0."""
    ev, vec = torch.linalg.eigh(0.5 * (s + s.T))
    keep = ev > 1e-12 * ev.max().clamp_min(1e-300)
    root = torch.where(keep, ev.clamp_min(0).sqrt(), torch.zeros_like(ev))
    inv_root = torch.where(keep, 1.0 / root.clamp_min(1e-300), torch.zeros_like(ev))
    return (vec * root) @ vec.T, (vec * inv_root) @ vec.T, int(keep.sum())


def _shrunk_regression(sxx: Tensor, sxy: Tensor, syy: Tensor, rows: int):
    """(B, Sigma_{x|y}) of :meth:`GaussianPrior.fit` with ``shrink``, or None when there are
    too few rows for the bias correction."""
    root_x, inv_x, rank_x = _sym_powers(sxx)
    _, inv_y, rank_y = _sym_powers(syy)
    if rows <= rank_x + rank_y + 2:
        return None
    u, r, vh = torch.linalg.svd(inv_x @ sxy @ inv_y, full_matrices=False)
    bias = gaussian_mi_bias(rows, rank_x, rank_y)
    r_new = torch.as_tensor(shrink_canonical(r.cpu().numpy(), bias), dtype=sxx.dtype,
                            device=sxx.device)
    left = root_x @ u
    b = (left * r_new) @ vh @ inv_y
    cond = sxx - (left * r_new ** 2) @ left.T
    return b, cond


#: rows per block when :meth:`GaussianPrior.fit` accumulates its moments: up to this many rows
#: the whole tensors are centred at once, as before blocking existed (so fits at bmi40 size are
#: bit-identical); above it the float64 scratch stays at one block (about 50 MB at 100 + 100
#: dimensions) instead of two float64 copies of the data
GAUSSIAN_FIT_BLOCK_ROWS = 32768


def _centred_products(parts: dict, block_rows: Optional[int] = None):
    """(means, prod) for the tensors ``parts`` ("x", "y", optionally "c"; each (n, d_k)):
    float64 column means, and ``prod(a, b)`` = (a - mean_a)^T (b - mean_b) in float64, where
    "v" stands for the columns of y and c side by side. ``block_rows``: default
    :data:`GAUSSIAN_FIT_BLOCK_ROWS`."""
    block_rows = GAUSSIAN_FIT_BLOCK_ROWS if block_rows is None else int(block_rows)
    n = next(iter(parts.values())).shape[0]
    if n <= block_rows:
        means, cen = {}, {}
        for k, t in parts.items():
            t = t.double()
            means[k] = t.mean(0)
            cen[k] = t - means[k]
        if "c" in cen:
            cen["v"] = torch.cat([cen["y"], cen["c"]], 1)
        return means, lambda a, b: cen[a].T @ cen[b]
    keys = list(parts)  # x, y[, c]: y and c adjacent, so "v" is one slice
    means = {}
    for k in keys:
        total = torch.zeros(parts[k].shape[1], dtype=torch.float64, device=parts[k].device)
        for s in range(0, n, block_rows):
            total += parts[k][s:s + block_rows].sum(0, dtype=torch.float64)
        means[k] = total / n
    width = sum(parts[k].shape[1] for k in keys)
    gram = torch.zeros(width, width, dtype=torch.float64, device=parts["x"].device)
    for s in range(0, n, block_rows):
        w = torch.cat([parts[k][s:s + block_rows].double() - means[k] for k in keys], 1)
        gram += w.T @ w
    idx, start = {}, 0
    for k in keys:
        idx[k] = slice(start, start + parts[k].shape[1])
        start += parts[k].shape[1]
    idx["v"] = slice(idx["y"].start, start)
    return means, lambda a, b: gram[idx[a], idx[b]]


#: a discrete x with more distinct rows than this gets no DiscretePrior (memory B x K)
MAX_ATOMS = 1024


class DiscretePrior(nn.Module):
    """The Bayes-optimal eps-denoiser of a discrete x under the training frequencies, as a
    base for the network to correct (see :class:`EpsDenoiser`): the discrete counterpart of
    :class:`GaussianPrior`.

    x takes K values (atoms a_1..a_K, rows of its coded form) with frequencies pi_k, and
    given a discrete y (a row of its one-hot coding, one of S symbols seen in fit)
    frequencies pi_k|y = (n_ky + pi_k) / (n_y + 1) (one pseudo-count spread as the
    marginal). With w_k proportional to pi_k exp(-||z - alpha a_k||^2 / (2 sigma^2)):

        E[x | z (, y)] = sum_k w_k a_k,   eps_hat = (z - alpha E[x | z]) / sigma.

    A y symbol not seen in fit gets the marginal frequencies. With these bases the MMSE
    gap is the plug-in MI of the training table, evaluated on held-out rows; the network
    starts from it and learns only what the frequencies miss (its corrections start at 0).
    """

    def __init__(self, n_atoms: int, dim_x: int, n_symbols: int, dim_y: int):
        super().__init__()
        f64 = torch.float64
        self.register_buffer("atoms", torch.zeros(n_atoms, dim_x, dtype=f64))
        self.register_buffer("log_marg", torch.zeros(n_atoms, dtype=f64))
        self.register_buffer("y_keys", torch.zeros(n_symbols, dtype=f64))
        self.register_buffer("log_cond", torch.zeros(n_symbols, n_atoms, dtype=f64))
        self.register_buffer("key_w", torch.zeros(dim_y, dtype=f64))

    @classmethod
    @torch.no_grad()
    def fitted(cls, x: Tensor, y: Tensor, seed: int = 0) -> Optional["DiscretePrior"]:
        """The prior of coded training rows x (n, dim_x) and one-hot y (n, dim_y), or None
        when x has more than :data:`MAX_ATOMS` distinct rows."""
        x64, y64 = x.double().cpu(), y.double().cpu()
        atoms, xi = torch.unique(x64, dim=0, return_inverse=True)
        if atoms.shape[0] > MAX_ATOMS:
            return None
        gen = torch.Generator().manual_seed(seed)
        key_w = torch.randn(y64.shape[1], generator=gen, dtype=torch.float64)
        keys, yi = torch.unique(y64 @ key_w, return_inverse=True)
        k, s_ = atoms.shape[0], keys.shape[0]
        counts = torch.zeros(s_, k, dtype=torch.float64)
        counts.index_put_((yi, xi), torch.ones(xi.shape[0], dtype=torch.float64), accumulate=True)
        marg = counts.sum(0) / counts.sum()
        cond = (counts + marg) / (counts.sum(1, keepdim=True) + 1)
        prior = cls(k, x64.shape[1], s_, y64.shape[1])
        prior.atoms.copy_(atoms), prior.log_marg.copy_(marg.log())
        prior.y_keys.copy_(keys), prior.log_cond.copy_(cond.log()), prior.key_w.copy_(key_w)
        return prior.to(x.device)

    def forward(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                context: Optional[Tensor] = None) -> Tensor:
        z64, l64 = z.double(), logsnr.double()
        a, s2 = torch.sigmoid(l64).sqrt()[:, None], torch.sigmoid(-l64)[:, None]
        d2 = ((z64[:, None, :] - a[:, :, None] * self.atoms[None]) ** 2).sum(-1)  # (B, K)
        key = y.double() @ self.key_w
        idx = torch.searchsorted(self.y_keys, key).clamp(max=self.y_keys.shape[0] - 1)
        lower = (idx - 1).clamp(min=0)
        idx = torch.where((self.y_keys[lower] - key).abs() < (self.y_keys[idx] - key).abs(),
                          lower, idx)
        known = (self.y_keys[idx] - key).abs() <= 1e-9 * (1 + key.abs())
        use = (keep.double() > 0.5) & known
        logp = torch.where(use[:, None], self.log_cond[idx], self.log_marg[None, :])
        post = torch.softmax(logp - d2 / (2 * s2), dim=-1)
        ex = post @ self.atoms
        return ((z64 - a * ex) / s2.sqrt()).to(z.dtype)


class EpsDenoiser(nn.Module):
    """Wrap a network F(z, logsnr, y, keep, context) as eps_hat = base - alpha F, where
    base = sigma z (the optimal denoiser of N(0, I) data) or, with ``prior``, the optimal
    denoiser of a Gaussian fitted to the training data (:class:`GaussianPrior`)."""

    def __init__(self, net: nn.Module, prior: Optional[GaussianPrior] = None):
        super().__init__()
        self.net = net
        self.prior = prior

    def forward(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                context: Optional[Tensor] = None) -> Tensor:
        alpha, sigma = alpha_sigma(logsnr)
        out = self.net(z, logsnr, y, keep, context)
        base = (sigma[:, None] * z if self.prior is None
                else self.prior(z, logsnr, y, keep, context))
        return base - alpha[:, None] * out


@dataclass(frozen=True)
class DenoisingLoss:
    """Per-sample eps-prediction loss ``||eps - eps_hat(z, logsnr, y or null)||^2`` with
    logsnr drawn from ``proposal`` and y withheld with probability ``p_uncond``.

    __call__(denoiser, x (B, dim_x), y (B, dim_y), context or None, generator) -> (B,)
    """

    proposal: object
    p_uncond: float = 0.5

    def __call__(self, denoiser, x: Tensor, y: Tensor, context: Optional[Tensor],
                 generator: Optional[torch.Generator]) -> Tensor:
        b = x.shape[0]
        logsnr, _ = self.proposal.sample(b, generator, device=x.device, dtype=x.dtype)
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        keep = (torch.rand(b, generator=generator, device=x.device) >= self.p_uncond).to(x.dtype)
        z = add_noise(x, logsnr, eps)
        eps_hat = denoiser(z, logsnr, y, keep, context)
        return ((eps - eps_hat) ** 2).sum(-1)


class ValidationLoss:
    """Denoising loss on held-back data with draws fixed once (common random numbers), so
    that two checkpoints are compared on exactly the same (logsnr, eps): the comparison is
    then a smooth function of the weights, not of the noise.

    Each validation point gets ``k_draws`` draws from ``proposal``; both the conditional and
    the unconditional pass are scored.
    """

    def __init__(self, proposal, x: Tensor, y: Tensor, context: Optional[Tensor] = None, *,
                 k_draws: int = 4, generator: Optional[torch.Generator] = None,
                 batch_size: int = 8192):
        xr = x.repeat(k_draws, 1)
        self.y = y.repeat(k_draws, 1)
        self.context = None if context is None else context.repeat(k_draws, 1)
        self.logsnr, self.weight = proposal.sample(xr.shape[0], generator, device=x.device,
                                                   dtype=x.dtype, stratified=True)
        self.eps = torch.randn(xr.shape, generator=generator, device=x.device, dtype=x.dtype)
        self.z = add_noise(xr, self.logsnr, self.eps)
        self.batch_size = batch_size
        self.n_rows = int(x.shape[0])
        # per-draw orthogonal MI integrand 1/2 w ||eps_c - eps_u||^2 of the last scoring:
        # the learning curve of the estimate itself (Trainer.mi_curve), at no extra passes
        self.last_gap: Optional[Tensor] = None

    @torch.no_grad()
    def __call__(self, model) -> Tensor:
        """Per-draw loss (mean of the conditional and unconditional pass), shape (m,)."""
        parts, gaps = [], []
        m = self.z.shape[0]
        for start in range(0, m, self.batch_size):
            sl = slice(start, min(start + self.batch_size, m))
            ctx = None if self.context is None else self.context[sl]
            eps_u, eps_c = fused_pass(model, self.z[sl], self.logsnr[sl], self.y[sl], ctx)
            eps = self.eps[sl]
            parts.append(0.5 * (((eps - eps_u) ** 2).sum(-1) + ((eps - eps_c) ** 2).sum(-1)).double())
            gaps.append((0.5 * self.weight[sl] * ((eps_c - eps_u) ** 2).sum(-1)).double())
        self.last_gap = torch.cat(gaps).cpu()
        return torch.cat(parts).cpu()


def select_checkpoint(losses: List[Tensor], n_se: float = 2.0) -> int:
    """Index of the latest checkpoint whose validation loss is not significantly worse than
    the best one: paired per-draw differences, mean <= n_se standard errors. Picking the
    latest such checkpoint avoids stopping early on a flat curve by chance."""
    means = [float(v.mean()) for v in losses]
    best = int(min(range(len(means)), key=means.__getitem__))
    for i in range(len(losses) - 1, best, -1):
        d = losses[i] - losses[best]
        se = float(d.std()) / math.sqrt(d.numel()) if d.numel() > 1 else 0.0
        if float(d.mean()) <= n_se * se:
            return i
    return best


def lr_factor(progress: float, warmup: float = 0.05, final: float = 0.05) -> float:
    """Learning-rate multiplier at training progress in [0, 1]: linear warm-up over the first
    ``warmup`` fraction, then cosine decay from 1 to ``final``."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    p = (progress - warmup) / max(1.0 - warmup, 1e-12)
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * p))


@dataclass
class TrainingLog:
    """What happened during training. ``loss_steps``/``loss_values``: mean loss over each
    logging window (one point per ``log_every`` steps)."""

    steps: int = 0
    seconds: float = 0.0
    loss_steps: List[int] = field(default_factory=list)
    loss_values: List[float] = field(default_factory=list)
    stopped_reason: str = "step budget"
    phases: List[dict] = field(default_factory=list)
    val_steps: List[int] = field(default_factory=list)
    val_values: List[float] = field(default_factory=list)
    best_step: Optional[int] = None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")

    @property
    def final_loss(self) -> float:
        return self.loss_values[-1] if self.loss_values else float("nan")

    def summary(self) -> dict:
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 4),
            "steps_per_second": round(self.steps_per_second, 2)
            if math.isfinite(self.steps_per_second) else None,
            "final_loss": self.final_loss,
            "stopped_reason": self.stopped_reason,
            "phases": self.phases,
            "best_step": self.best_step,
        }


def _make_optimizer(model: nn.Module, learning_rate: float, weight_decay: float):
    """AdamW, fused into one kernel per step where this torch build supports it (a large
    share of a small network's step time is otherwise optimizer overhead)."""
    try:
        return torch.optim.AdamW(model.parameters(), lr=learning_rate,
                                 weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(model.parameters(), lr=learning_rate,
                                 weight_decay=weight_decay, foreach=True)


class Trainer:
    """Owns the model, its EMA copy, the optimizer and the schedule across one or more
    :meth:`run` phases (the adaptive variants train in two phases with different losses).

    ``total_steps`` and ``max_seconds`` define training progress for the schedule:
    progress = max(step / total_steps, elapsed / max_seconds).

    ``data_parallel=True``: while a torch.distributed group of several processes is
    initialised (:mod:`mmgap.distributed`), :meth:`run` trains the model wrapped in
    DistributedDataParallel, each process sampling ceil(batch_size / world) rows per step
    from its own shard of the rows with its own generator; the time budget, validation
    scores and chosen checkpoint come from rank 0, and the weights end identical everywhere.
    The EMA copy, validation and checkpoints stay plain modules. ``loss_fn`` must call the
    model it is given (its forward), as :class:`DenoisingLoss` does.
    """

    def __init__(self, model: nn.Module, *, total_steps: int, learning_rate: float = 2e-3,
                 weight_decay: float = 0.0, ema_decay: float = 0.999,
                 max_seconds: Optional[float] = None, generator: Optional[torch.Generator] = None,
                 verbose: bool = False, log_every: int = 50, data_parallel: bool = False):
        self.model = model
        self.ema = copy.deepcopy(model).requires_grad_(False)
        self.total_steps = int(total_steps)
        self.learning_rate = float(learning_rate)
        self.ema_decay = float(ema_decay)
        self.max_seconds = max_seconds
        self.generator = generator
        self.verbose = verbose
        self.log_every = int(log_every)
        self.optimizer = _make_optimizer(model, learning_rate, weight_decay)
        self._params = [p for p in model.parameters()]
        self._ema_params = [p for p in self.ema.parameters()]
        self.step = 0
        self.log = TrainingLog()
        self.data_parallel = bool(data_parallel)
        self._ddp = None  # (DDP wrapper, this rank's generator), made once on first use
        # (step, per-draw validation MI integrand, validation rows) of each checkpoint of the
        # last run() phase: how the estimate grew during training (inference.learning_growth)
        self.mi_curve: list = []

    def _parallel(self, x: Tensor):
        """(model to call, generator) for this process: the DDP wrapper and a per-rank
        generator when training data-parallel, else the plain model and ``generator``."""
        if not (self.data_parallel and distributed.active()):
            return self.model, self.generator
        if self._ddp is None:
            self._ddp = (distributed.data_parallel(self.model),
                         distributed.rank_generator(self.generator, x.device))
        return self._ddp

    def _progress(self, elapsed: float) -> float:
        p = self.step / max(self.total_steps, 1)
        if self.max_seconds:
            p = max(p, elapsed / self.max_seconds)
        return p

    def _checkpoint(self, validation, checkpoints: list) -> float:
        """Score the EMA weights, keep (step, per-draw losses, weights); return the mean."""
        self.ema.eval()
        losses = validation(self.ema)
        val = float(losses.mean())
        self.log.val_steps.append(self.step)
        self.log.val_values.append(val)
        state = {k: v.detach().clone() for k, v in self.ema.state_dict().items()}
        checkpoints.append((self.step, losses, state))
        gap = getattr(validation, "last_gap", None)
        if gap is not None:
            self.mi_curve.append((self.step, gap, int(getattr(validation, "n_rows", gap.numel()))))
        return val

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.ema_decay, (1.0 + self.step) / (10.0 + self.step))
        torch._foreach_lerp_(self._ema_params, self._params, 1.0 - decay)

    def run(self, loss_fn, x: Tensor, y: Tensor, *, n_steps: int, batch_size: int,
            context: Optional[Tensor] = None, name: str = "train", validation=None,
            eval_every: int = 250, patience: Optional[int] = None) -> TrainingLog:
        """Train for up to ``n_steps`` steps (fewer if the time budget runs out).

        With ``validation`` (a callable model -> per-draw losses, e.g. :class:`ValidationLoss`),
        the EMA weights are scored every ``eval_every`` steps and at the end, and the EMA
        weights of the checkpoint chosen by :func:`select_checkpoint` are kept; training
        stops after ``patience`` scores without a new best (None = never early).
        Data-parallel (see the class): each process trains on its shard of x, y, context.
        """
        best_val, since_best = math.inf, 0
        checkpoints = []  # (step, per-draw losses, EMA state)
        self.mi_curve = []
        net, gen = self._parallel(x)
        dp = net is not self.model
        if dp:  # this process's rows and its share of the batch
            rows = distributed.shard_rows(x.shape[0], x.device)
            x, y = x[rows], y[rows]
            context = None if context is None else context[rows]
            batch_size = distributed.local_batch_size(batch_size)
        n = x.shape[0]
        batch_size = min(int(batch_size), n)
        show = self.verbose and sys.stderr.isatty() and distributed.is_main()
        bar = tqdm(total=n_steps, desc=f"mmgap {name}", disable=not show, leave=False,
                   unit="step", mininterval=0.5)
        self.model.train()
        start_step = self.step
        t0 = time.perf_counter()
        elapsed_before = self.log.seconds
        window = torch.zeros((), device=x.device)
        window_n = 0
        stopped = "step budget"
        try:
            for i in range(n_steps):
                elapsed = elapsed_before + (time.perf_counter() - t0)
                if dp and self.max_seconds is not None:  # one clock (rank 0's) for all
                    elapsed = distributed.broadcast_float(elapsed)
                if self.max_seconds is not None and elapsed >= self.max_seconds:
                    stopped = "time budget"
                    break
                lr = self.learning_rate * lr_factor(self._progress(elapsed))
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                idx = torch.randint(n, (batch_size,), generator=gen, device=x.device)
                ctx = None if context is None else context[idx]
                loss = loss_fn(net, x[idx], y[idx], ctx, gen).mean()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.step += 1
                self._update_ema()
                window = window + loss.detach()
                window_n += 1
                if window_n == self.log_every or i == n_steps - 1:
                    if dp:  # the loss over all processes: the same log and NaN check in each
                        window = distributed.all_reduce_mean(window)
                    mean_loss = float(window) / window_n
                    if not math.isfinite(mean_loss):
                        raise TrainingError(
                            f"training loss became {mean_loss} between steps "
                            f"{self.step - window_n + 1} and {self.step}; try a lower "
                            "learning_rate or check the inputs for extreme values"
                        )
                    self.log.loss_steps.append(self.step)
                    self.log.loss_values.append(mean_loss)
                    window = torch.zeros((), device=x.device)
                    window_n = 0
                    bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
                if i % 25 == 24:
                    bar.update(25)
                if validation is not None and (i + 1) % eval_every == 0 and i + 1 < n_steps:
                    val = self._checkpoint(validation, checkpoints)
                    if dp:  # rank 0's score decides: every process stops at the same step
                        val = distributed.broadcast_float(val)
                    if val < best_val:
                        best_val, since_best = val, 0
                    else:
                        since_best += 1
                        if patience is not None and since_best >= patience:
                            stopped = "early stopping"
                            break
        finally:
            bar.close()
            self.log.seconds = elapsed_before + (time.perf_counter() - t0)
            self.log.steps = self.step
        phase = {"name": name, "steps": self.step - start_step}
        if validation is not None:
            self._checkpoint(validation, checkpoints)
            chosen = select_checkpoint([c[1] for c in checkpoints])
            if dp:
                chosen = int(distributed.broadcast_float(chosen))
            step, losses, state = checkpoints[chosen]
            self.ema.load_state_dict(state)
            self.log.best_step = step
            phase.update(best_step=step, validation_loss=float(losses.mean()))
        if dp:  # identical weights in every process, whatever each one's round-off
            distributed.broadcast_module(self.ema)
            distributed.broadcast_module(self.model)
            phase["world_size"] = distributed.world_size()
        self.log.stopped_reason = stopped
        self.log.phases.append(phase)
        self.model.eval()
        return self.log


def train_denoiser(model: nn.Module, x: Tensor, y: Tensor, loss_fn, *, n_steps: int,
                   batch_size: int = 256, context: Optional[Tensor] = None,
                   **trainer_kwargs) -> Trainer:
    """Train ``model`` with ``loss_fn`` for ``n_steps``; returns the :class:`Trainer` (its
    ``ema`` holds the averaged weights, its ``log`` the :class:`TrainingLog`)."""
    trainer = Trainer(model, total_steps=n_steps, **trainer_kwargs)
    trainer.run(loss_fn, x, y, n_steps=n_steps, batch_size=batch_size, context=context)
    return trainer
