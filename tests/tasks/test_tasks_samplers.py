"""Samplers: shapes, dtypes, reproducibility, and the distributions they claim to draw from."""

import pickle

import numpy as np
import pytest
from scipy import stats

from mmgap.tasks import bimodal, get_task, list_tasks, student_identity
from mmgap.tasks.families import (
    BIMODAL_X,
    BIMODAL_Y,
    bivariate_normal_covariance,
    dense_covariance,
    sparse_covariance,
)
from mmgap.tasks.maps import normal_mixture_cdf

N_PLUGIN = 200_000

# (task id, true joint covariance) for the Gaussian tasks checked by the plug-in estimate
GAUSSIAN_CASES = [
    ("1v1-normal-0.75", bivariate_normal_covariance(0.75)),
    ("multinormal-dense-2-2-0.5", dense_covariance(2, 2, 0.5)),
    ("multinormal-dense-5-5-0.5", dense_covariance(5, 5, 0.5)),
    ("multinormal-dense-50-50-0.5", dense_covariance(50, 50, 0.5)),
    ("multinormal-sparse-2-2-2-2.0", sparse_covariance(2, 2, 2, 2.0)),
    ("multinormal-sparse-25-25-2-2.0", sparse_covariance(25, 25, 2, 2.0)),
    ("independent-normal-10-10", np.eye(20)),
    *[
        (f"multinormal-sparse-3-3-2-{s}", sparse_covariance(3, 3, 2, s))
        for s in (200.0, 650.0, 1100.0, 1550.0, 2000.0)
    ],
    ("multinormal-sparse-50-50-2-2000.0", sparse_covariance(50, 50, 2, 2000.0)),
]


def _canonical_correlations(cov, dim_x):
    """Singular values of Sigma_xx^{-1/2} Sigma_xy Sigma_yy^{-1/2}."""
    lx = np.linalg.cholesky(cov[:dim_x, :dim_x])
    ly = np.linalg.cholesky(cov[dim_x:, dim_x:])
    whitened = np.linalg.solve(lx, np.linalg.solve(ly, cov[dim_x:, :dim_x]).T)
    return np.linalg.svd(whitened, compute_uv=False)


@pytest.mark.parametrize("task_id,cov", GAUSSIAN_CASES, ids=[c[0] for c in GAUSSIAN_CASES])
def test_gaussian_plugin_mi_reproduces_truth(task_id, cov):
    """Plug-in I from the sample covariance of n draws. Asymptotically its bias is
    dim_x dim_y / (2n) (the chi^2 limit of the likelihood-ratio statistic) and its standard
    deviation sqrt(sum_i rho_i^2 / n) over the canonical correlations rho_i (delta method),
    plus sqrt(2 dim_x dim_y) / (2n) from the chi^2 part. We allow bias + 5 such sd."""
    task = get_task(task_id)
    dx, dy = task.dim_x, task.dim_y
    x, y = task.sample(N_PLUGIN, seed=2024)
    s = np.cov(np.hstack([x, y]), rowvar=False)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    plugin = 0.5 * (logdet(s[:dx, :dx]) + logdet(s[dx:, dx:]) - logdet(s))
    rho = _canonical_correlations(cov, dx)
    assert -0.5 * np.sum(np.log1p(-(rho**2))) == pytest.approx(task.mutual_information)
    bias = dx * dy / (2 * N_PLUGIN)
    sd = np.sqrt(np.sum(rho**2) / N_PLUGIN) + np.sqrt(2 * dx * dy) / (2 * N_PLUGIN)
    assert abs(plugin - task.mutual_information - bias) < 5 * sd, (plugin, sd)
    # and the marginals are standard
    np.testing.assert_allclose(np.diag(s), 1.0, atol=6 * np.sqrt(2 / N_PLUGIN))


