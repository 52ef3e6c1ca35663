"""Frenzel–Pompe KSG conditional MI and Kozachenko–Leonenko entropy: exact agreement with
naive O(N^2) loops, accuracy on tasks with exact truths, invariances, bad input.

Accuracy tolerances come from repeated seeds (N = 2000, 50 seeds per task, measured when
these tests were written): tolerance = |mean bias| + 4 x seed-to-seed standard deviation,
rounded up. The truths across cases (0, 0.22, 0.48, 0.51 nats; -0.69 ... 2.69 nats) are
further apart than any two tolerances, so no constant passes them all.
"""

import warnings

import numpy as np
import pytest
from scipy.special import digamma, gammaln

from mmgap.baselines import (KLEntropyEstimator, KSGCMIEstimator, estimate_kl_entropy,
                             estimate_ksg_cmi, kl_entropy, ksg_cmi, ksg_mi)
from mmgap.baselines.kl_entropy import log_unit_ball_volume
from mmgap.baselines.ksg_cmi import ksg_cmi_counts
from mmgap.tasks import get_task
from mmgap.types import LN2, MIResult

HAS_QUANTITY = "quantity" in MIResult.__dataclass_fields__


# ------------------------------------------------------------------ naive references


def _maxdist(a):
    return np.abs(a[:, None, :] - a[None, :, :]).max(axis=2)


def naive_fp_counts(x, y, z, k, z_labels=False):
    """Frenzel–Pompe counts with dense distance matrices; a labelled z is at distance 0
    within a class and infinitely far across classes."""
    n = x.shape[0]
    dx, dy = _maxdist(x), _maxdist(y)
    if z_labels:
        dz = np.where(z[:, None] == z[None, :], 0.0, np.inf)
    else:
        dz = _maxdist(z)
    joint = np.maximum(np.maximum(dx, dy), dz)
    n_xz, n_yz, n_z = (np.empty(n, dtype=np.int64) for _ in range(3))
    for i in range(n):
        others = np.delete(np.arange(n), i)
        eps = np.sort(joint[i, others])[k - 1]
        n_xz[i] = np.count_nonzero(np.maximum(dx, dz)[i, others] < eps)
        n_yz[i] = np.count_nonzero(np.maximum(dy, dz)[i, others] < eps)
        n_z[i] = np.count_nonzero(dz[i, others] < eps)
    return n_xz, n_yz, n_z


def naive_fp(x, y, z, k, z_labels=False):
    n_xz, n_yz, n_z = naive_fp_counts(x, y, z, k, z_labels)
    return digamma(k) - np.mean(digamma(n_xz + 1) + digamma(n_yz + 1) - digamma(n_z + 1))


def naive_kl(x, k, metric):
    n, d = x.shape
    diff = x[:, None, :] - x[None, :, :]
    if metric == "euclidean":
        dist = np.sqrt((diff**2).sum(axis=2))
        log_v = 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1)
    else:
        dist = np.abs(diff).max(axis=2)
        log_v = d * np.log(2.0)
    total = 0.0
    for i in range(n):
        r = np.sort(np.delete(dist[i], i))[k - 1]
        total += np.log(r)
    return digamma(n) - digamma(k) + log_v + d * total / n


def _dependent_xyz(seed, n, dx, dy, dz):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dz)) * np.arange(1, dz + 1)
    x = np.tanh(z[:, :1]) + 0.7 * rng.standard_normal((n, dx))
    y = x[:, :1] ** 2 - z[:, -1:] + 0.5 * rng.standard_normal((n, dy))
    return x, y, z


# ----------------------------------------------------------------- exactness (KSG-CMI)


@pytest.mark.parametrize("dx, dy, dz, k", [(1, 1, 1, 5), (1, 1, 1, 1), (2, 3, 1, 3),
                                            (1, 2, 3, 4), (3, 1, 2, 7)])
