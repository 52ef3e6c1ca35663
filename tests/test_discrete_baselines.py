"""Plug-in / Miller-Madow (discrete x, y) and mixed KSG (Gao et al. 2017) baselines."""

import numpy as np
import pytest
from scipy.special import digamma

from mmgap.baselines import (BASELINES, KSGEstimator, MillerMadowMI, MixedKSGEstimator,
                             PluginMI, get_baseline)
from mmgap.baselines.discrete import as_symbols, miller_madow_mi, plugin_mi
from mmgap.baselines.mixed_ksg import mixed_ksg_mi
from mmgap.methods import run_method
from mmgap.tasks import get_task
from mmgap.tasks.mixed import discrete_symmetric


def _table_data(table, seed=0):
    """Rows (x, y) whose empirical joint distribution is exactly ``table`` (counts)."""
    rows = [(i, j) for i, r in enumerate(table) for j, c in enumerate(r) for _ in range(c)]
    rows = np.array(rows)[np.random.default_rng(seed).permutation(len(rows))]
    return rows[:, 0], rows[:, 1]


# ------------------------------------------------------------------ plug-in, exact


def test_plugin_equals_hand_computed_mi_of_a_small_table():
    # counts [[3, 1, 0], [1, 2, 2]], n = 9: p_x = (4, 5)/9, p_y = (4, 3, 2)/9
    x, y = _table_data([[3, 1, 0], [1, 2, 2]])
    by_hand = (3 / 9 * np.log(27 / 16) + 1 / 9 * np.log(3 / 4) + 1 / 9 * np.log(9 / 20)
               + 2 / 9 * np.log(6 / 5) + 2 / 9 * np.log(9 / 5))
    res = PluginMI().fit(x, y).estimate(x, y)
    assert res.mi == pytest.approx(by_hand, abs=1e-14)
    assert res.variant == "plugin" and res.n_test == 9 and res.n_train == 0
    assert res.diagnostics["n_symbols_xy"] == 5
    # Miller-Madow adds ((2 - 1) + (3 - 1) - (5 - 1)) / (2 * 9) = -1/18
    assert MillerMadowMI().estimate(x, y).mi == pytest.approx(by_hand - 1 / 18, abs=1e-14)
    assert miller_madow_mi(x, y) == pytest.approx(by_hand - 1 / 18, abs=1e-14)
    # bits, relabelled symbols, whole-number floats, y as a label column: all the same
    assert PluginMI(units="bits").estimate(x, y).mi == pytest.approx(by_hand / np.log(2))
    relabel = np.array([10, -3, 7])[y]
    assert plugin_mi(x * 5 - 1, relabel) == pytest.approx(by_hand, abs=1e-14)
    assert plugin_mi(x.astype(float), y.astype(float)) == pytest.approx(by_hand, abs=1e-14)
    assert PluginMI(y_discrete=True).estimate(x, y[:, None]).mi == pytest.approx(by_hand)


def test_rows_of_a_2d_array_are_joint_symbols():
    rng = np.random.default_rng(1)
    a = rng.integers(3, size=(500, 2))
    b = (a[:, 0] + rng.integers(2, size=500)) % 3
    code = a[:, 0] * 3 + a[:, 1]  # one symbol per row
    assert plugin_mi(a, b) == pytest.approx(plugin_mi(code, b), abs=1e-13)
    assert plugin_mi(b, a) == pytest.approx(plugin_mi(code, b), abs=1e-13)  # symmetric
    big = a * np.array([2**40, -(2**40)])  # huge ranges: the row-sorting path
    assert plugin_mi(big, b) == pytest.approx(plugin_mi(code, b), abs=1e-13)
    codes, m = as_symbols(a, "x")
    assert m == np.unique(code).size and np.array_equal(np.argsort(codes, kind="stable"),
                                                        np.argsort(code, kind="stable"))


def test_plugin_independent_and_deterministic_pairs():
    x = np.repeat(np.arange(4), 25)
    y = np.tile(np.arange(5), 20)  # every joint cell equally often: I_plugin = 0 exactly
    res = PluginMI().estimate(x, y)
    assert res.mi == pytest.approx(0.0, abs=1e-14) and res.stderr == pytest.approx(0.0)
    res = PluginMI().estimate(x, 2 * x + 1)  # Y a function of X: I = H(X) = log 4
    assert res.mi == pytest.approx(np.log(4)) and res.diagnostics["entropy_x_nats"] == \
        pytest.approx(np.log(4))


