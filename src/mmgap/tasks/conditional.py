"""Conditional-MI tasks: samplers of (x, y, z) whose I(X; Y | Z) is known exactly.

Every task here has ``quantity == "cmi"``; ``task.sample(n, seed)`` returns ``(x, y, z)``
and ``task.truth`` (= ``task.mutual_information``) is I(X; Y | Z) in nats. The joint
Gaussian families are written as a covariance over (x, y, z) in that order and sampled
through its Cholesky factor; their truth is :func:`~mmgap.tasks.truth.gaussian_cmi` of it.

Families (ids use ``str`` of the parameters, as the MI families do):

* ``cmi_gaussian_sparse``  ``cmi-gauss-sparse-{dx}-{dy}-{dz}-{n}-{rho}-{a}``:
  (X, Y) = W Z + E, Z ~ N(0, I), E ~ N(0, S) where S is the identity except n pairs
  corr(E_x_i, E_y_i) = rho, and W sends every coordinate of x and of y to one coordinate of
  z (round robin: x_i and y_i on z_{i mod dz}) with weight a. I(X; Y | Z) = I(E_x; E_y)
  = -n/2 log(1 - rho^2); the marginal I(X; Y) is larger (Z is a common cause too).
* ``cmi_gaussian_dense``   ``cmi-gauss-dense-{dx}-{dy}-{dz}-{c}-{a}``: the same with S
  equicorrelated (every off-diagonal entry c) and a dense W (each row a cosine pattern of
  norm about a over all dz coordinates of z).
* ``cmi_common_cause``     ``cmi-common-cause-{dx}-{dy}-{dz}-{a}``: X = W_x Z + E_x,
  Y = W_y Z + E_y with independent noises: I(X; Y) > 0 but I(X; Y | Z) = 0.
* ``cmi_collider``         ``cmi-collider-{d}-{sigma}``: X, Y ~ N(0, I_d) independent and
  Z = X + Y + sigma N: I(X; Y) = 0 but I(X; Y | Z) = -d/2 log(1 - 1/(1 + sigma^2)^2).
* ``cmi_chain``            ``cmi-chain-{d}-{a}-{b}``: X ~ N(0, I_d) -> Z = a X + N ->
  Y = b Z + N': I(X; Y) > 0 but I(X; Y | Z) = 0.
* ``cmi_student``          ``cmi-student-{dx}-{dy}-{dz}-{n}-{rho}-{a}-{df}``: a multivariate
  t whose dispersion is the covariance of ``cmi_gaussian_sparse``;
  :func:`~mmgap.tasks.truth.student_t_cmi` (Gaussian part plus the exact t corrections).
* ``cmi_discrete_z``       ``cmi-discrete-z-{d}-{d}-{K}-{rho}-{m}``: Z uniform on K labels
  (int64, shape (n,)); given Z = k, (X, Y) ~ N(m k 1, S_k) with all d pairs correlated by
  rho_k = rho (k + 1) / K (-1)^k. I(X; Y | Z) = (1/K) sum_k -d/2 log(1 - rho_k^2).

Plus :func:`gaussian_task_cov`, the joint covariance of a plain Gaussian MI or CMI task (for
pointwise truths, :func:`~mmgap.tasks.truth.gaussian_pointwise_mi`).
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from mmgap.tasks import families as fam
from mmgap.tasks.task import Task
from mmgap.tasks.truth import gaussian_cmi, gaussian_mi, student_t_cmi

__all__ = [
    "cmi_gaussian_sparse",
    "cmi_gaussian_dense",
    "cmi_common_cause",
    "cmi_collider",
    "cmi_chain",
    "cmi_student",
    "cmi_discrete_z",
    "cmi_sparse_covariance",
    "cmi_dense_covariance",
    "collider_covariance",
    "chain_covariance",
    "discrete_z_correlations",
    "gaussian_task_cov",
]

# |I| below this for a structurally zero CMI is rounding; the truth is stored as exactly 0.
_ZERO_TOL = 1e-9


# ---------------------------------------------------------------------------- checks


def _check_count(value, name: str) -> int:
    """An integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return int(value)


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


