"""Base tasks (no transform applied): constructors returning :class:`~mmgap.tasks.task.Task`.

Task ids follow the Beyond-Normal benchmark (Czyz et al., NeurIPS 2023): a family name,
the dimensions, then the parameters formatted with ``str`` (floats keep their ``.0``).
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Tuple

import numpy as np

from mmgap.tasks import maps
from mmgap.tasks.task import Task
from mmgap.tasks.truth import (
    additive_uniform_mi,
    gaussian_label_mi_monte_carlo,
    gaussian_mi,
    student_t_mi,
)

# Bimodal marginals of Beyond-Normal: X ~ 0.3 N(0, 1) + 0.7 N(5, 1),
# Y ~ 0.5 N(-1, 1) + 0.5 N(3, 1).
BIMODAL_X = ((0.3, 0.7), (0.0, 5.0))
BIMODAL_Y = ((0.5, 0.5), (-1.0, 3.0))

# Monte Carlo truth of the discrete-label tasks: fixed seed and sample size.
LABEL_TRUTH_SEED = 20_250_924
LABEL_TRUTH_SAMPLES = 2**20


# ---------------------------------------------------------------------------- checks


def _check_dim(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _check_correlation(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not -1 < value < 1:
        raise ValueError(f"{name}: expected a number in (-1, 1), got {value!r}")
    return float(value)


def _format_df(df: float):
    """Degrees of freedom print as ints when whole (``student-identity-1-1-1``)."""
    return int(df) if float(df).is_integer() else float(df)


# -------------------------------------------------------------------------- samplers


def _split(xy: np.ndarray, dim_x: int) -> Tuple[np.ndarray, np.ndarray]:
    return xy[:, :dim_x], xy[:, dim_x:]


def _sample_multinormal(n, rng, cholesky, dim_x):
    z = rng.standard_normal((n, cholesky.shape[0]))
    return _split(z @ cholesky.T, dim_x)


def _sample_student(n, rng, cholesky, dim_x, df):
    z = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    scale = np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
    return _split(z / scale, dim_x)


def _sample_additive_uniform(n, rng, epsilon):
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    noise = rng.uniform(-epsilon, epsilon, size=(n, 1))
    return x, x + noise


def _sample_bimodal(n, rng, cholesky):
    z = rng.standard_normal((n, 2)) @ cholesky.T
    x = maps.normal_to_mixture(z[:, :1], *BIMODAL_X)
    y = maps.normal_to_mixture(z[:, 1:], *BIMODAL_Y)
    return x, y


def _sample_independent_normal(n, rng, dim_x, dim_y):
    return rng.standard_normal((n, dim_x)), rng.standard_normal((n, dim_y))


def _sample_gaussian_labels(n, rng, means):
    labels = rng.integers(means.shape[0], size=n)
    x = means[labels] + rng.standard_normal((n, means.shape[1]))
    return x, labels


# ------------------------------------------------------------------ Gaussian families


def _multinormal_task(task_id, name, covariance, dim_x, params) -> Task:
    return Task(
        id=task_id,
        dim_x=dim_x,
        dim_y=covariance.shape[0] - dim_x,
        mutual_information=gaussian_mi(covariance, dim_x),
        sampler=functools.partial(
            _sample_multinormal, cholesky=np.linalg.cholesky(covariance), dim_x=dim_x
        ),
        params=params,
        name=name,
    )


def bivariate_normal_covariance(correlation: float) -> np.ndarray:
    """[[1, rho], [rho, 1]]."""
    return np.array([[1.0, correlation], [correlation, 1.0]])


def bivariate_normal(correlation: float = 0.75) -> Task:
    """``1v1-normal-{correlation}``: standard bivariate normal with correlation rho;
    I = -1/2 log(1 - rho^2)."""
    rho = _check_correlation(correlation, "correlation")
    return _multinormal_task(
        f"1v1-normal-{rho}",
        "Bivariate normal 1 x 1",
        bivariate_normal_covariance(rho),
        1,
        {"family": "bivariate-normal", "correlation": rho},
    )


def dense_covariance(dim_x: int, dim_y: int, off_diag: float) -> np.ndarray:
    """Unit variances and the same correlation ``off_diag`` between every two coordinates."""
    n = dim_x + dim_y
    return np.full((n, n), off_diag) + (1.0 - off_diag) * np.eye(n)


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> Task:
    """``multinormal-dense-{dim_x}-{dim_y}-{off_diag}``: N(0, Sigma) with unit variances
    and every off-diagonal entry equal to ``off_diag`` (within and between X and Y)."""
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    off_diag = float(off_diag)
    lowest = -1.0 / (dim_x + dim_y - 1)
    if not lowest < off_diag < 1:
        raise ValueError(
            f"off_diag: expected a number in ({lowest:.4g}, 1) for a positive-definite "
            f"covariance, got {off_diag!r}"
        )
    return _multinormal_task(
        f"multinormal-dense-{dim_x}-{dim_y}-{off_diag}",
        f"Multinormal {dim_x} x {dim_y} (dense)",
        dense_covariance(dim_x, dim_y, off_diag),
        dim_x,
        {"family": "multinormal-dense", "dim_x": dim_x, "dim_y": dim_y, "off_diag": off_diag},
    )


def sparse_correlation(strength: float) -> float:
    """Correlation of an interacting pair in the sparse construction: s^2 / (1 + s^2)."""
    return strength**2 / (1.0 + strength**2)


def sparse_covariance(dim_x: int, dim_y: int, n_interacting: int, strength: float):
    """Correlation matrix of the sparse ("2-pair") multivariate normal of Beyond-Normal.

    Beyond-Normal builds it from a latent variable model with weight s = ``strength``:
    X_i = s Z_i + E_i and Y_i = s Z_i + F_i for i < ``n_interacting``, every other
    coordinate = s V + E with its own latent V, all latents i.i.d. N(0, 1); it then
    normalises the covariance to a correlation matrix. The result is the identity except
    corr(X_i, Y_i) = s^2 / (1 + s^2) for i < n_interacting.
    """
    cov = np.eye(dim_x + dim_y)
    rho = sparse_correlation(strength)
    for i in range(n_interacting):
        cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    return cov


def multinormal_sparse(
    dim_x: int, dim_y: int, n_interacting: int = 2, strength: float = 2.0
) -> Task:
    """``multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}``.

    Unit-variance normal where only the pairs (X_i, Y_i), i < n_interacting, are correlated,
    with correlation rho = s^2 / (1 + s^2) (see :func:`sparse_covariance`). Hence
    ``I = -n_interacting/2 log(1 - rho^2) = n_interacting/2 log((1 + s^2)^2 / (1 + 2 s^2))``,
    independent of the dimensions: 1.021651 nats for 2 pairs and s = 2 (Beyond-Normal's
    "2-pair" tasks). The high-MI tasks of the MMG paper are the same construction with
    s in {200, 650, 1100, 1550, 2000} (9.9035 ... 14.5087 nats).
    """
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    n_interacting = _check_dim(n_interacting, "n_interacting")
    if n_interacting > min(dim_x, dim_y):
        raise ValueError(
            f"n_interacting: expected at most min(dim_x, dim_y) = {min(dim_x, dim_y)}, "
            f"got {n_interacting}"
        )
    strength = _check_positive(strength, "strength")
    return _multinormal_task(
        f"multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}",
        f"Multinormal {dim_x} x {dim_y} (sparse, {n_interacting} pairs)",
        sparse_covariance(dim_x, dim_y, n_interacting, strength),
        dim_x,
        {
            "family": "multinormal-sparse",
            "dim_x": dim_x,
            "dim_y": dim_y,
            "n_interacting": n_interacting,
            "strength": strength,
            "correlation": sparse_correlation(strength),
        },
    )


def pair_correlation(pair_mi: float) -> float:
    """The correlation rho of a bivariate normal pair with I = -1/2 log(1 - rho^2) =
    ``pair_mi`` nats: ``sqrt(1 - exp(-2 pair_mi))``."""
    return float(np.sqrt(-np.expm1(-2.0 * pair_mi)))


# The largest MI one coupled pair may carry: the conditional sd of a pair is
# exp(-pair_mi), and float32 data (what the estimators train on) resolve about 1e-7
# relative, so 10 nats (sd 4.5e-5) keeps the structure well above rounding.
MAX_PAIR_MI = 10.0


def coupled_pairs(dim: int, n_pairs: int, mi: float) -> Task:
    """``coupled-pairs-{dim}-{n_pairs}-{mi}``: X, Y in R^dim, unit-variance normal, where
    the first ``n_pairs`` pairs (X_i, Y_i) share the correlation rho with
    ``n_pairs * (-1/2 log(1 - rho^2)) = mi`` and every other coordinate is independent
    noise. The many-coupled-dimensions family of issue 16 (k pairs out of d, k up to d,
    total MI up to 80 nats); at most :data:`MAX_PAIR_MI` nats per pair.
    """
    dim = _check_dim(dim, "dim")
    n_pairs = _check_dim(n_pairs, "n_pairs")
    if n_pairs > dim:
        raise ValueError(f"n_pairs: expected at most dim = {dim}, got {n_pairs}")
    mi = _check_positive(mi, "mi")
    if mi / n_pairs > MAX_PAIR_MI:
        raise ValueError(
            f"mi: expected at most {MAX_PAIR_MI} nats per pair ({MAX_PAIR_MI * n_pairs} for "
            f"{n_pairs} pairs), got {mi!r}"
        )
    rho = pair_correlation(mi / n_pairs)
    cov = np.eye(2 * dim)
    for i in range(n_pairs):
        cov[i, dim + i] = cov[dim + i, i] = rho
    task = _multinormal_task(
        f"coupled-pairs-{dim}-{n_pairs}-{mi}",
        f"Coupled pairs {dim} x {dim} ({n_pairs} pairs)",
        cov,
        dim,
        {"family": "coupled-pairs", "dim": dim, "n_pairs": n_pairs, "mi": mi,
         "correlation": rho},
    )
    # the closed form is exact; the determinant route loses digits at 1 - rho^2 ~ 1e-9
    return dataclasses.replace(task, mutual_information=mi)


def student_sparse(dim_x: int, dim_y: int, n_interacting: int, strength: float,
                   df: float) -> Task:
    """``student-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}-{df}``: a multivariate
    Student-t with ``df`` degrees of freedom whose dispersion is the sparse correlation
    matrix of :func:`multinormal_sparse` (pairs correlated by s^2 / (1 + s^2)). I = the
    Gaussian MI of the dispersion plus the closed-form Student-t correction
    (:func:`~mmgap.tasks.truth.student_t_mi`); the non-Gaussian version of the high-MI
    family (the shared scale couples every coordinate).
    """
    base = multinormal_sparse(dim_x, dim_y, n_interacting, strength)
    df = _format_df(_check_positive(df, "df"))
    dispersion = sparse_covariance(base.dim_x, base.dim_y, n_interacting, float(strength))
    return Task(
        id=f"student-sparse-{base.dim_x}-{base.dim_y}-{n_interacting}-{float(strength)}-{df}",
        dim_x=base.dim_x,
        dim_y=base.dim_y,
        mutual_information=student_t_mi(dispersion, base.dim_x, df),
        sampler=functools.partial(
            _sample_student, cholesky=np.linalg.cholesky(dispersion), dim_x=base.dim_x, df=df
        ),
        params={**base.params, "family": "student-sparse", "df": df},
        name=f"Student-t {base.dim_x} x {base.dim_y} (sparse, {n_interacting} pairs, dof={df})",
    )


def independent_normal(dim_x: int, dim_y: int) -> Task:
    """``independent-normal-{dim_x}-{dim_y}``: X ~ N(0, I), Y ~ N(0, I) independent; I = 0."""
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    return Task(
        id=f"independent-normal-{dim_x}-{dim_y}",
        dim_x=dim_x,
        dim_y=dim_y,
        mutual_information=0.0,
        sampler=functools.partial(_sample_independent_normal, dim_x=dim_x, dim_y=dim_y),
        params={"family": "independent-normal", "dim_x": dim_x, "dim_y": dim_y},
        name=f"Independent normal {dim_x} x {dim_y}",
    )


# ------------------------------------------------------------------ other families


def student_identity(dim_x: int, dim_y: int, df: float) -> Task:
    """``student-identity-{dim_x}-{dim_y}-{df}``: multivariate Student-t, identity
    dispersion, ``df`` degrees of freedom. X and Y are uncorrelated yet dependent through
    the shared scale; I = 0 (Gaussian part) + the closed-form correction
    :func:`~mmgap.tasks.truth.student_t_mi_correction`."""
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    df = _format_df(_check_positive(df, "df"))
    dispersion = np.eye(dim_x + dim_y)
    return Task(
        id=f"student-identity-{dim_x}-{dim_y}-{df}",
        dim_x=dim_x,
        dim_y=dim_y,
        mutual_information=student_t_mi(dispersion, dim_x, df),
        sampler=functools.partial(
            _sample_student, cholesky=np.linalg.cholesky(dispersion), dim_x=dim_x, df=df
        ),
        params={"family": "student-identity", "dim_x": dim_x, "dim_y": dim_y, "df": df},
        name=f"Student-t {dim_x} x {dim_y} (dof={df})",
    )


def additive_uniform(epsilon: float) -> Task:
    """``1v1-additive-{epsilon}``: X ~ U(0, 1), Y = X + N, N ~ U(-epsilon, epsilon)."""
    epsilon = _check_positive(epsilon, "epsilon")
    return Task(
        id=f"1v1-additive-{epsilon}",
        dim_x=1,
        dim_y=1,
        mutual_information=additive_uniform_mi(epsilon),
        sampler=functools.partial(_sample_additive_uniform, epsilon=epsilon),
        params={"family": "additive-uniform", "epsilon": epsilon},
        name=f"Uniform 1 x 1 (additive noise={epsilon})",
    )


def bimodal(correlation: float = 0.75) -> Task:
    """``1v1-bimodal-{correlation}``: a bivariate normal with correlation rho whose
    marginals are pushed, each by its own increasing map, to bimodal mixtures
    X ~ 0.3 N(0, 1) + 0.7 N(5, 1) and Y ~ 0.5 N(-1, 1) + 0.5 N(3, 1) (a Gaussian copula).

    Beyond-Normal writes the map as ``icdf_mixture(normal_cdf(z))``; here it is the same
    function computed as one bisection (:func:`~mmgap.tasks.maps.normal_to_mixture`),
    which stays accurate in the tails. I = -1/2 log(1 - rho^2).
    """
    rho = _check_correlation(correlation, "correlation")
    covariance = bivariate_normal_covariance(rho)
    return Task(
        id=f"1v1-bimodal-{rho}",
        dim_x=1,
        dim_y=1,
        mutual_information=gaussian_mi(covariance, 1),
        sampler=functools.partial(_sample_bimodal, cholesky=np.linalg.cholesky(covariance)),
        params={
            "family": "bimodal",
            "correlation": rho,
            "mixture_x": {"weights": list(BIMODAL_X[0]), "means": list(BIMODAL_X[1])},
            "mixture_y": {"weights": list(BIMODAL_Y[0]), "means": list(BIMODAL_Y[1])},
        },
        name="Bimodal 1 x 1",
    )


def label_means(dim_x: int, n_classes: int, scale: float) -> np.ndarray:
    """Class means ``scale * e_k`` (first n_classes basis vectors), shape (n_classes, dim_x)."""
    return scale * np.eye(n_classes, dim_x)


@functools.lru_cache(maxsize=None)
def _label_truth(dim_x: int, n_classes: int, scale: float) -> Tuple[float, float]:
    return gaussian_label_mi_monte_carlo(
        label_means(dim_x, n_classes, scale), LABEL_TRUTH_SAMPLES, LABEL_TRUTH_SEED
    )


def discrete_normal_id(dim_x: int, n_classes: int, scale: float) -> str:
    """The id of :func:`discrete_normal` (known without computing its Monte Carlo truth)."""
    return f"discrete-normal-{int(dim_x)}-{int(n_classes)}-{float(scale)}"


def discrete_normal(dim_x: int, n_classes: int, scale: float) -> Task:
    """``discrete-normal-{dim_x}-{n_classes}-{scale}``: a discrete label and a Gaussian.

    Y uniform on {0, ..., n_classes - 1} (int64, shape (n,)); X | Y = k ~ N(scale e_k, I)
    in dimension dim_x >= n_classes (class means are scaled basis vectors, pairwise
    distance scale * sqrt(2)). The truth is a Monte Carlo integral with the exact
    posterior, ``log K - E[H(Y | X)]``, on 2**20 draws with a fixed seed (deterministic,
    cached per process); its standard error is ``mutual_information_stderr``.
    """
    dim_x = _check_dim(dim_x, "dim_x")
    n_classes = _check_dim(n_classes, "n_classes")
    if not 2 <= n_classes <= dim_x:
        raise ValueError(f"n_classes: expected an integer in [2, dim_x={dim_x}], got {n_classes}")
    scale = _check_positive(scale, "scale")
    mi, stderr = _label_truth(dim_x, n_classes, scale)
    return Task(
        id=discrete_normal_id(dim_x, n_classes, scale),
        dim_x=dim_x,
        dim_y=1,
        mutual_information=mi,
        sampler=functools.partial(
            _sample_gaussian_labels, means=label_means(dim_x, n_classes, scale)
        ),
        params={
            "family": "discrete-normal",
            "dim_x": dim_x,
            "n_classes": n_classes,
            "scale": scale,
            "truth_seed": LABEL_TRUTH_SEED,
            "truth_samples": LABEL_TRUTH_SAMPLES,
        },
        name=f"Gaussian classes {dim_x} x label({n_classes})",
        mutual_information_stderr=stderr,
        y_discrete=True,
    )
