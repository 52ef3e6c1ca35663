"""Ground truth for MI matrices (mmgap.tasks.matrix) against independent checks.

* two continuous columns: the closed form of mmgap.tasks.truth.gaussian_mi;
* a discrete and a continuous column: a second quadrature (uniform trapezoid of the
  KL form sum_k P(k | v) log(P(k | v) / P(k)), tolerance 1e-9) and a Monte Carlo mean of
  the exact pointwise log P(d | v) / P(d) over 10^6 rows drawn by the task's own sampler
  (latent recovered by inverting the column's map; tolerance 5 standard errors);
* two discrete columns: rectangle probabilities from Owen's T function (tolerance 1e-12
  per cell, 1e-10 on the MI) and the plug-in MI of the 10^6 sampled rows (tolerance
  5 delta-method standard deviations plus the (Ka - 1)(Kb - 1) / 2n bias).
Seeds are fixed, so every test is deterministic.
"""

import json
import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import logit, ndtr, owens_t

from mmgap.tasks import (
    FeatureTargetTask,
    MatrixTask,
    bivariate_normal_cell_probabilities,
    feature_target_task,
    gaussian_graphical_table,
    gaussian_mi,
    latent_gaussian_mi,
)
from mmgap.tasks.matrix import conditional_level_probabilities, level_probabilities

N_MC = 1_000_000

_INVERSE_MAPS = {
    "identity": lambda x: x,
    "exp": np.log,
    "cube": np.cbrt,
    "asinh": np.sinh,
    "sigmoid": logit,
}


@pytest.fixture(scope="module")
def task():
    return gaussian_graphical_table()


@pytest.fixture(scope="module")
def big_sample(task):
    return task.sample(N_MC, seed=123)


def _thresholds(task, j):
    column = task.params["columns"][j]
    return np.array(column["thresholds"]) if column["discrete"] else None


def _latent(task, table, j):
    """The latent normal behind continuous column j, by inverting its map."""
    return _INVERSE_MAPS[task.params["columns"][j]["map"]](table[:, j])


def _pairs_of_kind(task, n_discrete):
    disc = np.array(task.discrete)
    rows, cols = np.triu_indices(task.n_vars, 1)
    keep = (disc[rows].astype(int) + disc[cols].astype(int)) == n_discrete
    return list(zip(rows[keep], cols[keep]))


# ----------------------------------------------------------------- structure


def test_default_table_structure(task):
    p = 20
    assert isinstance(task, MatrixTask) and task.n_vars == p
    assert task.id == "ggm-table-20-3-0.05-1-0"
    assert sum(task.discrete) == 3 and len(task.names) == p == len(set(task.names))
    truth, err = task.truth, task.truth_stderr
    assert truth.shape == err.shape == (p, p)
    assert np.all(np.isnan(np.diag(truth))) and np.all(np.isnan(np.diag(err)))
    off = ~np.eye(p, dtype=bool)
    assert np.array_equal(truth[off], truth.T[off]) and np.all(truth[off] >= 0)
    assert not truth.flags.writeable
    # exact (0) for continuous pairs, quadrature error estimates (tiny) otherwise
    for i, j in _pairs_of_kind(task, 0):
        assert err[i, j] == 0.0
    for i, j in _pairs_of_kind(task, 1) + _pairs_of_kind(task, 2):
        assert 0.0 < err[i, j] < 1e-10
    # the spread promised by the docstring: from ~0 to ~1.5 nats, many non-trivial pairs
    values = truth[np.triu_indices(p, 1)]
    assert values.min() < 1e-3 and 1.0 < values.max() < 1.75
    assert 0.02 < np.median(values) < 0.2 and np.sum(values > 0.05) >= 60
    json.dumps(task.to_dict(), allow_nan=False)
    json.dumps(task.params, allow_nan=False)
    ranked = task.pairs()
    assert len(ranked) == p * (p - 1) // 2
    assert [v for _, _, v in ranked] == sorted((v for _, _, v in ranked), reverse=True)