def test_every_task_is_reproducible_by_seed_with_right_shapes():
    for task in list_tasks("all"):
        arrays = task.sample(64, seed=7)
        again = task.sample(64, seed=7)
        other = task.sample(64, seed=8)
        specs = {"mi": ("xy",), "cmi": ("xyz",), "entropy": ("x",)}[task.quantity][0]
        assert len(arrays) == len(specs), task.id
        for name, a, a2 in zip(specs, arrays, again):
            dim = getattr(task, f"dim_{name}")
            flag = getattr(task, f"{name}_discrete", False)
            if task.is_label(name):
                assert a.dtype == np.int64 and a.shape == (64,), task.id
            elif flag is True:  # every column discrete
                assert a.dtype == np.int64 and a.shape == (64, dim), task.id
            else:  # continuous, or a tuple of integer-valued columns
                assert a.dtype == np.float64 and a.shape == (64, dim), task.id
            assert np.array_equal(a, a2), task.id
            assert np.all(np.isfinite(a)), task.id
        assert not np.array_equal(arrays[0], other[0]), task.id


def test_sample_accepts_a_generator_and_rejects_bad_sizes():
    task = get_task("1v1-normal-0.75")
    a = task.sample(10, np.random.default_rng(3))
    b = task.sample(10, 3)
    assert np.array_equal(a[0], b[0])
    for bad in (0, -5, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n_samples"):
            task.sample(bad, 0)


def test_tasks_pickle():
    for task_id in [
        "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
        "swissroll_x-normal_cdf-1v1-normal-0.75",
        "asinh-student-identity-2-2-1",
        "1v1-bimodal-0.75",
        "discrete-normal-2-2-1.0",
    ]:
        task = get_task(task_id)
        clone = pickle.loads(pickle.dumps(task))
        assert clone == task
        np.testing.assert_array_equal(clone.sample(20, 1)[0], task.sample(20, 1)[0])


@pytest.mark.parametrize("df", [1, 3])
def test_student_t_marginals_and_radius(df):
    task = student_identity(5, 5, df)
    x, y = task.sample(20_000, seed=4)
    assert stats.kstest(x[:, 0], "t", args=(df,)).pvalue > 1e-3
    assert stats.kstest(y[:, 4], "t", args=(df,)).pvalue > 1e-3
    # ||(x, y)||^2 / 10 ~ F(10, df): the scale is shared between x and y
    radius = np.sum(x**2, axis=1) + np.sum(y**2, axis=1)
    assert stats.kstest(radius / 10, "f", args=(10, df)).pvalue > 1e-3


def test_additive_uniform_support():
    x, y = get_task("1v1-additive-0.1").sample(10_000, seed=0)
    assert x.min() >= 0 and x.max() <= 1
    assert np.abs(y - x).max() <= 0.1
    assert np.abs(y - x).max() > 0.099


def test_bimodal_marginals_and_copula():
    n = 100_000
    x, y = bimodal(0.75).sample(n, seed=9)
    for sample, (weights, means) in ((x, BIMODAL_X), (y, BIMODAL_Y)):
        cdf = lambda v, w=weights, m=means: normal_mixture_cdf(v, w, m)  # noqa: E731
        assert stats.kstest(sample[:, 0], cdf).pvalue > 1e-3
    # Gaussian copula: Spearman's rho = 6/pi asin(rho/2), unchanged by monotone maps; the
    # sd of the sample Spearman rho is below 1/sqrt(n) = 0.0032
    spearman = stats.spearmanr(x[:, 0], y[:, 0]).statistic
    assert spearman == pytest.approx(6 / np.pi * np.arcsin(0.75 / 2), abs=5 / np.sqrt(n))


def test_discrete_labels_are_uniform_and_class_means_right():
    task = get_task("discrete-normal-4-4-2.0")
    x, y = task.sample(40_000, seed=1)
    counts = np.bincount(y, minlength=4)
    assert counts.size == 4 and stats.chisquare(counts).pvalue > 1e-3
    for k in range(4):
        expected = 2.0 * np.eye(4)[k]
        np.testing.assert_allclose(x[y == k].mean(axis=0), expected, atol=0.05)
