"""Ground truth for MI matrices and feature rankings (issue 14).

Two kinds of table whose every pairwise mutual information is known, for checking
``mmgap.mi_matrix(table)`` (I(X_i; X_j) for all pairs of columns) and
``mmgap.mutual_info_regression(x, y)`` (I(X_j; y) for each feature):

* :func:`gaussian_graphical_table` -> :class:`MatrixTask`: p columns from a Gaussian
  graphical model (a sparse linear structural equation model over unit-variance latents,
  so a sparse precision matrix), some columns pushed through strictly monotone maps
  (``exp``, ``cube``, ``asinh``, ``sigmoid``) and some cut by thresholds into 2-5 ordered
  levels. ``truth[i, j]`` = I(X_i; X_j) in nats (diagonal NaN).
* :func:`feature_target_task` -> :class:`FeatureTargetTask`: features X (informative,
  redundant, irrelevant; some monotone-transformed) and a target y = w . X + noise, or its
  class label after thresholding; ``truth[j]`` = I(X_j; y).

Every pair is a pair of functions of a standard bivariate normal (U, V) with correlation
rho: each side is either a strictly monotone map (which changes no MI) or the level of the
latent among ordered thresholds. :func:`latent_gaussian_mi` gives its MI:

* continuous-continuous: ``-1/2 log(1 - rho^2)`` (closed form);
* discrete-continuous: ``H(D) - E_V[H(D | V)]`` with
  ``P(D = k | V = v) = Phi((t_{k+1} - rho v) / s) - Phi((t_k - rho v) / s)``,
  ``s = sqrt(1 - rho^2)``; the expectation over V ~ N(0, 1) by adaptive quadrature
  (``scipy.integrate.quad``, breakpoints at t_k / rho, absolute tolerance 1e-13);
* discrete-discrete: ``sum_ab P_ab log(P_ab / (P_a P_b))`` over the bivariate-normal
  rectangle probabilities ``P_ab``, each a 1-D integral
  ``int_{t_a}^{t_{a+1}} phi(u) P(s_b < V <= s_{b+1} | U = u) du`` by adaptive quadrature.

Quadrature truths are exact to about 1e-12 nats (the quadrature's own error estimate is
stored in ``truth_stderr``; it is a numerical-accuracy estimate, not a Monte Carlo standard
error); closed forms have ``truth_stderr`` 0. Quadrature is cut at |latent| <= 12, which
drops a normal mass below 4e-33.

numpy/scipy only; samplers are module-level functions bound with ``functools.partial`` so
that tasks pickle. pandas is optional (:meth:`MatrixTask.as_frame` imports it on call).
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import integrate
from scipy.special import entr, expit, ndtr, ndtri, rel_entr

from mmgap.tasks import families as fam

# Latent values beyond +-_LIMIT are ignored by the quadratures (normal mass < 4e-33).
_LIMIT = 12.0
_EPSABS = 1e-13
_EPSREL = 1e-12

# Strictly increasing maps of one column (names are stored in params and in the samplers).
MONOTONE_MAPS = ("identity", "exp", "cube", "asinh", "sigmoid")

# Construction constants of the graphical model and the feature-target task.
_R2_RANGE = (0.3, 0.97)  # explained variance of each non-root latent given its parents
_WEIGHT_RANGE = (0.5, 1.0)  # raw magnitude of each regression coefficient (before scaling)
_MIN_LEVEL_PROB = 0.05  # smallest probability of one level of a discretised column
_LEVELS_RANGE = (2, 5)  # number of levels of a discretised column (inclusive)
_REDUNDANT_R2_RANGE = (0.3, 0.9)  # explained variance of a redundant feature
_TARGET_WEIGHT_RANGE = (0.2, 1.0)  # raw magnitude of each weight of the target


# ------------------------------------------------------------------------ checks


def _check_int(value, name: str, low: int, high: Optional[int] = None) -> int:
    bad = isinstance(value, bool) or not isinstance(value, numbers.Integral)
    if bad or value < low or (high is not None and value > high):
        expected = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return int(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _check_unit_interval(value, name: str, *, closed: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and ((0.0 <= value <= 1.0) if closed else (0.0 < value < 1.0))
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return float(value)


def _check_thresholds(thresholds, name: str) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(
            f"{name}: expected a non-empty 1-D array of finite, strictly increasing "
            f"thresholds, got {thresholds!r}"
        )
    return t


def _check_seed(seed, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {seed!r}")
    return int(seed)


def _check_n_samples(n_samples) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) \
            or n_samples < 1:
        raise ValueError(f"n_samples: expected a positive integer, got {n_samples!r}")
    return int(n_samples)


# ---------------------------------------------------------------- column maps


def _cube(x: np.ndarray) -> np.ndarray:
    return x * x * x


def _identity(x: np.ndarray) -> np.ndarray:
    return x


_MAP_FUNCTIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": _identity,
    "exp": np.exp,
    "cube": _cube,
    "asinh": np.arcsinh,
    "sigmoid": expit,
}


def _apply_column(latent: np.ndarray, map_name: Optional[str],
                  thresholds: Optional[np.ndarray]) -> np.ndarray:
    """A column from its latent: the level among ``thresholds`` (0 .. K-1, as float) when
    given, else the monotone map ``map_name``."""
    if thresholds is not None:
        # level k  <=>  t_{k-1} < latent <= t_k
        return np.searchsorted(thresholds, latent, side="left").astype(np.float64)
    return _MAP_FUNCTIONS[map_name](latent)


def _assign_maps(n_columns: int, transforms: bool, rng: np.random.Generator) -> List[str]:
    """Balanced random assignment of :data:`MONOTONE_MAPS` (identity when not
    ``transforms``)."""
    if not transforms:
        return ["identity"] * n_columns
    cycle = np.resize(np.array(MONOTONE_MAPS), n_columns)
    return [str(name) for name in rng.permutation(cycle)]


# ------------------------------------------------------- MI of latent-Gaussian pairs


def _interval_prob(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """P(lower < G <= upper) for G ~ N(0, 1), elementwise, accurate in both tails (the
    upper tail uses Phi(-lower) - Phi(-upper), which does not cancel)."""
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    upper_tail = ndtr(-lower) - ndtr(-upper)
    lower_tail = ndtr(upper) - ndtr(lower)
    return np.where(lower > 0, upper_tail, lower_tail)


def _edges(thresholds: np.ndarray) -> np.ndarray:
    return np.concatenate(([-np.inf], thresholds, [np.inf]))


def _normal_pdf(x):
    return np.exp(-0.5 * np.square(x)) / np.sqrt(2.0 * np.pi)


def level_probabilities(thresholds) -> np.ndarray:
    """P(D = k), k = 0 .. K-1, for D the level of a standard normal among ``thresholds``
    (K - 1 strictly increasing values). Shape (K,)."""
    edges = _edges(_check_thresholds(thresholds, "thresholds"))
    return _interval_prob(edges[:-1], edges[1:])


def conditional_level_probabilities(thresholds, correlation: float, v) -> np.ndarray:
    """P(D = k | V = v) for (U, V) standard bivariate normal with correlation ``correlation``
    and D the level of U among ``thresholds``: U | V = v ~ N(rho v, 1 - rho^2).

    Shapes: v (...) -> (..., K).
    """
    t = _check_thresholds(thresholds, "thresholds")
    rho = fam._check_correlation(correlation, "correlation")
    return _conditional_probs(_edges(t), rho, np.asarray(v, dtype=np.float64))


def _conditional_probs(edges: np.ndarray, rho: float, v: np.ndarray) -> np.ndarray:
    scale = np.sqrt(1.0 - rho * rho)
    args = (edges - rho * v[..., None]) / scale
    return _interval_prob(args[..., :-1], args[..., 1:])


def _breakpoints(thresholds: np.ndarray, rho: float) -> List[float]:
    """Where P(D | v) changes fastest: v = t_k / rho, inside the integration range."""
    points = thresholds / rho
    return sorted(float(p) for p in points if -_LIMIT < p < _LIMIT)


def _discrete_continuous_mi(thresholds: np.ndarray, rho: float) -> Tuple[float, float]:
    """I(D; V) = H(D) - E_V H(D | V), and the quadrature's error estimate."""
    if rho == 0.0:
        return 0.0, 0.0
    edges = _edges(thresholds)
    h_marginal = float(np.sum(entr(_interval_prob(edges[:-1], edges[1:]))))

    def integrand(v: float) -> float:
        p = _conditional_probs(edges, rho, np.asarray(v))
        return float(_normal_pdf(v) * np.sum(entr(p)))

    value, error = integrate.quad(
        integrand, -_LIMIT, _LIMIT, points=_breakpoints(thresholds, rho) or None,
        epsabs=_EPSABS, epsrel=_EPSREL, limit=500,
    )
    return max(h_marginal - value, 0.0), float(error)


