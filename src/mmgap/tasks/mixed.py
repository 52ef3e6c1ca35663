"""Discrete and mixed (discrete-continuous) MI tasks: samplers of (x, y) with a known I(X; Y).

Every task here has ``quantity == "mi"``. Discreteness is declared on the task
(:class:`~mmgap.tasks.task.Task`): ``x_discrete=True`` (x an int64 array (n, dim_x) of
discrete symbols), ``x_discrete=(i, j, ...)`` (those columns of a float64 x are discrete),
``y_discrete=True`` (y an int64 label of shape (n,)). Columns that are continuous with atoms
(zero-inflated, censored, mixtures of a density and point masses) are *not* flagged discrete;
their atoms are listed in ``params["atoms_x"]`` / ``params["atoms_y"]``.

Truths are exact (closed forms, finite sums or rapidly converging series) except for two
families computed by quadrature, whose ``mutual_information_stderr`` states the accuracy
(floored at 1e-12 so that it stays positive): the class-conditional Gaussians (a 1-D or 2-D
Gauss-Hermite rule, the class means spanning at most a plane; error = the difference between
orders 100 and 140, below 1e-10) and the atom term of the censored Gaussian (1-D adaptive
quadrature, absolute tolerance 1e-13). All truths are checked against Monte Carlo averages
of the exact log-density ratios in ``tests/test_tasks_mixed.py``.

Families (ids use ``str`` of the parameters, as the other families do):

Discrete x and discrete y (x int64 (n, dim_x), y an int64 label):

* ``discrete_symmetric`` ``discrete-symmetric-{m}-{eps}``: X uniform on {0..m-1}; Y = X with
  probability 1 - eps, else uniform over the m - 1 other symbols (the m-ary symmetric
  channel; m = 2 is the binary symmetric channel).
  I = log m - h(eps) - eps log(m - 1), h the binary entropy.
* ``discrete_thinning`` ``discrete-thinning-{N}-{a}-{b}``: X ~ Binomial(N, a),
  Y | X ~ Binomial(X, b) (so Y ~ Binomial(N, a b)). I by an exact finite double sum.
* ``discrete_parity`` ``discrete-parity-{d}-{eps}``: X uniform on {0, 1}^d; Y = parity(X)
  flipped with probability eps. I = log 2 - h(eps); no proper subset of the columns carries
  any information.
* ``discrete_sum`` ``discrete-sum-{d}-{m}-{w}``: X uniform on {0..m-1}^d; Y = sum(X) + U,
  U uniform on {0..w-1}. I = H(sum(X) + U) - log w, the pmf by exact convolution.

Discrete x, continuous y (and the reverse):

* ``class_uniform`` ``class-uniform-{m}``: X uniform on {0..m-1}, Y | X ~ U[X, X + 2]
  (experiment I of Gao, Kannan, Oh and Viswanath, NeurIPS 2017).
  I = log m - (m - 1) log 2 / m.
* ``class_gaussian`` ``class-gauss-{m}-{d}-{sep}-{r}``: X in {0..m-1} with
  P(X = k) proportional to r^k (r = 1: uniform), Y | X = k ~ N(mu_k, I_d). For d = 1 the
  means are ``sep`` apart on a line; for d >= 2 they are the vertices of a regular m-gon with
  side ``sep`` in the plane spanned by the first two DCT-II vectors of R^d (every coordinate
  of y is informative; the orthogonal directions are pure noise). The MI is a 1-D or 2-D
  Gauss-Hermite quadrature of E[log N(Y; mu_X, I) / sum_j p_j N(Y; mu_j, I)].
* ``gaussian_class`` ``gauss-class-{d}-{m}-{sep}-{r}``: the same pair with the roles
  swapped: x = the Gaussian vector (float64 (n, d)), y = the class label
  (``y_discrete=True``). Same truth.

Zero-inflated, censored and mixture variables (flags False; atoms in params):

* ``zero_inflated_poisson`` ``zi-poisson-exp-{p}``: X ~ Exp(1); Y = 0 with probability p,
  else Y ~ Poisson(X) (experiment II of Gao et al. 2017); y is a count label. Exact:
  I = (1 - p) [I_0 - (log 2 / 2 - 1/4)] + Z(p), with I_0 = 2 log 2 - gamma
  - sum_k 2^-k log k (the MI without inflation, 0.30124) and Z(p) the closed-form zero term
  of :func:`zero_inflated_poisson_mi`. It is *less* than (1 - p) I_0 = I(X; Y, B) (B the
  unobserved inflation indicator): a zero from the Poisson part looks like an inflated one.
* ``gauss_bsc_mixture`` ``mixture-gauss-bsc-{d}-{rho}-{beta}-{p}``: d independent pairs;
  each is, with probability p, a standard bivariate normal with correlation rho, else
  X uniform on {-1, 1} and Y = X kept with probability beta, flipped otherwise
  (experiment III of Gao et al. 2017, their demo's parameters 0.9, 0.9, 0.5). The
  component is readable from either coordinate, so per pair
  I = p (-1/2 log(1 - rho^2)) + (1 - p)(log 2 - h(beta)) + h(p); total d times that.
* ``dropout_gaussian`` ``dropout-gauss-{d}-{q}-{s}``: X ~ N(0, I_d); each coordinate of
  Y is X_i + s N_i with probability q and exactly 0 otherwise (zero inflation).
  The atom tells the dropout, so I = d q / 2 log(1 + 1/s^2).
* ``censored_gaussian`` ``censored-gauss-{d}-{c}-{s}``: X ~ N(0, I_d);
  Y_i = max(X_i + s N_i, c) (a point mass at c plus a density above it). Per coordinate
  (v = 1 + s^2, a = c / sqrt(v)): I = Phi(-a)/2 log(v / s^2) + a phi(a) / (2 v) +
  integral phi(x) Phi((c - x)/s) log[Phi((c - x)/s) / Phi(a)] dx, the last a 1-D
  adaptive quadrature to 1e-12 (:func:`censored_gaussian_mi`); d times that.

Mixed columns in x (``x_discrete`` a tuple; x float64):

* ``mixed_blocks`` ``mixed-blocks-{a}-{b}-{m}-{rho}``: x interleaves a discrete columns
  K_i uniform on {0..m-1} and b Gaussian columns G_j; y has one partner per column:
  U_i | K_i ~ U[K_i, K_i + 2] and H_j = rho G_j + sqrt(1 - rho^2) N_j. Independent blocks:
  I = a (log m - (m - 1) log 2 / m) - b/2 log(1 - rho^2).
* ``mixed_sign`` ``mixed-sign-{d}-{s}``: x = (S, G) with S uniform on {0, 1} (column 0,
  discrete) and G ~ N(0, I_d); Y = (2 S - 1) G + s N. Y | S is N(0, (1 + s^2) I) for both
  signs, so I(S; Y) = 0 and I = I(G; Y | S) = d/2 log(1 + 1/s^2): only the pair of columns
  together is informative.
"""

