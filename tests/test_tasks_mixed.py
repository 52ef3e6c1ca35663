"""The "mixed" suite (discrete and mixed variables) and the discreteness flags of Task.

Every truth is checked against an independent computation: a plug-in estimate on 10^6
samples for the discrete pairs, and for the others a Monte Carlo mean of the exact
log-density ratio log p(x, y) / (p(x) p(y)), written here from scratch with scipy.stats
(densities with respect to Lebesgue measure plus counting measure on the atoms), on draws
of the task's own sampler. The tolerance is 4.5 Monte Carlo standard errors (plus the
stated error of a numerical truth): a wrong truth or a sampler that draws from another
distribution shows up as a many-sigma miss.
"""

import json
import pickle
import time

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import log_ndtr, logsumexp

from mmgap.tasks import SUITES, get_task, list_task_ids, list_tasks
from mmgap.tasks import mixed
from mmgap.tasks.task import Task

N_MC = 200_000
N_PLUGIN = 1_000_000
Z_TOL = 4.5


@pytest.fixture(scope="module")
def suite():
    return {t.id: t for t in list_tasks("mixed")}


# ------------------------------------------------------------------- the suite itself


def test_suite_is_registered_and_in_all(suite):
    assert "mixed" in SUITES and SUITES[-1] == "all"
    ids = list_task_ids("mixed")
    assert 20 <= len(ids) <= 25 and len(set(ids)) == len(ids)
    all_ids = list_task_ids("all")
    assert all(i in all_ids for i in ids)
    assert list(suite) == ids
    for task_id in ids[:3]:
        assert get_task(task_id).id == task_id


def test_suite_covers_the_kinds_of_variables(suite):
    tasks = list(suite.values())
    assert all(t.quantity == "mi" for t in tasks)
    both = [t for t in tasks if t.x_discrete is True and t.y_discrete is True]
    assert len(both) >= 4 and any(t.dim_x >= 3 for t in both)  # multi-column discrete x
    uniform = {t.params["n_classes"] for t in tasks if t.params["family"] == "class-uniform"}
    assert uniform == {2, 5, 10, 50}
    gauss = [t for t in tasks if t.params["family"] == "class-gauss"]
    assert {t.dim_y for t in gauss} >= {1, 3, 5}
    assert any(len(set(np.round(t.params["prior"], 12))) > 1 for t in gauss)  # non-uniform
    assert any(t.params["family"] == "gauss-class" and t.y_discrete is True for t in tasks)
    assert any(isinstance(t.x_discrete, tuple) for t in tasks)  # mixed columns in x
    families = {t.params["family"] for t in tasks}
    assert {"zi-poisson-exp", "mixture-gauss-bsc", "dropout-gauss", "censored-gauss"} <= families
    assert sum(max(t.dim_x, t.dim_y) >= 3 for t in tasks) >= 6
    truths = np.array([t.truth for t in tasks])
    assert np.all(truths > 0.2) and np.all(truths < 4.0)
    # exact truths have stderr 0, the numerical ones a small positive accuracy
    for t in tasks:
        numeric = t.params["family"] in ("class-gauss", "gauss-class", "censored-gauss")
        assert (t.mutual_information_stderr > 0) == numeric, t.id
        assert t.mutual_information_stderr < 1e-8, t.id


def test_every_task_samples_the_declared_kinds_fast_and_reproducibly(suite):
    for task in suite.values():
        start = time.perf_counter()
        x, y = task.sample(10_000, seed=3)
        assert time.perf_counter() - start < 0.5, task.id
        x2, y2 = task.sample(10_000, seed=3)
        assert np.array_equal(x, x2) and np.array_equal(y, y2), task.id
        assert x.shape == (10_000, task.dim_x), task.id
        assert x.dtype == (np.int64 if task.x_discrete is True else np.float64), task.id
        if task.is_label("y"):
            assert y.shape == (10_000,) and y.dtype == np.int64, task.id
        else:
            assert y.shape == (10_000, task.dim_y) and y.dtype == np.float64, task.id
        for cols, a in ((task.discrete_columns("x"), x), (task.discrete_columns("y"), y)):
            a2 = a.reshape(len(a), -1)
            assert np.array_equal(a2[:, list(cols)], np.round(a2[:, list(cols)])), task.id
        # continuous columns are not secretly discrete: many distinct values
        for j in sorted(set(range(task.dim_x)) - set(task.discrete_columns("x"))):
            assert np.unique(x[:, j]).size > 1000, (task.id, j)
        atoms = task.params.get("atoms_y")
        if atoms:  # the declared point masses do carry mass
            assert np.mean(np.isin(y, atoms)) > 0.05, task.id
        assert pickle.loads(pickle.dumps(task)).sample(5, seed=1)[0].shape == (5, task.dim_x)
        record = json.loads(json.dumps(task.to_dict()))
        assert record["x_discrete"] == (list(task.x_discrete)
                                        if isinstance(task.x_discrete, tuple)
                                        else task.x_discrete)


