"""Cross-fitting (mmgap.crossfit): the pooling rules exactly, the p-value combination's
validity, and the whole path through the API, the bench runner and the CLI."""

import json
import math
import warnings

import numpy as np
import pytest

import mmgap
from mmgap.cli import main
from mmgap.crossfit import MAX_FOLDS, combine_folds, cross_fit_estimate
from mmgap.inference import DELTA_WEIGHT_CHECKED, MODEL_ERROR_REL, calibrated_stderr
from mmgap.types import Z95, MIResult

FAST = dict(n_steps=40, n_permutations=9, verbose=False)


def fold(mi, se_mc, *, direct=None, p=0.01, flags=(), knn=None, gauss=None, repair=None,
         bound=None, lower_only=False, n_test=100):
    direct = mi if direct is None else direct
    d = {"mi_orthogonal": mi, "mi_direct": direct, "direct_minus_orthogonal": direct - mi,
         "stderr_mc": se_mc, "integrand": "orthogonal", "knn_check": knn,
         "gaussian_check": gauss, "seconds_fit": 2.0,
         "flags": [{"code": c, "message": f"{c} happened", "action": "none"} for c in flags]}
    if repair is not None:
        d["repair"] = repair
    return MIResult(mi=mi, stderr=se_mc, units="nats", variant="orthogonal", n_train=400,
                    n_test=n_test, seconds=0.5, diagnostics=d, p_value=p, upper_bound=bound,
                    lower_bound_only=lower_only)


def test_pooled_estimate_and_stderr_exact():
    folds = [fold(0.40, 0.02, direct=0.42), fold(0.50, 0.03, direct=0.46, n_test=200),
             fold(0.45, 0.01, direct=0.45, n_test=100)]
    res = combine_folds(folds, [100, 200, 100])
    w = np.array([0.25, 0.5, 0.25])
    mis = np.array([0.40, 0.50, 0.45])
    mi = float(w @ mis)
    assert res.mi == pytest.approx(mi, abs=1e-15)
    held = math.sqrt(float(w ** 2 @ np.array([0.02, 0.03, 0.01]) ** 2))
    between = float(mis.std(ddof=1) / math.sqrt(3))
    delta = float(w @ np.array([0.02, -0.04, 0.0]))
    # no Gaussian check on the folds: the disagreement enters with weight 1
    assert res.stderr == pytest.approx(calibrated_stderr(mi, max(held, between), delta), abs=1e-15)
    assert res.diagnostics["cross_fit"]["stderr_held_out"] == pytest.approx(held)
    assert res.diagnostics["cross_fit"]["stderr_between_folds"] == pytest.approx(between)
    assert res.diagnostics["mi_direct"] == pytest.approx(float(w @ np.array([0.42, 0.46, 0.45])))
    assert res.n_test == 400 and res.n_train == 400
    assert res.p_value == pytest.approx(0.02)  # twice the mean of 0.01, 0.01, 0.01
    lo, hi = res.ci95
    assert (lo, hi) == pytest.approx((mi - Z95 * res.stderr, mi + Z95 * res.stderr))
    assert res.seconds == pytest.approx(3 * 2.5)
    assert [f["fold"] for f in res.diagnostics["cross_fit"]["folds"]] == [1, 2, 3]


def test_disagreement_weight_follows_the_gaussian_check():
    g = {"mi": 0.1, "stderr": 0.01}
    folds = [fold(0.40, 0.02, direct=0.30, gauss=g), fold(0.40, 0.02, direct=0.30, gauss=g)]
    res = combine_folds(folds, [100, 100])
    held = math.sqrt(2 * 0.25 * 0.02 ** 2)
    assert res.stderr == pytest.approx(
        calibrated_stderr(0.40, held, -0.10, delta_weight=DELTA_WEIGHT_CHECKED))
    # equal folds: no spread, so the held-out error is the statistical part
    assert res.diagnostics["cross_fit"]["stderr_between_folds"] == 0.0
    assert res.stderr >= MODEL_ERROR_REL * 0.40


def test_spread_between_folds_dominates_when_larger():
    res = combine_folds([fold(0.2, 0.001), fold(0.6, 0.001)], [50, 50])
    between = float(np.std([0.2, 0.6], ddof=1) / math.sqrt(2))
    assert res.stderr == pytest.approx(calibrated_stderr(0.4, between, 0.0))