from __future__ import annotations

import functools
import numbers
from typing import Tuple

import numpy as np
from scipy import integrate, stats
from scipy.special import log_ndtr, logsumexp, ndtr, roots_hermite, xlogy

from mmgap.tasks import families as fam
from mmgap.tasks.task import Task

__all__ = [
    "discrete_symmetric",
    "discrete_thinning",
    "discrete_parity",
    "discrete_sum",
    "class_uniform",
    "class_gaussian",
    "gaussian_class",
    "zero_inflated_poisson",
    "gauss_bsc_mixture",
    "dropout_gaussian",
    "censored_gaussian",
    "mixed_blocks",
    "mixed_sign",
    "binary_entropy",
    "discrete_joint_mi",
    "symmetric_channel_mi",
    "class_uniform_mi",
    "class_gaussian_means",
    "class_gaussian_prior",
    "class_gaussian_mi",
    "zero_inflated_poisson_mi",
    "gauss_bsc_mixture_mi",
    "censored_gaussian_mi",
    "mixed_block_columns",
]

# Gauss-Hermite orders of the class-Gaussian truth: the value at the higher one is stored,
# the difference from the lower one is its error estimate.
_GH_ORDERS = (100, 140)
# floor of a quadrature's stated error (a positive stderr marks a numerical truth)
_QUAD_ERROR_FLOOR = 1e-12


# ---------------------------------------------------------------------------- checks