# ---------------------------------------------------------- discrete pairs: plug-in


def _plugin_with_stderr(x, y):
    """Plug-in MI of integer arrays (rows = symbols), its Miller-Madow first-order bias
    (m_xy - m_x - m_y + 1)/(2n) and the delta-method standard error."""
    def codes(a):  # rows of small non-negative integers -> one integer per row
        a = a.reshape(len(a), -1)
        flat = np.zeros(len(a), dtype=np.int64)
        for col in a.T:
            flat = flat * (a.max() + 1) + col
        return np.unique(flat, return_inverse=True)[1].ravel()

    cx, cy = codes(x), codes(y)
    _, cxy, nxy = np.unique(cx * (cy.max() + 1) + cy, return_inverse=True, return_counts=True)
    nx, ny = np.bincount(cx), np.bincount(cy)
    n = len(cx)
    terms = np.log(n * nxy[cxy.ravel()] / (nx[cx] * ny[cy]))
    bias = (nxy.size - nx.size - ny.size + 1) / (2 * n)
    return terms.mean(), bias, terms.std() / np.sqrt(n)


DISCRETE_IDS = ["discrete-symmetric-2-0.1", "discrete-symmetric-10-0.3",
                "discrete-thinning-20-0.5-0.7", "discrete-parity-3-0.1", "discrete-sum-4-3-3"]


@pytest.mark.parametrize("task_id", DISCRETE_IDS)
def test_discrete_truth_matches_plugin_on_a_million_samples(suite, task_id):
    task = suite[task_id]
    x, y = task.sample(N_PLUGIN, seed=11)
    est, bias, se = _plugin_with_stderr(x, y)
    assert abs(est - bias - task.truth) < Z_TOL * se, (est, bias, se, task.truth)


def test_discrete_closed_forms_by_hand():
    h = lambda p: -p * np.log(p) - (1 - p) * np.log(1 - p)  # noqa: E731
    assert mixed.symmetric_channel_mi(2, 0.1) == pytest.approx(np.log(2) - h(0.1), abs=1e-15)
    assert mixed.symmetric_channel_mi(10, 0.3) == pytest.approx(
        np.log(10) - h(0.3) - 0.3 * np.log(9), abs=1e-14)
    # a 2 x 3 table summed by hand
    joint = np.array([[3, 1, 0], [1, 2, 2]]) / 9
    by_hand = (3 / 9 * np.log(27 / 16) + 1 / 9 * np.log(3 / 4) + 1 / 9 * np.log(9 / 20)
               + 2 / 9 * np.log(6 / 5) + 2 / 9 * np.log(9 / 5))
    assert mixed.discrete_joint_mi(joint) == pytest.approx(by_hand, abs=1e-15)
    # noisy sum with d = 1, m = 2, w = 2: Y in {0, 1, 2} with pmf (1, 2, 1)/4
    t = mixed.discrete_sum(1, 2, 2)
    assert t.truth == pytest.approx(1.5 * np.log(2) - np.log(2), abs=1e-15)


# ------------------------------------------ the others: Monte Carlo of log-density ratios


def _log_ratio_class_uniform(x, y, m):
    """X uniform {0..m-1}, Y | X ~ U[X, X + 2]: log p(y|x) - log p(y), elementwise."""
    k = np.arange(m)
    inside = (y[..., None] >= k) & (y[..., None] <= k + 2)
    return np.log(0.5) - np.log(inside.sum(axis=-1) * 0.5 / m)


def _log_ratio_class_gauss(labels, y, means, prior):
    logpdf = -0.5 * np.sum((y[:, None, :] - means[None, :, :]) ** 2, axis=-1)  # (n, m)
    return logpdf[np.arange(len(labels)), labels] - logsumexp(logpdf + np.log(prior), axis=1)