def test_continuous_pairs_equal_gaussian_closed_form(task):
    corr = task.latent_correlation
    for i, j in _pairs_of_kind(task, 0):
        rho = corr[i, j]
        expected = gaussian_mi(np.array([[1.0, rho], [rho, 1.0]]), 1)
        assert task.truth[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_plain_sample_has_the_latent_correlation(task):
    plain = gaussian_graphical_table(transforms=False)
    n = 100_000
    table = plain.sample(n, seed=5)
    cont = [j for j in range(plain.n_vars) if not plain.discrete[j]]
    empirical = np.corrcoef(table[:, cont], rowvar=False)
    expected = plain.latent_correlation[np.ix_(cont, cont)]
    # sd of a sample correlation is (1 - rho^2) / sqrt(n) <= 0.0032
    assert np.max(np.abs(empirical - expected)) < 5 / np.sqrt(n)


def test_data_processing_inequality(task):
    """Cutting a latent into levels can only lose information."""
    corr = task.latent_correlation
    for i, j in _pairs_of_kind(task, 1) + _pairs_of_kind(task, 2):
        assert task.truth[i, j] <= -0.5 * np.log1p(-corr[i, j] ** 2) + 1e-12
    for i, j in _pairs_of_kind(task, 2):
        assert task.truth[i, j] <= latent_gaussian_mi(corr[i, j], _thresholds(task, i)) + 1e-12
        assert task.truth[i, j] <= latent_gaussian_mi(corr[i, j], _thresholds(task, j)) + 1e-12


# ------------------------------------------------ discrete-continuous pairs


def _kl_form_trapezoid(thresholds, rho, step=1e-3, limit=12.0):
    """sum_k int phi(v) P(k | v) log(P(k | v) / P(k)) dv on a uniform grid."""
    v = np.linspace(-limit, limit, int(round(2 * limit / step)) + 1)
    cond = conditional_level_probabilities(thresholds, rho, v)
    marg = level_probabilities(thresholds)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(cond > 0, cond * np.log(cond / marg), 0.0)
    f = stats.norm.pdf(v) * terms.sum(axis=1)
    return float(step * (f.sum() - 0.5 * (f[0] + f[-1])))


@pytest.mark.parametrize("thresholds,rho", [
    ([0.3], 0.6), ([-1.0, 0.2, 0.9, 1.6], -0.95), ([-0.4, 0.4], 0.999), ([1.2, 2.0], 0.02),
])
def test_discrete_continuous_matches_second_quadrature(thresholds, rho):
    assert latent_gaussian_mi(rho, thresholds) == pytest.approx(
        _kl_form_trapezoid(thresholds, rho), abs=1e-9)
    # the pair is symmetric in which side is discrete
    assert latent_gaussian_mi(rho, None, thresholds) == latent_gaussian_mi(rho, thresholds)


def test_discrete_continuous_pairs_of_task_match_quadrature_and_monte_carlo(task, big_sample):
    corr = task.latent_correlation
    pairs = _pairs_of_kind(task, 1)
    assert len(pairs) == 3 * 17
    for i, j in pairs:
        d, c = (i, j) if task.discrete[i] else (j, i)
        assert task.truth[i, j] == pytest.approx(
            _kl_form_trapezoid(_thresholds(task, d), corr[i, j]), abs=1e-9)
    # Monte Carlo on the sampled rows for the strongest, a middle and the weakest pair
    ranked = sorted(pairs, key=lambda ij: task.truth[ij])
    for i, j in (ranked[-1], ranked[len(ranked) // 2], ranked[0]):
        d, c = (i, j) if task.discrete[i] else (j, i)
        levels = big_sample[:, d].astype(np.int64)
        v = _latent(task, big_sample, c)
        cond = conditional_level_probabilities(_thresholds(task, d), corr[i, j], v)
        marg = level_probabilities(_thresholds(task, d))
        pointwise = np.log(cond[np.arange(N_MC), levels] / marg[levels])
        stderr = pointwise.std(ddof=1) / np.sqrt(N_MC)
        assert abs(pointwise.mean() - task.truth[i, j]) < 5 * stderr + 1e-12, (i, j)


# -------------------------------------------------- discrete-discrete pairs


def _bvn_cdf_owen(h, k, rho):
    """Phi_2(h, k; rho) by Owen's (1956) T-function formula, for finite non-zero h, k."""
    s = np.sqrt(1.0 - rho**2)
    beta = 0.0 if h * k > 0 else 0.5
    return (0.5 * (ndtr(h) + ndtr(k)) - owens_t(h, (k - rho * h) / (h * s))
            - owens_t(k, (h - rho * k) / (k * s)) - beta)


def _cells_owen(tx, ty, rho):
    ex = np.concatenate(([-np.inf], tx, [np.inf]))
    ey = np.concatenate(([-np.inf], ty, [np.inf]))

    def cdf(h, k):
        if h == -np.inf or k == -np.inf:
            return 0.0
        if h == np.inf:
            return ndtr(k)
        if k == np.inf:
            return ndtr(h)
        return _bvn_cdf_owen(h, k, rho)

    grid = np.array([[cdf(h, k) for k in ey] for h in ex])
    cells = grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]
    return np.clip(cells, 0.0, None)  # differencing leaves ~1e-17 noise in empty corners


def _mi_of_cells(cells, independent):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.where(cells > 0, cells * np.log(cells / independent), 0.0)))