def _check_classes(value, name: str, low: int = 2) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def _check_probability(value, name: str, *, closed_low: bool = False) -> float:
    """A number in (0, 1) (or [0, 1) with ``closed_low``)."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and ((0 <= value < 1) if closed_low else (0 < value < 1))
    )
    if not ok:
        interval = "[0, 1)" if closed_low else "(0, 1)"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return float(value)


def _check_finite(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------- closed forms


def binary_entropy(p: float) -> float:
    """h(p) = -p log p - (1 - p) log(1 - p) in nats (0 at p = 0 or 1)."""
    return float(-xlogy(p, p) - xlogy(1.0 - p, 1.0 - p))


def discrete_joint_mi(joint: np.ndarray) -> float:
    """I(X; Y) of a finite joint pmf ``joint`` (shape (|X|, |Y|), entries >= 0 summing to 1):
    ``sum p(x, y) log p(x, y) / (p(x) p(y))`` over the support."""
    joint = np.asarray(joint, dtype=np.float64)
    if joint.ndim != 2 or np.any(joint < 0) or not np.isclose(joint.sum(), 1.0, atol=1e-12):
        raise ValueError("joint: expected a 2-D array of probabilities summing to 1")
    px = joint.sum(axis=1, keepdims=True)
    py = joint.sum(axis=0, keepdims=True)
    support = joint > 0
    ratio = joint[support] / (px @ py)[support]
    return float(np.sum(joint[support] * np.log(ratio)))


def symmetric_channel_mi(n_symbols: int, error: float) -> float:
    """I(X; Y) of the m-ary symmetric channel with uniform input:
    ``log m - h(eps) - eps log(m - 1)``."""
    m = n_symbols
    return float(np.log(m) - binary_entropy(error) - xlogy(error, m - 1))


def class_uniform_mi(n_classes: int) -> float:
    """I(X; Y) for X uniform on {0..m-1}, Y | X ~ U[X, X + 2]: ``log m - (m - 1) log 2 / m``.

    Y's density is 1/(2m) on the two end unit intervals [0, 1) and [m, m + 1) and 1/m in
    between, so log p(y | x) / p(y) is log m at the ends and log(m / 2) inside, where Y falls
    with probability (m - 1) / m."""
    m = n_classes
    return float(np.log(m) - (m - 1) * np.log(2.0) / m)


def class_gaussian_prior(n_classes: int, ratio: float) -> np.ndarray:
    """P(X = k) proportional to ``ratio**k``, k = 0..m-1 (uniform for ratio 1); shape (m,)."""
    weights = ratio ** np.arange(n_classes, dtype=np.float64)
    return weights / weights.sum()


def _plane_frame(dim: int) -> np.ndarray:
    """Two orthonormal vectors of R^dim (rows, shape (2, dim)): the first two DCT-II basis
    vectors, the constant one and a half cosine, so that every coordinate has weight."""
    i = np.arange(dim) + 0.5
    frame = np.stack([np.ones(dim), np.cos(np.pi * i / dim)])
    return frame / np.linalg.norm(frame, axis=1, keepdims=True)


def class_gaussian_means(n_classes: int, dim: int, separation: float
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Class means of :func:`class_gaussian`: ``(means, plane)``.

    ``plane`` (m, q) holds the means in their own coordinates (q = 1 for dim = 1: points
    ``separation`` apart on a line, centred; q = 2 otherwise: a regular m-gon of side
    ``separation`` centred at 0). ``means`` (m, dim) embeds them in R^dim through
    :func:`_plane_frame` (orthonormal, so the class geometry is the same)."""
    m = n_classes
    if dim == 1:
        plane = (separation * (np.arange(m) - (m - 1) / 2.0))[:, None]
        return plane.copy(), plane
    radius = separation / (2.0 * np.sin(np.pi / m))
    angle = 2.0 * np.pi * np.arange(m) / m
    plane = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return plane @ _plane_frame(dim), plane


def class_gaussian_mi(plane_means: np.ndarray, prior: np.ndarray, n_nodes: int) -> float:
    """I(X; Y) for P(X = k) = prior[k], Y | X = k ~ N(mu_k, I), by Gauss-Hermite quadrature.

    ``plane_means`` (m, q), q in {1, 2}: the means in the span of the means (directions
    orthogonal to it carry no information about X and drop out).
    ``I = sum_k p_k E_{Y ~ N(mu_k, I)} [log N(Y; mu_k, I) - log sum_j p_j N(Y; mu_j, I)]``,
    each expectation a q-dimensional product rule with ``n_nodes`` nodes per axis."""
    t, w = roots_hermite(n_nodes)
    q = plane_means.shape[1]
    if q == 1:
        nodes = np.sqrt(2.0) * t[:, None]
        weights = w / np.sqrt(np.pi)
    elif q == 2:
        t1, t2 = np.meshgrid(t, t, indexing="ij")
        nodes = np.sqrt(2.0) * np.stack([t1.ravel(), t2.ravel()], axis=1)
        weights = np.outer(w, w).ravel() / np.pi
    else:  # pragma: no cover - a bug in a caller
        raise ValueError(f"plane_means: expected 1 or 2 columns, got {q}")
    log_prior = np.log(prior)
    total = 0.0
    for k in range(plane_means.shape[0]):
        points = plane_means[k] + nodes
        sq = np.sum((points[:, None, :] - plane_means[None, :, :]) ** 2, axis=-1)
        log_mixture = logsumexp(log_prior[None, :] - 0.5 * sq, axis=1)
        total += prior[k] * np.sum(weights * (-0.5 * sq[:, k] - log_mixture))
    return float(total)


@functools.lru_cache(maxsize=None)
def _class_gaussian_truth(n_classes: int, dim: int, separation: float, ratio: float
                          ) -> Tuple[float, float]:
    """(MI, error estimate) of :func:`class_gaussian`, cached per process."""
    _, plane = class_gaussian_means(n_classes, dim, separation)
    prior = class_gaussian_prior(n_classes, ratio)
    low, high = (class_gaussian_mi(plane, prior, n) for n in _GH_ORDERS)
    return high, max(abs(high - low), _QUAD_ERROR_FLOOR)


