"""MI between many variables at once, from one amortised denoiser.

Pairwise MI over the p columns of a table needs p(p-1)/2 estimates; one MMG fit per pair
costs p(p-1)/2 trainings. Here a single network is trained for all of them: it denoises
one column j (the *target*, named by a one-hot context input) and is shown either nothing
(the unconditional pass) or exactly one other column k (its value, in the k-th slot of a
p-vector whose other slots are 0, plus a one-hot of k). Each training example draws its
own (j, k), so one network learns the p unconditional and the p(p-1) conditional
denoisers together. The MMSE gap between the pass given k and the pass given nothing,
integrated over log-SNR exactly as for one pair (:mod:`mmgap.gap`), is I(X_j; X_k).

Every pair is estimated twice (target j given k, and target k given j); the matrix
reports their mean, and the half-difference goes into its standard error; for a discrete
and a continuous column only the direction with the continuous target is used.

Columns are preprocessed one by one like the estimator's x: continuous columns by the
rank-to-normal map, discrete ones (``discrete``) by equally spaced ordinal codes (no noise,
no merged classes; :class:`mmgap.preprocessing.DiscreteColumns`), and the log-SNR window
reaches up to where neighbouring codes are resolved. Both maps are injective per column,
so no pairwise MI changes.

The diagonal: I(X_j; X_j) = H(X_j), the plug-in entropy (on all rows) for a discrete
column; for a continuous column it is infinite and the matrix holds NaN there.

:func:`mutual_info_regression` and :func:`mutual_info_classif` are the same design for one
column against the others: y is denoised given each feature in turn (regression), or each
feature given the labels (classification); their signature and return value follow
scikit-learn's functions of the same names (so they drop into ``SelectKBest``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .base import resolve_device
from .inference import label_entropy
from .logsnr import TruncatedLogistic, alpha_sigma
from .networks import PairNets
from .preprocessing import DiscreteColumns, make_scaler
from .training import Trainer
from .types import check_units, nats_to
from .validation import (_column_names, as_2d_array, check_finite, check_fraction,
                         check_positive_int, check_random_state, code_text_frame, label_codes,
                         resolve_discrete)

__all__ = ["MIMatrix", "mi_matrix", "mutual_info_regression", "mutual_info_classif",
           "PairDenoisers", "default_steps"]

logger = logging.getLogger(__name__)


def default_steps(n_nets: int) -> int:
    """Training steps of the pair denoisers: a budget of 800,000 net-steps (every net sees
    every row of each batch), at least 2,000 and at most 20,000 steps. A 20-column matrix
    (400 nets) gets 2,000; one target against 20 features (21 nets) 20,000 (chosen on the
    development table, seed 0, and on a 4-feature sign test; see docs/benchmarks/matrix.md)."""
    return int(min(20_000, max(2_000, 800_000 // max(int(n_nets), 1))))
#: share of the training rows held back to pick the checkpoint (early stopping)
VALIDATION_FRACTION = 0.1


@dataclass
class MIMatrix:
    """Pairwise MI between the columns of a table.

    ``mi`` (p, p): symmetric: the mean of the two directed estimates of each pair (for a
    discrete and a continuous column, the one with the continuous target); its
    diagonal is the plug-in entropy H(X_j) for a discrete column and NaN for a continuous
    one (whose I(X_j; X_j) is infinite). ``stderr`` (p, p): Monte Carlo error of the mean of
    the two directions combined with half their difference (NaN on the diagonal), or the
    Monte Carlo error of the one direction used.
    ``directed`` (p, p): row j, column k is the estimate with target j given k.
    """

    names: List[str]
    mi: np.ndarray
    stderr: np.ndarray
    directed: np.ndarray
    discrete: List[bool]
    units: str = "nats"
    seconds: float = 0.0
    diagnostics: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        def lst(a):
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]
        return {"names": list(self.names), "mi": lst(self.mi), "stderr": lst(self.stderr),
                "directed": lst(self.directed), "discrete": list(self.discrete),
                "units": self.units, "seconds": self.seconds, "diagnostics": self.diagnostics}

    def to_csv(self, path) -> None:
        """The square matrix with the names as header and first column (empty corner);
        NaN (a continuous column's diagonal) is written as an empty cell."""
        import csv

        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([""] + list(self.names))
            for name, row in zip(self.names, self.mi):
                w.writerow([name] + ["" if not np.isfinite(v) else f"{v:.6g}" for v in row])

    def pairs(self) -> List[tuple]:
        """(name_i, name_j, mi, stderr) for i < j, largest MI first."""
        p = len(self.names)
        out = [(self.names[i], self.names[j], float(self.mi[i, j]), float(self.stderr[i, j]))
               for i in range(p) for j in range(i + 1, p)]
        return sorted(out, key=lambda t: -t[2])


_FREQS = (0.3, 0.8)


def _features(z: torch.Tensor, logsnr: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """Inputs of a pair net, (..., 5 + 2 * len(_FREQS)): the noisy target z, the condition's
    value (0 for an unconditional net), alpha, sigma, logsnr / 10 and Fourier features."""
    a, s = alpha_sigma(logsnr)
    parts = [z, cond, a, s, logsnr / 10]
    for f in _FREQS:
        parts += [torch.sin(f * logsnr), torch.cos(f * logsnr)]
    return torch.stack(parts, dim=-1)


def _gaussian_eps(z, logsnr, mean, var):
    """eps-prediction of the optimal denoiser of x ~ N(mean, var) (elementwise)."""
    a, s = alpha_sigma(logsnr)
    ex = mean + a * var * (z - a * mean) / (a * a * var + s * s)
    return (z - a * ex) / s


class PairDenoisers(nn.Module):
    """One small denoiser per target j (unconditional) and per directed pair (j, k)
    (target j given column k), trained side by side (:class:`mmgap.networks.PairNets`).

    Each prediction is a Gaussian base plus learned corrections, as in
    :class:`mmgap.training.EpsDenoiser`: eps_hat = base - alpha * correction. The
    unconditional base is the optimal denoiser of N(0, 1) (the columns are standardised),
    corrected by the target's net g_j(z, logsnr); the conditional base is that of
    x_j | x_k ~ N(rho x_k, 1 - rho^2), rho the training correlation of the two coded columns
    (exact for a Gaussian copula), corrected by g_j (held fixed: the conditional examples do
    not train it) plus the pair's net h_jk(z, logsnr, x_k). So h_jk learns only what x_k
    tells beyond the Gaussian part and starts, like every net, at zero.
    """

    def __init__(self, targets: Sequence[int], allowed: np.ndarray, rho: np.ndarray,
                 width: int = 32, depth: int = 2):
        super().__init__()
        self.register_buffer("targets", torch.as_tensor(list(targets), dtype=torch.long))
        self.register_buffer("allowed", torch.as_tensor(allowed, dtype=torch.long))  # (T, m)
        self.register_buffer("rho", torch.as_tensor(rho, dtype=torch.float32))  # (T, m)
        n_t, m = self.allowed.shape
        self.uncond = PairNets(n_t, 5 + 2 * len(_FREQS), width, depth)
        self.cond = PairNets(n_t * m, 5 + 2 * len(_FREQS), width, depth)

    def predict(self, z, logsnr, xk):
        """z, logsnr: (T, B), one draw per target and row, shared by the target's
        unconditional and conditional passes; xk: (T, m, B) the conditions' values.
        Returns eps_hat (T, B) unconditional and (T, m, B) conditional."""
        n_t, m = self.allowed.shape
        b = z.shape[-1]
        a, s = alpha_sigma(logsnr)
        g = self.uncond(_features(z, logsnr, torch.zeros_like(z)))  # (T, B)
        eps_u = s * z - a * g
        zc, lc = z[:, None, :].expand(n_t, m, b), logsnr[:, None, :].expand(n_t, m, b)
        r = self.rho[:, :, None]
        base = _gaussian_eps(zc, lc, r * xk, 1 - r * r)
        h = self.cond(_features(zc, lc, xk).reshape(n_t * m, b, -1)).reshape(n_t, m, b)
        # g is held fixed here (the conditional examples do not train it): a conditional
        # net learns only what column k adds beyond the Gaussian base
        eps_c = base - a[:, None, :] * (g.detach()[:, None, :] + h)
        return eps_u, eps_c


class _PairLoss:
    """Training loss of :class:`PairDenoisers`: every net sees every row of the batch; one
    (logsnr, eps) draw per target and row, shared by its unconditional and conditional
    nets. Called by :class:`mmgap.training.Trainer` with the coded table rows as both x and
    y; returns the per-row sum over nets, shape (B,)."""

    def __init__(self, proposal):
        self.proposal = proposal

    def __call__(self, model, rows, _y, _context, generator):
        b, dev, dt = rows.shape[0], rows.device, rows.dtype
        n_t, m = model.allowed.shape
        x_u = rows[:, model.targets].T  # (T, B)
        xk = rows[:, model.allowed.reshape(-1)].T.reshape(n_t, m, b)
        lam, _ = self.proposal.sample(n_t * b, generator, device=dev, dtype=dt)
        lam = lam.reshape(n_t, b)
        e_u = torch.randn(n_t, b, generator=generator, device=dev, dtype=dt)
        p_u, p_c = model.predict(add_noise_1d(x_u, lam, e_u), lam, xk)
        e_c = e_u[:, None, :]
        return ((e_u - p_u) ** 2).sum(0) + ((e_c - p_c) ** 2).sum((0, 1))


class _PairValidation:
    """The pair loss on held-back rows with draws fixed once (the generator is re-seeded on
    every call), per row (summed over the nets): for checkpoint selection and early
    stopping in :class:`mmgap.training.Trainer`."""

    def __init__(self, proposal, rows: torch.Tensor, seed: int):
        self.loss, self.rows, self.seed = _PairLoss(proposal), rows, int(seed)

    @torch.no_grad()
    def __call__(self, model) -> torch.Tensor:
        g = torch.Generator(device=self.rows.device).manual_seed(self.seed)
        return self.loss(model, self.rows, None, None, g).double().cpu()


def add_noise_1d(x, logsnr, eps):
    """The variance-preserving channel elementwise: sqrt(sigmoid(l)) x + sqrt(sigmoid(-l)) eps."""
    a, s = alpha_sigma(logsnr)
    return a * x + s * eps


@torch.inference_mode()
def _pair_draws(model: PairDenoisers, rows: torch.Tensor, proposal, k_draws: int,
                generator: torch.Generator, chunk: int = 2048):
    """Per directed pair, the orthogonal and direct MI contributions 1/2 w * integrand on
    k_draws draws per held-out row (common to the unconditional and conditional pass of a
    target, and to all of its conditions). Returns (ortho, direct), each (T, m, n) averaged
    over the draws of a row."""
    n = rows.shape[0]
    n_t, m = model.allowed.shape
    dev, dt = rows.device, rows.dtype
    ortho = torch.zeros(n_t, m, n, dtype=torch.float64, device=dev)
    direct = torch.zeros_like(ortho)
    for start in range(0, n, chunk):
        r = rows[start:start + chunk]
        b = r.shape[0]
        x_u = r[:, model.targets].T  # (T, b)
        xk = r[:, model.allowed.reshape(-1)].T.reshape(n_t, m, b)
        for _ in range(k_draws):
            lam, w = proposal.sample(n_t * b, generator, device=dev, dtype=dt)
            lam, w = lam.reshape(n_t, b), w.reshape(n_t, b)
            eps = torch.randn(n_t, b, generator=generator, device=dev, dtype=dt)
            p_u, p_c = model.predict(add_noise_1d(x_u, lam, eps), lam, xk)
            half_w = 0.5 * w[:, None, :]
            ortho[:, :, start:start + b] += (half_w * (p_c - p_u[:, None, :]) ** 2).double()
            e = eps[:, None, :]
            direct[:, :, start:start + b] += (half_w * ((e - p_u[:, None, :]) ** 2
                                                        - (e - p_c) ** 2)).double()
    return ortho / k_draws, direct / k_draws


def _prepare_table(data, discrete, name: str):
    names = _column_names(data)
    if isinstance(discrete, np.ndarray) and discrete.dtype == bool:  # scikit-learn's mask
        p = len(names) if names is not None else np.shape(data)[-1]
        if discrete.shape != (p,):
            raise ValueError(f"discrete: a boolean mask needs {p} entries, got "
                             f"{discrete.shape}")
        discrete = [int(j) for j in np.flatnonzero(discrete)]
    data, discrete, _ = code_text_frame(data, name, discrete, "discrete")  # text: categories
    arr = check_finite(as_2d_array(data, name), name)
    if arr.shape[1] < 2:
        raise ValueError(f"{name}: expected at least 2 columns, got {arr.shape[1]}")
    if names is None:
        names = [f"x{j}" for j in range(arr.shape[1])]
    cols = resolve_discrete(discrete, arr, name, "discrete", names)
    const = np.flatnonzero(arr.min(axis=0) == arr.max(axis=0))
    if const.size:
        raise ValueError(f"{name}: column {names[int(const[0])]!r} is constant; drop it")
    return arr, names, cols


def _fit_and_estimate(arr: np.ndarray, disc_cols: List[int], targets: List[int],
                      conditions: List[int], *, n_steps: Optional[int], batch_size: int,
                      width: Optional[int], depth: Optional[int], learning_rate: float,
                      test_size: float, k_draws: int, random_state, device: str,
                      verbose: bool, max_seconds: Optional[float]):
    """Train the amortised network on a split of ``arr`` and estimate, for every target j
    and condition k != j, I(X_j; X_k) on the held-out rows. Returns (est (p, p), se (p, p),
    direct (p, p), info); entries not estimated are NaN."""
    n, p = arr.shape
    rng = np.random.default_rng(random_state)
    seeds = [int(s) for s in rng.integers(0, 2**62, size=4)]
    n_test = max(2, int(round(test_size * n)))
    if n - n_test < 20:
        raise ValueError(f"data: expected at least {n_test + 20} rows for a train/held-out "
                         f"split, got {n}")
    perm = rng.permutation(n)
    tr, te = perm[n_test:], np.sort(perm[:n_test])  # tr in random order: validation rows first
    coder = DiscreteColumns(list(disc_cols), "ordinal", make_scaler("rank")).fit(arr[tr], "data")
    u_tr, u_te = coder.transform(arr[tr], "data"), coder.transform(arr[te], "data")
    dev = resolve_device(device)
    proposal = TruncatedLogistic(1.0, 2.0, 4.0).widened_to(
        coder.resolving_logsnr() if disc_cols else None)
    allowed = np.array([[c for c in conditions if c != t] for t in targets])
    if allowed.ndim != 2 or allowed.shape[1] < 1:
        raise ValueError("conditions: every target needs the same number (>= 1) of other "
                         "columns to condition on")
    u_std = (u_tr - u_tr.mean(0)) / u_tr.std(0)
    u_te = (u_te - u_tr.mean(0)) / u_tr.std(0)
    corr = np.clip(np.corrcoef(u_std, rowvar=False), -0.999, 0.999)
    rho = corr[np.asarray(targets)[:, None], allowed]
    steps = n_steps if n_steps is not None else default_steps(len(targets) * (1 + allowed.shape[1]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seeds[0] % (2**31))
        model = PairDenoisers(targets, allowed, rho, width=width, depth=depth).to(dev)
    gen = torch.Generator(device=dev).manual_seed(seeds[1])
    trainer = Trainer(model, total_steps=steps, learning_rate=learning_rate, weight_decay=0.0,
                      ema_decay=0.995, max_seconds=max_seconds, generator=gen, verbose=verbose)
    xt = torch.as_tensor(u_std, dtype=torch.float32, device=dev)
    n_val = int(round(VALIDATION_FRACTION * xt.shape[0]))
    validation = None
    if n_val >= 50:  # hold back rows to choose the checkpoint: the nets over-fit late
        validation = _PairValidation(proposal, xt[:n_val], seeds[3])
        xt = xt[n_val:]
    t0 = time.perf_counter()
    trainer.run(_PairLoss(proposal), xt, xt, n_steps=steps, batch_size=batch_size, name="matrix",
                validation=validation, eval_every=max(50, steps // 16), patience=4)
    seconds_fit = time.perf_counter() - t0
    model = trainer.ema.eval()
    t1 = time.perf_counter()
    xe = torch.as_tensor(u_te, dtype=torch.float32, device=dev)
    g = torch.Generator(device=dev).manual_seed(seeds[2])
    ortho, direct_v = _pair_draws(model, xe, proposal, k_draws, g)
    ortho, direct_v = ortho.cpu().numpy(), direct_v.cpu().numpy()
    p = arr.shape[1]
    est = np.full((p, p), np.nan)
    se = np.full((p, p), np.nan)
    direct = np.full((p, p), np.nan)
    n_te = ortho.shape[-1]
    for ti, j in enumerate(targets):
        for mi_, k in enumerate(allowed[ti]):
            est[j, k] = ortho[ti, mi_].mean()
            se[j, k] = ortho[ti, mi_].std(ddof=1) / math.sqrt(n_te)
            direct[j, k] = direct_v[ti, mi_].mean()
    info = {"n_steps": steps, "steps_done": trainer.log.steps,
            "steps_per_second": trainer.log.summary().get("steps_per_second"),
            "seconds_fit": seconds_fit, "seconds_estimate": time.perf_counter() - t1,
            "n_train": int(tr.size), "n_test": int(te.size), "k_draws": int(k_draws),
            "proposal": proposal.to_dict(), "width": width, "depth": depth,
            "n_nets": int(len(targets) * (1 + allowed.shape[1])),
            "stopped_reason": trainer.log.stopped_reason,
            "best_step": getattr(trainer.log, "best_step", None), "n_validation": n_val}
    return est, se, direct, info


def _check_common(test_size, k_draws, batch_size, units, random_state, learning_rate):
    check_fraction(test_size, "test_size")
    check_positive_int(k_draws, "k_draws")
    check_positive_int(batch_size, "batch_size")
    check_units(units)
    check_random_state(random_state)
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate)
            and learning_rate > 0):
        raise ValueError(f"learning_rate: expected a positive number, got {learning_rate!r}")


def mi_matrix(data: Any, *, discrete: Any = "auto", n_steps: Optional[int] = None,
              batch_size: int = 256, width: int = 32, depth: int = 2,
              learning_rate: float = 2e-3, test_size: float = 0.2, k_draws: int = 4,
              units: str = "nats", random_state: Optional[int] = 0, device: str = "auto",
              verbose: bool = True, max_seconds: Optional[float] = None) -> MIMatrix:
    """Pairwise MI between all columns of ``data`` (n, p) (array or DataFrame), from one
    amortised MMG denoiser (module notes).

    discrete : which columns are discrete: "auto" (integer columns with at most 50 distinct
        values), True, False, a list of indices or names, or a boolean mask.
    n_steps : training steps (default :func:`default_steps`: 2,000 for 20 columns); every
        pair net sees every row of each batch; training stops early when the loss on
        held-back rows stops improving. batch_size, width, depth, learning_rate : of the pair nets
        and their training.
    test_size : share of rows held out for the estimates. k_draws : noise draws per held-out
        row and pair.
    Returns an :class:`MIMatrix` (``to_csv``, ``pairs()``, ``to_dict()``).
    """
    t0 = time.perf_counter()
    _check_common(test_size, k_draws, batch_size, units, random_state, learning_rate)
    if n_steps is not None:
        check_positive_int(n_steps, "n_steps")
    arr, names, cols = _prepare_table(data, discrete, "data")
    p = arr.shape[1]
    everything = list(range(p))
    est, se, direct, info = _fit_and_estimate(
        arr, cols, everything, everything, n_steps=n_steps, batch_size=batch_size, width=width,
        depth=depth, learning_rate=learning_rate, test_size=test_size, k_draws=k_draws,
        random_state=random_state, device=device, verbose=verbose, max_seconds=max_seconds)
    mi, err = _symmetric(est, se, [j in cols for j in range(p)])
    half_diff = (est - est.T) / 2
    for j in range(p):
        mi[j, j] = label_entropy(arr[:, j]) if j in cols else np.nan
        err[j, j] = np.nan
    scale = nats_to(1.0, units)
    info.update(direct_form=(scale * (direct + direct.T) / 2).tolist(),
                max_direction_gap=float(scale * np.nanmax(np.abs(half_diff)) * 2))
    return MIMatrix(names=list(names), mi=scale * mi, stderr=scale * err,
                    directed=scale * est, discrete=[j in cols for j in range(p)],
                    units=units, seconds=time.perf_counter() - t0, diagnostics=info)


def _symmetric(est: np.ndarray, se: np.ndarray, discrete: List[bool]):
    """The symmetric matrix and its standard error from the directed estimates.

    Two continuous (or two discrete) columns: the mean of both directions, with the Monte
    Carlo error of the mean and half their difference. A discrete and a continuous column:
    the direction with the continuous target only. Its Gaussian base is close to exact
    (the column is rank-normal); a discrete target's unconditional denoiser must be learnt
    in full, and its errors do not cancel in the gap (on the development table, seed 0,
    x07 given an independent x15 read 0.086 nats)."""
    p = est.shape[0]
    mi = (est + est.T) / 2
    err = np.sqrt((se ** 2 + se.T ** 2) / 4 + ((est - est.T) / 2) ** 2)
    for j in range(p):
        for k in range(p):
            if j != k and not discrete[j] and discrete[k]:
                mi[j, k] = mi[k, j] = est[j, k]
                err[j, k] = err[k, j] = se[j, k]
    return mi, err


def _feature_scores(X, y, discrete_features, y_is_discrete: bool, params) -> np.ndarray:
    Xa, names, cols = _prepare_table(X, discrete_features, "X")
    ya = check_finite(as_2d_array(y, "y"), "y")
    if ya.shape[1] != 1:
        raise ValueError(f"y: expected one target column, got shape {ya.shape}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"X and y: expected the same number of samples (rows), got "
                         f"{Xa.shape[0]} and {ya.shape[0]}")
    if np.unique(ya).size < 2:
        raise ValueError("y: the target is constant")
    p = Xa.shape[1]
    table = np.concatenate([Xa, ya], axis=1)
    disc = list(cols)
    if y_is_discrete:
        resolve_discrete(True, ya, "y", "y")  # integer labels or a clear error
        disc.append(p)
    if y_is_discrete:  # each feature denoised given the labels (continuous targets)
        est = _fit_and_estimate(table, disc, list(range(p)), [p], **params)[0][:p, p]
    else:  # the target denoised given each feature
        est = _fit_and_estimate(table, disc, [p], list(range(p)), **params)[0][p, :p]
    return np.maximum(est, 0.0)


def _score_params(kw: dict) -> dict:
    defaults = dict(n_steps=None, batch_size=256, width=32, depth=2, learning_rate=2e-3,
                    test_size=0.2, k_draws=8, random_state=0, device="auto", verbose=True,
                    max_seconds=None)
    unknown = sorted(set(kw) - set(defaults))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}; expected one of "
                        f"{sorted(defaults)}")
    out = {**defaults, **kw}
    _check_common(out["test_size"], out["k_draws"], out["batch_size"], "nats",
                  out["random_state"], out["learning_rate"])
    if out["n_steps"] is not None:
        check_positive_int(out["n_steps"], "n_steps")
    return out


def mutual_info_regression(X: Any, y: Any, *, discrete_features: Any = "auto",
                           random_state: Optional[int] = None, **params: Any) -> np.ndarray:
    """I(X_j; y) in nats for every feature j of X (n, p), y continuous (n,), like
    ``sklearn.feature_selection.mutual_info_regression``: returns an array of shape (p,),
    values >= 0, usable as ``SelectKBest(score_func=...)``.

    One amortised MMG denoiser of y given each feature in turn (module notes) instead of p
    separate fits. discrete_features: "auto" (integer columns with at most 50 distinct
    values; scikit-learn's "auto" means "only for sparse X"), True, False, indices or a
    boolean mask. random_state: None is seed 0 (the estimate is reproducible either way).
    ``**params``: n_steps, batch_size, width, depth, learning_rate, test_size, k_draws,
    device, verbose, max_seconds.
    """
    p = _score_params({**params, "random_state": 0 if random_state is None else random_state})
    return _feature_scores(X, y, discrete_features, False, p)


def mutual_info_classif(X: Any, y: Any, *, discrete_features: Any = "auto",
                        random_state: Optional[int] = None, **params: Any) -> np.ndarray:
    """I(X_j; y) in nats for every feature j of X and class labels y (integers, or strings and
    other labels, coded by their sorted distinct values), like
    ``sklearn.feature_selection.mutual_info_classif`` (see :func:`mutual_info_regression`);
    here each feature is denoised given the labels (a continuous target has a close to
    exact Gaussian base; a label target would not)."""
    p = _score_params({**params, "random_state": 0 if random_state is None else random_state})
    return _feature_scores(X, label_codes(y), discrete_features, True, p)