# ------------------------------------------------------------ plug-in, statistics


def test_miller_madow_reduces_the_small_sample_bias():
    """4-ary symmetric channel, n = 100, 400 seeds. The plug-in bias to first order is
    (m_xy - m_x - m_y + 1)/(2n) = 9/200 = 0.045 (16 joint cells); Miller-Madow subtracts the
    same quantity with observed counts, leaving O(1/n^2). Across seeds the mean has a
    standard error of about 0.005 (measured), so demanding plug-in bias > 0.035 and
    Miller-Madow bias < 0.025 (about 5 such errors from the measured 0.011) is safe and
    fails for an estimator without the correction or with a wrong sign."""
    task = discrete_symmetric(4, 0.3)
    plug, mm = [], []
    for seed in range(400):
        x, y = task.sample(100, seed=seed)
        plug.append(PluginMI().estimate(x, y).mi)
        mm.append(MillerMadowMI().estimate(x, y).mi)
    bias_plug = np.mean(plug) - task.truth
    bias_mm = np.mean(mm) - task.truth
    assert bias_plug > 0.035
    assert abs(bias_mm) < 0.025
    assert abs(bias_mm) < 0.5 * bias_plug


def test_plugin_stderr_matches_the_spread_across_seeds():
    """Delta-method stderr versus the sd of 150 independent estimates at n = 2000 (the
    sd of an sd estimated from 150 draws is about 6 %: allow 25 %)."""
    task = get_task("discrete-symmetric-10-0.3")
    values, errors = [], []
    for seed in range(150):
        res = PluginMI().estimate(*task.sample(2000, seed=seed))
        values.append(res.mi)
        errors.append(res.stderr)
    assert np.mean(errors) / np.std(values, ddof=1) == pytest.approx(1.0, abs=0.25)


def test_plugin_warns_when_most_symbols_are_singletons():
    rng = np.random.default_rng(0)
    x, y = rng.integers(1000, size=200), rng.integers(1000, size=200)
    with pytest.warns(UserWarning, match="seen only once"):
        PluginMI().estimate(x, y)


# ------------------------------------------------------------------ mixed KSG


def _mixed_ksg_brute_force(x, y, k, formula):
    """Per-point terms by explicit O(n^2) loops over max-norm distances."""
    n = len(x)
    xy = np.hstack([x, y])
    terms = np.empty(n)
    for i in range(n):
        others = np.arange(n) != i
        d = np.max(np.abs(xy[others] - xy[i]), axis=1)
        dx = np.max(np.abs(x[others] - x[i]), axis=1)
        dy = np.max(np.abs(y[others] - y[i]), axis=1)
        rho = np.sort(d)[k - 1]
        if formula == "digamma":
            if rho > 0:
                terms[i] = (digamma(k) + np.log(n) - digamma(np.sum(dx < rho) + 1)
                            - digamma(np.sum(dy < rho) + 1))
            else:
                terms[i] = (digamma(np.sum(d == 0) + 1) + np.log(n)
                            - digamma(np.sum(dx == 0) + 1) - digamma(np.sum(dy == 0) + 1))
        else:
            k_tilde = k if rho > 0 else np.sum(d == 0)
            terms[i] = (digamma(k_tilde) + np.log(n) - np.log(np.sum(dx <= rho) + 1)
                        - np.log(np.sum(dy <= rho) + 1))
    return terms


def _tied_data(kind, n=240, seed=3):
    rng = np.random.default_rng(seed)
    if kind == "half-discrete":
        # rows 0..99 fully discrete (many exact copies: rho = 0), the rest continuous values
        # rounded to one decimal (ties at rho > 0 too), one discrete column throughout
        x = np.column_stack([rng.integers(2, size=n), np.round(rng.standard_normal(n), 1)])
        y = np.round(x[:, 1:] + 0.5 * rng.standard_normal((n, 1)), 1)
        x[:100, 1] = rng.integers(2, size=100)
        y[:100, 0] = (x[:100, 0] + rng.integers(2, size=100)) % 2
        return x, y
    # mostly repeated rows in two columns (the de-duplicated count path) and a y with a
    # discrete and a coarsely rounded column
    x = rng.integers(3, size=(n, 2)).astype(float)
    y = np.column_stack([(x[:, 0] + rng.integers(2, size=n)) % 3,
                         np.round(x[:, 1] + rng.standard_normal(n), 0)])
    return x, y