# -------------------------------------------------------------------------- samplers


def _sample_gaussian_xyz(n, rng, cholesky, dim_x, dim_y):
    v = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    return v[:, :dim_x], v[:, dim_x : dim_x + dim_y], v[:, dim_x + dim_y :]


def _sample_student_xyz(n, rng, cholesky, dim_x, dim_y, df):
    v = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    v /= np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
    return v[:, :dim_x], v[:, dim_x : dim_x + dim_y], v[:, dim_x + dim_y :]


def _sample_discrete_z(n, rng, choleskys, means, dim_x):
    labels = rng.integers(choleskys.shape[0], size=n)
    eps = rng.standard_normal((n, choleskys.shape[1]))
    v = np.empty_like(eps)
    for k in range(choleskys.shape[0]):
        rows = labels == k
        v[rows] = eps[rows] @ choleskys[k].T + means[k]
    return v[:, :dim_x], v[:, dim_x:], labels


# --------------------------------------------------------------- covariance builders


def _round_robin_loadings(dim_x: int, dim_y: int, dim_z: int, loading: float) -> np.ndarray:
    """W of shape (dim_x + dim_y, dim_z): x_i -> z_{i mod dz}, y_j -> z_{j mod dz}."""
    w = np.zeros((dim_x + dim_y, dim_z))
    for i in range(dim_x):
        w[i, i % dim_z] = loading
    for j in range(dim_y):
        w[dim_x + j, j % dim_z] = loading
    return w


def _dense_loadings(dim_x: int, dim_y: int, dim_z: int, loading: float) -> np.ndarray:
    """W of shape (dim_x + dim_y, dim_z), ``W_ij = a sqrt(2/dz) cos(pi (i + 1/2)(j + 1/2)/dz)``
    (rows of a DCT-IV pattern: every coordinate of x and y mixes all of z)."""
    i = np.arange(dim_x + dim_y)[:, None] + 0.5
    j = np.arange(dim_z)[None, :] + 0.5
    return loading * np.sqrt(2.0 / dim_z) * np.cos(np.pi * i * j / dim_z)