def _log_ratio(task, x, y):
    """Exact pointwise log p(x, y) / (p(x) p(y)) of a task, shape (n,)."""
    fam, p = task.params["family"], task.params
    if fam == "class-uniform":
        return _log_ratio_class_uniform(x[:, 0], y[:, 0], p["n_classes"])
    if fam in ("class-gauss", "gauss-class"):
        means = task.sampler.keywords["means"]
        prior = np.asarray(p["prior"])
        if fam == "class-gauss":
            return _log_ratio_class_gauss(x[:, 0], y, means, prior)
        return _log_ratio_class_gauss(y, x, means, prior)
    if fam == "zi-poisson-exp":
        q, lam, k = p["p_zero"], x[:, 0], y
        cond = (1 - q) * stats.poisson.pmf(k, lam) + q * (k == 0)
        marg = (1 - q) * 0.5 ** (k + 1.0) + q * (k == 0)
        return np.log(cond) - np.log(marg)
    if fam == "mixture-gauss-bsc":
        rho, beta, pg = p["correlation"], p["keep"], p["p_gauss"]
        atom = np.isin(x, (-1.0, 1.0))
        assert np.array_equal(atom, np.isin(y, (-1.0, 1.0)))
        joint_g = (-np.log(2 * np.pi) - 0.5 * np.log(1 - rho**2)
                   - (x * x - 2 * rho * x * y + y * y) / (2 * (1 - rho**2)))
        cont = np.log(pg) + joint_g - 2 * np.log(pg) - stats.norm.logpdf(x) - stats.norm.logpdf(y)
        disc = np.log(np.where(x == y, beta, 1 - beta) * (1 - pg) / 2) - 2 * np.log((1 - pg) / 2)
        return np.where(atom, disc, cont).sum(axis=1)
    if fam == "dropout-gauss":
        s = p["noise"]
        kept = stats.norm.logpdf(y, x, s) - stats.norm.logpdf(y, 0, np.sqrt(1 + s * s))
        return np.where(y == 0.0, 0.0, kept).sum(axis=1)
    if fam == "censored-gauss":
        c, s = p["threshold"], p["noise"]
        v = 1 + s * s
        at = log_ndtr((c - x) / s) - log_ndtr(c / np.sqrt(v))
        above = stats.norm.logpdf(y, x, s) - stats.norm.logpdf(y, 0, np.sqrt(v))
        return np.where(y == c, at, above).sum(axis=1)
    if fam == "mixed-blocks":
        dis = list(task.discrete_columns("x"))
        con = [j for j in range(task.dim_x) if j not in dis]
        rho = p["correlation"]
        g = (stats.norm.logpdf(y[:, con], rho * x[:, con], np.sqrt(1 - rho**2))
             - stats.norm.logpdf(y[:, con]))
        return (_log_ratio_class_uniform(x[:, dis], y[:, dis], p["n_classes"]).sum(axis=1)
                + g.sum(axis=1))
    if fam == "mixed-sign":
        s = p["noise"]
        mean = (2 * x[:, :1] - 1) * x[:, 1:]
        return (stats.norm.logpdf(y, mean, s) - stats.norm.logpdf(y, 0, np.sqrt(1 + s * s))
                ).sum(axis=1)
    raise AssertionError(f"no density for {task.id}")  # pragma: no cover


CONTINUOUS_IDS = [i for i in list_task_ids("mixed") if i not in DISCRETE_IDS]


@pytest.mark.parametrize("task_id", CONTINUOUS_IDS)
def test_truth_matches_monte_carlo_of_the_exact_densities(suite, task_id):
    task = suite[task_id]
    x, y = task.sample(N_MC, seed=5)
    terms = _log_ratio(task, x, y)
    se = terms.std() / np.sqrt(N_MC)
    tol = Z_TOL * se + 10 * task.mutual_information_stderr
    assert abs(terms.mean() - task.truth) < tol, (terms.mean(), se, task.truth)


# ---------------------------------------------------- truths: limits, quadrature, literature


