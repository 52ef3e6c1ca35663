"""Conditional-MI and entropy tasks: the Task record, the closed forms, the samplers, the
transforms and the suites.

Monte Carlo checks average a pointwise quantity written independently with scipy.stats
densities over the task's own samples; the tolerance is 5 standard errors of that Monte
Carlo mean (seeds fixed, so the tests are deterministic; a wrong truth by more than about
5 se -- a few hundredths of a nat here -- fails).
"""

import pickle

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtri

import mmgap.tasks as tasks
from mmgap.tasks import (
    Task,
    cmi_chain,
    cmi_collider,
    cmi_common_cause,
    cmi_discrete_z,
    cmi_gaussian_dense,
    cmi_gaussian_sparse,
    cmi_student,
    entropy_gaussian,
    entropy_student,
    entropy_uniform,
    gaussian_cmi,
    gaussian_mi,
    gaussian_pointwise_mi,
    gaussian_task_cov,
    get_task,
    list_task_ids,
    list_tasks,
    student_t_cmi,
    transform_entropy_task,
    transform_task,
    transform_variables,
)
from mmgap.tasks import maps
from mmgap.tasks.entropy import entropy_covariance, uniform_widths
from mmgap.tasks.families import dense_covariance
from mmgap.tasks.truth import (
    gaussian_entropy,
    gaussian_expected_log_abs,
    gaussian_expected_log_derivative,
)


def _mc_check(pointwise, truth, n_se=5.0):
    mean = pointwise.mean()
    stderr = pointwise.std(ddof=1) / np.sqrt(pointwise.size)
    assert abs(mean - truth) < n_se * stderr, (mean, truth, stderr)
    return stderr


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


# ------------------------------------------------------------------ the Task record


def _sampler_xy(n, rng):
    return rng.standard_normal((n, 1)), rng.standard_normal((n, 1))


def _sampler_xyz(n, rng):
    return rng.standard_normal((n, 2)), rng.standard_normal((n, 1)), rng.integers(3, size=n)


def _sampler_x(n, rng):
    return (rng.standard_normal((n, 3)),)


def test_task_defaults_keep_mi_tasks_unchanged():
    t = Task("t", 1, 1, 0.0, _sampler_xy)
    assert (t.quantity, t.dim_z, t.z_discrete) == ("mi", 0, False)
    x, y = t.sample(5, seed=0)
    assert x.shape == y.shape == (5, 1)
    assert t.truth == t.mutual_information
    d = t.to_dict()
    assert d["quantity"] == "mi" and d["dim_z"] == 0 and d["z_discrete"] is False


def test_task_sample_arity_and_shapes_per_quantity():
    cmi = Task("c", 2, 1, 0.25, _sampler_xyz, dim_z=1, z_discrete=True, quantity="cmi")
    x, y, z = cmi.sample(7, seed=1)
    assert x.shape == (7, 2) and y.shape == (7, 1) and z.shape == (7,) and z.dtype == np.int64
    assert cmi.truth == 0.25 and cmi.to_dict()["z_discrete"] is True
    ent = Task("e", 3, 0, -1.5, _sampler_x, quantity="entropy")
    out = ent.sample(4, seed=2)
    assert isinstance(out, tuple) and len(out) == 1 and out[0].shape == (4, 3)
    assert ent.truth == -1.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(quantity="kl"), "quantity"),
        (dict(quantity="entropy"), "dim_y"),  # entropy with dim_y = 1
        (dict(quantity="cmi"), "dim_z"),  # cmi without z
        (dict(dim_z=2), "dim_z"),  # mi with z
        (dict(quantity="cmi", dim_z=2, z_discrete=True), "dim_z"),
        (dict(dim_z=-1), "dim_z"),
    ],
)
def test_task_rejects_inconsistent_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Task("bad", 1, 1, 0.0, _sampler_xy, **kwargs)


def test_sampler_returning_wrong_arity_is_reported():
    t = Task("c", 1, 1, 0.0, _sampler_xy, dim_z=1, quantity="cmi")
    with pytest.raises(RuntimeError, match="3"):
        t.sample(3)


# ---------------------------------------------------------------- gaussian_cmi