@pytest.mark.parametrize("kind", ["half-discrete", "repeated-rows"])
@pytest.mark.parametrize("formula", ["digamma", "log"])
def test_mixed_ksg_matches_a_brute_force_loop_with_ties(formula, kind):
    x, y = _tied_data(kind)
    for k in (1, 3, 5):
        mi, terms = mixed_ksg_mi(x, y, k, formula=formula)
        expected = _mixed_ksg_brute_force(x, y, k, formula)
        np.testing.assert_allclose(terms, expected, rtol=0, atol=1e-12)
        assert mi == pytest.approx(expected.mean(), abs=1e-12)
    zero = _zero_radius(x, y, 5)
    assert 50 < np.count_nonzero(zero) < len(x)  # both branches are exercised


def test_deduplicated_counts_equal_plain_tree_counts():
    from mmgap.baselines.ksg import count_within
    from scipy.spatial import cKDTree

    from mmgap.baselines.mixed_ksg import _count_within, _knn_radius

    rng = np.random.default_rng(0)
    for a in (rng.integers(4, size=(3000, 3)).astype(float),
              np.round(rng.standard_normal((3000, 2)), 0),
              np.where(rng.random((500, 2)) < 0.5, -0.0, 0.0)):  # -0.0 equals 0.0
        radius = rng.choice([0.0, 0.5, 1.0, 1.5, 2.0], size=len(a))
        np.testing.assert_array_equal(_count_within(a, radius, 1), count_within(a, radius))
        for k in (1, 4, 30):  # the k-NN radius on distinct rows weighted by multiplicity
            plain = cKDTree(a).query(a, k=k + 1, p=np.inf)[0][:, -1]
            np.testing.assert_array_equal(_knn_radius(a, k, 1)[0], plain)


def _zero_radius(x, y, k):
    from mmgap.baselines.mixed_ksg import mixed_ksg_counts

    return mixed_ksg_counts(x, y, k)[0] == 0


def test_mixed_ksg_is_ksg_on_continuous_data():
    """On continuous data the default formula is KSG algorithm 1 with log N for psi(N)."""
    rng = np.random.default_rng(0)
    for dx, dy, n in ((1, 1, 1500), (2, 3, 800)):
        x = rng.standard_normal((n, dx))
        y = 0.7 * x[:, :1] + rng.standard_normal((n, dy))
        mixed = MixedKSGEstimator().estimate(x, y)
        ksg = KSGEstimator().estimate(x, y)
        assert mixed.mi - ksg.mi == pytest.approx(np.log(n) - digamma(n), abs=1e-12)
        assert mixed.stderr == pytest.approx(ksg.stderr, rel=1e-9)
        assert mixed.diagnostics["n_zero_radius"] == 0


def test_mixed_ksg_is_the_digamma_plugin_on_discrete_data():
    """Every symbol has more than k copies, so rho = 0 everywhere and each term is
    psi(n_xy) + log N - psi(n_x) - psi(n_y) with the plug-in counts."""
    x, y = get_task("discrete-symmetric-10-0.3").sample(5000, seed=2)
    res = MixedKSGEstimator(y_discrete=True).estimate(x, y)
    assert res.diagnostics["n_zero_radius"] == 5000
    cx, cy = x[:, 0], y
    nxy = np.array([np.sum((cx == a) & (cy == b)) for a, b in zip(cx, cy)])
    nx, ny = np.bincount(cx)[cx], np.bincount(cy)[cy]
    expected = np.mean(digamma(nxy) + np.log(5000) - digamma(nx) - digamma(ny))
    assert res.mi == pytest.approx(expected, abs=1e-12)
    assert res.mi == pytest.approx(plugin_mi(x, y), abs=0.02)  # O(m_xy / N) apart


