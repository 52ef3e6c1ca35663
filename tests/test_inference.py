"""The inference layer: calibrated stderr, the permutation test (exactly valid with any fixed
denoiser), reliability flags, the interval's clipping rules and the auto variant's rule."""

import json
import math

import numpy as np
import pytest
import torch
from scipy.stats import binom

from mmgap.adaptive import gaussian_tail_share
from mmgap.gap import GaussianOracle
from mmgap.inference import (DELTA_WEIGHT_CHECKED, EDGE_GAP_ABS, LOWER_BOUND_FLAGS, MODEL_ERROR_REL,
                             calibrated_stderr, combined_p_value, gaussian_copula_check,
                             label_entropy, linear_permutation_test, permutation_test,
                             reliability_flags)
from mmgap.logsnr import TruncatedLogistic
from mmgap.types import MIResult, Z95


def test_calibrated_stderr_is_the_root_sum_of_squares():
    assert calibrated_stderr(2.0, 0.03, -0.04) == pytest.approx(
        math.sqrt(0.03 ** 2 + 0.04 ** 2 + (MODEL_ERROR_REL * 2.0) ** 2), rel=1e-12)
    assert calibrated_stderr(0.0, 0.01, 0.0) == pytest.approx(0.01)


def test_label_entropy_is_the_plug_in_entropy():
    assert label_entropy(np.array([0, 1, 2, 3] * 5)) == pytest.approx(math.log(4))
    assert label_entropy(np.array([7, 7, 7, 9])) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def _cov(rho, d=2):
    cov = np.eye(2 * d)
    for i in range(d):
        cov[i, d + i] = cov[d + i, i] = rho
    return cov


