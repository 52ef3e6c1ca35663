"""Entropy tasks: samplers of x whose differential entropy h(X) is known exactly (nats).

Every task here has ``quantity == "entropy"`` and ``dim_y == 0``; ``task.sample(n, seed)``
returns the 1-tuple ``(x,)`` and ``task.truth`` (= ``task.mutual_information``) is h(X) in
nats. Unlike MI, entropy changes under maps and scalings, and it may be negative.

Families:

* ``entropy_gaussian``   ``entropy-gauss-{d}-{rho}-{r}-{mean}``: N(mean 1, Sigma),
  ``Sigma = D R D`` with R_ij = rho^|i - j| (AR(1) correlation) and D = diag(s_j),
  log s_j spread evenly over [-r/2, r/2] (s = 1 when d = 1).
  h = 1/2 log det(2 pi e Sigma).
* ``entropy_uniform``    ``entropy-uniform-{d}``: uniform on a centred box with side
  lengths cycling through (0.5, 3, 1.5, 0.8, 2); h = sum_j log w_j.
* ``entropy_student``    ``entropy-student-{d}-{rho}-{r}-{df}``: multivariate Student-t
  with the Gaussian family's Sigma as dispersion;
  h = h(t_df(0, I_d)) + 1/2 log det Sigma (closed form,
  :func:`~mmgap.tasks.truth.student_t_entropy_dispersion`).
* ``transform_entropy_task(task, name)``, id ``{name}-{task.id}``: a coordinatewise map f of
  a Gaussian-family task, h(f(X)) = h(X) + sum_j E log|f'(X_j)| with the closed forms of
  :func:`~mmgap.tasks.truth.gaussian_expected_log_derivative`:
  ``half_cube`` (x sqrt|x|; mean 0), ``exp`` (the log-normal; E log f' = mean) and
  ``normal_cdf`` (a Gaussian copula on (0, 1)^d; uniform when Sigma = I).
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from mmgap.tasks import families as fam
from mmgap.tasks import maps
from mmgap.tasks.task import Task
from mmgap.tasks.truth import (
    gaussian_entropy,
    gaussian_expected_log_derivative,
    student_t_entropy_dispersion,
    uniform_box_entropy,
)

__all__ = [
    "entropy_gaussian",
    "entropy_uniform",
    "entropy_student",
    "transform_entropy_task",
    "entropy_covariance",
    "uniform_widths",
    "ENTROPY_MAPS",
]

UNIFORM_WIDTH_CYCLE = (0.5, 3.0, 1.5, 0.8, 2.0)


def _exp(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


# name -> the coordinatewise map of transform_entropy_task (module-level, so tasks pickle).
ENTROPY_MAPS = {
    "half_cube": maps.half_cube,
    "exp": _exp,
    "normal_cdf": maps.normal_cdf,
}


# -------------------------------------------------------------------------- samplers


def _sample_gaussian_x(n, rng, cholesky, mean):
    return (rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T + mean,)


def _sample_student_x(n, rng, cholesky, df):
    v = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    return (v / np.sqrt(rng.chisquare(df, size=(n, 1)) / df),)


def _sample_uniform_x(n, rng, widths):
    return (rng.uniform(-0.5, 0.5, size=(n, widths.size)) * widths,)


def _sample_mapped_x(n, rng, base_sampler, fn):
    (x,) = base_sampler(n, rng)
    return (fn(x),)


# ------------------------------------------------------------------------- builders


def entropy_covariance(dim: int, correlation: float, log_scale_range: float) -> np.ndarray:
    """``D R D`` with R_ij = correlation^|i - j| and log D_jj evenly spread over
    [-log_scale_range / 2, log_scale_range / 2] (D = 1 when dim = 1). Shape (dim, dim)."""
    idx = np.arange(dim)
    corr = correlation ** np.abs(idx[:, None] - idx[None, :])
    if dim == 1:
        log_s = np.zeros(1)
    else:
        log_s = log_scale_range * (idx / (dim - 1) - 0.5)
    s = np.exp(log_s)
    return corr * s[:, None] * s[None, :]


def _check_family(dim, correlation, log_scale_range):
    dim = fam._check_dim(dim, "dim")
    correlation = fam._check_correlation(correlation, "correlation")
    if isinstance(log_scale_range, bool) or not isinstance(log_scale_range, (int, float)) \
            or not 0 <= log_scale_range < 50:
        raise ValueError(
            f"log_scale_range: expected a number in [0, 50), got {log_scale_range!r}"
        )
    return dim, correlation, float(log_scale_range)


def entropy_gaussian(
    dim: int, correlation: float = 0.5, log_scale_range: float = 1.0, mean: float = 0.0
) -> Task:
    """``entropy-gauss-{dim}-{correlation}-{log_scale_range}-{mean}``: X ~ N(mean 1, Sigma)
    with Sigma = :func:`entropy_covariance`; h = 1/2 log det(2 pi e Sigma)."""
    dim, rho, r = _check_family(dim, correlation, log_scale_range)
    if isinstance(mean, bool) or not isinstance(mean, (int, float)) or not np.isfinite(mean):
        raise ValueError(f"mean: expected a finite number, got {mean!r}")
    mean = float(mean)
    cov = entropy_covariance(dim, rho, r)
    return Task(
        id=f"entropy-gauss-{dim}-{rho}-{r}-{mean}",
        dim_x=dim,
        dim_y=0,
        quantity="entropy",
        mutual_information=gaussian_entropy(cov),
        sampler=functools.partial(
            _sample_gaussian_x, cholesky=np.linalg.cholesky(cov), mean=mean
        ),
        params={
            "family": "entropy-gauss",
            "dim": dim,
            "correlation": rho,
            "log_scale_range": r,
            "mean": mean,
        },
        name=f"Gaussian entropy {dim}-d",
    )


def uniform_widths(dim: int) -> np.ndarray:
    """Side lengths of :func:`entropy_uniform`: (0.5, 3, 1.5, 0.8, 2) repeated, shape (dim,)."""
    return np.array([UNIFORM_WIDTH_CYCLE[j % len(UNIFORM_WIDTH_CYCLE)] for j in range(dim)])


def entropy_uniform(dim: int) -> Task:
    """``entropy-uniform-{dim}``: X uniform on the centred box with side lengths
    :func:`uniform_widths`; h = sum_j log w_j."""
    dim = fam._check_dim(dim, "dim")
    widths = uniform_widths(dim)
    return Task(
        id=f"entropy-uniform-{dim}",
        dim_x=dim,
        dim_y=0,
        quantity="entropy",
        mutual_information=uniform_box_entropy(widths),
        sampler=functools.partial(_sample_uniform_x, widths=widths),
        params={"family": "entropy-uniform", "dim": dim, "widths": widths.tolist()},
        name=f"Uniform box entropy {dim}-d",
    )


def entropy_student(
    dim: int, df: float, correlation: float = 0.5, log_scale_range: float = 1.0
) -> Task:
    """``entropy-student-{dim}-{correlation}-{log_scale_range}-{df}``: a multivariate
    Student-t with dispersion :func:`entropy_covariance` and ``df`` degrees of freedom
    (zero location); h = h(t_df(0, I)) + 1/2 log det Sigma."""
    dim, rho, r = _check_family(dim, correlation, log_scale_range)
    df = fam._format_df(fam._check_positive(df, "df"))
    disp = entropy_covariance(dim, rho, r)
    return Task(
        id=f"entropy-student-{dim}-{rho}-{r}-{df}",
        dim_x=dim,
        dim_y=0,
        quantity="entropy",
        mutual_information=student_t_entropy_dispersion(disp, df),
        sampler=functools.partial(_sample_student_x, cholesky=np.linalg.cholesky(disp), df=df),
        params={
            "family": "entropy-student",
            "dim": dim,
            "correlation": rho,
            "log_scale_range": r,
            "df": df,
        },
        name=f"Student-t entropy {dim}-d (dof={df})",
    )


def transform_entropy_task(task: Task, name: str) -> Task:
    """``{name}-{task.id}``: the coordinatewise map ``name`` applied to a Gaussian entropy
    task (:func:`entropy_gaussian`, not already transformed).

    h(f(X)) = h(X) + sum_j E log|f'(X_j)|, X_j ~ N(mean, Sigma_jj), with the closed forms of
    :func:`~mmgap.tasks.truth.gaussian_expected_log_derivative`. ``name`` is one of
    :data:`ENTROPY_MAPS`: ``"half_cube"`` (needs mean 0), ``"exp"``, ``"normal_cdf"``.
    """
    if name not in ENTROPY_MAPS:
        raise ValueError(f"name: expected one of {list(ENTROPY_MAPS)}, got {name!r}")
    p = task.params
    if task.quantity != "entropy" or p.get("family") != "entropy-gauss" or p.get("transforms"):
        raise ValueError(
            f"task: expected an untransformed entropy-gauss task, got {task.id!r}"
        )
    cov = entropy_covariance(p["dim"], p["correlation"], p["log_scale_range"])
    std = np.sqrt(np.diag(cov))
    shift = gaussian_expected_log_derivative(name, np.full(p["dim"], p["mean"]), std)
    params = copy.deepcopy(p)
    params["transforms"] = [{"name": name}]
    return Task(
        id=f"{name}-{task.id}",
        dim_x=task.dim_x,
        dim_y=0,
        quantity="entropy",
        mutual_information=task.mutual_information + float(np.sum(shift)),
        sampler=functools.partial(_sample_mapped_x, base_sampler=task.sampler,
                                  fn=ENTROPY_MAPS[name]),
        params=params,
        name=f"{name} @ {task.name}",
    )