def zero_inflated_poisson_mi(p_zero: float) -> float:
    """I(X; Y) for X ~ Exp(1) and Y = 0 with probability p, else Y ~ Poisson(X). Exact.

    Without inflation Y ~ Geometric: P(Y = k) = 2^-(k+1), and
    I_0 = E[-X + Y log X - log Y! + (Y + 1) log 2] = 2 log 2 - gamma - sum_k 2^-k log k
    (E[Y log X] = E[X log X] = 1 - gamma; sum_k 2^-(k+1) log k! = sum_j 2^-j log j).
    With inflation the terms y >= 1 keep their ratio (the factor 1 - p cancels), so they give
    (1 - p)(I_0 - E[e^-X (log 2 - X)]) = (1 - p)(I_0 - log 2 / 2 + 1/4). The zero term,
    with U = e^-X uniform on (0, 1), a = p, b = 1 - p, c = P(Y = 0) = a + b/2, is
    ``int_0^1 (a + b u) log((a + b u) / c) du = (a^2/4 - a^2/2 log a - 1/4) / b - c log c``.
    """
    j = np.arange(2, 200, dtype=np.float64)
    i0 = 2.0 * np.log(2.0) - np.euler_gamma - float(np.sum(np.log(j) * 0.5**j))
    a, b = p_zero, 1.0 - p_zero
    c = a + 0.5 * b
    zero = (0.25 * a * a - 0.5 * xlogy(a * a, a) - 0.25) / b - c * np.log(c)
    return float(b * (i0 - 0.5 * np.log(2.0) + 0.25) + zero)


def gauss_bsc_mixture_mi(correlation: float, keep: float, p_gauss: float) -> float:
    """I(X; Y) of one pair of :func:`gauss_bsc_mixture`: the component C (Gaussian or the
    binary channel) is a function of X and of Y, so I = H(C) + I(X; Y | C) =
    ``h(p) + p (-1/2 log(1 - rho^2)) + (1 - p)(log 2 - h(beta))``."""
    gauss = -0.5 * np.log1p(-correlation**2)
    channel = np.log(2.0) - binary_entropy(keep)
    return float(binary_entropy(p_gauss) + p_gauss * gauss + (1.0 - p_gauss) * channel)


def censored_gaussian_mi(threshold: float, noise: float) -> Tuple[float, float]:
    """I(X; Y) for X ~ N(0, 1), Y = max(X + s N, c): ``(value, error estimate)``.

    Densities with respect to (point mass at c) + Lebesgue measure above c; W = X + s N,
    v = 1 + s^2, a = c / sqrt(v). The part above c is closed-form (truncated Gaussian
    moments, using N = (s^2 / v) W + R with R independent of W):
    ``E[1{W > c} log N(W; X, s^2) / N(W; 0, v)] = Phi(-a)/2 log(v/s^2) + a phi(a) / (2 v)``.
    The atom contributes ``int phi(x) P(x) log(P(x) / Phi(a)) dx`` with
    P(x) = Phi((c - x) / s), computed by adaptive quadrature (absolute tolerance 1e-13);
    its error estimate is returned (floored at 1e-12)."""
    c, s = threshold, noise
    v = 1.0 + s * s
    a = c / np.sqrt(v)
    log_atom = float(log_ndtr(a))
    above = 0.5 * ndtr(-a) * np.log(v / (s * s)) + a * stats.norm.pdf(a) / (2.0 * v)

    def integrand(x: float) -> float:
        log_p = log_ndtr((c - x) / s)
        return float(stats.norm.pdf(x) * np.exp(log_p) * (log_p - log_atom))

    atom, error = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12,
                                 limit=200)
    return float(above + atom), max(float(error), _QUAD_ERROR_FLOOR)


# -------------------------------------------------------------------------- samplers


def _sample_symmetric(n, rng, n_symbols, error):
    x = rng.integers(n_symbols, size=n)
    shift = rng.integers(1, n_symbols, size=n)  # uniform over the other symbols
    y = np.where(rng.random(n) < error, (x + shift) % n_symbols, x)
    return x[:, None], y


def _sample_thinning(n, rng, n_trials, p_x, p_keep):
    x = rng.binomial(n_trials, p_x, size=n)
    return x[:, None], rng.binomial(x, p_keep)


def _sample_parity(n, rng, dim, error):
    x = rng.integers(2, size=(n, dim))
    y = (x.sum(axis=1) % 2) ^ (rng.random(n) < error)
    return x, y.astype(np.int64)


def _sample_sum(n, rng, dim, n_symbols, noise_width):
    x = rng.integers(n_symbols, size=(n, dim))
    return x, x.sum(axis=1) + rng.integers(noise_width, size=n)


def _sample_class_uniform(n, rng, n_classes):
    x = rng.integers(n_classes, size=(n, 1))
    return x, x + 2.0 * rng.random((n, 1))


