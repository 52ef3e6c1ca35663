"""The control variate of the held-out estimate (mmgap.control, design note 30).

The maths is checked exactly where it is exact (the normal scores and the integrands are
permutation-equivariant; on a Gaussian the integrands average to the Gaussian MI) and by
simulation where it is statistical (unbiased, the reported standard error matches the
spread over repetitions, the variance falls by the predicted factor); the estimator's use
of it on a fitted network is checked for what it must keep (the same value in expectation,
a smaller Monte Carlo error on Gaussian data, clear errors).
"""

import math

import numpy as np
import pytest

import mmgap
from mmgap.control import control_variate, gaussian_integrands, normal_scores
from mmgap.gap import gaussian_mi
from mmgap.logsnr import TruncatedLogistic


def _gaussian(n, rho, seed, dx=2, dy=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dx))
    y = rho * x[:, :dy] + math.sqrt(1 - rho ** 2) * rng.normal(size=(n, dy))
    return x, y


def test_normal_scores_are_permutation_equivariant_and_standard():
    rng = np.random.default_rng(0)
    a = rng.standard_t(2, size=(500, 3))
    perm = rng.permutation(500)
    s = normal_scores(a)
    np.testing.assert_array_equal(normal_scores(a[perm]), s[perm])
    np.testing.assert_allclose(s.mean(axis=0), 0.0, atol=1e-12)  # symmetric quantiles
    # a monotone map of a column leaves its scores unchanged (ranks only)
    b = a.copy()
    b[:, 0] = np.exp(b[:, 0])
    np.testing.assert_array_equal(normal_scores(b), s)


def test_gaussian_integrands_average_to_the_gaussian_mi():
    """On Gaussian data with a window wide enough to hold the whole gap, both integrands of
    the fitted Gaussian's exact denoiser average to its MI (I-MMSE), within Monte Carlo
    error over 20,000 rows."""
    n, rho = 20_000, 0.6
    x, y = _gaussian(n, rho, seed=1)
    truth = -2 * 0.5 * math.log(1 - rho ** 2)  # two independent pairs
    wide = TruncatedLogistic(loc=1.0, scale=2.0, clip=9.0)
    g = gaussian_integrands(x, y, 4000, wide, 4, seed_test=3, seed_rest=4)
    for form in ("direct", "orthogonal"):
        v = g[form]
        assert v.shape == (n,)
        se = v.std(ddof=1) / math.sqrt(n)
        assert abs(v.mean() - truth) < 4 * se + 0.01, (form, v.mean(), truth, se)


def test_gaussian_integrands_refuse_too_few_rows_and_constant_columns():
    x, y = _gaussian(30, 0.5, seed=2)
    prop = TruncatedLogistic()
    assert gaussian_integrands(x, y, 10, prop, 2, 0, 1) is None  # 30 rows for 4 dims
    x, y = _gaussian(400, 0.5, seed=2)
    x[:, 1] = 3.0
    assert gaussian_integrands(x, y, 100, prop, 2, 0, 1) is None


def test_held_out_mean_of_the_control_is_unbiased_over_random_splits():
    """E[mean_test(g) - mean_all(g)] = 0 over uniformly random splits of one dataset: the
    identity the control rests on (exchangeability)."""
    x, y = _gaussian(600, 0.7, seed=3)
    prop = TruncatedLogistic()
    rng = np.random.default_rng(5)
    diffs = []
    for rep in range(60):
        perm = rng.permutation(600)  # the held-out rows first, as the estimator orders them
        g = gaussian_integrands(x[perm], y[perm], 120, prop, 2, 10 + rep, 1000 + rep)
        diffs.append(g["orthogonal"][:120].mean() - g["orthogonal"].mean())
    diffs = np.asarray(diffs)
    assert abs(diffs.mean()) < 4 * diffs.std(ddof=1) / math.sqrt(diffs.size)