def _cell_probabilities(rho: float, thresholds_x: np.ndarray, thresholds_y: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Rectangle probabilities P(D_x = a, D_y = b) and their quadrature error estimates."""
    edges_x, edges_y = _edges(thresholds_x), _edges(thresholds_y)
    px = _interval_prob(edges_x[:-1], edges_x[1:])
    py = _interval_prob(edges_y[:-1], edges_y[1:])
    if rho == 0.0:
        return np.outer(px, py), np.zeros((px.size, py.size))
    probs = np.zeros((px.size, py.size))
    errors = np.zeros_like(probs)
    breaks = _breakpoints(thresholds_y, rho)

    def integrand(u: float) -> np.ndarray:
        return _normal_pdf(u) * _conditional_probs(edges_y, rho, np.asarray(u))

    for a in range(px.size):
        lo, hi = max(edges_x[a], -_LIMIT), min(edges_x[a + 1], _LIMIT)
        if not lo < hi:
            continue
        inside = [p for p in breaks if lo < p < hi]
        value, error = integrate.quad_vec(
            integrand, lo, hi, epsabs=_EPSABS, epsrel=_EPSREL, norm="max", limit=500,
            points=inside or None,
        )
        probs[a] = value
        errors[a] = error
    return probs, errors


def bivariate_normal_cell_probabilities(correlation: float, thresholds_x, thresholds_y
                                        ) -> np.ndarray:
    """P(D_x = a, D_y = b) for (U, V) standard bivariate normal with correlation
    ``correlation``, D_x the level of U among ``thresholds_x`` and D_y that of V among
    ``thresholds_y`` (levels are counted from 0; level k is t_{k-1} < latent <= t_k).

    Each row is one adaptive quadrature over u of phi(u) P(D_y = b | U = u) (absolute
    tolerance 1e-13). Shape (len(thresholds_x) + 1, len(thresholds_y) + 1).
    """
    rho = fam._check_correlation(correlation, "correlation")
    tx = _check_thresholds(thresholds_x, "thresholds_x")
    ty = _check_thresholds(thresholds_y, "thresholds_y")
    return _cell_probabilities(rho, tx, ty)[0]


def _discrete_discrete_mi(thresholds_x: np.ndarray, thresholds_y: np.ndarray, rho: float
                          ) -> Tuple[float, float]:
    if rho == 0.0:
        return 0.0, 0.0
    probs, errors = _cell_probabilities(rho, thresholds_x, thresholds_y)
    edges_x, edges_y = _edges(thresholds_x), _edges(thresholds_y)
    independent = np.outer(_interval_prob(edges_x[:-1], edges_x[1:]),
                           _interval_prob(edges_y[:-1], edges_y[1:]))
    mi = float(np.sum(rel_entr(probs, independent)))
    # first-order propagation of the cell errors: dI/dP_ab = log(P_ab / (P_a P_b)) + 1
    with np.errstate(divide="ignore"):
        slope = np.where(probs > 0, np.abs(np.log(probs / independent) + 1.0), 1.0)
    return max(mi, 0.0), float(np.sum(slope * errors))


def _latent_pair_mi(rho: float, thresholds_x: Optional[np.ndarray],
                    thresholds_y: Optional[np.ndarray]) -> Tuple[float, float]:
    """(mi, numerical error estimate) for one latent-Gaussian pair; see
    :func:`latent_gaussian_mi`."""
    if thresholds_x is None and thresholds_y is None:
        return (0.0 if rho == 0.0 else float(-0.5 * np.log1p(-rho * rho))), 0.0
    if thresholds_x is None:
        return _discrete_continuous_mi(thresholds_y, rho)
    if thresholds_y is None:
        return _discrete_continuous_mi(thresholds_x, rho)
    return _discrete_discrete_mi(thresholds_x, thresholds_y, rho)


def latent_gaussian_mi(correlation: float, thresholds_x=None, thresholds_y=None) -> float:
    """I(f(U); g(V)) in nats for (U, V) standard bivariate normal with correlation
    ``correlation``, where each side is a strictly monotone map of its latent (thresholds
    None; the map does not matter) or its level among the given strictly increasing
    thresholds.

    * both continuous: ``-1/2 log(1 - rho^2)``;
    * one side discrete: ``H(D) - E_V H(D | V)`` by adaptive quadrature;
    * both discrete: the MI of the table of bivariate-normal rectangle probabilities
      (:func:`bivariate_normal_cell_probabilities`).

    The quadratures are accurate to about 1e-12 nats (see the module docstring).
    """
    rho = fam._check_correlation(correlation, "correlation")
    tx = None if thresholds_x is None else _check_thresholds(thresholds_x, "thresholds_x")
    ty = None if thresholds_y is None else _check_thresholds(thresholds_y, "thresholds_y")
    return _latent_pair_mi(rho, tx, ty)[0]


def _pairwise_truth(correlation: np.ndarray, thresholds: Sequence[Optional[np.ndarray]]
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """(truth, error) p x p matrices of I(X_i; X_j) for columns given by their latent
    ``correlation`` and per-column thresholds (None = continuous); NaN diagonals."""
    p = correlation.shape[0]
    truth = np.full((p, p), np.nan)
    error = np.full((p, p), np.nan)
    for i in range(p):
        for j in range(i + 1, p):
            mi, err = _latent_pair_mi(float(correlation[i, j]), thresholds[i], thresholds[j])
            truth[i, j] = truth[j, i] = mi
            error[i, j] = error[j, i] = err
    return truth, error


# ------------------------------------------------------------- the matrix task


def _frozen_array(values, name: str, shape: Tuple[int, ...]) -> np.ndarray:
    array = np.array(values, dtype=np.float64, copy=True)
    if array.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class MatrixTask:
    """A table of p columns whose pairwise mutual information is known.

    Attributes:
        id: unique name built from the construction parameters.
        names: the p column names.
        discrete: per column, True when the column holds integer levels 0 .. K-1.
        truth: (p, p) read-only array, ``truth[i, j]`` = I(X_i; X_j) in nats; symmetric,
            NaN on the diagonal.
        truth_stderr: (p, p) read-only array: 0 where ``truth`` is a closed form, else the
            numerical error estimate of the quadrature that gave it (about 1e-12 or less;
            not a Monte Carlo error); NaN on the diagonal.
        sampler: ``sampler(n_samples, rng) -> (n_samples, p)`` array; use :meth:`sample`.
        params: JSON-serialisable description of the construction (per-column maps,
            levels and thresholds included).
        name: human-readable name.
        latent_correlation: (p, p) correlation of the latent Gaussian behind the columns
            (None when not Gaussian-latent).
    """

    id: str
    names: Tuple[str, ...]
    discrete: Tuple[bool, ...]
    truth: np.ndarray = field(repr=False, compare=False)
    truth_stderr: np.ndarray = field(repr=False, compare=False)
    sampler: Callable[[int, np.random.Generator], np.ndarray] = field(repr=False,
                                                                      compare=False)
    params: Dict[str, Any] = field(default_factory=dict, compare=False)
    name: str = ""
    latent_correlation: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        p = len(names)
        if p < 2 or len(set(names)) != p:
            raise ValueError(f"names: expected at least two distinct column names, got {names!r}")
        discrete = tuple(bool(d) for d in self.discrete)
        if len(discrete) != p:
            raise ValueError(f"discrete: expected {p} flags (one per column), got {len(discrete)}")
        truth = _frozen_array(self.truth, "truth", (p, p))
        stderr = _frozen_array(self.truth_stderr, "truth_stderr", (p, p))
        off = ~np.eye(p, dtype=bool)
        if not np.all(np.isnan(np.diag(truth))) or not np.all(np.isfinite(truth[off])):
            raise ValueError("truth: expected finite off-diagonal values and a NaN diagonal")
        if not np.array_equal(truth[off], truth.T[off]) or np.any(truth[off] < 0):
            raise ValueError("truth: expected a symmetric matrix of non-negative values")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "discrete", discrete)
        object.__setattr__(self, "truth", truth)
        object.__setattr__(self, "truth_stderr", stderr)
        if self.latent_correlation is not None:
            object.__setattr__(self, "latent_correlation", _frozen_array(
                self.latent_correlation, "latent_correlation", (p, p)))

    @property
    def n_vars(self) -> int:
        """The number of columns p."""
        return len(self.names)

    def sample(self, n_samples: int, seed: Any = 0) -> np.ndarray:
        """Draw ``n_samples`` i.i.d. rows, reproducibly.

        Args:
            n_samples: number of rows, a positive integer.
            seed: anything ``numpy.random.default_rng`` accepts (an int, a SeedSequence or a
                Generator); the same int always gives the same table.

        Returns:
            float64 array of shape (n_samples, p); discrete columns hold the integer
            levels 0 .. K-1 (as floats).
        """
        n_samples = _check_n_samples(n_samples)
        table = np.asarray(self.sampler(n_samples, np.random.default_rng(seed)),
                           dtype=np.float64)
        if table.shape != (n_samples, self.n_vars):
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned shape {table.shape}; expected "
                f"{(n_samples, self.n_vars)}"
            )
        return table

    def as_frame(self, n_samples: int, seed: Any = 0):
        """:meth:`sample` as a ``pandas.DataFrame`` with columns :attr:`names`; discrete
        columns as int64. Needs pandas (imported only here)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("MatrixTask.as_frame needs pandas; use sample() for an "
                              "array") from exc
        table = self.sample(n_samples, seed)
        return pd.DataFrame({
            name: table[:, j].astype(np.int64) if disc else table[:, j]
            for j, (name, disc) in enumerate(zip(self.names, self.discrete))
        })

    def pairs(self) -> List[Tuple[str, str, float]]:
        """All p (p - 1) / 2 pairs ``(name_i, name_j, truth)`` with i < j, by decreasing
        true MI (ties in column order)."""
        rows, cols = np.triu_indices(self.n_vars, 1)
        values = self.truth[rows, cols]
        order = np.argsort(-values, kind="stable")
        return [(self.names[rows[k]], self.names[cols[k]], float(values[k])) for k in order]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable metadata (everything but the sampler); the NaN diagonals of
        ``truth`` and ``truth_stderr`` become None."""

        def listed(matrix: np.ndarray):
            return [[None if np.isnan(v) else float(v) for v in row] for row in matrix]

        return {
            "id": self.id,
            "name": self.name,
            "names": list(self.names),
            "discrete": list(self.discrete),
            "truth": listed(self.truth),
            "truth_stderr": listed(self.truth_stderr),
            "params": self.params,
        }


def _sample_table(n, rng, cholesky, maps, thresholds):
    latent = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    out = np.empty_like(latent)
    for j, (map_name, t) in enumerate(zip(maps, thresholds)):
        out[:, j] = _apply_column(latent[:, j], map_name, t)
    return out


def _graphical_latent(n_vars: int, density: float, n_components: int,
                      rng: np.random.Generator) -> Tuple[np.ndarray, int]:
    """Correlation of a random sparse linear SEM over unit-variance latents, and the
    number of edges of its precision graph.

    The variables are split into ``n_components`` independent groups (as equal as
    possible). In each group, in order, every variable but the first gets one parent drawn
    uniformly among the earlier variables of its group (a random tree: the group is
    connected) plus each other earlier variable as a parent with probability ``density``.
    Coefficients have random signs and magnitudes, scaled so that the parents explain a
    fraction ``r2 ~ U(0.3, 0.97)`` of the unit variance; the noise variance is 1 - r2.
    The precision (I - B)^T D^{-1} (I - B) is sparse (the moral graph). The returned
    correlation is in a random column order.
    """
    groups = np.repeat(np.arange(n_components),
                       [len(a) for a in np.array_split(np.arange(n_vars), n_components)])
    coef = np.zeros((n_vars, n_vars))
    noise = np.ones(n_vars)
    corr = np.eye(n_vars)
    for j in range(n_vars):
        earlier = [k for k in range(j) if groups[k] == groups[j]]
        if not earlier:
            continue
        parents = [int(rng.choice(earlier))]
        for k in earlier:
            if k != parents[0] and rng.random() < density:
                parents.append(k)
        b = rng.choice([-1.0, 1.0], size=len(parents)) * rng.uniform(*_WEIGHT_RANGE,
                                                                      size=len(parents))
        explained = float(b @ corr[np.ix_(parents, parents)] @ b)
        r2 = rng.uniform(*_R2_RANGE)
        b *= np.sqrt(r2 / explained)
        coef[j, parents] = b
        noise[j] = 1.0 - r2
        corr[j, :j] = b @ corr[parents, :j]
        corr[:j, j] = corr[j, :j]
    np.fill_diagonal(corr, 1.0)
    resid = np.eye(n_vars) - coef
    precision = resid.T @ (resid / noise[:, None])
    n_edges = int(np.sum(np.abs(precision[np.triu_indices(n_vars, 1)]) > 1e-12))
    perm = rng.permutation(n_vars)
    return corr[np.ix_(perm, perm)], n_edges


def _random_thresholds(rng: np.random.Generator) -> np.ndarray:
    """Thresholds for 2-5 ordered levels with random probabilities, each >= 0.05."""
    n_levels = int(rng.integers(_LEVELS_RANGE[0], _LEVELS_RANGE[1] + 1))
    probs = _MIN_LEVEL_PROB + (1.0 - _MIN_LEVEL_PROB * n_levels) * rng.dirichlet(
        np.full(n_levels, 2.0))
    return ndtri(np.cumsum(probs)[:-1])


def gaussian_graphical_table(
    n_vars: int = 20,
    *,
    n_discrete: int = 3,
    transforms: bool = True,
    density: float = 0.05,
    n_components: int = 1,
    seed: int = 0,
) -> MatrixTask:
    """``ggm-table-{n_vars}-{n_discrete}-{density}-{n_components}-{seed}`` (suffix
    ``-plain`` when ``transforms`` is False): a p-column table with known pairwise MI.

    Latents: a Gaussian graphical model over ``n_vars`` unit-variance variables given by a
    random sparse linear structural equation model (a random tree per component plus extra
    edges with probability ``density``; see the module docstring), whose precision matrix
    is sparse and whose pairwise MI -1/2 log(1 - rho^2) spreads from ~0 to ~1.5 nats.
    With ``n_components > 1`` the variables form that many independent groups, and pairs
    across groups have MI exactly 0.

    Columns: ``n_discrete`` randomly chosen columns are the level (0 .. K-1, K in 2..5,
    random level probabilities >= 0.05) of their latent among thresholds; with
    ``transforms`` every other column goes through a strictly increasing map from
    :data:`MONOTONE_MAPS` (identity, exp, cube, asinh, sigmoid; balanced, in random
    order), which leaves every pairwise MI unchanged. The graph, the discrete columns and
    the maps come from three independent streams of ``seed``, so the same seed with
    ``transforms=False`` gives the same latents, levels and truth (only the maps differ).

    Truth: :func:`latent_gaussian_mi` for every pair (closed form for two continuous
    columns, quadrature when a discrete column is involved).

    Args:
        n_vars: number of columns p >= 2.
        n_discrete: number of discretised columns, 0 .. p.
        transforms: apply the monotone maps to the continuous columns.
        density: probability of each extra (non-tree) edge, in [0, 1].
        n_components: number of independent groups of variables, 1 .. p.
        seed: integer >= 0.
    """
    p = _check_int(n_vars, "n_vars", 2)
    n_discrete = _check_int(n_discrete, "n_discrete", 0, p)
    transforms = _check_bool(transforms, "transforms")
    density = _check_unit_interval(density, "density", closed=True)
    n_components = _check_int(n_components, "n_components", 1, p)
    seed = _check_seed(seed)
    graph_rng, level_rng, map_rng = (np.random.default_rng(s)
                                     for s in np.random.SeedSequence(seed).spawn(3))
    corr, n_edges = _graphical_latent(p, density, n_components, graph_rng)
    discrete_cols = sorted(int(j) for j in level_rng.choice(p, n_discrete, replace=False))
    thresholds: List[Optional[np.ndarray]] = [None] * p
    for j in discrete_cols:
        thresholds[j] = _random_thresholds(level_rng)
    continuous_cols = [j for j in range(p) if thresholds[j] is None]
    maps: List[Optional[str]] = [None] * p
    for j, name in zip(continuous_cols, _assign_maps(len(continuous_cols), transforms,
                                                     map_rng)):
        maps[j] = name
    truth, error = _pairwise_truth(corr, thresholds)
    width = len(str(p - 1))
    names = tuple(f"x{j:0{width}d}" for j in range(p))
    columns = [
        {"name": names[j], "discrete": True, "levels": int(thresholds[j].size + 1),
         "thresholds": [float(v) for v in thresholds[j]]}
        if thresholds[j] is not None else
        {"name": names[j], "discrete": False, "map": maps[j]}
        for j in range(p)
    ]
    task_id = f"ggm-table-{p}-{n_discrete}-{density}-{n_components}-{seed}"
    if not transforms:
        task_id += "-plain"
    return MatrixTask(
        id=task_id,
        names=names,
        discrete=tuple(t is not None for t in thresholds),
        truth=truth,
        truth_stderr=error,
        sampler=functools.partial(
            _sample_table, cholesky=np.linalg.cholesky(corr), maps=tuple(maps),
            thresholds=tuple(thresholds),
        ),
        params={
            "family": "ggm-table",
            "n_vars": p,
            "n_discrete": n_discrete,
            "transforms": transforms,
            "density": density,
            "n_components": n_components,
            "seed": seed,
            "n_precision_edges": n_edges,
            "columns": columns,
        },
        name=f"Gaussian graphical table, {p} columns ({n_discrete} discrete)",
        latent_correlation=corr,
    )


# ------------------------------------------------------- the feature-target task


@dataclass(frozen=True)
class FeatureTargetTask:
    """Features X (n, p) and a target y whose I(X_j; y) is known for every feature.

    Attributes:
        id: unique name built from the construction parameters.
        names: the p feature names.
        truth: (p,) read-only array, ``truth[j]`` = I(X_j; y) in nats (0 for irrelevant
            features).
        truth_stderr: (p,) read-only array: 0 for closed forms, else the quadrature's
            numerical error estimate (about 1e-12 or less).
        sampler: ``sampler(n_samples, rng) -> (x, y)``; use :meth:`sample`.
        discrete_target: True when y is a class label (int64, 0 .. n_classes - 1).
        n_classes: number of classes of a discrete target; 0 for a continuous one.
        joint_truth: I(X; y) for all features together, in nats.
        joint_truth_stderr: as ``truth_stderr``, for ``joint_truth``.
        params: JSON-serialisable description (per-feature roles and maps included).
        name: human-readable name.
        latent_correlation: (p + 1, p + 1) correlation of the latent Gaussian
            (features, then the continuous target last).
    """

    id: str
    names: Tuple[str, ...]
    truth: np.ndarray = field(repr=False, compare=False)
    truth_stderr: np.ndarray = field(repr=False, compare=False)
    sampler: Callable[[int, np.random.Generator], Tuple[np.ndarray, np.ndarray]] = field(
        repr=False, compare=False)
    discrete_target: bool = False
    n_classes: int = 0
    joint_truth: float = float("nan")
    joint_truth_stderr: float = 0.0
    params: Dict[str, Any] = field(default_factory=dict, compare=False)
    name: str = ""
    latent_correlation: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        p = len(names)
        if p < 1 or len(set(names)) != p:
            raise ValueError(f"names: expected distinct feature names, got {names!r}")
        truth = _frozen_array(self.truth, "truth", (p,))
        if not np.all(np.isfinite(truth)) or np.any(truth < 0):
            raise ValueError("truth: expected finite non-negative values")
        if self.discrete_target != (self.n_classes >= 2):
            raise ValueError(f"n_classes: expected >= 2 for a discrete target and 0 "
                             f"otherwise, got {self.n_classes!r}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "truth", truth)
        object.__setattr__(self, "truth_stderr",
                           _frozen_array(self.truth_stderr, "truth_stderr", (p,)))
        if self.latent_correlation is not None:
            object.__setattr__(self, "latent_correlation", _frozen_array(
                self.latent_correlation, "latent_correlation", (p + 1, p + 1)))

    @property
    def n_features(self) -> int:
        """The number of features p."""
        return len(self.names)

    def sample(self, n_samples: int, seed: Any = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` i.i.d. rows, reproducibly (``seed`` as in
        :meth:`MatrixTask.sample`).

        Returns:
            x: float64 array, shape (n_samples, p).
            y: shape (n_samples,): float64, or int64 class labels when
               ``discrete_target``.
        """
        n_samples = _check_n_samples(n_samples)
        x, y = self.sampler(n_samples, np.random.default_rng(seed))
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64 if self.discrete_target else np.float64)
        if x.shape != (n_samples, self.n_features) or y.shape != (n_samples,):
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned shapes {x.shape}, {y.shape}; "
                f"expected {(n_samples, self.n_features)}, {(n_samples,)}"
            )
        return x, y

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable metadata (everything but the sampler)."""
        return {
            "id": self.id,
            "name": self.name,
            "names": list(self.names),
            "truth": [float(v) for v in self.truth],
            "truth_stderr": [float(v) for v in self.truth_stderr],
            "discrete_target": self.discrete_target,
            "n_classes": self.n_classes,
            "joint_truth": self.joint_truth,
            "joint_truth_stderr": self.joint_truth_stderr,
            "params": self.params,
        }


def _sample_features_target(n, rng, cholesky, maps, target_thresholds):
    latent = rng.standard_normal((n, cholesky.shape[0])) @ cholesky.T
    x = np.empty((n, len(maps)))
    for j, map_name in enumerate(maps):
        x[:, j] = _MAP_FUNCTIONS[map_name](latent[:, j])
    y = latent[:, -1]
    if target_thresholds is not None:
        y = np.searchsorted(target_thresholds, y, side="left").astype(np.int64)
    return x, y


def _random_correlation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random correlation matrix with moderate correlations: the normalised
    A A^T / dim + I for a standard normal (dim, dim) matrix A."""
    a = rng.standard_normal((dim, dim))
    cov = a @ a.T / dim + np.eye(dim)
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    np.fill_diagonal(corr, 1.0)
    return corr