def test_class_gaussian_geometry_and_quadrature_convergence():
    for m, d, sep in ((2, 1, 2.0), (5, 3, 2.0), (10, 5, 1.5), (20, 1, 1.0)):
        means, plane = mixed.class_gaussian_means(m, d, sep)
        # neighbours sep apart; embedding keeps the geometry
        gaps = np.linalg.norm(np.diff(np.vstack([means, means[:1]]), axis=0), axis=1)
        assert gaps[: m - 1] == pytest.approx(np.full(m - 1, sep), abs=1e-12)
        dist = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
        np.testing.assert_allclose(dist(means), dist(plane), atol=1e-12)
        if d >= 2:
            assert np.all(np.abs(means).sum(axis=0) > 0.1)  # every coordinate informative
        prior = mixed.class_gaussian_prior(m, 0.8)
        values = [mixed.class_gaussian_mi(plane, prior, n) for n in (60, 100, 160)]
        assert values[1] == pytest.approx(values[2], abs=1e-9)
        assert values[0] == pytest.approx(values[2], abs=1e-6)
        assert 0 < values[2] < -np.sum(prior * np.log(prior))  # below H(X)
    # far-apart classes: I -> H(X); one-dimensional binary case by 1-D adaptive quadrature
    _, plane = mixed.class_gaussian_means(4, 1, 40.0)
    prior = mixed.class_gaussian_prior(4, 0.5)
    assert mixed.class_gaussian_mi(plane, prior, 100) == pytest.approx(
        -np.sum(prior * np.log(prior)), abs=1e-9)
    f = lambda t: sum(  # noqa: E731
        0.5 * stats.norm.pdf(t, mu) * np.log(stats.norm.pdf(t, mu) / (
            0.5 * stats.norm.pdf(t, -1) + 0.5 * stats.norm.pdf(t, 1))) for mu in (-1, 1))
    exact, _ = integrate.quad(f, -30, 30, epsabs=1e-13, limit=200)
    assert get_task("class-gauss-2-1-2.0-1.0").truth == pytest.approx(exact, abs=1e-10)


def test_gao_examples_match_their_published_values():
    # experiment I: I = log m - (m - 1) log 2 / m
    assert get_task("class-uniform-5").truth == pytest.approx(np.log(5) - 0.8 * np.log(2))
    # experiment II without inflation: 2 log 2 - gamma - sum 2^-k log k = 0.3012...
    assert mixed.zero_inflated_poisson_mi(0.0) == pytest.approx(0.30124477, abs=1e-8)
    # ... with inflation p: sum over counts and 1-D quadrature over x, done directly here
    p = 0.15
    ks = np.arange(150)

    def inner(x):
        cond = (1 - p) * stats.poisson.pmf(ks, x) + p * (ks == 0)
        marg = (1 - p) * 0.5 ** (ks + 1.0) + p * (ks == 0)
        ok = cond > 0
        return np.exp(-x) * np.sum(cond[ok] * np.log(cond[ok] / marg[ok]))

    direct, _ = integrate.quad(inner, 0, 80, epsabs=1e-13, limit=400)
    assert get_task("zi-poisson-exp-0.15").truth == pytest.approx(direct, abs=1e-9)
    assert direct < (1 - p) * 0.30124477  # less than if the inflation were observed
    # experiment III: the ground truth of the authors' demo script (rho = beta = 0.9,
    # p_con = p_dis = 0.5)
    p_con, p_dis, beta = 0.5, 0.5, 0.9
    demo = (-p_con * 0.5 * np.log(1 - 0.9**2)
            + p_dis * (np.log(2) + beta * np.log(beta) + (1 - beta) * np.log(1 - beta))
            - p_con * np.log(p_con) - p_dis * np.log(p_dis))
    assert get_task("mixture-gauss-bsc-1-0.9-0.9-0.5").truth == pytest.approx(demo, abs=1e-14)
    assert get_task("mixture-gauss-bsc-3-0.9-0.9-0.5").truth == pytest.approx(3 * demo)