def test_flags_merged_with_their_folds_and_warned_once(recwarn):
    res = combine_folds([fold(0.4, 0.02, flags=("forms_disagree",)), fold(0.4, 0.02),
                         fold(0.4, 0.02, flags=("forms_disagree", "few_samples"))],
                        [100, 100, 100])
    codes = {f["code"]: f for f in res.flags}
    assert set(codes) == {"forms_disagree", "few_samples"}
    assert codes["forms_disagree"]["folds"] == [1, 3]
    assert "folds 1, 3 of 3" in codes["forms_disagree"]["message"]
    assert "fold 3 of 3" in codes["few_samples"]["message"]
    assert res.diagnostics["cross_fit"]["folds"][2]["flags"] == ["forms_disagree", "few_samples"]


def test_bounds_lower_only_and_p_values():
    res = combine_folds([fold(0.4, 0.02, bound=2.30, p=0.2), fold(0.5, 0.02, bound=2.31, p=0.4)],
                        [100, 100])
    assert res.upper_bound == 2.31
    assert res.p_value == pytest.approx(0.6)
    assert res.ci95[0] == 0.0  # p > 0.05: 0 stays in the 95% set
    assert combine_folds([fold(0.4, 0.02, p=0.9), fold(0.4, 0.02, p=0.8)], [1, 1]).p_value == 1.0
    assert combine_folds([fold(0.4, 0.02, p=None), fold(0.4, 0.02)], [1, 1]).p_value is None
    res = combine_folds([fold(0.4, 0.02), fold(0.4, 0.02, lower_only=True)], [1, 1])
    assert res.lower_bound_only and math.isinf(res.ci95[1])


def test_upper_end_raised_to_the_pooled_cross_checks():
    # each fold's k-NN value lies above the pooled interval: the mean of them is the raise
    res = combine_folds([fold(0.40, 0.005, knn=0.50), fold(0.40, 0.005, knn=0.46)], [100, 100])
    assert res.ci_high_floor == pytest.approx(0.48)
    assert res.ci95[1] == pytest.approx(0.48)
    assert res.diagnostics["knn_check"] == pytest.approx(0.48)
    # one fold without the check: no pooled k-NN value, no raise
    res = combine_folds([fold(0.40, 0.005, knn=0.50), fold(0.40, 0.005)], [100, 100])
    assert res.ci_high_floor is None
    # the Gaussian-copula check: pooled mean, pooled error, raised to its upper 95% limit
    g1, g2 = {"mi": 0.50, "stderr": 0.02}, {"mi": 0.54, "stderr": 0.04}
    res = combine_folds([fold(0.40, 0.005, gauss=g1), fold(0.40, 0.005, gauss=g2)], [100, 100])
    assert res.ci_high_floor == pytest.approx(0.52 + Z95 * math.sqrt(0.25 * 0.02 ** 2 + 0.25 * 0.04 ** 2))


def test_hull_repaired_folds_keep_their_first_fits_in_the_interval():
    hull = {"flag": "below_knn_check", "interval": "hull of both fits' intervals",
            "first_fit": {"mi": 0.30, "ci95": [0.2, 0.4], "flags": [], "seconds": 1.0}}
    res = combine_folds([fold(0.40, 0.005, repair=hull), fold(0.40, 0.005)], [100, 100])
    alt = 0.5 * 0.30 + 0.5 * 0.40
    assert res.ci95[0] == pytest.approx(alt - Z95 * res.stderr)
    assert res.ci95[1] == pytest.approx(0.40 + Z95 * res.stderr)
    assert res.seconds == pytest.approx(2.5 + 1.0 + 2.5)  # the first fit's time counts
    # a repair that is not a hull (the Gaussian prior) does not widen
    prior = dict(hull, flag="gaussian_above", interval="the refit's")
    res = combine_folds([fold(0.40, 0.005, repair=prior), fold(0.40, 0.005)], [100, 100])
    assert res.ci95[0] == pytest.approx(0.40 - Z95 * res.stderr)