def test_mixed_ksg_recovers_a_discrete_continuous_truth():
    """class-uniform-5 (X uniform on 5 classes, Y | X ~ U[X, X + 2], I = 1.0549), N = 2000,
    20 seeds. Measured seed-to-seed sd about 0.012 and a mean within 1 sd/sqrt(20) of the
    truth; we allow 4 standard errors of the mean (computed from these same 20 runs) plus
    0.005 of bias. The paper's displayed "log" formula is far off at this k (module notes)."""
    task = get_task("class-uniform-5")
    est, est_log = [], []
    for seed in range(20):
        x, y = task.sample(2000, seed=100 + seed)
        est.append(MixedKSGEstimator().estimate(x, y).mi)
        est_log.append(MixedKSGEstimator(formula="log").estimate(x, y).mi)
    est = np.array(est)
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert est.std(ddof=1) < 0.03
    assert abs(est.mean() - task.truth) < 4 * se + 0.005
    assert np.mean(est_log) < task.truth - 0.1


def test_mixed_ksg_with_a_label_y_and_standardisation():
    x, y = get_task("gauss-class-3-4-2.0-1.0").sample(3000, seed=0)
    a = MixedKSGEstimator(y_discrete=True).estimate(x, y)
    b = MixedKSGEstimator().estimate(x, y.astype(float))
    assert a.mi == pytest.approx(b.mi, abs=1e-12)
    c = MixedKSGEstimator().estimate(x * np.array([1.0, 100.0, 0.01]), y * 7 + 3)
    # standardise: invariant to column scales up to rounding, which can move a point across
    # a ball's boundary (a count off by one moves the mean by about 1/(n_x N) ~ 1e-5)
    assert c.mi == pytest.approx(a.mi, abs=1e-4)
    assert abs(a.mi - get_task("gauss-class-3-4-2.0-1.0").truth) < 0.1


# -------------------------------------------------------------- registry, bad input


def test_registered_and_reachable_through_run_method():
    assert BASELINES["plugin"] is PluginMI
    assert BASELINES["miller-madow"] is MillerMadowMI
    assert BASELINES["mixed-ksg"] is MixedKSGEstimator
    x, y = get_task("discrete-symmetric-2-0.1").sample(3000, seed=0)
    for name in ("plugin", "miller-madow", "mixed-ksg"):
        cls = BASELINES[name]
        assert cls.quantities == ("mi",) and cls.description and cls.reference
        est = get_baseline(name)
        assert type(est)(**est.get_params()).get_params() == est.get_params()
        res = run_method(name, x, y, y_discrete=True)
        assert res.variant == name and res.diagnostics["method"] == name
        assert abs(res.mi - 0.368064) < 0.05


def test_bad_input_raises_value_error_naming_the_argument():
    x = np.array([0, 1, 1, 0, 2])
    y = np.array([1, 1, 0, 0, 1])
    cases = [
        (lambda: plugin_mi(x + 0.5, y), "x: column 0 is not integer-valued"),
        (lambda: plugin_mi(x, np.column_stack([y, y * 0.1])), "y: column 1 is not integer"),
        (lambda: plugin_mi(np.array([0.0, np.nan, 1, 1, 2]), y), "x: contains NaN"),
        (lambda: plugin_mi(x, y[:4]), "x and y"),
        (lambda: plugin_mi(np.array(["a", "b", "c", "d", "e"]), y), "x: expected numeric"),
        (lambda: plugin_mi(x[:1], y[:1]), "x: expected at least 2"),
        (lambda: PluginMI(units="bit").estimate(x, y), "units"),
        (lambda: PluginMI(y_discrete="yes").estimate(x, y), "y_discrete"),
        (lambda: PluginMI(y_discrete=True).estimate(x, np.column_stack([y, y])), "y:"),
        (lambda: MillerMadowMI().fit(x, y).estimate(np.column_stack([x, x]), y),
         "x: expected 1 column"),
        (lambda: MixedKSGEstimator(k=0).estimate(x, y), "k:"),
        (lambda: MixedKSGEstimator(k=5).estimate(x, y), "k: expected an integer below"),
        (lambda: MixedKSGEstimator(formula="paper").estimate(x, y), "formula"),
        (lambda: MixedKSGEstimator(standardise="yes").estimate(x, y), "standardise"),
        (lambda: MixedKSGEstimator(n_jobs=0).estimate(x, y), "n_jobs"),
        (lambda: MixedKSGEstimator(y_discrete=True).estimate(x, y + 0.5), "y:"),
        (lambda: MixedKSGEstimator().estimate(np.array([0, np.inf, 1, 2, 3.0]), y), "x:"),
        (lambda: MixedKSGEstimator(k=2).fit(x, y).estimate(x, np.column_stack([y, y])),
         "y: expected 1 column"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