def _sample_class_gaussian(n, rng, means, prior, labels_first):
    labels = rng.choice(prior.size, size=n, p=prior)
    y = means[labels] + rng.standard_normal((n, means.shape[1]))
    return (labels[:, None], y) if labels_first else (y, labels)


def _sample_zero_inflated_poisson(n, rng, p_zero):
    x = rng.exponential(1.0, size=n)
    y = np.where(rng.random(n) < p_zero, 0, rng.poisson(x))
    return x[:, None], y


def _sample_gauss_bsc(n, rng, dim, correlation, keep, p_gauss):
    gauss = rng.random((n, dim)) < p_gauss
    g_x = rng.standard_normal((n, dim))
    g_y = correlation * g_x + np.sqrt(1.0 - correlation**2) * rng.standard_normal((n, dim))
    b_x = rng.integers(2, size=(n, dim))
    b_y = b_x ^ (rng.random((n, dim)) >= keep)
    x = np.where(gauss, g_x, 2.0 * b_x - 1.0)
    y = np.where(gauss, g_y, 2.0 * b_y - 1.0)
    return x, y


def _sample_dropout(n, rng, dim, keep, noise):
    x = rng.standard_normal((n, dim))
    y = x + noise * rng.standard_normal((n, dim))
    return x, np.where(rng.random((n, dim)) < keep, y, 0.0)


def _sample_censored(n, rng, dim, threshold, noise):
    x = rng.standard_normal((n, dim))
    return x, np.maximum(x + noise * rng.standard_normal((n, dim)), threshold)


def _sample_mixed_blocks(n, rng, discrete_cols, continuous_cols, n_classes, correlation):
    dim = len(discrete_cols) + len(continuous_cols)
    x = np.empty((n, dim))
    y = np.empty((n, dim))
    k = rng.integers(n_classes, size=(n, len(discrete_cols)))
    x[:, discrete_cols] = k
    y[:, discrete_cols] = k + 2.0 * rng.random(k.shape)
    g = rng.standard_normal((n, len(continuous_cols)))
    x[:, continuous_cols] = g
    y[:, continuous_cols] = (correlation * g
                             + np.sqrt(1.0 - correlation**2) * rng.standard_normal(g.shape))
    return x, y


def _sample_mixed_sign(n, rng, dim, noise):
    sign = rng.integers(2, size=(n, 1))
    g = rng.standard_normal((n, dim))
    y = (2.0 * sign - 1.0) * g + noise * rng.standard_normal((n, dim))
    return np.hstack([sign.astype(np.float64), g]), y


# ------------------------------------------------------------------ task builders


def discrete_symmetric(n_symbols: int = 2, error: float = 0.1) -> Task:
    """``discrete-symmetric-{m}-{eps}``: the m-ary symmetric channel with uniform input.

    X uniform on {0..m-1} (x int64 (n, 1)); Y = X with probability 1 - eps, else uniform
    over the other m - 1 symbols (an int64 label). I = log m - h(eps) - eps log(m - 1)."""
    m = _check_classes(n_symbols, "n_symbols")
    eps = _check_probability(error, "error", closed_low=True)
    return Task(
        id=f"discrete-symmetric-{m}-{eps}",
        dim_x=1,
        dim_y=1,
        mutual_information=symmetric_channel_mi(m, eps),
        sampler=functools.partial(_sample_symmetric, n_symbols=m, error=eps),
        params={"family": "discrete-symmetric", "n_symbols": m, "error": eps},
        name=f"{m}-ary symmetric channel (error {eps})",
        x_discrete=True,
        y_discrete=True,
    )


def discrete_thinning(n_trials: int = 20, p_x: float = 0.5, p_keep: float = 0.7) -> Task:
    """``discrete-thinning-{N}-{a}-{b}``: X ~ Binomial(N, a), Y | X ~ Binomial(X, b).

    A non-uniform input and an asymmetric channel; I by the exact finite sum
    :func:`discrete_joint_mi` over the (N + 1) x (N + 1) joint pmf."""
    n_trials = _check_classes(n_trials, "n_trials", low=1)
    a = _check_probability(p_x, "p_x")
    b = _check_probability(p_keep, "p_keep")
    k = np.arange(n_trials + 1)
    joint = stats.binom.pmf(k, n_trials, a)[:, None] * stats.binom.pmf(k[None, :], k[:, None], b)
    return Task(
        id=f"discrete-thinning-{n_trials}-{a}-{b}",
        dim_x=1,
        dim_y=1,
        mutual_information=discrete_joint_mi(joint / joint.sum()),
        sampler=functools.partial(_sample_thinning, n_trials=n_trials, p_x=a, p_keep=b),
        params={"family": "discrete-thinning", "n_trials": n_trials, "p_x": a, "p_keep": b},
        name=f"Binomial thinning (N={n_trials}, a={a}, b={b})",
        x_discrete=True,
        y_discrete=True,
    )