def test_combine_folds_refuses_bad_input():
    with pytest.raises(ValueError, match="results and sizes"):
        combine_folds([fold(0.4, 0.02)], [100])
    with pytest.raises(ValueError, match="results and sizes"):
        combine_folds([fold(0.4, 0.02), fold(0.4, 0.02)], [100])
    with pytest.raises(ValueError, match="sizes"):
        combine_folds([fold(0.4, 0.02), fold(0.4, 0.02)], [100, 0])
    bits = fold(0.4, 0.02)
    bits.units = "bits"
    with pytest.raises(ValueError, match="units"):
        combine_folds([fold(0.4, 0.02), bits], [1, 1])


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_twice_the_mean_p_value_is_valid_under_dependence(alpha):
    """Monte Carlo check of the combination rule on exactly valid (uniform) fold p-values
    under three dependence structures: identical, independent, and the half-and-half
    antithetic pairing that makes the mean nearly constant. 20,000 sets each: the rate must
    stay below alpha plus 3 binomial standard errors (it is alpha / 2 for identical ones)."""
    rng = np.random.default_rng(0)
    m, k = 20_000, 5
    u = rng.random(m)
    sets = {"identical": np.repeat(u[:, None], k, 1),
            "independent": rng.random((m, k)),
            "antithetic": np.stack([u, 1 - u, u, 1 - u, rng.random(m)], 1)}
    tol = 3 * math.sqrt(alpha * (1 - alpha) / m)
    for name, p in sets.items():
        combined = np.minimum(1.0, 2.0 * p.mean(1))
        assert (combined <= alpha).mean() <= alpha + tol, name
    # and it is not vacuous: identical p-values reject at half the level
    assert (np.minimum(1, 2 * sets["identical"].mean(1)) <= alpha).mean() == pytest.approx(alpha / 2, abs=tol)