@pytest.mark.parametrize("dx, dy, dz", [(1, 1, 1), (2, 3, 4), (3, 1, 2), (1, 2, 6)])
def test_gaussian_cmi_is_chain_rule_of_gaussian_mi(dx, dy, dz):
    rng = np.random.default_rng(dx * 100 + dy * 10 + dz)
    cov = _random_cov(rng, dx + dy + dz)
    x_then_yz = gaussian_mi(cov, dx)  # I(X; (Y, Z)) with (Y, Z) the rest
    keep = np.r_[np.arange(dx), np.arange(dx + dy, dx + dy + dz)]
    x_then_z = gaussian_mi(cov[np.ix_(keep, keep)], dx)
    assert gaussian_cmi(cov, dx, dy) == pytest.approx(x_then_yz - x_then_z, rel=1e-10)
    # symmetric in X and Y
    perm = np.r_[np.arange(dx, dx + dy), np.arange(dx), np.arange(dx + dy, dx + dy + dz)]
    assert gaussian_cmi(cov[np.ix_(perm, perm)], dy, dx) == pytest.approx(
        gaussian_cmi(cov, dx, dy), rel=1e-10
    )
    # and the definition 1/2 [log det Sigma_{x|z} - log det Sigma_{x|yz}]
    ix, iyz, iz = np.arange(dx), np.arange(dx, dx + dy + dz), np.arange(dx + dy, dx + dy + dz)
    s = cov

    def cond(a, b):
        return s[np.ix_(a, a)] - s[np.ix_(a, b)] @ np.linalg.solve(s[np.ix_(b, b)], s[np.ix_(b, a)])

    direct = 0.5 * (np.linalg.slogdet(cond(ix, iz))[1] - np.linalg.slogdet(cond(ix, iyz))[1])
    assert gaussian_cmi(cov, dx, dy) == pytest.approx(direct, rel=1e-9)


def test_gaussian_cmi_without_z_is_gaussian_mi_and_rejects_bad_input():
    cov = _random_cov(np.random.default_rng(0), 4)
    assert gaussian_cmi(cov, 2, 2) == pytest.approx(gaussian_mi(cov, 2), rel=1e-12)
    with pytest.raises(ValueError, match="dim_x, dim_y"):
        gaussian_cmi(cov, 3, 2)
    with pytest.raises(ValueError, match="dim_y"):
        gaussian_cmi(cov, 2, 0)
    with pytest.raises(ValueError, match="positive-definite"):
        gaussian_cmi(-np.eye(3), 1, 1)
    with pytest.raises(ValueError, match="df"):
        student_t_cmi(np.eye(3), 1, 1, 0.0)


# ------------------------------------------------------------- CMI families


def test_gaussian_families_have_their_designed_truths():
    rho = 0.6
    assert cmi_gaussian_sparse(3, 3, 3, 2, rho, 1.0).truth == pytest.approx(
        -np.log(1 - rho**2), rel=1e-10
    )
    assert cmi_gaussian_sparse(2, 2, 7, 1, rho, 2.5).truth == pytest.approx(
        -0.5 * np.log(1 - rho**2), rel=1e-10
    )
    assert cmi_gaussian_dense(2, 2, 50, 0.5, 1.0).truth == pytest.approx(
        gaussian_mi(dense_covariance(2, 2, 0.5), 2), rel=1e-9
    )
    for noise, d in ((0.5, 1), (1.0, 3)):
        expected = -0.5 * d * np.log(1 - 1 / (1 + noise**2) ** 2)
        assert cmi_collider(d, noise).truth == pytest.approx(expected, rel=1e-10)
    for task in (cmi_common_cause(1, 1, 1, 1.5), cmi_common_cause(5, 5, 5, 1.0),
                 cmi_chain(1, 1.0, 1.0), cmi_chain(3, 1.0, 0.8)):
        assert task.truth == 0.0
        assert abs(gaussian_cmi(gaussian_task_cov(task), task.dim_x, task.dim_y)) < 1e-12
        assert task.params["mi_unconditional"] > 0.1  # dependent without Z
    collider = cmi_collider(1, 0.5)
    cov = gaussian_task_cov(collider)
    assert gaussian_mi(cov[:2, :2], 1) == 0.0  # independent without Z