def _latent_covariance(residual: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """Covariance of (x, y, z) for (x, y) = W z + e, z ~ N(0, I), e ~ N(0, residual)."""
    dim_z = loadings.shape[1]
    top = np.hstack([loadings @ loadings.T + residual, loadings])
    bottom = np.hstack([loadings.T, np.eye(dim_z)])
    return np.vstack([top, bottom])


def cmi_sparse_covariance(
    dim_x: int, dim_y: int, dim_z: int, n_interacting: int, correlation: float, loading: float
) -> np.ndarray:
    """Covariance over (x, y, z) of :func:`cmi_gaussian_sparse`."""
    residual = np.eye(dim_x + dim_y)
    for i in range(n_interacting):
        residual[i, dim_x + i] = residual[dim_x + i, i] = correlation
    return _latent_covariance(residual, _round_robin_loadings(dim_x, dim_y, dim_z, loading))


def cmi_dense_covariance(
    dim_x: int, dim_y: int, dim_z: int, off_diag: float, loading: float
) -> np.ndarray:
    """Covariance over (x, y, z) of :func:`cmi_gaussian_dense`."""
    residual = fam.dense_covariance(dim_x, dim_y, off_diag)
    return _latent_covariance(residual, _dense_loadings(dim_x, dim_y, dim_z, loading))


def collider_covariance(dim: int, noise: float) -> np.ndarray:
    """Covariance over (x, y, z) for X, Y ~ N(0, I_d) independent, Z = X + Y + noise N."""
    eye = np.eye(dim)
    zero = np.zeros((dim, dim))
    return np.block(
        [[eye, zero, eye], [zero, eye, eye], [eye, eye, (2.0 + noise**2) * eye]]
    )


def chain_covariance(dim: int, a: float, b: float) -> np.ndarray:
    """Covariance over (x, y, z) for X ~ N(0, I_d), Z = a X + N, Y = b Z + N'
    (N, N' ~ N(0, I_d) independent)."""
    eye = np.eye(dim)
    var_z = a**2 + 1.0
    return np.block(
        [
            [eye, a * b * eye, a * eye],
            [a * b * eye, (b**2 * var_z + 1.0) * eye, b * var_z * eye],
            [a * eye, b * var_z * eye, var_z * eye],
        ]
    )


def discrete_z_correlations(n_classes: int, max_correlation: float) -> np.ndarray:
    """rho_k = max_correlation (k + 1) / K (-1)^k for k = 0..K-1 (shape (K,))."""
    k = np.arange(n_classes)
    return max_correlation * (k + 1) / n_classes * (-1.0) ** k


# ------------------------------------------------------------------ task builders


def _gaussian_cmi_task(task_id, name, covariance, dim_x, dim_y, params, zero=False) -> Task:
    truth = gaussian_cmi(covariance, dim_x, dim_y)
    if zero:
        if abs(truth) > _ZERO_TOL:  # pragma: no cover - a bug in a builder
            raise RuntimeError(f"task {task_id!r}: expected I(X;Y|Z) = 0, got {truth}")
        truth = 0.0
    return Task(
        id=task_id,
        dim_x=dim_x,
        dim_y=dim_y,
        dim_z=covariance.shape[0] - dim_x - dim_y,
        quantity="cmi",
        mutual_information=truth,
        sampler=functools.partial(
            _sample_gaussian_xyz,
            cholesky=np.linalg.cholesky(covariance),
            dim_x=dim_x,
            dim_y=dim_y,
        ),
        params=params,
        name=name,
    )


def _check_sparse(dim_x, dim_y, dim_z, n_interacting, correlation, loading):
    dim_x, dim_y = fam._check_dim(dim_x, "dim_x"), fam._check_dim(dim_y, "dim_y")
    dim_z = fam._check_dim(dim_z, "dim_z")
    n_interacting = _check_count(n_interacting, "n_interacting")
    if n_interacting > min(dim_x, dim_y):
        raise ValueError(
            f"n_interacting: expected at most min(dim_x, dim_y) = {min(dim_x, dim_y)}, "
            f"got {n_interacting}"
        )
    correlation = fam._check_correlation(correlation, "correlation")
    loading = _check_real(loading, "loading")
    return dim_x, dim_y, dim_z, n_interacting, correlation, loading


def cmi_gaussian_sparse(
    dim_x: int,
    dim_y: int,
    dim_z: int,
    n_interacting: int = 2,
    correlation: float = 0.6,
    loading: float = 1.0,
) -> Task:
    """``cmi-gauss-sparse-{dim_x}-{dim_y}-{dim_z}-{n_interacting}-{correlation}-{loading}``.

    (X, Y) = W Z + E with Z ~ N(0, I_dz), W the round-robin loadings of weight ``loading``
    (x_i and y_i both on z_{i mod dz}), and E ~ N(0, S), S the identity except
    corr(E_x_i, E_y_i) = ``correlation`` for i < ``n_interacting``. Given Z the pair (X, Y)
    is (W Z + E), so I(X; Y | Z) = I(E_x; E_y) = -n/2 log(1 - rho^2) (0 when
    n_interacting = 0), while I(X; Y) is larger.
    """
    dim_x, dim_y, dim_z, n, rho, a = _check_sparse(
        dim_x, dim_y, dim_z, n_interacting, correlation, loading
    )
    return _gaussian_cmi_task(
        f"cmi-gauss-sparse-{dim_x}-{dim_y}-{dim_z}-{n}-{rho}-{a}",
        f"Gaussian CMI {dim_x} x {dim_y} | {dim_z} (sparse, {n} pairs)",
        cmi_sparse_covariance(dim_x, dim_y, dim_z, n, rho, a),
        dim_x,
        dim_y,
        {
            "family": "cmi-gauss-sparse",
            "dim_x": dim_x,
            "dim_y": dim_y,
            "dim_z": dim_z,
            "n_interacting": n,
            "correlation": rho,
            "loading": a,
        },
        zero=(n == 0 or rho == 0.0),
    )


def cmi_gaussian_dense(
    dim_x: int, dim_y: int, dim_z: int, off_diag: float = 0.5, loading: float = 1.0
) -> Task:
    """``cmi-gauss-dense-{dim_x}-{dim_y}-{dim_z}-{off_diag}-{loading}``.

    (X, Y) = W Z + E with Z ~ N(0, I_dz), W dense (``W_ij = a sqrt(2/dz)
    cos(pi (i + 1/2)(j + 1/2) / dz)``: every coordinate mixes all of z) and E ~ N(0, S),
    S with unit variances and every off-diagonal entry ``off_diag``.
    I(X; Y | Z) = I(E_x; E_y) (the ``multinormal-dense`` MI of S).
    """
    dim_x, dim_y = fam._check_dim(dim_x, "dim_x"), fam._check_dim(dim_y, "dim_y")
    dim_z = fam._check_dim(dim_z, "dim_z")
    off_diag = _check_real(off_diag, "off_diag")
    lowest = -1.0 / (dim_x + dim_y - 1)
    if not lowest < off_diag < 1:
        raise ValueError(
            f"off_diag: expected a number in ({lowest:.4g}, 1) for a positive-definite "
            f"covariance, got {off_diag!r}"
        )
    a = _check_real(loading, "loading")
    return _gaussian_cmi_task(
        f"cmi-gauss-dense-{dim_x}-{dim_y}-{dim_z}-{off_diag}-{a}",
        f"Gaussian CMI {dim_x} x {dim_y} | {dim_z} (dense)",
        cmi_dense_covariance(dim_x, dim_y, dim_z, off_diag, a),
        dim_x,
        dim_y,
        {
            "family": "cmi-gauss-dense",
            "dim_x": dim_x,
            "dim_y": dim_y,
            "dim_z": dim_z,
            "off_diag": off_diag,
            "loading": a,
        },
        zero=(off_diag == 0.0),
    )


def cmi_common_cause(dim_x: int, dim_y: int, dim_z: int, loading: float = 1.0) -> Task:
    """``cmi-common-cause-{dim_x}-{dim_y}-{dim_z}-{loading}``: Z -> X and Z -> Y.

    X = W_x Z + E_x, Y = W_y Z + E_y with round-robin loadings of weight ``loading`` and
    independent unit noises. I(X; Y | Z) = 0 exactly, while I(X; Y) > 0 (stored in
    ``params["mi_unconditional"]``): a test of an estimator's null.
    """
    dim_x, dim_y, dim_z, _, _, a = _check_sparse(dim_x, dim_y, dim_z, 0, 0.0, loading)
    if a == 0.0:
        raise ValueError("loading: expected a non-zero number (Z must cause X and Y)")
    cov = cmi_sparse_covariance(dim_x, dim_y, dim_z, 0, 0.0, a)
    return _gaussian_cmi_task(
        f"cmi-common-cause-{dim_x}-{dim_y}-{dim_z}-{a}",
        f"Common cause {dim_x} x {dim_y} | {dim_z}",
        cov,
        dim_x,
        dim_y,
        {
            "family": "cmi-common-cause",
            "dim_x": dim_x,
            "dim_y": dim_y,
            "dim_z": dim_z,
            "loading": a,
            "mi_unconditional": gaussian_mi(cov[: dim_x + dim_y, : dim_x + dim_y], dim_x),
        },
        zero=True,
    )


def cmi_collider(dim: int = 1, noise: float = 0.5) -> Task:
    """``cmi-collider-{dim}-{noise}``: X, Y ~ N(0, I_d) independent, Z = X + Y + noise N.

    I(X; Y) = 0 but conditioning on the common effect couples them: per coordinate
    corr(X, Y | Z) = -1 / (1 + noise^2), so I(X; Y | Z) = -d/2 log(1 - 1/(1 + noise^2)^2).
    """
    dim = fam._check_dim(dim, "dim")
    noise = fam._check_positive(noise, "noise")
    return _gaussian_cmi_task(
        f"cmi-collider-{dim}-{noise}",
        f"Collider {dim} x {dim} | {dim}",
        collider_covariance(dim, noise),
        dim,
        dim,
        {"family": "cmi-collider", "dim": dim, "noise": noise, "mi_unconditional": 0.0},
    )


def cmi_chain(dim: int = 1, a: float = 1.0, b: float = 1.0) -> Task:
    """``cmi-chain-{dim}-{a}-{b}``: the Markov chain X -> Z -> Y,
    X ~ N(0, I_d), Z = a X + N, Y = b Z + N'. I(X; Y | Z) = 0 exactly; I(X; Y) > 0
    (``params["mi_unconditional"]``)."""
    dim = fam._check_dim(dim, "dim")
    a, b = _check_real(a, "a"), _check_real(b, "b")
    cov = chain_covariance(dim, a, b)
    return _gaussian_cmi_task(
        f"cmi-chain-{dim}-{a}-{b}",
        f"Chain {dim} -> {dim} -> {dim}",
        cov,
        dim,
        dim,
        {
            "family": "cmi-chain",
            "dim": dim,
            "a": a,
            "b": b,
            "mi_unconditional": gaussian_mi(cov[: 2 * dim, : 2 * dim], dim),
        },
        zero=True,
    )


def cmi_student(
    dim_x: int,
    dim_y: int,
    dim_z: int,
    df: float,
    n_interacting: int = 1,
    correlation: float = 0.6,
    loading: float = 1.0,
) -> Task:
    """``cmi-student-{dim_x}-{dim_y}-{dim_z}-{n_interacting}-{correlation}-{loading}-{df}``.

    A multivariate Student-t over (x, y, z) with ``df`` degrees of freedom whose dispersion
    matrix is the covariance of :func:`cmi_gaussian_sparse` with the same parameters. The
    shared scale makes X and Y dependent given Z even with no interacting pair; the truth
    is :func:`~mmgap.tasks.truth.student_t_cmi` (exact).
    """
    dim_x, dim_y, dim_z, n, rho, a = _check_sparse(
        dim_x, dim_y, dim_z, n_interacting, correlation, loading
    )
    df = fam._format_df(fam._check_positive(df, "df"))
    dispersion = cmi_sparse_covariance(dim_x, dim_y, dim_z, n, rho, a)
    return Task(
        id=f"cmi-student-{dim_x}-{dim_y}-{dim_z}-{n}-{rho}-{a}-{df}",
        dim_x=dim_x,
        dim_y=dim_y,
        dim_z=dim_z,
        quantity="cmi",
        mutual_information=student_t_cmi(dispersion, dim_x, dim_y, df),
        sampler=functools.partial(
            _sample_student_xyz,
            cholesky=np.linalg.cholesky(dispersion),
            dim_x=dim_x,
            dim_y=dim_y,
            df=df,
        ),
        params={
            "family": "cmi-student",
            "dim_x": dim_x,
            "dim_y": dim_y,
            "dim_z": dim_z,
            "n_interacting": n,
            "correlation": rho,
            "loading": a,
            "df": df,
        },
        name=f"Student-t CMI {dim_x} x {dim_y} | {dim_z} (dof={df})",
    )


def cmi_discrete_z(
    dim: int = 2, n_classes: int = 3, max_correlation: float = 0.8, mean_shift: float = 1.0
) -> Task:
    """``cmi-discrete-z-{dim}-{dim}-{n_classes}-{max_correlation}-{mean_shift}``.

    Z uniform on {0, ..., K-1} (an int64 label, shape (n,); ``z_discrete``). Given Z = k,
    (X, Y) ~ N(mean_shift k 1, S_k) in dimension dim + dim, S_k the identity except the
    dim pairs corr(X_i, Y_i) = rho_k = max_correlation (k + 1) / K (-1)^k
    (:func:`discrete_z_correlations`). Exactly
    ``I(X; Y | Z) = sum_k p_k I_k = (1/K) sum_k -dim/2 log(1 - rho_k^2)``.
    """
    dim = fam._check_dim(dim, "dim")
    n_classes = fam._check_dim(n_classes, "n_classes")
    if n_classes < 2:
        raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes}")
    rho_max = fam._check_correlation(max_correlation, "max_correlation")
    shift = _check_real(mean_shift, "mean_shift")
    rhos = discrete_z_correlations(n_classes, rho_max)
    covs = np.stack([np.eye(2 * dim) for _ in rhos])
    for k, rho in enumerate(rhos):
        for i in range(dim):
            covs[k, i, dim + i] = covs[k, dim + i, i] = rho
    per_class = np.array([gaussian_mi(c, dim) for c in covs])
    means = shift * np.arange(n_classes)[:, None] * np.ones((1, 2 * dim))
    return Task(
        id=f"cmi-discrete-z-{dim}-{dim}-{n_classes}-{rho_max}-{shift}",
        dim_x=dim,
        dim_y=dim,
        dim_z=1,
        z_discrete=True,
        quantity="cmi",
        mutual_information=float(per_class.mean()),
        sampler=functools.partial(
            _sample_discrete_z,
            choleskys=np.linalg.cholesky(covs),
            means=means,
            dim_x=dim,
        ),
        params={
            "family": "cmi-discrete-z",
            "dim": dim,
            "n_classes": n_classes,
            "max_correlation": rho_max,
            "mean_shift": shift,
            "class_correlations": [float(r) for r in rhos],
            "class_cmi": [float(v) for v in per_class],
        },
        name=f"Gaussian CMI {dim} x {dim} | label({n_classes})",
    )