def test_cross_fit_end_to_end(gaussian_1d):
    x, y = gaussian_1d(600, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmgap.estimate_mi(x, y, n_folds=3, random_state=1, **FAST)
        again = mmgap.estimate_mi(x, y, n_folds=3, random_state=1, **FAST)
    cf = res.diagnostics["cross_fit"]
    assert cf["n_folds"] == 3 and sum(cf["fold_sizes"]) == 600 and res.n_test == 600
    assert [f["n_test"] for f in cf["folds"]] == cf["fold_sizes"]
    assert all(f["n_train"] + f["n_test"] == 600 for f in cf["folds"])
    assert res.mi == pytest.approx(np.dot(cf["fold_sizes"], [f["mi"] for f in cf["folds"]]) / 600)
    assert res.mi == again.mi and res.ci95 == again.ci95  # same seed, same numbers
    assert 0.0 <= res.p_value <= 1.0 and res.ci95[0] <= res.mi <= res.ci95[1]
    json.dumps(res.to_dict())


def test_cross_fit_through_variants_labels_and_the_bench_runner(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    x = labels[:, None] + rng.normal(size=(300, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmgap.estimate_mi(x, labels, method="mmg-direct", n_folds=2, y_discrete=True,
                                **FAST)
    assert res.variant == "direct" and res.diagnostics["method"] == "mmg-direct"
    # stratified folds: every class is in every fold's held-out part
    assert all(f["n_test"] in (150,) for f in res.diagnostics["cross_fit"]["folds"])
    from mmgap.benchmark.runner import RunSpec, run_one

    rec = run_one(RunSpec("1v1-normal-0.75", "mmg", 0, 300, {"n_folds": 2, **FAST}))
    assert rec["success"], rec.get("error")
    assert rec["n_test"] == 300 and rec["cross_fit"]["n_folds"] == 2
    assert len(rec["cross_fit"]["folds"]) == 2


def test_cross_fit_refuses_bad_arguments(gaussian_1d):
    x, y = gaussian_1d(200, 0)
    for bad in (1, 0, MAX_FOLDS + 1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="n_folds"):
            mmgap.estimate_mi(x, y, n_folds=bad, **FAST)
    with pytest.raises(ValueError, match="test_size"):
        mmgap.estimate_mi(x, y, n_folds=2, test_size=0.3, **FAST)
    with pytest.raises(ValueError, match="n_folds: cross-fitting is for the MMG methods"):
        mmgap.estimate_mi(x, y, method="ksg", n_folds=2)
    with pytest.raises(ValueError, match="at least 200 rows"):
        cross_fit_estimate(x[:150], y[:150], n_folds=10, **FAST)


def test_cli_folds(tmp_path, gaussian_1d, capsys):
    x, y = gaussian_1d(400, 0)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    code = main(["estimate", str(path), "--folds", "2", "--steps", "40", "--permutations", "9",
                 "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert "400/400" not in lines[0] and "/400 samples" in lines[0]
    assert "cross-fitted over 2 folds" in lines[1]
    assert [ln[:7] for ln in lines[2:4]] == ["fold 1:", "fold 2:"]
    assert any(ln.startswith("test:") and "twice the mean of the 2 folds" in ln for ln in lines)
    code = main(["estimate", str(path), "--folds", "2", "--steps", "40", "--permutations", "9",
                 "--quiet", "--json"])
    obj = json.loads(capsys.readouterr()[0])
    assert obj["diagnostics"]["cross_fit"]["n_folds"] == 2 and obj["n_test"] == 400
    for argv, msg in ((["--folds", "1"], "--folds (n_folds)"),
                      (["--folds", "2", "--method", "ksg"], "--folds: cross-fitting"),
                      (["--folds", "2", "--test-size", "0.3"], "--test-size"),
                      (["--folds", "2", "--plot", str(tmp_path / "p.png")], "--plot"),
                      (["--folds", "2", "--save", str(tmp_path / "m")], "--save"),
                      (["--jobs", "2"], "--jobs: parallel fits are for a cross-fit"),
                      (["--folds", "2", "--jobs", "0"], "--jobs (n_jobs)")):
        code = main(["estimate", str(path), "--steps", "5", "--quiet", *argv])
        err = capsys.readouterr()[1]
        assert code == 2 and msg in err, (argv, err)


def test_folds_in_worker_processes(gaussian_1d):
    x, y = gaussian_1d(400, 0)
    res = cross_fit_estimate(x, y, n_folds=3, n_jobs=2, random_state=2, **FAST)
    cf = res.diagnostics["cross_fit"]
    assert [f["fold"] for f in cf["folds"]] == [1, 2, 3] and res.n_test == 400
    assert [f["n_test"] for f in cf["folds"]] == cf["fold_sizes"]
    # the same folds and seeds as in one process: the held-out rows of each fold agree
    one = cross_fit_estimate(x, y, n_folds=3, n_jobs=1, random_state=2, **FAST)
    assert one.diagnostics["cross_fit"]["fold_sizes"] == cf["fold_sizes"]
    assert res.mi == pytest.approx(one.mi, abs=0.1)
    with pytest.raises(ValueError, match="n_jobs"):
        cross_fit_estimate(x, y, n_folds=2, n_jobs=0, **FAST)
    with pytest.raises(ValueError, match="n_jobs: parallel fits are for a cross-fit"):
        mmgap.estimate_mi(x, y, n_jobs=2, **FAST)


def test_bench_folds(tmp_path, capsys):
    out = tmp_path / "b"
    code = main(["bench", "--tasks", "1v1-normal-0.75", "--seeds", "0", "--n-samples", "300",
                 "--steps", "30", "--folds", "2", "--out", str(out)])
    assert code == 0, capsys.readouterr()[1]
    rec = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert rec["success"] and rec["params"]["n_folds"] == 2 and rec["n_test"] == 300
    code = main(["bench", "--tasks", "1v1-normal-0.75", "--methods", "ksg", "--folds", "2",
                 "--out", str(out)])
    assert code == 2 and "--folds: cross-fitting is for the MMG methods" in capsys.readouterr()[1]


def test_parallel_folds_refused_under_torchrun(gaussian_1d, monkeypatch):
    x, y = gaussian_1d(200, 0)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="n_jobs: under torchrun"):
        cross_fit_estimate(x, y, n_folds=2, n_jobs=2, **FAST)


def test_cross_fit_of_conditional_mi():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 1))
    x, y = z + rng.normal(size=(400, 1)), z + rng.normal(size=(400, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmgap.estimate_mi(x, y, z, n_folds=2, **FAST)
    assert res.quantity == "cmi" and res.n_test == 400
    assert all(f["n_test"] == 200 for f in res.diagnostics["cross_fit"]["folds"])