@pytest.mark.parametrize("tx,ty,rho", [
    ([0.3], [-0.5], 0.6), ([-1.1, 0.25, 0.8], [-0.6, 0.7], -0.85),
    ([-0.5, 0.5], [-0.5, 0.5], 0.995), ([0.4, 1.3], [1.7], 0.03),
])
def test_cell_probabilities_match_owens_t(tx, ty, rho):
    cells = bivariate_normal_cell_probabilities(rho, tx, ty)
    owen = _cells_owen(np.array(tx), np.array(ty), rho)
    assert cells.shape == (len(tx) + 1, len(ty) + 1)
    assert np.max(np.abs(cells - owen)) < 1e-12
    independent = np.outer(level_probabilities(tx), level_probabilities(ty))
    mi_owen = _mi_of_cells(owen, independent)
    assert latent_gaussian_mi(rho, tx, ty) == pytest.approx(mi_owen, abs=1e-10)


def test_discrete_discrete_pairs_of_task_match_owens_t_and_plugin(task, big_sample):
    corr = task.latent_correlation
    pairs = _pairs_of_kind(task, 2)
    assert len(pairs) == 3
    for i, j in pairs:
        tx, ty = _thresholds(task, i), _thresholds(task, j)
        owen = _cells_owen(tx, ty, corr[i, j])
        independent = np.outer(level_probabilities(tx), level_probabilities(ty))
        assert np.all(owen > 0)
        log_ratio = np.log(owen / independent)
        assert task.truth[i, j] == pytest.approx(_mi_of_cells(owen, independent), abs=1e-10)
        # plug-in MI of the sampled levels
        a, b = big_sample[:, i].astype(np.int64), big_sample[:, j].astype(np.int64)
        counts = np.zeros(owen.shape)
        np.add.at(counts, (a, b), 1.0)
        joint = counts / N_MC
        with np.errstate(divide="ignore", invalid="ignore"):
            plugin = np.nansum(joint * np.log(joint / np.outer(joint.sum(1), joint.sum(0))))
        sd = np.sqrt(np.sum(owen * log_ratio**2) - task.truth[i, j] ** 2) / np.sqrt(N_MC)
        bias = (owen.shape[0] - 1) * (owen.shape[1] - 1) / (2 * N_MC)
        assert abs(plugin - task.truth[i, j]) < 5 * sd + bias, (i, j, plugin, sd)


def test_discrete_columns_are_levels_with_the_right_frequencies(task, big_sample):
    for j in np.flatnonzero(task.discrete):
        column = big_sample[:, j]
        k = task.params["columns"][j]["levels"]
        assert 2 <= k <= 5
        assert np.array_equal(np.unique(column), np.arange(k, dtype=np.float64))
        freq = np.bincount(column.astype(np.int64), minlength=k) / N_MC
        expected = level_probabilities(_thresholds(task, j))
        assert np.max(np.abs(freq - expected)) < 5 * 0.5 / np.sqrt(N_MC)  # sd <= 1/(2 sqrt n)


# ------------------------------------------------ transforms and sampling