def test_ksg_cmi_counts_match_naive_loop_exactly(dx, dy, dz, k):
    x, y, z = _dependent_xyz(10 * dx + dy + 100 * dz + k, 250, dx, dy, dz)
    _, n_xz, n_yz, n_z = ksg_cmi_counts(x, y, z, k)
    ref = naive_fp_counts(x, y, z, k)
    for got, want in zip((n_xz, n_yz, n_z), ref):
        np.testing.assert_array_equal(got, want)
    cmi, terms = ksg_cmi(x, y, z, k)
    assert terms.shape == (250,)
    assert cmi == pytest.approx(naive_fp(x, y, z, k), rel=1e-12, abs=1e-12)
    res = KSGCMIEstimator(k=k, standardise=False).estimate(x, y, z)
    assert res.mi == pytest.approx(cmi, rel=1e-12, abs=1e-12)


def test_ksg_cmi_ties_in_a_gridded_z_match_naive_loop():
    rng = np.random.default_rng(7)
    n = 200
    z = np.round(rng.standard_normal((n, 1)), 1)  # many exact ties in z
    x = z + rng.standard_normal((n, 1))
    y = z + rng.standard_normal((n, 1))
    _, *counts = ksg_cmi_counts(x, y, z, 4)
    for got, want in zip(counts, naive_fp_counts(x, y, z, 4)):
        np.testing.assert_array_equal(got, want)


def test_discrete_z_is_exact_equality_and_the_class_weighted_ksg():
    rng = np.random.default_rng(3)
    n = 300
    z = rng.integers(3, size=n)
    x = rng.standard_normal((n, 2)) + z[:, None]
    y = 0.8 * x[:, :1] * (z[:, None] - 1) + rng.standard_normal((n, 1))
    cmi, _ = ksg_cmi(x, y, z, 5, z_discrete=True)
    assert cmi == pytest.approx(naive_fp(x, y, z, 5, z_labels=True), rel=1e-12, abs=1e-12)
    weighted = sum(np.mean(z == c) * ksg_mi(x[z == c], y[z == c], 5)[0] for c in range(3))
    assert cmi == pytest.approx(weighted, rel=1e-12, abs=1e-12)
    res = KSGCMIEstimator(z_discrete=True, standardise=False).estimate(x, y, z)
    assert res.mi == pytest.approx(cmi, rel=1e-12)
    assert res.diagnostics["n_classes"] == 3


def test_ksg_cmi_is_invariant_to_column_scales_when_standardising():
    x, y, z = _dependent_xyz(5, 400, 2, 1, 2)
    a = KSGCMIEstimator().estimate(x, y, z)
    b = KSGCMIEstimator().estimate(x * [1e3, 1e-2], y * 7.0, z * [1e-4, 50.0])
    assert b.mi == pytest.approx(a.mi, abs=1e-12)


# ------------------------------------------------------------------ exactness (KL)


@pytest.mark.parametrize("metric", ["euclidean", "chebyshev"])
@pytest.mark.parametrize("dim, k", [(1, 3), (2, 1), (3, 5), (6, 3)])
def test_kl_entropy_matches_naive_loop(metric, dim, k):
    rng = np.random.default_rng(dim * 10 + k)
    x = rng.standard_normal((300, dim)) * np.linspace(0.5, 2.0, dim)
    h, terms = kl_entropy(x, k, metric=metric)
    assert terms.shape == (300,)
    assert h == pytest.approx(naive_kl(x, k, metric), rel=1e-12)
    res = KLEntropyEstimator(k=k, metric=metric, standardise=False).estimate(x)
    assert res.mi == pytest.approx(h, rel=1e-12)


def test_unit_ball_volumes():
    assert np.exp(log_unit_ball_volume(1)) == pytest.approx(2.0)
    assert np.exp(log_unit_ball_volume(2)) == pytest.approx(np.pi)
    assert np.exp(log_unit_ball_volume(3)) == pytest.approx(4.0 / 3.0 * np.pi)
    assert np.exp(log_unit_ball_volume(3, "chebyshev")) == pytest.approx(8.0)