def test_censored_gaussian_limits():
    s = 0.7
    full = 0.5 * np.log1p(1 / s**2)
    assert mixed.censored_gaussian_mi(-12.0, s)[0] == pytest.approx(full, abs=1e-10)
    assert mixed.censored_gaussian_mi(12.0, s)[0] == pytest.approx(0.0, abs=1e-10)
    values = [mixed.censored_gaussian_mi(c, s)[0] for c in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    assert np.all(np.diff(values) < 0) and 0 < values[-1] < values[0] < full


def test_blocks_and_sign_truths_add_up():
    t = get_task("mixed-blocks-2-3-5-0.75")
    assert t.x_discrete == (0, 2) and t.discrete_columns("x") == (0, 2)
    assert t.truth == pytest.approx(2 * mixed.class_uniform_mi(5) - 1.5 * np.log(1 - 0.75**2))
    assert get_task("mixed-sign-3-1.0").truth == pytest.approx(1.5 * np.log(2))
    assert mixed.mixed_block_columns(1, 3) == ((0,), (1, 2, 3))
    assert mixed.mixed_block_columns(3, 1) == ((0, 2, 3), (1,))


# ----------------------------------------------------------------- Task flag semantics


def _fake(n, rng, dim_x=2):
    return rng.integers(3, size=(n, dim_x)), rng.standard_normal((n, 1))


def test_task_discrete_flags_validate_and_normalise():
    import functools

    make = functools.partial(Task, id="t", dim_x=3, dim_y=1, mutual_information=0.0,
                             sampler=functools.partial(_fake, dim_x=3))
    assert make().x_discrete is False
    assert make(x_discrete=[0, 2]).x_discrete == (0, 2)  # a list becomes a tuple
    assert make(x_discrete=()).x_discrete is False
    assert make(x_discrete=np.bool_(True)).x_discrete is True
    for bad, msg in (((0, 3), "out of range"), ((2, 0), "sorted"), ((1, 1), "unique"),
                     ((0.0,), "integers"), ((True,), "integers"), ("all", "tuple"),
                     ((-1,), "out of range")):
        with pytest.raises(ValueError, match=f"x_discrete.*{msg}"):
            make(x_discrete=bad)
    with pytest.raises(ValueError, match="y_discrete"):
        make(y_discrete=(1,))  # dim_y = 1
    with pytest.raises(ValueError, match="dim_y"):
        Task(id="t", dim_x=1, dim_y=2, mutual_information=0.0, sampler=_fake, y_discrete=True)
    with pytest.raises(ValueError, match="x_discrete"):
        Task(id="t", dim_x=1, dim_y=0, mutual_information=0.0, sampler=_fake,
             quantity="entropy", x_discrete=True)
    with pytest.raises(ValueError, match="z_discrete"):
        make(z_discrete=(0,))  # an MI task has no z
    t = make(x_discrete=(0, 2))
    assert t.discrete_columns("x") == (0, 2) and t.discrete_columns("y") == ()
    assert not t.is_label("x") and not t.is_label("y")
    with pytest.raises(ValueError, match="var"):
        t.discrete_columns("w")
    lab = get_task("gauss-class-3-4-2.0-1.0")
    assert lab.is_label("y") and lab.discrete_columns("y") == (0,)
    assert get_task("discrete-parity-3-0.1").discrete_columns("x") == (0, 1, 2)


def test_sample_checks_the_declared_discrete_columns():
    import functools

    def sampler(n, rng):
        return rng.standard_normal((n, 2)), rng.standard_normal((n, 1))

    bad = Task(id="bad", dim_x=2, dim_y=1, mutual_information=0.0,
               sampler=functools.partial(sampler), x_discrete=(1,))
    with pytest.raises(RuntimeError, match="non-integer"):
        bad.sample(10)


def test_existing_suites_keep_continuous_x():
    for name in ("bmi40", "extra", "cmi", "entropy"):
        for task in list_tasks(name):
            assert task.x_discrete is False, task.id
            assert task.discrete_columns("x") == ()


def test_builders_reject_bad_parameters_naming_them():
    cases = [
        (lambda: mixed.discrete_symmetric(1, 0.1), "n_symbols"),
        (lambda: mixed.discrete_symmetric(3, 1.0), "error"),
        (lambda: mixed.discrete_thinning(10, 0.0, 0.5), "p_x"),
        (lambda: mixed.discrete_parity(0, 0.1), "dim"),
        (lambda: mixed.discrete_sum(2, 3, 0), "noise_width"),
        (lambda: mixed.class_uniform(True), "n_classes"),
        (lambda: mixed.class_gaussian(5, 3, -1.0), "separation"),
        (lambda: mixed.gaussian_class(3, 4, 2.0, 1.5), "ratio"),
        (lambda: mixed.zero_inflated_poisson(1.0), "p_zero"),
        (lambda: mixed.gauss_bsc_mixture(1, 1.0), "correlation"),
        (lambda: mixed.dropout_gaussian(2, 0.0), "keep"),
        (lambda: mixed.censored_gaussian(1, float("inf")), "threshold"),
        (lambda: mixed.mixed_blocks(0, 2), "n_discrete"),
        (lambda: mixed.mixed_sign(2, 0.0), "noise"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=name):
            call()