def _gaussian(n, rho, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = rho * x + math.sqrt(1 - rho ** 2) * rng.normal(size=(n, d))
    return torch.tensor(x), torch.tensor(y)


def test_permutation_test_is_valid_with_a_wrong_denoiser():
    """The oracle of a *dependent* Gaussian (rho 0.6) on independent data: the denoiser is
    wrong, the test must stay valid. 200 data sets, B = 19: P(p <= 0.1) <= 0.1 exactly, so the
    rejections are at most Binomial(200, 0.1); we allow its 99.9% quantile."""
    oracle = GaussianOracle(_cov(0.6), 2)
    prop = TruncatedLogistic(1.0, 2.0, 4.0)
    gen = torch.Generator().manual_seed(0)
    ps = []
    for s in range(200):
        x, y = _gaussian(60, 0.0, 2, s)
        ps.append(permutation_test(oracle, x, y, prop, n_permutations=19, k_draws=1,
                                   generator=gen)["p_value"])
    ps = np.array(ps)
    assert set(np.round(ps * 20).astype(int)) <= set(range(1, 21))  # p = j / 20
    assert (ps <= 0.1).sum() <= binom.ppf(0.999, 200, 0.1)
    assert (ps <= 0.5).sum() >= binom.ppf(0.001, 200, 0.5)  # not degenerate (always 1)


def test_permutation_test_has_power_with_the_right_denoiser():
    oracle = GaussianOracle(_cov(0.5), 2)
    x, y = _gaussian(400, 0.5, 2, 1)
    out = permutation_test(oracle, x, y, TruncatedLogistic(1.0, 2.0, 4.0), n_permutations=99,
                           k_draws=2, generator=torch.Generator().manual_seed(1))
    assert out["p_value"] == pytest.approx(1 / 100)
    assert out["statistic"] > out["null_mean"] + 5 * out["null_sd"]
    # the statistic is the direct-form estimate: near the true MI, 2 * (-1/2 log(1 - 0.25))
    assert out["statistic"] == pytest.approx(-math.log(0.75), abs=0.12)


def test_permutation_test_gives_p_one_when_y_is_ignored():
    oracle = GaussianOracle(np.eye(4), 2)  # independent oracle: conditional == unconditional
    x, y = _gaussian(50, 0.9, 2, 2)
    out = permutation_test(oracle, x, y, TruncatedLogistic(1.0, 2.0, 4.0), n_permutations=9,
                           generator=torch.Generator().manual_seed(0))
    assert out["p_value"] == 1.0
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_test(oracle, x, y, TruncatedLogistic(1.0, 2.0, 4.0), n_permutations=0)


def test_interval_rules():
    r = MIResult(mi=0.01, stderr=0.02)
    assert r.ci95 == pytest.approx((0.0, 0.01 + Z95 * 0.02))  # never below 0
    r = MIResult(mi=0.5, stderr=0.01, p_value=0.3)  # independence not rejected: 0 stays in
    assert r.ci95[0] == 0.0
    r = MIResult(mi=0.5, stderr=0.01, p_value=0.001)
    assert r.ci95 == pytest.approx((0.5 - Z95 * 0.01, 0.5 + Z95 * 0.01))
    r = MIResult(mi=2.3, stderr=0.1, upper_bound=2.302585)
    assert r.ci95[1] == pytest.approx(2.302585)
    r = MIResult(mi=5.0, stderr=0.1, lower_bound_only=True)
    assert r.ci95[1] == math.inf
    d = json.loads(json.dumps(r.to_dict()))  # strict JSON: no Infinity
    assert d["ci95"][1] is None and d["lower_bound_only"] is True
    assert "p = 0.3" in MIResult(mi=0.5, stderr=0.01, p_value=0.3).summary()


def _flags(**kw):
    base = dict(mi=1.0, edge_density=(0.0, 0.0), window=(-7.0, 9.0), n_train=8000, dim_x=5,
                dim_y=5, train_mi=1.0, train_gap_stderr=0.01)
    base.update(kw)
    return [f["code"] for f in reliability_flags(**base)]


def test_flags_fire_only_on_their_condition():
    assert _flags() == []
    assert _flags(edge_density=(0.0, 0.03)) == ["gap_open_upper"]
    assert _flags(edge_density=(0.0, 0.015)) == []  # below 2% of the MI per unit
    assert _flags(mi=0.0, train_mi=0.0, edge_density=(EDGE_GAP_ABS * 0.9, 0.0)) == []
    assert _flags(mi=0.0, train_mi=0.0, edge_density=(EDGE_GAP_ABS * 1.1, 0.0)) == ["gap_open_lower"]
    assert _flags(n_train=99) == ["few_samples"]
    assert _flags(train_mi=1.5) == ["overfit"]
    assert _flags(train_mi=1.2) == []
    assert _flags(upper_bound=0.69, mi_unclipped=0.9) == ["exceeds_bound"]
    assert _flags(upper_bound=0.69, mi_unclipped=0.6, train_mi=0.6) == []
    assert _flags(time_budget_hit=True, steps=10) == ["time_budget"]
    assert _flags(delta=-0.6, delta_stderr=0.01) == ["forms_disagree"]
    assert _flags(delta=-0.4, delta_stderr=0.01) == []
    assert _flags(delta=-0.6, delta_stderr=0.3) == []
    assert _flags(knn_mi=1.2, ci_high=1.1) == ["knn_above"]
    assert _flags(knn_mi=1.14, ci_high=1.1) == []  # within the 0.05-nat margin
    assert _flags(knn_mi=1.2, ci_high=None) == []
    # early stopping with the chosen checkpoint 2 scores (1000 steps) before the end
    stop = dict(stopped_early=True, steps=4000, eval_every=500)
    assert _flags(best_step=3000, **stop) == ["stopped_overfitting"]
    assert _flags(best_step=3500, **stop) == []  # one score: noise of the selection
    assert _flags(best_step=3000, **{**stop, "stopped_early": False}) == []  # budget ended it
    assert _flags(best_step=None, **stop) == [] and _flags(best_step=3000, **{**stop, "eval_every": None}) == []
    # the estimate still rising at the end of training: more than 25% of it, 1 nat, 3 se
    hi = dict(mi=5.0, train_mi=5.0)
    assert _flags(growth=1.5, growth_stderr=0.1, **hi) == ["still_learning"]
    assert _flags(growth=1.2, growth_stderr=0.1, **hi) == []  # 24% of the estimate
    assert _flags(growth=1.5, growth_stderr=0.6, **hi) == []  # within 3 standard errors
    assert _flags(growth=0.9, growth_stderr=0.01, mi=2.0, train_mi=2.0) == []  # under 1 nat
    assert _flags(growth=None) == [] and _flags(growth=-2.0) == []
    assert "still_learning" in LOWER_BOUND_FLAGS and "gap_open_upper" in LOWER_BOUND_FLAGS


def test_knn_floor_raises_only_the_upper_end():
    from mmgap.types import MIResult

    res = MIResult(mi=1.0, stderr=0.05, ci_high_floor=1.3)
    lo, hi = res.ci95
    assert hi == pytest.approx(1.3) and lo == pytest.approx(1.0 - 1.959963984540054 * 0.05)
    assert MIResult(mi=1.0, stderr=0.05, ci_high_floor=0.5).ci95[1] == pytest.approx(1.098, abs=1e-3)
    assert MIResult(mi=1.0, stderr=0.05, ci_high_floor=1.3, upper_bound=1.2).ci95[1] == 1.2


def test_low_ceiling_lowers_only_the_lower_end():
    from mmgap.types import MIResult

    lo, hi = MIResult(mi=1.0, stderr=0.05, ci_low_ceiling=0.7).ci95
    assert lo == pytest.approx(0.7) and hi == pytest.approx(1.0 + 1.959963984540054 * 0.05)
    # a ceiling above the own lower end changes nothing; MI's interval never goes below 0
    assert MIResult(mi=1.0, stderr=0.05, ci_low_ceiling=0.99).ci95[0] == pytest.approx(0.902, abs=1e-3)
    assert MIResult(mi=1.0, stderr=0.05, ci_low_ceiling=-0.3).ci95[0] == 0.0
    d = MIResult(mi=1.0, stderr=0.05, ci_low_ceiling=0.7, ci_high_floor=1.4).to_dict()
    assert d["ci95"] == pytest.approx([0.7, 1.4])


@pytest.mark.parametrize("c,high", [(0.3, 2.0), (1e-4, 9.0), (1e-6, 9.0)])
def test_gaussian_tail_share_matches_closed_form(c, high):
    """One component with conditional variance c: gap(l) = sigmoid(l) - sigmoid(l + log c),
    whose area is -log c (= 2 MI) and whose area above h is
    -log c - log((1 + e^h) / (1 + c e^h))."""
    total = -math.log(c)
    above = total - math.log((1 + math.exp(high)) / (1 + c * math.exp(high)))
    assert gaussian_tail_share(np.array([1.0]), np.array([c]), high) == pytest.approx(
        above / total, abs=2e-3)
    assert gaussian_tail_share(np.array([1.0]), np.array([1.0]), high) == 0.0


def _gauss_pairs(rng, n, dim, rhos):
    """x, y (n, dim): pairs (x_i, y_i) with correlation rhos[i], the other columns independent."""
    x = rng.standard_normal((n, dim))
    y = rng.standard_normal((n, dim))
    for i, r in enumerate(rhos):
        y[:, i] = r * x[:, i] + math.sqrt(1 - r * r) * y[:, i]
    return torch.tensor(x), torch.tensor(y)


def test_gaussian_copula_check_is_unbiased_where_the_plug_in_is_not():
    # 10+10 dims, n = 300: the plug-in Gaussian MI is biased up by about dx dy / 2n = 0.17
    rng = np.random.default_rng(0)
    rhos = [0.8, 0.5]
    truth = -0.5 * sum(math.log(1 - r * r) for r in rhos)
    out = [gaussian_copula_check(*_gauss_pairs(rng, 300, 10, rhos)) for _ in range(60)]
    mi = np.array([o["mi"] for o in out])
    plug = np.array([o["mi_plugin"] for o in out])
    se_mean = mi.std(ddof=1) / math.sqrt(len(mi))
    assert abs(mi.mean() - truth) < 3 * se_mean
    assert plug.mean() - truth > 0.1  # what the correction removes
    # the reported stderr matches the spread over replicates (within sampling error of an sd)
    assert 0.75 < np.mean([o["stderr"] for o in out]) / mi.std(ddof=1) < 1.33
    null = np.array([gaussian_copula_check(*_gauss_pairs(rng, 300, 10, []))["mi"]
                     for _ in range(60)])
    assert abs(null.mean()) < 3 * null.std(ddof=1) / math.sqrt(len(null))


def test_gaussian_copula_check_needs_more_rows_than_dimensions():
    rng = np.random.default_rng(1)
    x, y = _gauss_pairs(rng, 12, 5, [0.5])
    assert gaussian_copula_check(x, y) is None  # n <= dx + dy + 2
    assert gaussian_copula_check(x[:, :2], y[:, :2]) is not None
    singular = torch.cat([x[:, :1], x[:, :1]], 1)
    assert gaussian_copula_check(singular, y) is None


def test_gaussian_above_flag_and_the_weighted_stderr():
    assert _flags(gauss_mi=1.2, gauss_stderr=0.02, ci_high=1.1) == ["gaussian_above"]
    assert _flags(gauss_mi=1.13, gauss_stderr=0.02, ci_high=1.1) == []  # within 2 stderr
    assert _flags(gauss_mi=1.2, gauss_stderr=0.02, ci_high=None) == []
    assert calibrated_stderr(2.0, 0.03, -0.04, delta_weight=DELTA_WEIGHT_CHECKED) == pytest.approx(
        math.sqrt(0.03 ** 2 + (DELTA_WEIGHT_CHECKED * 0.04) ** 2 + (MODEL_ERROR_REL * 2.0) ** 2))


def test_repair_trigger():
    from mmgap.inference import REPAIR_Z, repair_trigger

    above = [{"code": "gaussian_above"}]
    assert repair_trigger(1.0, above, {"mi": 1.2, "stderr": 0.02}) == "gaussian_above"
    g = {"mi": 1.0, "stderr": 0.01}
    assert repair_trigger(1.0 - REPAIR_Z * 0.01 - 1e-6, [], g) == "below_gaussian_check"
    assert repair_trigger(1.0 - REPAIR_Z * 0.01 + 1e-6, [], g) is None
    assert repair_trigger(0.5, [{"code": "overfit"}], None) is None
    # the k-NN trigger only where the rank map may be replaced; the Gaussian ones come first
    knn = [{"code": "knn_above"}]
    assert repair_trigger(1.0, knn, None) is None
    assert repair_trigger(1.0, knn, None, rank_map=True) == "knn_above"
    assert repair_trigger(1.0, knn + above, g, rank_map=True) == "gaussian_above"
    assert repair_trigger(1.0, knn + above, g, prior=False, rank_map=True) == "knn_above"
    assert repair_trigger(0.5, above, g, prior=False) is None
    assert repair_trigger(1.0, [], None, rank_map=True, knn_raises=True) == "below_knn_check"
    assert repair_trigger(1.0, [], None, knn_raises=True) is None
    # not where the k-NN value itself is within the flag's margin of 0 (independent data:
    # its noise clears the interval's small upper end)
    from mmgap.inference import KNN_CHECK_MARGIN as m

    assert repair_trigger(0.001, knn, None, rank_map=True, knn_mi=m) is None
    assert repair_trigger(0.001, knn, None, rank_map=True, knn_mi=m + 1e-9) == "knn_above"
    assert repair_trigger(0.001, [], None, rank_map=True, knn_raises=True, knn_mi=0.006) is None
    assert repair_trigger(0.001, above, g, rank_map=True, knn_mi=0.006) == "gaussian_above"
    from mmgap.inference import REPAIR_CURES

    assert REPAIR_CURES["knn_above"] == REPAIR_CURES["below_knn_check"] == {
        "preprocess": "standardize"}
    assert REPAIR_CURES["gaussian_above"] == REPAIR_CURES["below_gaussian_check"] == {
        "gaussian_prior": True}


def test_linear_permutation_test_is_valid_under_independence_and_has_power():
    rng = np.random.default_rng(7)
    reps = 300
    ps = np.array([linear_permutation_test(torch.tensor(rng.standard_t(3, size=(150, 3))),
                                           torch.tensor(rng.uniform(size=(150, 2))), 39, s)["p_value"]
                   for s in range(reps)])
    # exactly valid: P(p <= 2/40) = 0.05; the bound is the binomial 99.9% quantile
    assert (ps <= 0.05).sum() <= binom.ppf(0.999, reps, 0.05)
    assert 0.4 < (ps <= 0.5).mean() < 0.6  # and not conservative to uselessness
    x = rng.normal(size=(150, 3))
    y = np.c_[0.8 * x[:, 0] + rng.normal(size=150), rng.normal(size=150)]
    out = linear_permutation_test(torch.tensor(x), torch.tensor(y), 399, 0)
    assert out["p_value"] == pytest.approx(1 / 400) and out["n_rows"] == 150
    assert linear_permutation_test(torch.tensor(x[:5]), torch.tensor(y[:5]), 39, 0) is None


def test_combined_p_value_is_bonferroni():
    assert combined_p_value(0.01, 0.2) == pytest.approx(0.02)
    assert combined_p_value(0.6, 0.7) == 1.0
    assert combined_p_value(0.03, None) == 0.03 and combined_p_value(None, None) is None


def test_upper_end_floor_reaches_the_checks_above_the_interval():
    from mmgap.inference import upper_end_floor

    assert upper_end_floor(1.0) is None
    assert upper_end_floor(1.0, knn_mi=0.99) is None
    assert upper_end_floor(1.0, knn_mi=1.01) == 1.01  # no margin for the raise
    g = {"mi": 1.0, "stderr": 0.01}
    assert upper_end_floor(1.0, gauss=g) == pytest.approx(1.0 + Z95 * 0.01)
    assert upper_end_floor(1.0, knn_mi=1.1, gauss=g) == 1.1



def test_learning_growth_pairs_rows_and_picks_the_half_way_checkpoint():
    import torch
    from mmgap.inference import learning_growth
    n_rows, k = 3, 2
    base = torch.tensor([1.0, 2.0, 3.0, 1.5, 2.5, 3.5], dtype=torch.float64)  # draw j: row j % 3
    rise = torch.tensor([0.1, 0.2, 0.6, 0.3, 0.2, 0.4], dtype=torch.float64)
    curve = [(250, base, n_rows), (500, base + 0.5 * rise, n_rows), (750, base + 0.8 * rise, n_rows),
             (1000, base + rise, n_rows)]
    lc = learning_growth(curve, 1000)
    # half-way from the first checkpoint (250) to the chosen one (1000) is 625: 500 and 750
    # are equally near, and the earlier one is taken
    assert lc["half_step"] == 500 and lc["chosen_step"] == 1000
    assert lc["mi"] == pytest.approx([float(c[1].mean()) for c in curve])
    per_row = (0.5 * rise).view(k, n_rows).mean(0)  # [0.1, 0.1, 0.25]
    assert lc["growth"] == pytest.approx(float(per_row.mean()))
    assert lc["growth_stderr"] == pytest.approx(float(per_row.std()) / math.sqrt(n_rows))
    # the chosen checkpoint need not be the last one
    assert learning_growth(curve, 750)["half_step"] == 500
    # nothing to compare: no curve, an unknown step, or a single checkpoint before it
    assert learning_growth([], 1000) is None
    assert learning_growth(curve, 600) is None
    one = learning_growth(curve[:1], 250)
    assert one["growth"] is None and one["half_step"] == 250
    # one validation row: a growth but no standard error (the estimator then raises no flag)
    row = [(s, torch.full((3,), v, dtype=torch.float64), 1) for s, v in ((100, 1.0), (200, 3.0))]
    lone = learning_growth(row, 200)
    assert lone["growth"] == pytest.approx(2.0) and lone["growth_stderr"] is None
