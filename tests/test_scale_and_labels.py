"""Scale-proof inputs, exact integer labels, rare classes, infinite MI (issue 13)."""

import numpy as np
import pytest

import mmgap
from mmgap.baselines import GaussianMI, KSGEstimator
from mmgap.preprocessing import ChannelStandardizer, RankNormal, SmoothRankNormal, Standardizer
from mmgap.validation import as_labels, column_scales, equal_columns


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    return x, x + rng.normal(size=(600, 2))


@pytest.mark.parametrize("c", [1e-300, 1e-150, 1e150, 1e300])
def test_preprocessing_is_scale_free(xy, c):
    x, _ = xy
    for make in (Standardizer, lambda: RankNormal(max_knots=256), SmoothRankNormal):
        ref = make().fit(x, "x").transform(x, "x")
        got = make().fit(x * c, "x").transform(x * c, "x")
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
    img = x.reshape(600, 1, 2)
    ref = ChannelStandardizer(1).fit(x, "x").transform(x, "x")
    np.testing.assert_allclose(ChannelStandardizer(1).fit(x * c, "x").transform(x * c, "x"), ref,
                               rtol=1e-9, atol=1e-9)
    assert img.shape == (600, 1, 2)


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_ksg_and_cca_are_scale_free(xy, c):
    x, y = xy
    for est in (KSGEstimator(), GaussianMI()):
        ref = est.fit(x, y).estimate(x, y).mi
        assert est.fit(x * c, y).estimate(x * c, y).mi == pytest.approx(ref, rel=1e-9)
        assert 0.3 < ref < 1.5


def test_estimator_is_scale_free(xy):
    x, y = xy
    kw = dict(n_steps=20, verbose=False, random_state=0, n_permutations=0)
    a = mmgap.estimate_mi(x, y, preprocess="standardize", **kw).mi
    assert mmgap.estimate_mi(x * 1e300, y, preprocess="standardize", **kw).mi == pytest.approx(a, rel=1e-5)
    assert mmgap.estimate_mi(x * 1e-300, y, **kw).mi == pytest.approx(
        mmgap.estimate_mi(x, y, **kw).mi, rel=1e-5)


def test_column_scales_and_equal_columns():
    a = np.array([[0.0, -3.0], [0.0, 2.0]])
    np.testing.assert_array_equal(column_scales(a), [1.0, 3.0])
    x = np.arange(12.0).reshape(4, 3)
    y = np.c_[x[:, 2], -x[:, 0]]
    assert equal_columns(x, y) == [(2, 0)]


def test_integer_labels_stay_exact():
    big = np.array([2**60, 2**60 + 1, 2**60, 2**60 + 1], dtype=np.int64)
    assert len(set(as_labels(big, "y"))) == 2
    with pytest.raises(ValueError, match="2\\*\\*53"):
        as_labels(np.array([2.0**60]), "y")
    assert list(as_labels([1.0, 2.0], "y")) == [1, 2]


def test_rare_class_goes_to_training_and_split_stratified():
    rng = np.random.default_rng(1)
    lab = np.r_[np.zeros(300, int), np.ones(99, int), [5]]
    from mmgap.estimator import train_test_split_indices

    tr, te = train_test_split_indices(400, 0.2, 0, labels=lab)
    assert 399 in tr and 5 not in set(lab[te])  # seen once: training only, never unseen
    res = mmgap.estimate_mi(rng.normal(size=(400, 2)), lab, y_discrete=True, n_steps=5,
                            verbose=False, n_permutations=0)
    assert np.isfinite(res.mi)

    lab = np.r_[np.zeros(300, int), np.ones(98, int), [5, 5]]
    tr, te = train_test_split_indices(400, 0.2, 0, labels=lab)
    assert set(lab[tr]) == set(lab[te]) == {0, 1, 5}
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 400


def test_copied_column_is_flagged_as_infinite_mi(xy):
    x, _ = xy
    y = np.c_[x[:, 1], np.random.default_rng(2).normal(size=600)]
    with pytest.warns(mmgap.MMGWarning, match="infinite"):
        res = mmgap.estimate_mi(x, y, n_steps=20, verbose=False, n_permutations=0)
    assert "infinite_mi" in [f["code"] for f in res.flags] and res.ci95[1] == float("inf")