def test_monotone_transforms_keep_spearman_correlations(task):
    plain = gaussian_graphical_table(transforms=False)
    assert plain.id == task.id + "-plain"
    np.testing.assert_array_equal(plain.truth, task.truth)
    assert plain.discrete == task.discrete
    x = task.sample(3000, seed=9)
    z = plain.sample(3000, seed=9)
    maps = {c["map"] for c in task.params["columns"] if not c["discrete"]}
    assert maps == {"identity", "exp", "cube", "asinh", "sigmoid"}
    assert not np.allclose(x, z)
    disc = np.array(task.discrete)
    np.testing.assert_array_equal(x[:, disc], z[:, disc])
    rho_x = stats.spearmanr(x)[0]
    rho_z = stats.spearmanr(z)[0]
    np.testing.assert_allclose(rho_x, rho_z, atol=1e-12)
    for j in np.flatnonzero(~disc):
        np.testing.assert_allclose(_latent(task, x, j), z[:, j], rtol=1e-8, atol=1e-8)


def test_sampling_is_reproducible_and_pickles(task):
    a = task.sample(500, seed=3)
    assert a.dtype == np.float64 and a.shape == (500, 20)
    np.testing.assert_array_equal(a, task.sample(500, seed=3))
    np.testing.assert_array_equal(a, task.sample(500, seed=np.random.default_rng(3)))
    assert not np.array_equal(a, task.sample(500, seed=4))
    clone = pickle.loads(pickle.dumps(task))
    np.testing.assert_array_equal(clone.sample(500, seed=3), a)
    # same construction seed, same task; another seed, another graph
    np.testing.assert_array_equal(gaussian_graphical_table().truth, task.truth)
    other = gaussian_graphical_table(seed=1)
    assert other.id != task.id and not np.allclose(other.latent_correlation,
                                                   task.latent_correlation)


def test_independent_components_have_exactly_zero_mi():
    t = gaussian_graphical_table(12, n_discrete=4, n_components=3, seed=2)
    corr = t.latent_correlation
    zero = np.abs(corr) == 0.0
    np.fill_diagonal(zero, False)
    assert zero.sum() == 2 * (3 * 4 * 4)  # three groups of four
    assert np.all(t.truth[zero] == 0.0) and np.all(t.truth_stderr[zero] == 0.0)
    assert np.all(t.truth[~zero & ~np.eye(12, dtype=bool)] > 0)


def test_as_frame():
    pd = pytest.importorskip("pandas")
    t = gaussian_graphical_table(6, n_discrete=2, seed=1)
    frame = t.as_frame(50, seed=0)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(t.names)
    np.testing.assert_array_equal(frame.to_numpy(dtype=np.float64), t.sample(50, seed=0))
    for name, disc in zip(t.names, t.discrete):
        assert (frame[name].dtype == np.int64) == disc


def test_bad_arguments_raise_value_error(task):
    bad = [
        (dict(n_vars=1), "n_vars"), (dict(n_vars=2.0), "n_vars"),
        (dict(n_discrete=21), "n_discrete"), (dict(n_discrete=-1), "n_discrete"),
        (dict(transforms="yes"), "transforms"), (dict(density=1.5), "density"),
        (dict(n_components=0), "n_components"), (dict(n_components=21), "n_components"),
        (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
    ]
    for kwargs, name in bad:
        with pytest.raises(ValueError, match=name):
            gaussian_graphical_table(**kwargs)
    for n in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="n_samples"):
            task.sample(n)
    with pytest.raises(ValueError, match="correlation"):
        latent_gaussian_mi(1.0, [0.0])
    with pytest.raises(ValueError, match="thresholds_x"):
        latent_gaussian_mi(0.5, [0.5, 0.1])
    with pytest.raises(ValueError, match="thresholds_y"):
        bivariate_normal_cell_probabilities(0.5, [0.0], [np.inf])
    with pytest.raises(ValueError, match="truth"):
        MatrixTask(id="t", names=("a", "b"), discrete=(False, False),
                   truth=np.zeros((2, 2)), truth_stderr=np.zeros((2, 2)),
                   sampler=lambda n, rng: np.zeros((n, 2)))


# ------------------------------------------------------ feature-target tasks