def _simulate(reps, n_all, n_test, seed, noise=0.3):
    """Rows i.i.d.: g_i skewed (chi-square), m_i = 0.2 + 0.9 g_i + noise; E[m] = 0.2 + 0.9 * 3."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(reps):
        g = rng.chisquare(3, size=n_all)
        m = 0.2 + 0.9 * g[:n_test] + noise * rng.standard_t(5, size=n_test)
        out.append(control_variate(m, g[:n_test], g))
    return out, 0.2 + 0.9 * 3.0


def test_control_variate_is_unbiased_and_its_stderr_is_calibrated():
    res, truth = _simulate(3000, 1000, 200, seed=7)
    est = np.array([r["mi"] for r in res])
    se = np.array([r["stderr"] for r in res])
    plain = np.array([r["mi_plain"] for r in res])
    sd = est.std(ddof=1)
    # unbiased: within 4 standard errors of the mean over 3000 repetitions
    assert abs(est.mean() - truth) < 4 * sd / math.sqrt(est.size)
    # the reported stderr is the spread over repetitions (sampling error of a sd from 3000
    # repetitions is about 1.3%; 8% allows for the O(1/n) terms of an estimated beta)
    assert abs(np.median(se) / sd - 1) < 0.08
    # coverage of +-1.96 se: binomial sd at 95% over 3000 is 0.4%
    cover = np.mean(np.abs(est - truth) <= 1.96 * se)
    assert 0.93 < cover < 0.97
    # the predicted variance: var(m - beta g)/n_test + beta^2 var(g)/N with beta = 0.9
    predicted = math.sqrt(0.3 ** 2 * 5 / 3 / 200 + 0.81 * 6 / 1000)
    assert abs(sd / predicted - 1) < 0.08
    assert sd < 0.6 * plain.std(ddof=1)


def test_control_variate_without_correlation_changes_nothing_in_expectation():
    rng = np.random.default_rng(8)
    res = []
    for _ in range(2000):
        g = rng.normal(size=800)
        m = 1.0 + rng.normal(size=160)  # independent of g
        res.append(control_variate(m, g[:160], g))
    est = np.array([r["mi"] for r in res])
    plain = np.array([r["mi_plain"] for r in res])
    assert abs(est.mean() - 1.0) < 4 * est.std(ddof=1) / math.sqrt(est.size)
    # at most a few percent more spread than the plain mean (beta is estimated, ~ 1/sqrt(n))
    assert est.std(ddof=1) < 1.05 * plain.std(ddof=1)


def test_control_variate_input_checks():
    g = np.arange(10.0)
    with pytest.raises(ValueError, match="m_test and g_test"):
        control_variate(np.ones(4), g[:5], g)
    assert control_variate(np.ones(5), np.ones(5), np.ones(10)) is None  # g constant
    # k draws per row are averaged first
    m2 = np.stack([g[:5], g[:5] + 2.0], axis=1)
    r = control_variate(m2, g[:5], g)
    assert r["mi_plain"] == pytest.approx(g[:5].mean() + 1.0)


@pytest.fixture(scope="module")
def fitted_split():
    x, y = _gaussian(3000, 0.6, seed=11)
    tr, te = np.arange(600, 3000), np.arange(600)  # the rows are i.i.d.: a random split
    est = mmgap.MMGEstimator(n_steps=400, random_state=0, n_permutations=0).fit(x[tr], y[tr])
    return est, x, y, tr, te


def test_estimate_with_others_uses_the_control(fitted_split):
    est, x, y, tr, te = fitted_split
    plain = est.estimate(x[te], y[te])
    res = est.estimate(x[te], y[te], others=(x[tr], y[tr]))
    cv = res.diagnostics["control_variate"]
    assert cv["applied"] and cv["n_all"] == 3000
    assert "control_variate" not in plain.diagnostics
    form = res.diagnostics["integrand"]
    # the network's own numbers are those of the plain estimate
    assert cv[form]["mi_without"] == pytest.approx(plain.mi)
    assert cv[form]["stderr_without"] == pytest.approx(plain.diagnostics["stderr_mc"])
    # on Gaussian data the network is close to the Gaussian denoiser: strongly correlated,
    # a smaller Monte Carlo error, and a value within the plain estimate's error of it
    assert cv[form]["correlation"] > 0.8
    assert res.diagnostics["stderr_mc"] < 0.8 * plain.diagnostics["stderr_mc"]
    assert abs(res.mi - plain.mi) < 3 * plain.diagnostics["stderr_mc"]
    # the interval's rule for a controlled estimate: its own form weight (design note 30)
    from mmgap.inference import (DELTA_WEIGHT_CONTROLLED, MODEL_ERROR_REL_CONTROLLED,
                                 calibrated_stderr)
    w = 1.0 if res.diagnostics["gaussian_check"] is None else DELTA_WEIGHT_CONTROLLED
    assert res.stderr == pytest.approx(calibrated_stderr(
        res.mi, res.diagnostics["stderr_mc"], res.diagnostics["direct_minus_orthogonal"],
        rel=MODEL_ERROR_REL_CONTROLLED, delta_weight=w))
    # the form difference is controlled too; its value without the control is the plain one
    assert cv["difference"]["mi_without"] == pytest.approx(
        plain.diagnostics["direct_minus_orthogonal"])


def test_estimate_others_errors_and_skips(fitted_split):
    est, x, y, tr, te = fitted_split
    with pytest.raises(ValueError, match="others"):
        est.estimate(x[te], y[te], others=x[tr])
    with pytest.raises(ValueError, match="others"):
        est.estimate(x[te], y[te], others=(x[tr], y[tr, :1]))
    bad = x[tr].copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"others\[0\]"):
        est.estimate(x[te], y[te], others=(bad, y[tr]))
    # z: conditional MI is not covered; the reason is reported
    z = np.random.default_rng(0).normal(size=(3000, 1))
    ez = mmgap.MMGEstimator(n_steps=100, random_state=0, n_permutations=0).fit(
        x[tr], y[tr], z=z[tr])
    r = ez.estimate(x[te], y[te], z=z[te], others=(x[tr], y[tr]))
    assert r.diagnostics["control_variate"] == {
        "applied": False, "reason": "only for continuous vectors without z"}


def test_estimate_mi_applies_the_control_only_to_unstratified_single_splits():
    x, y = _gaussian(1500, 0.5, seed=12)
    r = mmgap.estimate_mi(x, y, n_steps=200, n_permutations=0)
    assert r.diagnostics["control_variate"]["applied"]
    labels = (y[:, 0] > 0).astype(int)
    r = mmgap.estimate_mi(x, labels, n_steps=200, n_permutations=0)
    assert "control_variate" not in r.diagnostics  # stratified split