def discrete_parity(dim: int = 3, error: float = 0.1) -> Task:
    """``discrete-parity-{d}-{eps}``: X uniform on {0, 1}^d (x int64 (n, d)); Y = the parity
    of X, flipped with probability eps. I = log 2 - h(eps); every d - 1 columns are
    independent of Y, so only the joint symbol is informative."""
    dim = _check_classes(dim, "dim", low=1)
    eps = _check_probability(error, "error", closed_low=True)
    return Task(
        id=f"discrete-parity-{dim}-{eps}",
        dim_x=dim,
        dim_y=1,
        mutual_information=symmetric_channel_mi(2, eps),
        sampler=functools.partial(_sample_parity, dim=dim, error=eps),
        params={"family": "discrete-parity", "dim": dim, "error": eps},
        name=f"Parity of {dim} bits (error {eps})",
        x_discrete=True,
        y_discrete=True,
    )


def discrete_sum(dim: int = 4, n_symbols: int = 3, noise_width: int = 3) -> Task:
    """``discrete-sum-{d}-{m}-{w}``: X uniform on {0..m-1}^d (x int64 (n, d)),
    Y = sum(X) + U with U uniform on {0..w-1} (an int64 label).
    I = H(Y) - H(U) = H(sum(X) + U) - log w, the pmf by exact convolution."""
    dim = _check_classes(dim, "dim", low=1)
    m = _check_classes(n_symbols, "n_symbols")
    w = _check_classes(noise_width, "noise_width", low=1)
    pmf = np.ones(1)
    for _ in range(dim):
        pmf = np.convolve(pmf, np.full(m, 1.0 / m))
    pmf = np.convolve(pmf, np.full(w, 1.0 / w))
    truth = float(-np.sum(xlogy(pmf, pmf)) - np.log(w))
    return Task(
        id=f"discrete-sum-{dim}-{m}-{w}",
        dim_x=dim,
        dim_y=1,
        mutual_information=truth,
        sampler=functools.partial(_sample_sum, dim=dim, n_symbols=m, noise_width=w),
        params={"family": "discrete-sum", "dim": dim, "n_symbols": m, "noise_width": w},
        name=f"Noisy sum of {dim} symbols in 0..{m - 1}",
        x_discrete=True,
        y_discrete=True,
    )


def class_uniform(n_classes: int = 5) -> Task:
    """``class-uniform-{m}``: X uniform on {0..m-1} (x int64 (n, 1)), Y | X ~ U[X, X + 2]
    (experiment I of Gao, Kannan, Oh and Viswanath, NeurIPS 2017).
    I = log m - (m - 1) log 2 / m (:func:`class_uniform_mi`)."""
    m = _check_classes(n_classes, "n_classes")
    return Task(
        id=f"class-uniform-{m}",
        dim_x=1,
        dim_y=1,
        mutual_information=class_uniform_mi(m),
        sampler=functools.partial(_sample_class_uniform, n_classes=m),
        params={"family": "class-uniform", "n_classes": m},
        name=f"Class ({m}) x uniform on [X, X + 2]",
        x_discrete=True,
    )


def _class_gaussian_parts(n_classes, dim, separation, ratio):
    m = _check_classes(n_classes, "n_classes")
    dim = fam._check_dim(dim, "dim")
    separation = fam._check_positive(separation, "separation")
    ratio = fam._check_positive(ratio, "ratio")
    if ratio > 1:
        raise ValueError(f"ratio: expected a number in (0, 1], got {ratio!r}")
    means, _ = class_gaussian_means(m, dim, separation)
    prior = class_gaussian_prior(m, ratio)
    mi, error = _class_gaussian_truth(m, dim, separation, ratio)
    params = {
        "n_classes": m,
        "dim": dim,
        "separation": separation,
        "ratio": ratio,
        "prior": prior.tolist(),
        "truth_method": f"Gauss-Hermite quadrature, orders {list(_GH_ORDERS)}",
    }
    return m, dim, separation, ratio, means, prior, mi, error, params


def class_gaussian(n_classes: int = 5, dim: int = 3, separation: float = 2.0,
                   ratio: float = 1.0) -> Task:
    """``class-gauss-{m}-{d}-{sep}-{r}``: a discrete x and a class-conditional Gaussian y.

    X in {0..m-1} with P(X = k) proportional to r^k (x int64 (n, 1)); Y | X = k ~
    N(mu_k, I_d) with the means of :func:`class_gaussian_means` (neighbours ``sep`` apart).
    The truth is :func:`class_gaussian_mi` (Gauss-Hermite quadrature; its error estimate is
    ``mutual_information_stderr``)."""
    m, dim, sep, r, means, prior, mi, error, params = _class_gaussian_parts(
        n_classes, dim, separation, ratio)
    return Task(
        id=f"class-gauss-{m}-{dim}-{sep}-{r}",
        dim_x=1,
        dim_y=dim,
        mutual_information=mi,
        sampler=functools.partial(_sample_class_gaussian, means=means, prior=prior,
                                  labels_first=True),
        params={"family": "class-gauss", **params},
        name=f"Class ({m}) x Gaussian {dim}",
        mutual_information_stderr=error,
        x_discrete=True,
    )


