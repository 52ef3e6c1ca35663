"""The closed forms against independent Monte Carlo integrals of log p(x,y) / p(x) p(y).

Each Monte Carlo check uses the task's own sampler and densities written independently
(scipy.stats), with a tolerance of 5 standard errors of the Monte Carlo mean (seeds fixed,
so the tests are deterministic).
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from mmgap.tasks import (
    additive_uniform,
    additive_uniform_mi,
    discrete_normal,
    gaussian_mi,
    get_task,
    student_identity,
    student_t_mi,
    student_t_mi_correction,
)
from mmgap.tasks.families import label_means
from mmgap.tasks.truth import gaussian_label_mi_monte_carlo


def _mc_check(pointwise, truth):
    mean = pointwise.mean()
    stderr = pointwise.std(ddof=1) / np.sqrt(pointwise.size)
    assert abs(mean - truth) < 5 * stderr, (mean, truth, stderr)


def test_gaussian_mi_bivariate_closed_form():
    for rho in (0.0, 0.3, -0.75, 0.99):
        cov = np.array([[1.0, rho], [rho, 1.0]])
        assert gaussian_mi(cov, 1) == pytest.approx(-0.5 * np.log1p(-(rho**2)), abs=1e-12)


def test_gaussian_mi_is_scale_invariant_and_symmetric():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T + np.eye(5)
    scale = np.diag(rng.uniform(0.1, 10.0, 5))
    assert gaussian_mi(scale @ cov @ scale, 2) == pytest.approx(gaussian_mi(cov, 2), rel=1e-10)
    perm = [2, 3, 4, 0, 1]  # swap the roles of x and y
    assert gaussian_mi(cov[np.ix_(perm, perm)], 3) == pytest.approx(gaussian_mi(cov, 2))


def test_gaussian_mi_rejects_bad_input():
    with pytest.raises(ValueError, match="dim_x"):
        gaussian_mi(np.eye(3), 3)
    with pytest.raises(ValueError, match="positive-definite"):
        gaussian_mi(np.ones((2, 2)) * 2 - np.eye(2) * 3, 1)


@pytest.mark.parametrize("dim_x,dim_y,df", [(1, 1, 1), (2, 2, 1), (3, 3, 3)])
def test_student_mi_matches_monte_carlo(dim_x, dim_y, df):
    task = student_identity(dim_x, dim_y, df)
    x, y = task.sample(100_000, seed=11)
    joint = stats.multivariate_t(np.zeros(dim_x + dim_y), np.eye(dim_x + dim_y), df=df)
    px = stats.multivariate_t(np.zeros(dim_x), np.eye(dim_x), df=df)
    py = stats.multivariate_t(np.zeros(dim_y), np.eye(dim_y), df=df)
    pointwise = joint.logpdf(np.hstack([x, y])) - px.logpdf(x) - py.logpdf(y)
    _mc_check(pointwise, task.mutual_information)


def test_student_correction_properties():
    assert student_t_mi_correction(2, 3, 1.5) == pytest.approx(student_t_mi_correction(3, 2, 1.5))
    corrections = [student_t_mi_correction(2, 2, df) for df in (1, 2, 5, 50, 5000)]
    assert all(c > 0 for c in corrections)
    assert np.all(np.diff(corrections) < 0) and corrections[-1] < 1e-5
    rho = 0.6
    disp = np.array([[1.0, rho], [rho, 1.0]])
    assert student_t_mi(disp, 1, 3) == pytest.approx(
        -0.5 * np.log(1 - rho**2) + student_t_mi_correction(1, 1, 3)
    )


@pytest.mark.parametrize("epsilon", [0.1, 0.4, 0.75, 2.0])
def test_additive_uniform_mi_matches_monte_carlo(epsilon):
    task = additive_uniform(epsilon)
    x, y = task.sample(100_000, seed=5)
    x, y = x[:, 0], y[:, 0]
    log_p_y_given_x = -np.log(2 * epsilon) * np.ones_like(y)
    p_y = (np.minimum(1.0, y + epsilon) - np.maximum(0.0, y - epsilon)) / (2 * epsilon)
    _mc_check(log_p_y_given_x - np.log(p_y), task.mutual_information)
    assert additive_uniform_mi(epsilon) == task.mutual_information


def test_additive_uniform_mi_is_continuous_at_one_half():
    assert additive_uniform_mi(0.5) == pytest.approx(additive_uniform_mi(0.5 + 1e-12))
    with pytest.raises(ValueError, match="epsilon"):
        additive_uniform_mi(0.0)


@pytest.mark.parametrize("task_id", ["discrete-normal-2-2-1.0", "discrete-normal-4-4-2.0"])
def test_discrete_truth_matches_independent_estimate(task_id):
    task = get_task(task_id)
    n_classes = task.params["n_classes"]
    means = label_means(task.dim_x, n_classes, task.params["scale"])
    x, y = task.sample(100_000, seed=3)
    # I = E[log p(x | y) - log p(x)], densities from scipy, not the Rao-Blackwellised form
    log_lik = np.stack(
        [stats.multivariate_normal(m, np.eye(task.dim_x)).logpdf(x) for m in means], axis=1
    )
    pointwise = log_lik[np.arange(y.size), y] - (logsumexp(log_lik, axis=1) - np.log(n_classes))
    mean = pointwise.mean()
    stderr = np.hypot(pointwise.std(ddof=1) / np.sqrt(y.size), task.mutual_information_stderr)
    assert abs(mean - task.mutual_information) < 5 * stderr
    assert 0 < task.mutual_information < np.log(n_classes)
    assert 0 < task.mutual_information_stderr < 1e-3


def test_discrete_monte_carlo_is_deterministic_and_shrinks():
    means = label_means(3, 3, 1.5)
    a = gaussian_label_mi_monte_carlo(means, 4096, seed=1)
    assert gaussian_label_mi_monte_carlo(means, 4096, seed=1) == a
    assert gaussian_label_mi_monte_carlo(means, 4096, seed=2) != a
    big = gaussian_label_mi_monte_carlo(means, 4 * 4096, seed=1)
    assert big[1] == pytest.approx(a[1] / 2, rel=0.1)


def test_discrete_normal_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_classes"):
        discrete_normal(2, 3, 1.0)
    with pytest.raises(ValueError, match="scale"):
        discrete_normal(2, 2, -1.0)
