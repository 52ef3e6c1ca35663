"""Pure maths of the MMSE gap: integrands, Monte Carlo means, Gaussian closed forms, and an
analytic oracle denoiser for jointly Gaussian data.

No nn.Module and no optimizer lives here. A *denoiser* is any callable

    denoise(z, logsnr, y, keep, context) -> eps_hat

with z: (B, dim_x), logsnr: (B,), y: (B, dim_y), keep: (B,) float (1 = condition on y,
0 = withhold y), context: (B, dim_c) or None (always given; reserved for conditional MI),
returning eps_hat: (B, dim_x).

I(X;Y) = 1/2 * integral over logsnr of [mmse(logsnr) - mmse(logsnr | y)] d logsnr, estimated
by drawing logsnr ~ q, eps ~ N(0, I) and averaging ``1/2 * w * integrand`` with w = 1/q(logsnr).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .logsnr import add_noise

Denoiser = Callable[[Tensor, Tensor, Tensor, Tensor, Optional[Tensor]], Tensor]

__all__ = [
    "Denoiser",
    "direct_integrand",
    "orthogonal_integrand",
    "mc_mean_stderr",
    "fused_pass",
    "GapDraws",
    "gap_draws",
    "mismatch_draws",
    "mmse_on_grid",
    "gaussian_mi",
    "logdet_wishart_bias",
    "gaussian_mi_bias",
    "shrink_canonical",
    "gaussian_mmse",
    "gaussian_conditional_cov",
    "GaussianOracle",
    "solve_posterior",
]


# --------------------------------------------------------------------------- integrands

def direct_integrand(eps: Tensor, eps_hat: Tensor, eps_hat_cond: Tensor) -> Tensor:
    """``||eps - eps_hat(z)||^2 - ||eps - eps_hat(z, y)||^2`` per sample, shape (B,)."""
    return ((eps - eps_hat) ** 2).sum(-1) - ((eps - eps_hat_cond) ** 2).sum(-1)


def orthogonal_integrand(eps_hat: Tensor, eps_hat_cond: Tensor) -> Tensor:
    """``||eps_hat(z, y) - eps_hat(z)||^2`` per sample, shape (B,). Never negative."""
    return ((eps_hat_cond - eps_hat) ** 2).sum(-1)


def mc_mean_stderr(values: np.ndarray) -> Tuple[float, float]:
    """Mean and standard error of Monte Carlo values of shape (n_points, k_draws).

    The k draws of one point share that point, so they are averaged first and the standard
    error is the sample standard deviation of the n_points averages / sqrt(n_points). With a
    single point the k draws are treated as independent.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.shape[0] == 1:
        v = v.T
    per_point = v.mean(axis=1)
    n = per_point.shape[0]
    mean = float(per_point.mean())
    stderr = float(per_point.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return mean, stderr


# --------------------------------------------------------------------------- Monte Carlo

@dataclass
class GapDraws:
    """Per-draw quantities, each of shape (n_points, k_draws), as float64 numpy arrays.

    ``direct`` and ``orthogonal`` are the raw integrands (not yet weighted); the MI
    contribution of a draw is ``0.5 * weight * integrand``.
    """

    logsnr: np.ndarray
    weight: np.ndarray
    direct: np.ndarray
    orthogonal: np.ndarray
    mse: np.ndarray
    mse_cond: np.ndarray

    def mi_values(self, form: str) -> np.ndarray:
        """``0.5 * w * integrand`` for ``form`` in {"direct", "orthogonal"}, shape (n, k)."""
        if form not in ("direct", "orthogonal"):
            raise ValueError(f"form: expected 'direct' or 'orthogonal', got {form!r}")
        return 0.5 * self.weight * getattr(self, form)

    def estimate(self, form: str) -> Tuple[float, float]:
        """(mi, stderr) in nats for one integrand form."""
        return mc_mean_stderr(self.mi_values(form))

    def pointwise(self, form: str) -> np.ndarray:
        """Per-point MI contributions averaged over the k draws, shape (n_points,)."""
        return self.mi_values(form).mean(axis=1)


def fused_pass(denoise: Denoiser, z: Tensor, logsnr: Tensor, y: Tensor,
                context: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """One forward over [conditional; unconditional] halves sharing z and logsnr.
    Returns (eps_hat unconditional, eps_hat conditional), each (B, dim_x)."""
    b = z.shape[0]
    keep = torch.cat([torch.ones(b, device=z.device, dtype=z.dtype),
                      torch.zeros(b, device=z.device, dtype=z.dtype)])
    ctx2 = None if context is None else torch.cat([context, context])
    out = denoise(torch.cat([z, z]), torch.cat([logsnr, logsnr]), torch.cat([y, y]), keep, ctx2)
    return out[b:], out[:b]  # (unconditional, conditional)


def _draw_loop(x: Tensor, proposal, k_draws: int, generator: Optional[torch.Generator],
               batch_size: int, stratified: bool, predict) -> GapDraws:
    """k (logsnr, eps) draws per point of x; ``predict(z, logsnr, idx) -> (eps_a, eps_b)``
    gives the two predictions compared on each draw (a: the unconditional or reference
    denoiser, b: the conditional or fitted one)."""
    n = x.shape[0]
    if k_draws < 1:
        raise ValueError(f"k_draws: expected an integer >= 1, got {k_draws!r}")
    total = n * k_draws
    logsnr_all, w_all = proposal.sample(total, generator, device=x.device, dtype=x.dtype,
                                        stratified=stratified)
    # point index of each draw: draw j of point i sits at i * k + j
    idx_all = torch.arange(n, device=x.device).repeat_interleave(k_draws)
    outs = {k: [] for k in ("direct", "orthogonal", "mse", "mse_cond")}
    for start in range(0, total, batch_size):
        sl = slice(start, min(start + batch_size, total))
        idx, lam = idx_all[sl], logsnr_all[sl]
        xb = x[idx]
        eps = torch.randn(xb.shape, generator=generator, device=x.device, dtype=x.dtype)
        eps_a, eps_b = predict(add_noise(xb, lam, eps), lam, idx)
        mse_a, mse_b = ((eps - eps_a) ** 2).sum(-1), ((eps - eps_b) ** 2).sum(-1)
        outs["mse"].append(mse_a)
        outs["mse_cond"].append(mse_b)
        outs["direct"].append(mse_a - mse_b)
        outs["orthogonal"].append(orthogonal_integrand(eps_a, eps_b))

    def arr(t: Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).numpy().reshape(n, k_draws)

    return GapDraws(logsnr=arr(logsnr_all), weight=arr(w_all),
                    **{k: arr(torch.cat(v)) for k, v in outs.items()})


@torch.inference_mode()
def gap_draws(
    denoise: Denoiser,
    x: Tensor,
    y: Tensor,
    proposal,
    k_draws: int,
    generator: Optional[torch.Generator] = None,
    *,
    context: Optional[Tensor] = None,
    batch_size: int = 8192,
    stratified: bool = True,
) -> GapDraws:
    """Draw k (logsnr, eps) per point and evaluate both integrands on the SAME draws.

    x: (n, dim_x), y: (n, dim_y) tensors on the denoiser's device; ``context`` (n, dim_c)
    is the always-present condition (the z of I(X;Y|Z)). ``proposal`` has
    ``sample(m, generator, device=, dtype=, stratified=) -> (logsnr, weight)``.
    Returns :class:`GapDraws` with arrays of shape (n, k).
    """
    def predict(z, lam, idx):
        return fused_pass(denoise, z, lam, y[idx], None if context is None else context[idx])

    return _draw_loop(x, proposal, k_draws, generator, batch_size, stratified, predict)


@torch.inference_mode()
def mismatch_draws(
    denoise: Denoiser,
    reference: Denoiser,
    x: Tensor,
    y: Tensor,
    keep: float,
    proposal,
    k_draws: int,
    generator: Optional[torch.Generator] = None,
    *,
    context: Optional[Tensor] = None,
    batch_size: int = 8192,
    stratified: bool = True,
) -> GapDraws:
    """Draws for the divergence D(p || g) = 1/2 integral [mse_g(logsnr) - mmse_p(logsnr)]
    d logsnr between the data law p and a reference law g whose optimal denoiser is
    ``reference`` (the mismatched-estimation identity of Verdu, 2010; the MI is the special
    case g = the marginal law). ``denoise`` estimates p's optimal denoiser. Both are called
    with the same ``keep`` (0.0: the law of x; 1.0: of x given y) on the SAME draws.

    Returns :class:`GapDraws` with ``mse`` = the reference's error, ``mse_cond`` = the
    model's, ``direct`` = their difference and ``orthogonal`` = ||eps_ref - eps_hat||^2
    (equal to ``direct`` in expectation for an optimal ``denoise``, by orthogonality).
    Arrays of shape (n, k).
    """
    def predict(z, lam, idx):
        kb = torch.full((z.shape[0],), float(keep), device=z.device, dtype=z.dtype)
        ctx = None if context is None else context[idx]
        return reference(z, lam, y[idx], kb, ctx), denoise(z, lam, y[idx], kb, ctx)

    return _draw_loop(x, proposal, k_draws, generator, batch_size, stratified, predict)


@torch.inference_mode()
def mmse_on_grid(
    denoise: Denoiser,
    x: Tensor,
    y: Tensor,
    grid: Tensor,
    k_draws: int = 1,
    generator: Optional[torch.Generator] = None,
    *,
    context: Optional[Tensor] = None,
    batch_size: int = 8192,
) -> dict:
    """Unconditional and conditional eps-MMSE at each grid log-SNR.

    Every grid value uses all n points with k noise draws each. Returns a dict of float64
    numpy arrays of shape (n_grid,): ``mmse``, ``mmse_cond``, ``mmse_stderr``,
    ``mmse_cond_stderr``, ``gap_orthogonal``.
    """
    n = x.shape[0]
    res = {k: [] for k in ("mmse", "mmse_cond", "mmse_stderr", "mmse_cond_stderr",
                           "gap_orthogonal")}
    xr = x.repeat(k_draws, 1)
    yr = y.repeat(k_draws, 1)
    cr = None if context is None else context.repeat(k_draws, 1)
    m = xr.shape[0]
    for lam_value in grid.tolist():
        parts_u, parts_c, parts_o = [], [], []
        for start in range(0, m, batch_size):
            sl = slice(start, min(start + batch_size, m))
            xb = xr[sl]
            lam = torch.full((xb.shape[0],), lam_value, device=x.device, dtype=x.dtype)
            eps = torch.randn(xb.shape, generator=generator, device=x.device, dtype=x.dtype)
            z = add_noise(xb, lam, eps)
            eps_u, eps_c = fused_pass(denoise, z, lam, yr[sl], None if cr is None else cr[sl])
            parts_u.append(((eps - eps_u) ** 2).sum(-1))
            parts_c.append(((eps - eps_c) ** 2).sum(-1))
            parts_o.append(orthogonal_integrand(eps_u, eps_c))
        for key, parts in (("mmse", parts_u), ("mmse_cond", parts_c)):
            v = torch.cat(parts).to("cpu", torch.float64).numpy().reshape(k_draws, n).T
            mean, se = mc_mean_stderr(v)
            res[key].append(mean)
            res[key + "_stderr"].append(se)
        res["gap_orthogonal"].append(float(torch.cat(parts_o).double().mean()))
    return {k: np.asarray(v, dtype=np.float64) for k, v in res.items()}


# --------------------------------------------------------------------------- Gaussian closed forms

def _logdet(cov: np.ndarray) -> float:
    sign, val = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("cov: expected a positive-definite covariance matrix")
    return float(val)


def gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    """I(X;Y) in nats for (X, Y) jointly Gaussian with joint covariance ``cov``
    ((dim_x + dim_y) square), X the first ``dim_x`` coordinates:
    1/2 log det Sigma_x / det Sigma_{x|y}."""
    cov = np.asarray(cov, dtype=np.float64)
    return 0.5 * (_logdet(cov[:dim_x, :dim_x]) + _logdet(cov[dim_x:, dim_x:]) - _logdet(cov))


def logdet_wishart_bias(d: int, nu: int) -> float:
    """E[log det S] - log det Sigma for S = W / nu, W ~ Wishart_d(nu, Sigma):
    d log(2 / nu) + sum_{i=1..d} digamma((nu - i + 1) / 2)."""
    from scipy.special import digamma

    return d * math.log(2.0 / nu) + float(np.sum(digamma((nu - np.arange(1, d + 1) + 1) / 2.0)))


def gaussian_mi_bias(n: int, dim_x: int, dim_y: int) -> float:
    """E[plug-in] - I for the plug-in Gaussian MI 1/2 log(det S_x / det S_{x|y}) of n
    Gaussian rows (S with divisor n - 1), exactly: 1/2 (b(dx, n - 1) - b(dx, n - 1 - dy)
    - dx log((n - 1 - dy) / (n - 1))) with b = :func:`logdet_wishart_bias`, because
    (n - 1) S_{x|y} ~ Wishart_dx(n - 1 - dy, Sigma_{x|y}). About dx dy / 2n; needs
    n > dx + dy + 1."""
    nu, nu_c = int(n) - 1, int(n) - 1 - int(dim_y)
    if nu_c < int(dim_x):
        raise ValueError(f"n: expected more than dim_x + dim_y + 1 = {dim_x + dim_y + 1} rows, "
                         f"got {n}")
    return 0.5 * (logdet_wishart_bias(dim_x, nu) - logdet_wishart_bias(dim_x, nu_c)
                  - dim_x * math.log(nu_c / nu))


def shrink_canonical(r: np.ndarray, bias: float) -> np.ndarray:
    """Canonical correlations ``r`` (each in [0, 1]) shrunk so that the Gaussian MI they imply,
    sum_i -1/2 log(1 - r_i^2), falls by ``bias`` nats (to 0 at most): each pair's share
    m_i = -1/2 log(1 - r_i^2) becomes max(0, m_i - delta), with the one delta >= 0 that
    removes ``bias`` in all (water-filling: the noise floor that every sample canonical pair
    carries, whatever its population value, is taken off each; pairs below it become 0)."""
    r = np.clip(np.asarray(r, dtype=np.float64), 0.0, 1.0)
    if bias <= 0 or r.size == 0:
        return r.copy()
    m = -0.5 * np.log1p(-np.minimum(r * r, 1.0 - 1e-15))
    target = max(float(m.sum()) - float(bias), 0.0)
    if target == 0.0:
        return np.zeros_like(r)
    srt = np.sort(m)[::-1]
    # with the k largest above delta: sum_{i<k} (m_i - delta) = target
    csum = np.cumsum(srt)
    delta = 0.0
    for k in range(1, srt.size + 1):
        delta = (csum[k - 1] - target) / k
        if k == srt.size or srt[k] <= delta:
            break
    kept = np.maximum(m - delta, 0.0)
    return np.sqrt(-np.expm1(-2.0 * kept))


def gaussian_conditional_cov(cov: np.ndarray, dim_x: int) -> Tuple[np.ndarray, np.ndarray]:
    """(B, Sigma_{x|y}) with E[x | y] = B y (zero means) for a joint covariance ``cov``."""
    cov = np.asarray(cov, dtype=np.float64)
    sxx, sxy, syy = cov[:dim_x, :dim_x], cov[:dim_x, dim_x:], cov[dim_x:, dim_x:]
    b = np.linalg.solve(syy, sxy.T).T
    return b, sxx - b @ sxy.T


def gaussian_mmse(logsnr, cov_x: np.ndarray) -> np.ndarray:
    """eps-MMSE of x ~ N(0, cov_x): sum_i sigmoid(logsnr + log s_i) over eigenvalues s_i.
    ``logsnr``: scalar or array; returns an array of the same shape."""
    s = np.linalg.eigvalsh(np.atleast_2d(np.asarray(cov_x, dtype=np.float64)))
    lam = np.asarray(logsnr, dtype=np.float64)[..., None]
    from scipy.special import expit

    return expit(lam + np.log(s)).sum(-1)


def solve_posterior(vec: Tensor, a2: Tensor, s2: Tensor, lam: Tensor, u: Tensor) -> Tensor:
    """Rows of ``vec`` times (alpha^2 Sigma + sigma^2 I)^{-1}, with Sigma = u diag(lam) u^T
    (eigendecomposition) and per-row alpha^2 = a2, sigma^2 = s2. The core of every Gaussian
    eps-denoiser: E[eps | z] = sigma * solve_posterior(z - alpha m, ...)."""
    t = vec @ u
    return (t / (a2[:, None] * lam[None, :] + s2[:, None])) @ u.T


class GaussianOracle:
    """Bayes-optimal eps-denoiser for (x, y) ~ N(0, cov), usable as a :data:`Denoiser`.

    E[eps | z]    = sigma (alpha^2 Sigma_x + sigma^2 I)^{-1} z
    E[eps | z, y] = sigma (alpha^2 Sigma_{x|y} + sigma^2 I)^{-1} (z - alpha B y)
    Computations are done in float64 via eigendecompositions, then cast back.
    """

    def __init__(self, cov: np.ndarray, dim_x: int):
        cov = np.asarray(cov, dtype=np.float64)
        self.dim_x = int(dim_x)
        b, cond = gaussian_conditional_cov(cov, dim_x)
        self._b = torch.as_tensor(b)
        lam_u, u_u = np.linalg.eigh(cov[:dim_x, :dim_x])
        lam_c, u_c = np.linalg.eigh(cond)
        self._eig = {
            "u": (torch.as_tensor(lam_u), torch.as_tensor(u_u)),
            "c": (torch.as_tensor(lam_c), torch.as_tensor(u_c)),
        }


    def __call__(self, z: Tensor, logsnr: Tensor, y: Tensor, keep: Tensor,
                 context: Optional[Tensor] = None) -> Tensor:
        dt, dev = z.dtype, z.device
        z64, l64, y64 = z.double().cpu(), logsnr.double().cpu(), y.double().cpu()
        a2, s2 = torch.sigmoid(l64), torch.sigmoid(-l64)
        a, s = a2.sqrt(), s2.sqrt()
        out_u = s[:, None] * solve_posterior(z64, a2, s2, *self._eig["u"])
        resid = z64 - a[:, None] * (y64 @ self._b.T)
        out_c = s[:, None] * solve_posterior(resid, a2, s2, *self._eig["c"])
        k = keep.double().cpu()[:, None]
        return (k * out_c + (1 - k) * out_u).to(device=dev, dtype=dt)