def _feature_target_latent(n_features: int, n_informative: int, n_redundant: int,
                           r_squared: float, rng: np.random.Generator) -> np.ndarray:
    """Joint correlation of (informative, redundant, irrelevant features, y), in that
    order, before shuffling; see :func:`feature_target_task`."""
    k, m = n_informative, n_redundant
    n_irrelevant = n_features - k - m
    s_inf = _random_correlation(k, rng)
    # redundant features: X_r = c . (one or two informative features) + noise
    load = np.zeros((m, k))
    noise = np.zeros(m)
    for r in range(m):
        parents = rng.choice(k, size=min(k, int(rng.integers(1, 3))), replace=False)
        c = rng.choice([-1.0, 1.0], size=parents.size) * rng.uniform(
            *_WEIGHT_RANGE, size=parents.size)
        r2 = rng.uniform(*_REDUNDANT_R2_RANGE)
        c *= np.sqrt(r2 / float(c @ s_inf[np.ix_(parents, parents)] @ c))
        load[r, parents] = c
        noise[r] = 1.0 - r2
    # the target: y = w . X_informative + noise, Var(w . X) = r_squared, Var(y) = 1
    w = rng.choice([-1.0, 1.0], size=k) * rng.uniform(*_TARGET_WEIGHT_RANGE, size=k)
    w *= np.sqrt(r_squared / float(w @ s_inf @ w))
    # joint covariance of (X_informative, X_redundant) and their covariance with y
    top = np.hstack([s_inf, s_inf @ load.T])
    bottom = np.hstack([load @ s_inf, load @ s_inf @ load.T + np.diag(noise)])
    s_rel = np.vstack([top, bottom])
    cov_rel_y = np.concatenate([s_inf @ w, load @ s_inf @ w])
    dim = n_features + 1
    corr = np.eye(dim)
    rel = k + m
    corr[:rel, :rel] = s_rel
    if n_irrelevant:
        corr[rel:n_features, rel:n_features] = _random_correlation(n_irrelevant, rng)
    corr[:rel, -1] = corr[-1, :rel] = cov_rel_y
    np.fill_diagonal(corr, 1.0)
    return corr