@pytest.mark.parametrize(
    "task_id",
    ["cmi-gauss-sparse-3-3-3-2-0.6-1.0", "cmi-gauss-dense-2-2-50-0.5-1.0",
     "cmi-collider-3-1.0", "cmi-chain-1-1.0-1.0", "cmi-common-cause-5-5-5-1.0"],
)
def test_gaussian_samplers_have_the_stated_covariance(task_id):
    task = get_task(task_id)
    n = 50_000
    x, y, z = task.sample(n, seed=3)
    v = np.hstack([x, y, z])
    cov = gaussian_task_cov(task)
    emp = v.T @ v / n  # zero means
    # se of each entry of a zero-mean sample covariance: sqrt((s_ii s_jj + s_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.max(np.abs(emp - cov) / se) < 5.5  # max over up to 54^2 entries
    assert task.truth == pytest.approx(gaussian_cmi(cov, task.dim_x, task.dim_y), abs=1e-12)


@pytest.mark.parametrize("task_id", ["cmi-student-1-1-1-1-0.6-1.0-3",
                                     "cmi-student-2-2-2-1-0.6-1.0-3"])
def test_student_cmi_matches_monte_carlo(task_id):
    task = get_task(task_id)
    dx, dy, dz = task.dim_x, task.dim_y, task.dim_z
    x, y, z = task.sample(100_000, seed=11)
    df = task.params["df"]
    from mmgap.tasks.conditional import cmi_sparse_covariance

    disp = cmi_sparse_covariance(dx, dy, dz, task.params["n_interacting"],
                                 task.params["correlation"], task.params["loading"])

    def logpdf(idx, v):
        return stats.multivariate_t(np.zeros(len(idx)), disp[np.ix_(idx, idx)], df=df).logpdf(v)

    ix, iy, iz = np.arange(dx), np.arange(dx, dx + dy), np.arange(dx + dy, dx + dy + dz)
    point = (
        logpdf(np.r_[ix, iy, iz], np.hstack([x, y, z]))
        + logpdf(iz, z)
        - logpdf(np.r_[ix, iz], np.hstack([x, z]))
        - logpdf(np.r_[iy, iz], np.hstack([y, z]))
    )
    _mc_check(point, task.truth)
    # the t correction is real: the Gaussian part alone is rejected at this precision
    assert abs(point.mean() - gaussian_cmi(disp, dx, dy)) > 5 * point.std() / np.sqrt(point.size)


def test_discrete_z_cmi_matches_monte_carlo():
    task = cmi_discrete_z(2, 3, 0.8, 1.0)
    x, y, z = task.sample(100_000, seed=5)
    assert set(np.unique(z)) == {0, 1, 2}
    d = task.dim_x
    point = np.empty(z.size)
    for k, rho in enumerate(task.params["class_correlations"]):
        rows = z == k
        cov = np.eye(2 * d)
        for i in range(d):
            cov[i, d + i] = cov[d + i, i] = rho
        m = task.params["mean_shift"] * k
        xy = np.hstack([x[rows], y[rows]])
        point[rows] = (
            stats.multivariate_normal(np.full(2 * d, m), cov).logpdf(xy)
            - stats.multivariate_normal(np.full(d, m), np.eye(d)).logpdf(x[rows])
            - stats.multivariate_normal(np.full(d, m), np.eye(d)).logpdf(y[rows])
        )
    _mc_check(point, task.truth)
    assert task.truth == pytest.approx(np.mean(task.params["class_cmi"]), rel=1e-12)


def test_family_constructors_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_interacting"):
        cmi_gaussian_sparse(2, 2, 2, 3)
    with pytest.raises(ValueError, match="correlation"):
        cmi_gaussian_sparse(2, 2, 2, 1, 1.0)
    with pytest.raises(ValueError, match="dim_z"):
        cmi_gaussian_sparse(2, 2, 0)
    with pytest.raises(ValueError, match="off_diag"):
        cmi_gaussian_dense(2, 2, 2, -0.5)
    with pytest.raises(ValueError, match="loading"):
        cmi_common_cause(1, 1, 1, 0.0)
    with pytest.raises(ValueError, match="noise"):
        cmi_collider(1, 0.0)
    with pytest.raises(ValueError, match="df"):
        cmi_student(1, 1, 1, -1)
    with pytest.raises(ValueError, match="n_classes"):
        cmi_discrete_z(2, 1)


# ------------------------------------------------------------------ transforms


def test_named_transforms_map_x_y_and_z_of_cmi_tasks():
    base = get_task("cmi-gauss-sparse-5-5-5-2-0.75-1.0")
    for name, fn in (("half_cube", maps.half_cube), ("normal_cdf", maps.normal_cdf),
                     ("asinh", maps.asinh)):
        t = getattr(tasks, name)(base)
        assert t.id == f"{name}-{base.id}" and t.truth == base.truth
        assert (t.quantity, t.dim_z) == ("cmi", 5)
        for a, b in zip(t.sample(100, seed=4), base.sample(100, seed=4)):
            np.testing.assert_array_equal(a, fn(b))
    sp = tasks.spiral(base)
    for a, b in zip(sp.sample(100, seed=4), base.sample(100, seed=4)):
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
        assert not np.allclose(a, b)  # z is rotated too (dim_z >= 2)