def test_kl_entropy_scaling_is_added_back_exactly():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 3))
    scales = np.array([1e-3, 1.0, 40.0])
    a = KLEntropyEstimator().estimate(x)
    b = KLEntropyEstimator().estimate(x * scales)
    assert b.mi == pytest.approx(a.mi + np.log(scales).sum(), abs=1e-10)
    # without standardising, the raw estimate obeys the same law (exactly for max-norm)
    c = KLEntropyEstimator(standardise=False, metric="chebyshev").estimate(x * 3.0)
    d = KLEntropyEstimator(standardise=False, metric="chebyshev").estimate(x)
    assert c.mi == pytest.approx(d.mi + 3 * np.log(3.0), abs=1e-10)


# ------------------------------------------------------------------------ accuracy

# task id -> (|bias| + 4 sd) at N = 2000, k = 5, from 50 seeds:
#   bias / sd: sparse-1-1-1 +0.003/0.017, collider -0.010/0.021, common cause -0.001/0.013,
#   chain 0.000/0.011, discrete z -0.022/0.023.
CMI_CASES = {
    "cmi-gauss-sparse-1-1-1-1-0.6-1.0": 0.075,
    "cmi-collider-1-0.5": 0.095,
    "cmi-common-cause-1-1-1-1.5": 0.055,
    "cmi-chain-1-1.0-1.0": 0.045,
    "cmi-discrete-z-2-2-3-0.8-1.0": 0.115,
}


@pytest.mark.parametrize("task_id", list(CMI_CASES))
def test_ksg_cmi_accuracy_on_exact_tasks(task_id):
    task = get_task(task_id)
    x, y, z = task.sample(2000, seed=2024)
    res = KSGCMIEstimator(k=5, z_discrete=task.z_discrete).estimate(x, y, z)
    assert abs(res.mi - task.truth) < CMI_CASES[task_id], (res.mi, task.truth)
    assert 0.005 < res.stderr < 0.05


def test_ksg_cmi_tells_conditional_from_marginal_dependence():
    # common cause: X, Y dependent (KSG MI clearly > 0) yet independent given Z
    task = get_task("cmi-common-cause-1-1-1-1.5")
    x, y, z = task.sample(2000, seed=8)
    mi, _ = ksg_mi(x, y, 5)
    assert abs(mi - task.params["mi_unconditional"]) < 0.08
    assert abs(KSGCMIEstimator().estimate(x, y, z).mi) < 0.055


# task id -> (|bias| + 4 sd) at N = 2000, k = 3, from 50 seeds:
#   bias / sd: gauss-1 -0.004/0.022, gauss-2 -0.015/0.028, uniform-2 +0.026/0.018,
#   uniform-1 -0.002/0.018.
KL_CASES = {
    "entropy-gauss-1-0.5-0.0-0.0": 0.095,
    "entropy-gauss-2-0.5-1.0-0.0": 0.13,
    "entropy-uniform-2": 0.10,
    "entropy-uniform-1": 0.08,
}


@pytest.mark.parametrize("task_id", list(KL_CASES))
def test_kl_entropy_accuracy_on_exact_tasks(task_id):
    task = get_task(task_id)
    (x,) = task.sample(2000, seed=77)
    res = KLEntropyEstimator(k=3).estimate(x)
    assert abs(res.mi - task.truth) < KL_CASES[task_id], (res.mi, task.truth)
    lo, hi = res.ci95
    if HAS_QUANTITY:
        assert res.quantity == "entropy"
        assert lo == pytest.approx(res.mi - 1.959963984540054 * res.stderr)  # not clipped
    assert res.diagnostics["quantity"] == "entropy"


# ----------------------------------------------------------------- results and errors


def test_results_say_what_they_hold_and_convert_units():
    x, y, z = get_task("cmi-collider-1-0.5").sample(500, seed=1)
    res = estimate_ksg_cmi(x, y, z)
    bits = estimate_ksg_cmi(x, y, z, units="bits")
    assert isinstance(res, MIResult) and res.variant == "ksg-cmi" and res.n_test == 500
    assert bits.mi == pytest.approx(res.mi / LN2) and bits.units == "bits"
    assert res.diagnostics["quantity"] == "cmi"
    assert res.diagnostics["algorithm"] == "frenzel-pompe"
    if HAS_QUANTITY:
        assert res.quantity == "cmi"
    assert isinstance(res.to_dict(), dict)
    (v,) = get_task("entropy-uniform-2").sample(500, seed=1)
    h = estimate_kl_entropy(v)
    assert h.variant == "kl" and h.diagnostics["metric"] == "euclidean"
    assert estimate_kl_entropy(v, units="bits").mi == pytest.approx(h.mi / LN2)