def test_feature_target_truth_and_roles():
    ft = feature_target_task()
    assert isinstance(ft, FeatureTargetTask) and not ft.discrete_target
    assert ft.truth.shape == ft.truth_stderr.shape == (20,)
    roles = np.array(ft.params["roles"])
    assert sorted(roles.tolist()) == sorted(["informative"] * 5 + ["redundant"] * 5
                                            + ["irrelevant"] * 10)
    r = ft.latent_correlation[:-1, -1]
    np.testing.assert_allclose(ft.truth, -0.5 * np.log1p(-r**2), rtol=1e-13, atol=0)
    assert np.all(ft.truth[roles == "irrelevant"] == 0.0)
    assert np.all(ft.truth[roles != "irrelevant"] > 0.0)
    assert np.all(ft.truth_stderr == 0.0)
    assert ft.joint_truth == pytest.approx(-0.5 * np.log(1 - 0.9), rel=1e-12)
    assert ft.joint_truth > ft.truth.max()
    json.dumps(ft.to_dict(), allow_nan=False)


def test_feature_target_sample_matches_latent_correlation():
    ft = feature_target_task(transforms=False, seed=4)
    n = 100_000
    x, y = ft.sample(n, seed=1)
    assert x.shape == (n, 20) and y.shape == (n,) and y.dtype == np.float64
    empirical = np.array([np.corrcoef(x[:, j], y)[0, 1] for j in range(20)])
    assert np.max(np.abs(empirical - ft.latent_correlation[:-1, -1])) < 5 / np.sqrt(n)
    # r_squared of the least-squares fit on all features
    coef, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(n)]), y, rcond=None)
    resid = y - np.column_stack([x, np.ones(n)]) @ coef
    assert 1 - resid.var() / y.var() == pytest.approx(0.9, abs=0.005)


def test_feature_target_transforms_keep_ranks():
    ft, plain = feature_target_task(seed=2), feature_target_task(seed=2, transforms=False)
    assert set(ft.params["maps"]) == {"identity", "exp", "cube", "asinh", "sigmoid"}
    np.testing.assert_array_equal(ft.truth, plain.truth)
    (x, y), (z, yz) = ft.sample(2000, seed=0), plain.sample(2000, seed=0)
    np.testing.assert_array_equal(y, yz)
    np.testing.assert_allclose(stats.spearmanr(x)[0], stats.spearmanr(z)[0],
                               atol=1e-12)


def test_feature_target_classification_variant():
    ft = feature_target_task(n_classes=3, seed=0)
    assert ft.discrete_target and ft.n_classes == 3 and ft.id.endswith("-classes3")
    thresholds = np.array(ft.params["target_thresholds"])
    np.testing.assert_allclose(level_probabilities(thresholds), 1 / 3, rtol=1e-12)
    r = ft.latent_correlation[:-1, -1]
    for j in range(20):
        assert ft.truth[j] == pytest.approx(_kl_form_trapezoid(thresholds, r[j]), abs=1e-9)
        assert ft.truth[j] <= -0.5 * np.log1p(-r[j] ** 2)
    assert ft.joint_truth == pytest.approx(latent_gaussian_mi(np.sqrt(0.9), thresholds))
    x, y = ft.sample(N_MC, seed=7)
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1, 2}
    # Monte Carlo with the exact conditional class probabilities, strongest feature
    j = int(np.argmax(ft.truth))
    v = _INVERSE_MAPS[ft.params["maps"][j]](x[:, j])
    cond = conditional_level_probabilities(thresholds, r[j], v)
    pointwise = np.log(cond[np.arange(N_MC), y] * 3.0)
    stderr = pointwise.std(ddof=1) / np.sqrt(N_MC)
    assert abs(pointwise.mean() - ft.truth[j]) < 5 * stderr
    np.testing.assert_array_equal(ft.sample(100, seed=7)[1], feature_target_task(
        n_classes=3, seed=0).sample(100, seed=7)[1])


def test_feature_target_bad_arguments():
    bad = [
        (dict(n_features=0), "n_features"), (dict(n_informative=0), "n_informative"),
        (dict(n_informative=21), "n_informative"), (dict(n_redundant=16), "n_redundant"),
        (dict(r_squared=1.0), "r_squared"), (dict(r_squared=0), "r_squared"),
        (dict(n_classes=1), "n_classes"), (dict(transforms=1), "transforms"),
        (dict(seed="a"), "seed"),
    ]
    for kwargs, name in bad:
        with pytest.raises(ValueError, match=name):
            feature_target_task(**kwargs)
    with pytest.raises(ValueError, match="n_samples"):
        feature_target_task().sample(0)
