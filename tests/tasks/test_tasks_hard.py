"""The harder ground-truth tasks of issue 16: fine mixtures, coupled pairs, Student-t high MI,
blob images. Truths are checked against independent computations (scipy densities, closed
forms, an explicit inversion of the image map), Monte Carlo checks within 5 standard errors
with fixed seeds."""

import functools

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from mmgap.tasks import get_task, list_task_ids
from mmgap.tasks import blobs, fine
from mmgap.tasks.families import (
    MAX_PAIR_MI,
    coupled_pairs,
    multinormal_sparse,
    sparse_covariance,
    student_sparse,
)
from mmgap.tasks.task import Task
from mmgap.tasks.transforms import half_cube
from mmgap.tasks.truth import (
    gaussian_mi,
    gaussian_mixture_mi_monte_carlo,
    student_t_mi,
    student_t_mi_correction,
)


def _within(mean, truth, stderr, k=5.0):
    assert abs(mean - truth) < k * stderr, (mean, truth, stderr)


# ----------------------------------------------------------------- fine mixtures


def test_mixture_monte_carlo_of_one_component_is_the_gaussian_mi():
    cov = np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.3], [0.2, 0.3, 1.0]])
    mi, se = gaussian_mixture_mi_monte_carlo([1.0], np.zeros((1, 3)), cov[None], 1, 2**16, 0)
    _within(mi, gaussian_mi(cov, 1), se)
    assert 0 < se < 0.01


def test_fine_x_truth_against_scipy_densities_on_its_own_samples():
    task = fine.fine_x(0.9)
    x, y = task.sample(200_000, seed=3)
    xy = np.hstack([x, y])
    plus = stats.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]])
    minus = stats.multivariate_normal([0, 0], [[1, -0.9], [-0.9, 1]])
    joint = np.log(0.5 * plus.pdf(xy) + 0.5 * minus.pdf(xy))
    # both components have N(0, 1) marginals: the marginals are standard normal
    pointwise = joint - stats.norm.logpdf(x[:, 0]) - stats.norm.logpdf(y[:, 0])
    _within(pointwise.mean(), task.truth, pointwise.std() / np.sqrt(pointwise.size))
    # uncorrelated, yet dependent
    assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.01
    assert task.truth > 0.3


def test_separated_components_give_log_k():
    # components 10 sd apart: x names the component, the component names y
    task = fine.fine_permutation(4, 0.1)
    assert task.truth == pytest.approx(np.log(4), abs=1e-6)
    clusters = fine.fine_clusters(5, 16, 0.1)
    assert clusters.truth == pytest.approx(np.log(16), abs=5 * clusters.mutual_information_stderr + 1e-3)
    # wider components overlap and carry less
    assert fine.fine_permutation(8, 0.3).truth < np.log(8) - 0.3


def test_fine_samples_follow_the_declared_mixture():
    task = fine.fine_ring(12, 0.1)
    x, y = task.sample(50_000, seed=1)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.median(radius) == pytest.approx(2.0, abs=0.01)
    # y given the nearest ring component k has mean 2 sin(3 t_k)
    t = np.arctan2(x[:, 1], x[:, 0])
    k = np.round(t / (2 * np.pi / 12)) % 12
    t_k = 2 * np.pi * k / 12
    resid = y[:, 0] - 2 * np.sin(3 * t_k)
    assert resid.std() == pytest.approx(0.3, abs=0.01)
    inl = fine.fine_inliers(5, 0.2)
    a, b = inl.sample(100_000, seed=2)
    # cross-covariance: 0.8 * 0.6 from the dense component, 0 from the outliers
    assert np.cov(a[:, 0], b[:, 3])[0, 1] == pytest.approx(0.48, abs=0.02)


def test_fine_ids_known_without_the_integral_and_truth_deterministic():
    for task_id in list_task_ids("fine"):
        task = get_task(task_id)
        assert task.mutual_information_stderr > 0 or task.id.startswith("fine-permutation-1-1-4")
        assert task.mutual_information_stderr < 0.005
    assert fine.fine_clusters.task_id(5, 8, 0.2) == "fine-clusters-5-5-8-0.2"
    assert fine.fine_clusters(5, 8, 0.2).truth == fine.fine_clusters(5, 8, 0.2).truth
    with pytest.raises(ValueError, match="width"):
        fine.fine_ring(12, -0.1)
    with pytest.raises(ValueError, match="n_components"):
        fine.fine_clusters(5, 1, 0.1)
    with pytest.raises(ValueError, match="eps"):
        fine.fine_inliers(5, 1.0)


# --------------------------------------------------------------- coupled pairs


def test_coupled_pairs_truth_is_the_gaussian_mi():
    task = coupled_pairs(10, 5, 20.0)
    rho = task.params["correlation"]
    assert 5 * (-0.5 * np.log1p(-rho**2)) == pytest.approx(20.0, rel=1e-12)
    cov = np.eye(20)
    for i in range(5):
        cov[i, 10 + i] = cov[10 + i, i] = rho
    assert gaussian_mi(cov, 10) == pytest.approx(task.truth, rel=1e-8)
    x, y = task.sample(20_000, seed=0)
    assert np.corrcoef(x[:, 4], y[:, 4])[0, 1] == pytest.approx(rho, abs=1e-4)
    assert abs(np.corrcoef(x[:, 5], y[:, 5])[0, 1]) < 0.03
    assert coupled_pairs(160, 160, 80.0).truth == 80.0