def test_fit_records_dims_and_estimate_checks_them():
    x, y, z = get_task("cmi-gauss-sparse-3-3-3-2-0.6-1.0").sample(100, seed=0)
    est = KSGCMIEstimator().fit(x, y, z)
    assert (est.dim_x_, est.dim_y_, est.dim_z_, est.n_fit_) == (3, 3, 3, 100)
    with pytest.raises(ValueError, match="z: expected 3"):
        est.estimate(x, y, z[:, :2])
    with pytest.raises(ValueError, match="x: expected 3"):
        est.estimate(x[:, :2], y, z)
    kl = KLEntropyEstimator().fit(x)
    assert (kl.dim_x_, kl.n_fit_) == (3, 100)
    with pytest.raises(ValueError, match="x: expected 3"):
        kl.estimate(x[:, :1])
    assert KSGCMIEstimator(k=3).get_params()["k"] == 3
    assert type(kl)(**kl.get_params()).get_params() == kl.get_params()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x, y, z: ksg_cmi(x, y, z[:-1]), "x and z"),
        (lambda x, y, z: ksg_cmi(x, y[:-1], z), "x and y"),
        (lambda x, y, z: ksg_cmi(x, y, z, k=50), "k"),
        (lambda x, y, z: ksg_cmi(x, y, z, k=0), "k"),
        (lambda x, y, z: ksg_cmi(x, y, np.where(z > 0, np.nan, z)), "z"),
        (lambda x, y, z: ksg_cmi(x, y, np.r_[np.zeros(38, int), 1, 1], k=5, z_discrete=True),
         "z: class 1 has 2"),
        (lambda x, y, z: ksg_cmi(x, y, z[:, 0] + 0.5, z_discrete=True), "z"),
        (lambda x, y, z: KSGCMIEstimator(k=2.5).estimate(x, y, z), "k"),
        (lambda x, y, z: KSGCMIEstimator(standardise="yes").estimate(x, y, z), "standardise"),
        (lambda x, y, z: KSGCMIEstimator(z_discrete=1).estimate(x, y, z), "z_discrete"),
        (lambda x, y, z: KSGCMIEstimator(units="bit").estimate(x, y, z), "units"),
        (lambda x, y, z: KSGCMIEstimator(n_jobs=0).estimate(x, y, z), "n_jobs"),
        (lambda x, y, z: kl_entropy(x, k=50), "k"),
        (lambda x, y, z: kl_entropy(x, metric="manhattan"), "metric"),
        (lambda x, y, z: kl_entropy(np.vstack([x, x, x, x])), "x: .*distance 0"),
        (lambda x, y, z: KLEntropyEstimator().estimate(np.hstack([x, np.ones_like(x)])),
         "x: column 1 is constant"),
        (lambda x, y, z: KLEntropyEstimator(standardise=None).estimate(x), "standardise"),
        (lambda x, y, z: kl_entropy(None), "x"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal((40, 1)) for _ in range(3))
    with pytest.raises(ValueError, match=match):
        call(x, y, z)


def test_duplicates_warn_and_are_reported():
    rng = np.random.default_rng(2)
    x, y, z = (rng.standard_normal((300, 1)) for _ in range(3))
    x[1] = x[0]
    with pytest.warns(UserWarning, match="duplicate"):
        res = KSGCMIEstimator().estimate(x, y, z)
    assert res.diagnostics["duplicate_rows"]["x"] == 1
    v = np.hstack([y, z])
    v[1] = v[0]  # one tie: the 3rd neighbour is still at a positive distance
    with pytest.warns(UserWarning, match="duplicate"):
        h = KLEntropyEstimator(k=3).estimate(v)
    assert h.diagnostics["duplicate_rows"] == 1 and np.isfinite(h.mi)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tie-free data: no warning
        KSGCMIEstimator().estimate(y, z, rng.standard_normal((300, 2)))
        KLEntropyEstimator().estimate(np.hstack([y, z]))
