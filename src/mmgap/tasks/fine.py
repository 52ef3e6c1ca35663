"""Fine-structure mixtures: Gaussian mixtures over (x, y) with a Monte Carlo truth.

In the spirit of Czyz et al., "The Mixtures and the Neural Critics: On the Pointwise Mutual
Information Profiles of Fine Distributions" (2023): a mixture of Gaussians has a density
in closed form, so ``I(X; Y) = E[log p(x, y) - log p(x) - log p(y)]`` is a Monte Carlo
integral of exact log-densities (the marginals are mixtures of the components' marginal
Gaussians, with the same weights). Narrow components put the information at high
signal-to-noise ratio, the regime where a denoiser has to resolve fine structure.

The constructions are this project's own (not the paper's exact distributions):

* ``fine_x``            ``fine-x-1-1-{rho}``: two equally weighted bivariate normals with
  correlations +rho and -rho (an "X"); uncorrelated, yet dependent.
* ``fine_permutation``  ``fine-permutation-1-1-{K}-{width}``: K round components of
  standard deviation ``width`` at (k, pi(k)) for a fixed permutation pi; x tells the
  component and the component tells y, so I -> log K as ``width`` -> 0.
* ``fine_ring``         ``fine-ring-2-1-{K}-{width}``: 2-D x on a ring of K narrow
  components (radius 2, sd ``width``); y given component k is N(2 sin(3 t_k), 0.3^2).
* ``fine_inliers``      ``fine-inliers-{d}-{d}-{eps}``: (1 - eps) N(0, dense 0.6) plus
  eps N(0, I) (an independent "outlier" component).
* ``fine_concentric``   ``fine-concentric-{d}-{d}``: three zero-mean components with scales
  0.3, 1 and 3 whose pairs (x_i, y_i) are correlated by +0.9, -0.6 and +0.3.
* ``fine_clusters``     ``fine-clusters-{d}-{d}-{K}-{width}``: K round components of sd
  ``width`` at means drawn once from N(0, I) (seed in ``params``); I -> log K as
  ``width`` -> 0.

The truth is the mean over ``TRUTH_SAMPLES`` draws with the fixed seed ``TRUTH_SEED``
(deterministic, cached per process); its standard error is ``mutual_information_stderr``.
Each constructor has a ``task_id`` attribute that gives the id without the Monte Carlo
integral (the registry uses it to list ids cheaply).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from mmgap.tasks.families import _check_correlation, _check_dim, _check_positive
from mmgap.tasks.task import Task
from mmgap.tasks.truth import gaussian_mixture_mi_monte_carlo, sample_gaussian_mixture

TRUTH_SEED = 20_261_203
TRUTH_SAMPLES = 2**18
CLUSTER_MEANS_SEED = 7


@dataclass(frozen=True)
class MixtureSpec:
    """A Gaussian mixture over the concatenated (x, y): weights (K,), means (K, d),
    covariances (K, d, d), x the first ``dim_x`` coordinates."""

    id: str
    name: str
    dim_x: int
    weights: Tuple[float, ...]
    means: np.ndarray
    covariances: np.ndarray
    params: dict


@functools.lru_cache(maxsize=None)
def _truth_cached(spec_builder, args) -> Tuple[float, float]:
    spec = spec_builder(*args)
    return gaussian_mixture_mi_monte_carlo(
        spec.weights, spec.means, spec.covariances, spec.dim_x, TRUTH_SAMPLES, TRUTH_SEED
    )


def _sample(n, rng, weights, means, choleskys, dim_x):
    v = sample_gaussian_mixture(n, rng, weights, means, choleskys)
    return v[:, :dim_x], v[:, dim_x:]


def _task(spec_builder, *args) -> Task:
    spec = spec_builder(*args)
    mi, stderr = _truth_cached(spec_builder, args)
    weights = np.asarray(spec.weights, dtype=np.float64)
    return Task(
        id=spec.id,
        dim_x=spec.dim_x,
        dim_y=spec.means.shape[1] - spec.dim_x,
        mutual_information=mi,
        mutual_information_stderr=stderr,
        sampler=functools.partial(
            _sample, weights=weights, means=spec.means,
            choleskys=np.linalg.cholesky(spec.covariances), dim_x=spec.dim_x,
        ),
        params={**spec.params, "n_components": len(weights),
                "truth_seed": TRUTH_SEED, "truth_samples": TRUTH_SAMPLES},
        name=spec.name,
    )


def _with_id(spec_builder):
    """Decorate a public constructor: ``constructor.task_id(*args)`` gives the id cheaply."""

    def wrap(constructor):
        constructor.task_id = lambda *args: spec_builder(*args).id
        return constructor

    return wrap


# ---------------------------------------------------------------------------- specs


def _x_spec(rho: float) -> MixtureSpec:
    rho = _check_correlation(rho, "rho")
    covs = np.array([[[1.0, rho], [rho, 1.0]], [[1.0, -rho], [-rho, 1.0]]])
    return MixtureSpec(f"fine-x-1-1-{rho}", "X-shaped mixture 1 x 1", 1, (0.5, 0.5),
                       np.zeros((2, 2)), covs, {"family": "fine-x", "rho": rho})


def _permutation(k: int) -> np.ndarray:
    # a fixed permutation with no fixed point and no order: k -> (3 k + 1) mod K when
    # gcd(3, K) = 1, else a reversal
    perm = (3 * np.arange(k) + 1) % k
    return perm if len(set(perm.tolist())) == k else np.arange(k)[::-1].copy()


def _permutation_spec(n_components: int, width: float) -> MixtureSpec:
    k = _check_dim(n_components, "n_components")
    if k < 2:
        raise ValueError(f"n_components: expected at least 2, got {k}")
    width = _check_positive(width, "width")
    means = np.stack([np.arange(k, dtype=np.float64), _permutation(k).astype(np.float64)], 1)
    covs = np.repeat((width**2 * np.eye(2))[None], k, axis=0)
    return MixtureSpec(f"fine-permutation-1-1-{k}-{width}", f"Permutation mixture ({k})", 1,
                       (1.0 / k,) * k, means, covs,
                       {"family": "fine-permutation", "n_components": k, "width": width,
                        "permutation": _permutation(k).tolist()})


def _ring_spec(n_components: int, width: float) -> MixtureSpec:
    k = _check_dim(n_components, "n_components")
    if k < 2:
        raise ValueError(f"n_components: expected at least 2, got {k}")
    width = _check_positive(width, "width")
    t = 2.0 * np.pi * np.arange(k) / k
    means = np.stack([2.0 * np.cos(t), 2.0 * np.sin(t), 2.0 * np.sin(3.0 * t)], axis=1)
    covs = np.repeat(np.diag([width**2, width**2, 0.09])[None], k, axis=0)
    return MixtureSpec(f"fine-ring-2-1-{k}-{width}", f"Ring mixture 2 x 1 ({k})", 2,
                       (1.0 / k,) * k, means, covs,
                       {"family": "fine-ring", "n_components": k, "width": width,
                        "radius": 2.0, "y_sd": 0.3})


def _inliers_spec(dim: int, eps: float) -> MixtureSpec:
    dim = _check_dim(dim, "dim")
    eps = float(eps)
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps: expected a number in (0, 1), got {eps!r}")
    dense = np.full((2 * dim, 2 * dim), 0.6) + 0.4 * np.eye(2 * dim)
    covs = np.stack([dense, np.eye(2 * dim)])
    return MixtureSpec(f"fine-inliers-{dim}-{dim}-{eps}", f"Inliers and outliers {dim} x {dim}",
                       dim, (1.0 - eps, eps), np.zeros((2, 2 * dim)), covs,
                       {"family": "fine-inliers", "dim": dim, "eps": eps, "off_diag": 0.6})


def _concentric_spec(dim: int) -> MixtureSpec:
    dim = _check_dim(dim, "dim")
    covs = []
    for scale, rho in ((0.3, 0.9), (1.0, -0.6), (3.0, 0.3)):
        cov = np.eye(2 * dim)
        for i in range(dim):
            cov[i, dim + i] = cov[dim + i, i] = rho
        covs.append(scale**2 * cov)
    return MixtureSpec(f"fine-concentric-{dim}-{dim}", f"Concentric mixture {dim} x {dim}",
                       dim, (1 / 3, 1 / 3, 1 / 3), np.zeros((3, 2 * dim)), np.stack(covs),
                       {"family": "fine-concentric", "dim": dim, "scales": [0.3, 1.0, 3.0],
                        "correlations": [0.9, -0.6, 0.3]})


def _clusters_spec(dim: int, n_components: int, width: float) -> MixtureSpec:
    dim = _check_dim(dim, "dim")
    k = _check_dim(n_components, "n_components")
    if k < 2:
        raise ValueError(f"n_components: expected at least 2, got {k}")
    width = _check_positive(width, "width")
    means = np.random.default_rng(CLUSTER_MEANS_SEED).standard_normal((k, 2 * dim))
    covs = np.repeat((width**2 * np.eye(2 * dim))[None], k, axis=0)
    return MixtureSpec(f"fine-clusters-{dim}-{dim}-{k}-{width}",
                       f"Narrow clusters {dim} x {dim} ({k})", dim, (1.0 / k,) * k, means, covs,
                       {"family": "fine-clusters", "dim": dim, "n_components": k,
                        "width": width, "means_seed": CLUSTER_MEANS_SEED})


# ---------------------------------------------------------------------- constructors


@_with_id(_x_spec)
def fine_x(rho: float = 0.9) -> Task:
    """``fine-x-1-1-{rho}``: 1/2 N(0, [[1, rho], [rho, 1]]) + 1/2 N(0, [[1, -rho], [-rho, 1]])."""
    return _task(_x_spec, rho)


@_with_id(_permutation_spec)
def fine_permutation(n_components: int = 4, width: float = 0.1) -> Task:
    """``fine-permutation-1-1-{K}-{width}``: K components N((k, pi(k)), width^2 I)."""
    return _task(_permutation_spec, n_components, width)


@_with_id(_ring_spec)
def fine_ring(n_components: int = 12, width: float = 0.1) -> Task:
    """``fine-ring-2-1-{K}-{width}``: x on a ring of K narrow components, y per component."""
    return _task(_ring_spec, n_components, width)


@_with_id(_inliers_spec)
def fine_inliers(dim: int = 5, eps: float = 0.2) -> Task:
    """``fine-inliers-{d}-{d}-{eps}``: (1 - eps) N(0, dense 0.6) + eps N(0, I)."""
    return _task(_inliers_spec, dim, eps)


@_with_id(_concentric_spec)
def fine_concentric(dim: int = 3) -> Task:
    """``fine-concentric-{d}-{d}``: three zero-mean components of scales 0.3, 1, 3."""
    return _task(_concentric_spec, dim)


@_with_id(_clusters_spec)
def fine_clusters(dim: int = 5, n_components: int = 8, width: float = 0.2) -> Task:
    """``fine-clusters-{d}-{d}-{K}-{width}``: K narrow round clusters at N(0, I) means."""
    return _task(_clusters_spec, dim, n_components, width)