def test_transform_variables_maps_only_the_chosen_ones():
    base = cmi_collider(1, 0.5)
    t = transform_variables(base, "half_cube", "z")
    assert t.id == "half_cube_z-cmi-collider-1-0.5" and t.truth == base.truth
    (x, y, z), (bx, by, bz) = t.sample(50, seed=1), base.sample(50, seed=1)
    np.testing.assert_array_equal(x, bx)
    np.testing.assert_array_equal(y, by)
    np.testing.assert_array_equal(z, maps.half_cube(bz))
    assert transform_variables(base, "asinh", "zyx").id == "asinh-cmi-collider-1-0.5"
    assert transform_variables(get_task("1v1-normal-0.75"), "asinh", "y").id == \
        "asinh_y-1v1-normal-0.75"
    # a discrete z stays a label; "all continuous variables" then means x and y
    dz = cmi_discrete_z(2, 3)
    assert transform_variables(dz, "asinh", "xy").id == f"asinh-{dz.id}"
    assert tasks.half_cube(dz).sample(10, seed=0)[2].dtype == np.int64
    with pytest.raises(ValueError, match="discrete"):
        transform_variables(dz, "asinh", "z")
    with pytest.raises(ValueError, match="variables"):
        transform_variables(base, "asinh", "w")
    with pytest.raises(ValueError, match="spiral needs"):
        transform_variables(base, "spiral", "x")
    with pytest.raises(ValueError, match="name"):
        transform_variables(base, "cube", "x")
    with pytest.raises(ValueError, match="no z"):
        transform_variables(get_task("1v1-normal-0.75"), "asinh", "z")


def test_entropy_tasks_refuse_mi_transforms_and_cmi_tasks_pickle():
    ent = entropy_gaussian(2)
    with pytest.raises(ValueError, match="entropy"):
        tasks.half_cube(ent)
    with pytest.raises(ValueError, match="entropy"):
        transform_task(ent, "x", maps.asinh)
    with pytest.raises(ValueError, match="map_z"):
        transform_task(get_task("1v1-normal-0.75"), "p", map_z=maps.asinh)
    for task_id in ("spiral-cmi-gauss-sparse-5-5-5-2-0.75-1.0", "cmi-discrete-z-2-2-3-0.8-1.0",
                    "half_cube_z-cmi-collider-1-0.5", "exp-entropy-gauss-1-0.5-0.0-0.5"):
        task = get_task(task_id)
        clone = pickle.loads(pickle.dumps(task))
        assert clone == task
        for a, b in zip(clone.sample(20, 1), task.sample(20, 1)):
            np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------- pointwise Gaussian MI


@pytest.mark.parametrize("task_id", ["1v1-normal-0.75", "multinormal-dense-3-3-0.5",
                                     "multinormal-sparse-5-5-2-2.0", "independent-normal-2-2"])
def test_gaussian_pointwise_mi_averages_to_the_mi(task_id):
    task = get_task(task_id)
    cov = gaussian_task_cov(task)
    assert gaussian_mi(cov, task.dim_x) == pytest.approx(task.truth, abs=1e-12)
    x, y = task.sample(100_000, seed=21)
    point = gaussian_pointwise_mi(cov, task.dim_x, x, y)
    assert point.shape == (x.shape[0],)
    # an independent formula: log p(x, y) - log p(x) - log p(y) with scipy densities
    dx = task.dim_x
    direct = (stats.multivariate_normal(np.zeros(cov.shape[0]), cov).logpdf(np.hstack([x, y]))
              - stats.multivariate_normal(np.zeros(dx), cov[:dx, :dx]).logpdf(x)
              - stats.multivariate_normal(np.zeros(cov.shape[0] - dx), cov[dx:, dx:]).logpdf(y))
    np.testing.assert_allclose(point, np.atleast_1d(direct), atol=1e-9)
    if task.truth == 0:
        np.testing.assert_allclose(point, 0.0, atol=1e-12)
    else:
        _mc_check(point, task.truth)