def gaussian_class(dim: int = 3, n_classes: int = 4, separation: float = 2.0,
                   ratio: float = 1.0) -> Task:
    """``gauss-class-{d}-{m}-{sep}-{r}``: :func:`class_gaussian` with the roles swapped:
    x is the Gaussian vector (float64 (n, d)), y the class label (int64 (n,),
    ``y_discrete=True``). Same truth."""
    m, dim, sep, r, means, prior, mi, error, params = _class_gaussian_parts(
        n_classes, dim, separation, ratio)
    return Task(
        id=f"gauss-class-{dim}-{m}-{sep}-{r}",
        dim_x=dim,
        dim_y=1,
        mutual_information=mi,
        sampler=functools.partial(_sample_class_gaussian, means=means, prior=prior,
                                  labels_first=False),
        params={"family": "gauss-class", **params},
        name=f"Gaussian {dim} x class ({m})",
        mutual_information_stderr=error,
        y_discrete=True,
    )


def zero_inflated_poisson(p_zero: float = 0.15) -> Task:
    """``zi-poisson-exp-{p}``: X ~ Exp(1) (float64 (n, 1)); Y = 0 with probability p, else
    Y ~ Poisson(X) (an int64 count label, ``y_discrete=True``); experiment II of Gao et al.
    (2017) with their p = 0.15. Exact truth :func:`zero_inflated_poisson_mi`."""
    p = _check_probability(p_zero, "p_zero", closed_low=True)
    return Task(
        id=f"zi-poisson-exp-{p}",
        dim_x=1,
        dim_y=1,
        mutual_information=zero_inflated_poisson_mi(p),
        sampler=functools.partial(_sample_zero_inflated_poisson, p_zero=p),
        params={"family": "zi-poisson-exp", "p_zero": p},
        name=f"Exponential x zero-inflated Poisson (p={p})",
        y_discrete=True,
    )


def gauss_bsc_mixture(dim: int = 1, correlation: float = 0.9, keep: float = 0.9,
                      p_gauss: float = 0.5) -> Task:
    """``mixture-gauss-bsc-{d}-{rho}-{beta}-{p}``: d independent pairs, each a mixture of a
    bivariate normal (probability p, correlation rho) and a binary symmetric channel on
    {-1, 1} (Y = X with probability beta); experiment III of Gao et al. (2017). Every column
    is continuous with atoms at -1 and 1 (flags False). I = d :func:`gauss_bsc_mixture_mi`."""
    dim = fam._check_dim(dim, "dim")
    rho = fam._check_correlation(correlation, "correlation")
    beta = _check_probability(keep, "keep")
    p = _check_probability(p_gauss, "p_gauss")
    return Task(
        id=f"mixture-gauss-bsc-{dim}-{rho}-{beta}-{p}",
        dim_x=dim,
        dim_y=dim,
        mutual_information=dim * gauss_bsc_mixture_mi(rho, beta, p),
        sampler=functools.partial(_sample_gauss_bsc, dim=dim, correlation=rho, keep=beta,
                                  p_gauss=p),
        params={"family": "mixture-gauss-bsc", "dim": dim, "correlation": rho, "keep": beta,
                "p_gauss": p, "atoms_x": [-1.0, 1.0], "atoms_y": [-1.0, 1.0]},
        name=f"Gaussian / binary-channel mixture {dim} x {dim}",
    )


def dropout_gaussian(dim: int = 1, keep: float = 0.5, noise: float = 0.5) -> Task:
    """``dropout-gauss-{d}-{q}-{s}``: X ~ N(0, I_d); Y_i = X_i + s N_i with probability q,
    else exactly 0 (zero inflation, independently per coordinate). The atom at 0 reveals the
    dropout, which is independent of X: I = d q / 2 log(1 + 1/s^2)."""
    dim = fam._check_dim(dim, "dim")
    q = _check_probability(keep, "keep")
    s = fam._check_positive(noise, "noise")
    return Task(
        id=f"dropout-gauss-{dim}-{q}-{s}",
        dim_x=dim,
        dim_y=dim,
        mutual_information=float(dim * q * 0.5 * np.log1p(1.0 / (s * s))),
        sampler=functools.partial(_sample_dropout, dim=dim, keep=q, noise=s),
        params={"family": "dropout-gauss", "dim": dim, "keep": q, "noise": s,
                "atoms_y": [0.0]},
        name=f"Gaussian {dim} x zero-inflated Gaussian (keep {q})",
    )