def feature_target_task(
    n_features: int = 20,
    *,
    n_informative: int = 5,
    n_redundant: int = 5,
    r_squared: float = 0.9,
    n_classes: Optional[int] = None,
    transforms: bool = True,
    seed: int = 0,
) -> FeatureTargetTask:
    """``feature-target-{n_features}-{n_informative}-{n_redundant}-{r_squared}-{seed}``
    (suffix ``-classes{K}`` for a discrete target, ``-plain`` without transforms): features
    whose MI with the target is known exactly.

    Latent features, jointly Gaussian with unit variances:

    * ``n_informative`` informative features with random moderate correlations among
      themselves; the target is ``y = w . X_informative + noise`` with random weights,
      scaled so that they explain a fraction ``r_squared`` of Var(y) = 1;
    * ``n_redundant`` redundant features, each a random combination of one or two
      informative features plus noise (explained variance ~ U(0.3, 0.9)): weight 0 in y but
      non-zero MI with it;
    * the rest irrelevant: correlated among themselves, independent of everything else
      (I(X_j; y) = 0 exactly).

    The feature columns are shuffled; ``params["roles"]`` says which is which. With
    ``transforms`` each feature goes through a strictly increasing map from
    :data:`MONOTONE_MAPS` (balanced, random order; MI unchanged). With ``n_classes`` the
    target is the class label of y among the balanced thresholds Phi^{-1}(k / K)
    (int64, 0 .. K-1).

    Truth, per feature with latent correlation r_j = corr(X_j, y):
    ``-1/2 log(1 - r_j^2)`` for a continuous target, the quadrature of
    :func:`latent_gaussian_mi` for a class label. ``joint_truth`` = I(X; y) is that of the
    sufficient statistic w . X, whose correlation with y is sqrt(r_squared):
    ``-1/2 log(1 - r_squared)`` for a continuous target.

    Args:
        n_features: number of features p >= 1.
        n_informative: 1 .. p.
        n_redundant: 0 .. p - n_informative.
        r_squared: fraction of Var(y) explained by the features, in (0, 1).
        n_classes: None for a continuous target, or an integer >= 2.
        transforms: apply the monotone maps to the features.
        seed: integer >= 0.
    """
    p = _check_int(n_features, "n_features", 1)
    k = _check_int(n_informative, "n_informative", 1, p)
    m = _check_int(n_redundant, "n_redundant", 0, p - k)
    r_squared = _check_unit_interval(r_squared, "r_squared", closed=False)
    if n_classes is not None:
        n_classes = _check_int(n_classes, "n_classes", 2)
    transforms = _check_bool(transforms, "transforms")
    seed = _check_seed(seed)
    latent_rng, order_rng, map_rng = (np.random.default_rng(s)
                                      for s in np.random.SeedSequence(seed).spawn(3))
    corr = _feature_target_latent(p, k, m, r_squared, latent_rng)
    roles = ["informative"] * k + ["redundant"] * m + ["irrelevant"] * (p - k - m)
    perm = np.concatenate([order_rng.permutation(p), [p]])
    corr = corr[np.ix_(perm, perm)]
    roles = [roles[i] for i in perm[:-1]]
    maps = _assign_maps(p, transforms, map_rng)
    target_thresholds = None
    if n_classes is not None:
        target_thresholds = ndtri(np.arange(1, n_classes) / n_classes)
    truth = np.zeros(p)
    error = np.zeros(p)
    for j in range(p):
        truth[j], error[j] = _latent_pair_mi(float(corr[j, -1]), None, target_thresholds)
    joint, joint_error = _latent_pair_mi(float(np.sqrt(r_squared)), None, target_thresholds)
    width = len(str(p - 1))
    task_id = f"feature-target-{p}-{k}-{m}-{r_squared}-{seed}"
    if n_classes is not None:
        task_id += f"-classes{n_classes}"
    if not transforms:
        task_id += "-plain"
    target = "continuous" if n_classes is None else f"{n_classes} classes"
    return FeatureTargetTask(
        id=task_id,
        names=tuple(f"x{j:0{width}d}" for j in range(p)),
        truth=truth,
        truth_stderr=error,
        sampler=functools.partial(
            _sample_features_target, cholesky=np.linalg.cholesky(corr), maps=tuple(maps),
            target_thresholds=target_thresholds,
        ),
        discrete_target=n_classes is not None,
        n_classes=0 if n_classes is None else n_classes,
        joint_truth=joint,
        joint_truth_stderr=joint_error,
        params={
            "family": "feature-target",
            "n_features": p,
            "n_informative": k,
            "n_redundant": m,
            "r_squared": r_squared,
            "n_classes": n_classes,
            "transforms": transforms,
            "seed": seed,
            "roles": roles,
            "maps": maps,
            "target_thresholds": (None if target_thresholds is None
                                  else [float(v) for v in target_thresholds]),
        },
        name=f"Feature-target task, {p} features ({k} informative, {m} redundant), "
             f"{target} target",
        latent_correlation=corr,
    )