def test_gaussian_task_cov_and_pointwise_reject_what_they_cannot_do():
    with pytest.raises(ValueError, match="transformed"):
        gaussian_task_cov(get_task("half_cube-1v1-normal-0.75"))
    with pytest.raises(ValueError, match="not a plain Gaussian"):
        gaussian_task_cov(get_task("1v1-additive-0.1"))
    with pytest.raises(ValueError, match="y"):
        gaussian_pointwise_mi(np.eye(3), 1, np.zeros((4, 1)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="x"):
        gaussian_pointwise_mi(np.eye(3), 1, np.zeros((4, 2)), np.zeros((4, 2)))


# --------------------------------------------------------------------- entropy


@pytest.mark.parametrize("task_id", [
    "entropy-gauss-1-0.5-0.0-0.0", "entropy-gauss-5-0.5-1.0-0.0",
    "entropy-gauss-20-0.5-2.0-0.0", "entropy-gauss-50-0.5-1.0-0.0",
])
def test_gaussian_entropy_matches_monte_carlo(task_id):
    task = get_task(task_id)
    p = task.params
    cov = entropy_covariance(p["dim"], p["correlation"], p["log_scale_range"])
    (x,) = task.sample(100_000, seed=31)
    neg_log = -np.atleast_1d(stats.multivariate_normal(np.full(p["dim"], p["mean"]), cov).logpdf(x))
    _mc_check(neg_log, task.truth)
    assert task.truth == pytest.approx(
        0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1], rel=1e-12)


@pytest.mark.parametrize("task_id", ["entropy-student-1-0.5-1.0-3",
                                     "entropy-student-5-0.5-1.0-4",
                                     "entropy-student-10-0.5-1.0-5"])
def test_student_entropy_matches_monte_carlo(task_id):
    task = get_task(task_id)
    p = task.params
    disp = entropy_covariance(p["dim"], p["correlation"], p["log_scale_range"])
    (x,) = task.sample(200_000, seed=32)
    dist = stats.multivariate_t(np.zeros(p["dim"]), disp, df=p["df"])
    _mc_check(-np.atleast_1d(dist.logpdf(x)), task.truth)
    if p["dim"] == 1:  # scipy's own closed form for the 1-D t
        scale = np.sqrt(disp[0, 0])
        assert task.truth == pytest.approx(stats.t(p["df"], scale=scale).entropy(), rel=1e-10)


@pytest.mark.parametrize("dim", [1, 2, 5, 20])
def test_uniform_entropy_and_support(dim):
    task = entropy_uniform(dim)
    widths = uniform_widths(dim)
    assert task.truth == pytest.approx(np.sum(np.log(widths)), abs=1e-12)
    (x,) = task.sample(20_000, seed=dim)
    assert np.all(np.abs(x) <= widths / 2)
    # the observed range fills the box: max spacing to the edge is O(width / n)
    np.testing.assert_allclose(x.max(0) - x.min(0), widths, rtol=2e-3)
    # each column uniform on its interval
    for j in range(dim):
        assert stats.kstest(x[:, j] / widths[j] + 0.5, "uniform").pvalue > 1e-3


_INVERSES = {
    "half_cube": (lambda v: np.sign(v) * np.abs(v) ** (2.0 / 3.0),
                  lambda x: np.log(1.5) + 0.5 * np.log(np.abs(x))),
    "exp": (np.log, lambda x: x),
    "normal_cdf": (ndtri, lambda x: stats.norm.logpdf(x)),
}


@pytest.mark.parametrize("task_id", [
    "half_cube-entropy-gauss-2-0.5-1.0-0.0", "half_cube-entropy-gauss-10-0.7-1.0-0.0",
    "exp-entropy-gauss-1-0.5-0.0-0.5", "exp-entropy-gauss-5-0.5-1.0-0.5",
    "normal_cdf-entropy-gauss-2-0.5-0.0-0.0", "normal_cdf-entropy-gauss-10-0.5-0.0-0.0",
])
def test_mapped_gaussian_entropy_matches_monte_carlo(task_id):
    """-log p_f(v) = -log p_X(f^{-1}(v)) + sum_j log|f'(x_j)|, on the task's own samples."""
    task = get_task(task_id)
    p = task.params
    name = p["transforms"][0]["name"]
    inverse, log_derivative = _INVERSES[name]
    cov = entropy_covariance(p["dim"], p["correlation"], p["log_scale_range"])
    (v,) = task.sample(100_000, seed=33)
    x = inverse(v)
    base = stats.multivariate_normal(np.full(p["dim"], p["mean"]), cov)
    neg_log = -np.atleast_1d(base.logpdf(x)) + log_derivative(x).sum(axis=1)
    _mc_check(neg_log, task.truth)