def censored_gaussian(dim: int = 1, threshold: float = 0.0, noise: float = 0.5) -> Task:
    """``censored-gauss-{d}-{c}-{s}``: X ~ N(0, I_d), Y_i = max(X_i + s N_i, c) (a Tobit
    channel: a point mass at c plus a density above). I = d :func:`censored_gaussian_mi`
    (closed form plus a 1-D quadrature; its error estimate is the stderr)."""
    dim = fam._check_dim(dim, "dim")
    c = _check_finite(threshold, "threshold")
    s = fam._check_positive(noise, "noise")
    mi, error = censored_gaussian_mi(c, s)
    return Task(
        id=f"censored-gauss-{dim}-{c}-{s}",
        dim_x=dim,
        dim_y=dim,
        mutual_information=dim * mi,
        sampler=functools.partial(_sample_censored, dim=dim, threshold=c, noise=s),
        params={"family": "censored-gauss", "dim": dim, "threshold": c, "noise": s,
                "atoms_y": [c], "truth_method": "closed form + adaptive quadrature"},
        name=f"Gaussian {dim} x censored Gaussian (at {c})",
        mutual_information_stderr=dim * error,
    )


def mixed_block_columns(n_discrete: int, n_continuous: int) -> Tuple[Tuple[int, ...],
                                                                      Tuple[int, ...]]:
    """Column positions of :func:`mixed_blocks`: discrete and Gaussian columns alternate
    (K_0, G_0, K_1, G_1, ...), the surplus of either kind at the end. Returns
    ``(discrete_columns, continuous_columns)``."""
    order = []
    for i in range(max(n_discrete, n_continuous)):
        if i < n_discrete:
            order.append("k")
        if i < n_continuous:
            order.append("g")
    discrete = tuple(j for j, kind in enumerate(order) if kind == "k")
    continuous = tuple(j for j, kind in enumerate(order) if kind == "g")
    return discrete, continuous


def mixed_blocks(n_discrete: int = 2, n_continuous: int = 3, n_classes: int = 5,
                 correlation: float = 0.75) -> Task:
    """``mixed-blocks-{a}-{b}-{m}-{rho}``: an x with discrete and continuous columns.

    x (float64 (n, a + b), ``x_discrete`` = the positions of :func:`mixed_block_columns`)
    holds a columns K_i uniform on {0..m-1} and b columns G_j ~ N(0, 1); y has the partner of
    each column in the same position: U_i | K_i ~ U[K_i, K_i + 2] and
    H_j = rho G_j + sqrt(1 - rho^2) N_j. Independent blocks, so their MIs add:
    I = a (log m - (m - 1) log 2 / m) - b/2 log(1 - rho^2)."""
    a = _check_classes(n_discrete, "n_discrete", low=1)
    b = _check_classes(n_continuous, "n_continuous", low=1)
    m = _check_classes(n_classes, "n_classes")
    rho = fam._check_correlation(correlation, "correlation")
    discrete, continuous = mixed_block_columns(a, b)
    truth = a * class_uniform_mi(m) - 0.5 * b * np.log1p(-rho * rho)
    return Task(
        id=f"mixed-blocks-{a}-{b}-{m}-{rho}",
        dim_x=a + b,
        dim_y=a + b,
        mutual_information=float(truth),
        sampler=functools.partial(_sample_mixed_blocks, discrete_cols=list(discrete),
                                  continuous_cols=list(continuous), n_classes=m,
                                  correlation=rho),
        params={"family": "mixed-blocks", "n_discrete": a, "n_continuous": b,
                "n_classes": m, "correlation": rho},
        name=f"Mixed blocks: {a} class + {b} Gaussian columns",
        x_discrete=discrete,
    )


def mixed_sign(dim: int = 1, noise: float = 0.5) -> Task:
    """``mixed-sign-{d}-{s}``: x = (S, G), S uniform on {0, 1} (column 0, discrete),
    G ~ N(0, I_d); Y = (2 S - 1) G + s N (float64 (n, d)).

    Y | S ~ N(0, (1 + s^2) I) whatever S, so I(S; Y) = 0, and
    I = I(S; Y) + I(G; Y | S) = d/2 log(1 + 1/s^2): neither S nor G alone carries all of it
    (S alone carries nothing)."""
    dim = fam._check_dim(dim, "dim")
    s = fam._check_positive(noise, "noise")
    return Task(
        id=f"mixed-sign-{dim}-{s}",
        dim_x=dim + 1,
        dim_y=dim,
        mutual_information=float(0.5 * dim * np.log1p(1.0 / (s * s))),
        sampler=functools.partial(_sample_mixed_sign, dim=dim, noise=s),
        params={"family": "mixed-sign", "dim": dim, "noise": s},
        name=f"Sign x Gaussian {dim} -> Gaussian {dim}",
        x_discrete=(0,),
    )