def test_coupled_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="mi"):
        coupled_pairs(10, 2, 2 * MAX_PAIR_MI + 1)
    with pytest.raises(ValueError, match="n_pairs"):
        coupled_pairs(10, 11, 5.0)
    with pytest.raises(ValueError, match="dim"):
        coupled_pairs(0, 1, 5.0)


# ------------------------------------------------------------ Student-t high MI


def test_student_sparse_truth_is_gaussian_part_plus_the_t_correction():
    task = student_sparse(5, 5, 2, 200.0, 3)
    gauss = multinormal_sparse(5, 5, 2, 200.0).truth
    assert task.truth == pytest.approx(gauss + student_t_mi_correction(5, 5, 3), rel=1e-10)
    assert task.truth > gauss


def test_student_sparse_truth_against_scipy_densities():
    task = student_sparse(2, 2, 1, 1.0, 3)
    x, y = task.sample(100_000, seed=5)
    disp = sparse_covariance(2, 2, 1, 1.0)
    joint = stats.multivariate_t(np.zeros(4), disp, df=3).logpdf(np.hstack([x, y]))
    px = stats.multivariate_t(np.zeros(2), disp[:2, :2], df=3).logpdf(x)
    py = stats.multivariate_t(np.zeros(2), disp[2:, 2:], df=3).logpdf(y)
    pointwise = joint - px - py
    _within(pointwise.mean(), task.truth, pointwise.std() / np.sqrt(pointwise.size))
    assert task.truth == pytest.approx(student_t_mi(disp, 2, 3))


# ---------------------------------------------------------------- blob images


def _invert_blob(image):
    """Recover (c_row, c_col, s, A) from a blob image by the log-quadratic argument of
    the module docstring (three pixels around the brightest one, in each direction)."""
    i, j = np.unravel_index(np.argmax(image), image.shape)
    log = np.log(image.astype(np.float64))
    d2_row = log[i - 1, j] - 2 * log[i, j] + log[i + 1, j]  # = -1 / s^2
    s2 = -1.0 / d2_row
    d1_row = (log[i + 1, j] - log[i - 1, j]) / 2  # = -(i - c_row) / s^2
    d1_col = (log[i, j + 1] - log[i, j - 1]) / 2
    c_row = i + d1_row * s2
    c_col = j + d1_col * s2
    a = np.exp(log[i, j] + ((i - c_row) ** 2 + (j - c_col) ** 2) / (2 * s2))
    return c_row, c_col, np.sqrt(s2), a


@pytest.mark.parametrize("size", [16, 32])
def test_blob_map_is_injective_latents_recovered_exactly(size):
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((200, 4))
    images = blobs.render_blobs(latent, size)
    margin = size / 8
    span = size - 1 - 2 * margin
    for u, image in zip(latent, images):
        c_row, c_col, s, a = _invert_blob(image)
        rec = [ndtri((c_row - margin) / span), ndtri((c_col - margin) / span),
               ndtri((s - blobs.S_MIN) / blobs.S_RANGE), ndtri((a - blobs.A_MIN) / blobs.A_RANGE)]
        np.testing.assert_allclose(rec, u, atol=1e-6)


def test_blob_task_shapes_truth_and_validation():
    task = blobs.blob_images(16, 2, 4.0)
    assert task.truth == 4.0 and task.x_shape == (16, 16) and task.dim_x == 256
    x, y = task.sample(50, seed=0)
    assert x.shape == (50, 256) and y.shape == (50, 256)
    xi, yi = task.shaped((x, y))
    assert xi.shape == (50, 16, 16) and np.shares_memory(xi, x)
    assert task.to_dict()["x_shape"] == [16, 16]
    # same seed, same images; a latent pair correlation that gives 2 nats per pair
    np.testing.assert_array_equal(task.sample(5, seed=1)[0], task.sample(5, seed=1)[0])
    assert -0.5 * np.log1p(-task.params["correlation"] ** 2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="n_latent"):
        blobs.blob_images(16, 5, 4.0)
    with pytest.raises(ValueError, match="mi"):
        blobs.blob_images(16, 2, 100.0)
    with pytest.raises(ValueError, match="size"):
        blobs.blob_images(4, 2, 1.0)
    # a transform that keeps the dimension keeps the image shape
    assert half_cube(task).x_shape == (16, 16)


def test_task_shape_validation():
    sampler = functools.partial(lambda n, rng: (np.zeros((n, 4)), np.zeros((n, 1))))
    with pytest.raises(ValueError, match="x_shape"):
        Task(id="t", dim_x=4, dim_y=1, mutual_information=0.0, sampler=sampler, x_shape=(3, 2))
    with pytest.raises(ValueError, match="y_shape"):
        Task(id="t", dim_x=4, dim_y=1, mutual_information=0.0, sampler=sampler, y_shape=(1,))
    ok = Task(id="t", dim_x=4, dim_y=1, mutual_information=0.0, sampler=sampler, x_shape=[2, 2])
    assert ok.x_shape == (2, 2)


# ------------------------------------------------------------------- registry


def test_new_suites_listed():
    assert len(list_task_ids("fine")) == 13
    assert len(list_task_ids("images-known")) == 12
    high = list_task_ids("high-mi")
    assert len(high) == 125 and "student-sparse-3-3-2-200.0-3" in high
    pairs = list_task_ids("many-pairs")
    assert "coupled-pairs-160-160-80.0" in pairs and "spiral-coupled-pairs-10-5-20.0" in pairs
    for task_id in pairs:
        task = get_task(task_id)
        assert 5.0 <= task.truth <= 80.0
