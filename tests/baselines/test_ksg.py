"""KSG estimator: exactness against a naive O(N^2) loop and scikit-learn, accuracy on
Gaussian ground truth, ties, parameters and the shared estimator Protocol."""

import warnings

import numpy as np
import pytest
from scipy.special import digamma

from mmgap.baselines import KSGEstimator, estimate_ksg, ksg_mi
from mmgap.types import LN2, MIEstimator, MIResult

RHO = 0.75
TRUE_MI = -0.5 * np.log(1 - RHO**2)  # 0.413339 nats


def gaussian_pair(seed, n, rho=RHO):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return x[:, None], y[:, None]


def naive_ksg(x, y, k):
    """KSG algorithm 1 written out with dense O(N^2) distance matrices."""
    n = x.shape[0]
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    dz = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        others = np.delete(np.arange(n), i)
        eps = np.sort(dz[i, others])[k - 1]
        n_x = np.count_nonzero(dx[i, others] < eps)
        n_y = np.count_nonzero(dy[i, others] < eps)
        total += digamma(n_x + 1) + digamma(n_y + 1)
    return digamma(k) + digamma(n) - total / n


@pytest.mark.parametrize("dim_x, dim_y, k", [(1, 1, 5), (1, 1, 1), (2, 3, 3), (4, 1, 5), (3, 3, 7)])
def test_matches_naive_loop_exactly(dim_x, dim_y, k):
    rng = np.random.default_rng(100 + 10 * dim_x + dim_y + k)
    n = 300
    x = rng.standard_normal((n, dim_x))
    # dependent y with a non-linear link and different scales per column
    y = np.tanh(x[:, :1]) * np.arange(1, dim_y + 1) + 0.5 * rng.standard_normal((n, dim_y))
    mi, terms = ksg_mi(x, y, k)
    assert terms.shape == (n,)
    assert mi == pytest.approx(naive_ksg(x, y, k), rel=1e-12, abs=1e-12)
    # the class without standardisation is the same number
    res = KSGEstimator(k=k, standardise=False).estimate(x, y)
    assert res.mi == pytest.approx(mi, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("link", ["linear", "sine"])
def test_matches_sklearn_mutual_info_regression(k, link):
    # sklearn scales each continuous column to unit std (ddof=0, no centring, same as our
    # standardise=True) and adds noise of size 1e-10 * max(1, mean|x|); on tie-free
    # continuous data that noise moves no neighbour count, so the numbers agree to rounding.
    # sklearn clips negative estimates to 0, hence dependent data only.
    feature_selection = pytest.importorskip("sklearn.feature_selection")
    rng = np.random.default_rng(7 + k)
    n = 1000
    x = 3.0 * rng.standard_normal(n) + 1.0
    noise = rng.standard_normal(n)
    y = 0.8 * x + noise if link == "linear" else np.sin(x) + 0.3 * noise
    ref = feature_selection.mutual_info_regression(x[:, None], y, n_neighbors=k, random_state=0)[0]
    ours = KSGEstimator(k=k).estimate(x, y).mi
    assert ref > 0.1
    assert ours == pytest.approx(ref, rel=1e-6)


def test_gaussian_ground_truth():
    # Over 200 seeds at N=5000, k=5 (measured): bias +0.002, sd 0.0125, max |error| 0.045.
    # Each seed: 4 sd = 0.05; mean of 4 seeds: sd 0.00625, tolerance 0.025 (4 sd).
    values = [KSGEstimator().estimate(*gaussian_pair(seed, 5000)).mi for seed in range(4)]
    assert all(abs(v - TRUE_MI) < 0.05 for v in values), values
    assert abs(np.mean(values) - TRUE_MI) < 0.025


def test_independent_pair_is_about_zero():
    # Over 200 seeds at N=5000 (measured): mean -0.0007, sd 0.0084, max |value| 0.027.
    # Tolerance 0.035 (about 4 sd) -- an order of magnitude below the rho=0.75 value.
    for seed in range(3):
        res = KSGEstimator().estimate(*gaussian_pair(seed, 5000, rho=0.0))
        assert abs(res.mi) < 0.035, res.mi


def test_constant_estimator_would_fail():
    # the two tolerances above cannot both be met by one number
    assert TRUE_MI - 0.05 > 0.035


def test_stderr_is_of_the_right_size():
    # measured across seeds: sd 0.0125, mean reported stderr 0.0120 (rho=0.75, N=5000)
    res = KSGEstimator().estimate(*gaussian_pair(0, 5000))
    assert 0.008 < res.stderr < 0.018
    lo, hi = res.ci95
    assert lo < res.mi < hi


def test_result_fields_and_bits():
    x, y = gaussian_pair(1, 500)
    nats = KSGEstimator(k=4).estimate(x, y)
    bits = KSGEstimator(k=4, units="bits").estimate(x, y)
    assert isinstance(nats, MIResult)
    assert nats.variant == "ksg" and nats.units == "nats"
    assert (nats.n_train, nats.n_test) == (0, 500)
    assert nats.seconds >= 0
    assert nats.diagnostics["k"] == 4
    assert bits.units == "bits"
    assert bits.mi == pytest.approx(nats.mi / LN2, rel=1e-12)
    assert bits.stderr == pytest.approx(nats.stderr / LN2, rel=1e-12)
    nats.to_dict()  # JSON-able


def test_standardise_makes_it_scale_invariant():
    x, y = gaussian_pair(2, 800)
    base = KSGEstimator().estimate(x, y).mi
    assert KSGEstimator().estimate(1e3 * x, 1e-2 * y).mi == pytest.approx(base, rel=1e-10)


def test_n_jobs_does_not_change_the_result():
    x, y = gaussian_pair(3, 2000)
    assert KSGEstimator(n_jobs=2).estimate(x, y).mi == KSGEstimator(n_jobs=1).estimate(x, y).mi


def test_duplicates_warn_with_counts():
    x, y = gaussian_pair(4, 200)
    x[:10] = x[10:20]
    y[:10] = y[10:20]
    with pytest.warns(UserWarning, match=r"x: 10, y: 10, joint: 10"):
        res = KSGEstimator().estimate(x, y)
    assert res.diagnostics["duplicate_rows"] == {"x": 10, "y": 10, "xy": 10}


def test_no_warning_on_continuous_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KSGEstimator().estimate(*gaussian_pair(5, 300))


def test_fit_protocol_and_params():
    x, y = gaussian_pair(6, 300)
    est = KSGEstimator(k=3)
    assert isinstance(est, MIEstimator)
    assert est.fit(x, y) is est
    assert (est.dim_x_, est.dim_y_) == (1, 1)
    assert est.get_params() == {"k": 3, "standardise": True, "units": "nats", "n_jobs": 1}
    assert est.set_params(k=7) is est and est.k == 7
    with pytest.raises(ValueError, match="kk"):
        est.set_params(kk=1)
    with pytest.raises(ValueError, match="x: expected 1 column"):
        est.estimate(np.hstack([x, x]), y)
    # estimate without fit is allowed (non-parametric)
    assert estimate_ksg(x, y, k=3).mi == KSGEstimator(k=3).estimate(x, y).mi


@pytest.mark.parametrize(
    "params, match",
    [({"k": 0}, "k:"), ({"k": 2.5}, "k:"), ({"units": "bans"}, "units:"),
     ({"standardise": "yes"}, "standardise:"), ({"n_jobs": 0}, "n_jobs:")],
)
def test_bad_parameters_raise(params, match):
    x, y = gaussian_pair(7, 50)
    with pytest.raises(ValueError, match=match):
        KSGEstimator(**params).estimate(x, y)


def test_bad_input_raises_through_check_xy():
    x, y = gaussian_pair(8, 50)
    with pytest.raises(ValueError, match="same number of samples"):
        KSGEstimator().estimate(x, y[:-1])
    x[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KSGEstimator().estimate(x, y)
    with pytest.raises(ValueError, match="at least 6 samples"):
        KSGEstimator(k=5).estimate(x[4:9], y[4:9])


@pytest.mark.parametrize("kind", ["continuous", "rounded", "integers"])
def test_one_column_counts_match_the_tree_exactly(kind):
    from scipy.spatial import cKDTree

    from mmgap.baselines.ksg import count_within

    rng = np.random.default_rng(11)
    n = 3000
    v = {"continuous": rng.standard_normal(n) * 1e3 + 0.1,
         "rounded": np.round(rng.standard_normal(n), 2),
         "integers": rng.integers(0, 5, n).astype(float)}[kind]
    # radii exactly at pairwise distances, one ulp either side, zero and random
    exact = np.abs(v - v[rng.integers(0, n, n)])
    radius = np.concatenate([exact[:1000], np.nextafter(exact[1000:2000], 0),
                             np.nextafter(exact[2000:], np.inf)])
    radius[:50] = 0.0
    radius[-50:] = rng.random(50)
    tree = cKDTree(v[:, None]).query_ball_point(v[:, None], radius, p=np.inf,
                                                return_length=True) - 1
    np.testing.assert_array_equal(count_within(v[:, None], radius), tree)


def test_count_duplicate_rows_matches_numpy_unique():
    from mmgap.baselines.ksg import count_duplicate_rows

    rng = np.random.default_rng(12)
    for a in (np.round(rng.standard_normal((500, 1)), 1),
              rng.integers(0, 3, (500, 3)).astype(float),
              rng.standard_normal((500, 4))):
        assert count_duplicate_rows(a) == a.shape[0] - np.unique(a, axis=0).shape[0]