# ------------------------------------------------------------- covariances of tasks


def gaussian_task_cov(task: Task) -> np.ndarray:
    """The joint covariance of a plain (untransformed) Gaussian task, zero means.

    Order (x, y) for MI tasks of the families ``bivariate-normal``, ``multinormal-dense``,
    ``multinormal-sparse`` and ``independent-normal``; order (x, y, z) for the Gaussian CMI
    families (``cmi-gauss-sparse``, ``cmi-gauss-dense``, ``cmi-common-cause``,
    ``cmi-collider``, ``cmi-chain``). Rebuilt from ``task.params`` (nothing large is stored
    in the task). ValueError for any other task, including transformed ones (their samples
    are not Gaussian).

    Use with :func:`~mmgap.tasks.truth.gaussian_pointwise_mi` for the pointwise MI of the
    samples of an MI task.
    """
    p = task.params
    if p.get("transforms"):
        raise ValueError(
            f"task: {task.id!r} is transformed ({[t.get('name') for t in p['transforms']]}); "
            "its samples are not Gaussian"
        )
    family = p.get("family")
    if family == "bivariate-normal":
        return fam.bivariate_normal_covariance(p["correlation"])
    if family == "multinormal-dense":
        return fam.dense_covariance(p["dim_x"], p["dim_y"], p["off_diag"])
    if family == "multinormal-sparse":
        return fam.sparse_covariance(p["dim_x"], p["dim_y"], p["n_interacting"], p["strength"])
    if family == "independent-normal":
        return np.eye(p["dim_x"] + p["dim_y"])
    if family == "cmi-gauss-sparse":
        return cmi_sparse_covariance(p["dim_x"], p["dim_y"], p["dim_z"], p["n_interacting"],
                                     p["correlation"], p["loading"])
    if family == "cmi-gauss-dense":
        return cmi_dense_covariance(p["dim_x"], p["dim_y"], p["dim_z"], p["off_diag"],
                                    p["loading"])
    if family == "cmi-common-cause":
        return cmi_sparse_covariance(p["dim_x"], p["dim_y"], p["dim_z"], 0, 0.0, p["loading"])
    if family == "cmi-collider":
        return collider_covariance(p["dim"], p["noise"])
    if family == "cmi-chain":
        return chain_covariance(p["dim"], p["a"], p["b"])
    raise ValueError(
        f"task: {task.id!r} (family {family!r}) is not a plain Gaussian task with a known "
        "covariance"
    )