def test_expected_log_derivatives_by_quadrature():
    for s in (0.3, 1.0, 2.5):
        def integrand(g, s=s):
            return np.log(abs(g)) * stats.norm.pdf(g, scale=s)
        # the singularity at 0 is integrable; split there
        value = sum(integrate.quad(integrand, a, b, limit=200)[0]
                    for a, b in ((-np.inf, 0.0), (0.0, np.inf)))
        assert gaussian_expected_log_abs(s) == pytest.approx(value, abs=1e-8)
        for m in (0.0, 0.7):
            value = integrate.quad(lambda g: stats.norm.logpdf(g) * stats.norm.pdf(g, m, s),
                                   -np.inf, np.inf)[0]
            assert gaussian_expected_log_derivative("normal_cdf", m, s) == pytest.approx(value,
                                                                                      abs=1e-8)
    # standard normal columns go to uniform ones: h = 0
    t = transform_entropy_task(entropy_gaussian(5, 0.0, 0.0), "normal_cdf")
    assert t.truth == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="mean"):
        transform_entropy_task(entropy_gaussian(2, 0.5, 1.0, 0.5), "half_cube")
    with pytest.raises(ValueError, match="name"):
        transform_entropy_task(entropy_gaussian(2), "asinh")
    with pytest.raises(ValueError, match="entropy-gauss"):
        transform_entropy_task(entropy_student(2, 3), "exp")


def test_entropy_constructors_reject_bad_arguments():
    with pytest.raises(ValueError, match="dim"):
        entropy_gaussian(0)
    with pytest.raises(ValueError, match="correlation"):
        entropy_gaussian(3, 1.0)
    with pytest.raises(ValueError, match="log_scale_range"):
        entropy_gaussian(3, 0.5, -1.0)
    with pytest.raises(ValueError, match="mean"):
        entropy_gaussian(3, 0.5, 1.0, float("nan"))
    with pytest.raises(ValueError, match="df"):
        entropy_student(3, 0)
    with pytest.raises(ValueError, match="covariance"):
        gaussian_entropy(np.ones(3))


# ---------------------------------------------------------------------- suites


def test_cmi_suite_composition():
    suite = list_tasks("cmi")
    assert 20 <= len(suite) <= 25
    assert all(t.quantity == "cmi" and t.dim_z >= 1 for t in suite)
    families = [t.params["family"] for t in suite]
    assert sum(max(t.dim_x, t.dim_y, t.dim_z) >= 5 for t in suite) >= 6
    assert families.count("cmi-common-cause") >= 2
    assert "cmi-collider" in families and "cmi-chain" in families
    assert any(t.z_discrete for t in suite)
    assert any(t.dim_z == 50 for t in suite)
    assert any(t.params.get("transforms") for t in suite)
    truths = np.array([t.truth for t in suite])
    assert np.all(truths >= 0) and np.all(truths <= 2.0)
    nonzero = truths[truths > 0]
    assert np.mean((nonzero >= 0.1) & (nonzero <= 2.0)) == 1.0


def test_entropy_suite_composition():
    suite = list_tasks("entropy")
    assert 18 <= len(suite) <= 24
    assert all(t.quantity == "entropy" and t.dim_y == 0 for t in suite)
    assert {1, 2, 5, 10, 20, 50} <= {t.dim_x for t in suite}
    families = {t.params["family"] for t in suite}
    assert families == {"entropy-gauss", "entropy-uniform", "entropy-student"}
    names = {t.params["transforms"][0]["name"] for t in suite if t.params.get("transforms")}
    assert names == {"half_cube", "exp", "normal_cdf"}
    assert all(t.params["df"] >= 3 for t in suite if t.params["family"] == "entropy-student")


def test_new_suites_are_in_all_and_old_suites_unchanged():
    all_ids = list_task_ids("all")
    for suite in ("cmi", "entropy"):
        for task_id in list_task_ids(suite):
            assert task_id in all_ids
            assert get_task(task_id).id == task_id
    assert len(list_task_ids("bmi40")) == 40
    assert all(t.quantity == "mi" for s in ("bmi40", "high-mi", "extra") for t in list_tasks(s))
