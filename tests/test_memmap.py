"""Memory-mapped input, block-wise checks and preprocessing, and the caps on N-proportional
evaluation work (issue 15, "Speed and scale")."""

import numpy as np
import pytest
import torch

import mmgap.estimator as estimator_mod
import mmgap.validation as validation
from mmgap import MMGEstimator
from mmgap.dataio import load_array
from mmgap.estimator import _prepared_tensor, fit_estimate
from mmgap.inference import PERMUTATION_MAX_ROWS, capped_rows
from mmgap.preprocessing import MixtureGaussianizer, RankNormal, SmoothRankNormal, Standardizer
from mmgap.training import GaussianPrior
from mmgap.validation import (RowSubset, as_2d_array, check_finite, check_not_constant,
                              check_xy, column_blocks, equal_columns, resolve_discrete)

FAST = dict(n_steps=60, verbose=False, n_permutations=19)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows / two columns, so that tiny arrays are read in many blocks."""
    monkeypatch.setattr(validation, "CHUNK_BYTES", 8 * 2 * 40)
    monkeypatch.setattr(validation, "chunk_rows", lambda n_columns, itemsize=8: 37)
    monkeypatch.setattr(estimator_mod, "chunk_rows", lambda n_columns, itemsize=8: 37)


def _pair(n, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = x[:, :2] * 0.8 + 0.6 * rng.standard_normal((n, 2))
    return x.astype(dtype), y.astype(dtype)


def test_npy_is_memory_mapped_and_gives_the_same_estimate(tmp_path):
    x, y = _pair(400, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    xm, ym = load_array(str(tmp_path / "x.npy")), load_array(str(tmp_path / "y.npy"), name="y")
    assert isinstance(xm, np.memmap) and not xm.flags.writeable
    assert not isinstance(load_array(str(tmp_path / "x.npy"), mmap=False), np.memmap)
    _, res_map, held = fit_estimate(xm, ym, random_state=0, **FAST)
    _, res_mem, _ = fit_estimate(x, y, random_state=0, **FAST)
    # float32 input is preprocessed in float64, as its float64 copy would be
    _, res_64, _ = fit_estimate(x.astype(np.float64), y.astype(np.float64), random_state=0,
                                **FAST)
    assert res_map.mi == res_mem.mi == res_64.mi
    assert res_map.p_value == res_mem.p_value == res_64.p_value
    assert held[0].dtype == np.float32  # held-out rows keep the caller's dtype


def test_float_input_is_not_copied_and_other_callers_get_writable_float64(tmp_path):
    x = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    xm = load_array(str(tmp_path / "x.npy"))
    xa, ya = check_xy(xm, xm, dtype=None, check_constant=True)
    assert xa.dtype == np.float32 and np.shares_memory(xa, xm)
    full = as_2d_array(xm, "x")  # default: float64, writable, in memory (baselines)
    assert full.dtype == np.float64 and full.flags.writeable and not np.shares_memory(full, xm)


def test_block_checks_name_the_callers_rows(small_blocks):
    x = np.random.default_rng(2).standard_normal((200, 3))
    x[150, 2] = np.nan
    x[170, 0] = np.inf
    with pytest.raises(ValueError, match=r"x: contains NaN \(first at row 150, column 2; "
                                         r"2 row\(s\) affected\)"):
        check_finite(RowSubset(x, np.arange(200)), "x")
    c = np.random.default_rng(3).standard_normal((200, 3))
    c[:, 1] = 4.0
    with pytest.raises(ValueError, match="x: column 1 is constant"):
        check_not_constant(c, "x")
    # identical columns are found although the first rows agree for other pairs too
    y = np.zeros((200, 3))
    y[:, 0] = c[:, 2]
    y[:100, 1] = c[:100, 0]  # agrees with column 0 on the first 100 rows only
    assert equal_columns(c, y) == [(2, 0)]
    d = np.column_stack([np.arange(200) % 3, np.random.default_rng(4).standard_normal(200)])
    d[190, 0] = 0.5  # not integer-valued, in a late block
    assert resolve_discrete("auto", d, "x", "x_discrete") == []
    d[190, 0] = 1.0
    assert resolve_discrete("auto", d, "x", "x_discrete") == [0]


@pytest.mark.parametrize("make", [Standardizer, lambda: RankNormal(max_knots=16),
                                  SmoothRankNormal, MixtureGaussianizer])
def test_block_preprocessing_is_bit_identical(small_blocks, make):
    rng = np.random.default_rng(5)
    base = (rng.standard_normal((300, 5)) * [1, 10, 1e-3, 5, 2]).astype(np.float32)
    rows = np.sort(rng.choice(300, 200, replace=False))
    gathered = base[rows].astype(np.float64)
    assert [s.stop - s.start for s in column_blocks(200, 5)] == [2, 3]  # no lone column
    ref = make().fit(gathered, "x")
    got = make().fit(RowSubset(base, rows), "x")
    np.testing.assert_array_equal(got.transform(gathered, "x"), ref.transform(gathered, "x"))
    order = rng.permutation(200)
    t = _prepared_tensor(RowSubset(base, rows), got, "x", order, "cpu")
    expect = torch.as_tensor(ref.transform(gathered, "x")[order], dtype=torch.float32)
    assert torch.equal(t, expect)


def test_gaussian_prior_blocks_agree_with_whole(monkeypatch):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, generator=g)
    y = x[:, :2] + torch.randn(500, 2, generator=g)
    c = torch.randn(500, 2, generator=g)
    whole = GaussianPrior(3, 2, 2).fit(x, y, c)
    monkeypatch.setattr("mmgap.training.GAUSSIAN_FIT_BLOCK_ROWS", 64)
    blocked = GaussianPrior(3, 2, 2).fit(x, y, c)
    for (name, a), (_, b) in zip(whole.state_dict().items(), blocked.state_dict().items()):
        if name.startswith("evec"):  # eigenvectors are defined up to sign
            a, b = a.abs(), b.abs()
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10, msg=name)


def test_capped_rows_is_independent_of_the_data():
    assert capped_rows(PERMUTATION_MAX_ROWS, PERMUTATION_MAX_ROWS, 0) is None
    a, b = capped_rows(1000, 100, 7), capped_rows(1000, 100, 7)
    assert np.array_equal(a, b) and a.size == np.unique(a).size == 100
    assert np.all(np.diff(a) > 0) and not np.array_equal(a, capped_rows(1000, 100, 8))


def test_permutation_test_on_a_capped_subset(monkeypatch):
    monkeypatch.setattr(estimator_mod, "PERMUTATION_MAX_ROWS", 80)
    x, y = _pair(700, seed=6)
    _, dep, _ = fit_estimate(x, y, random_state=0, **FAST)  # 140 held-out rows, 80 tested
    assert dep.diagnostics["permutation_test"]["n_points"] == 80 and dep.n_test == 140
    # the smallest possible with 19 permutations
    assert dep.diagnostics["permutation_test"]["p_value"] == pytest.approx(0.05)
    assert dep.p_value == pytest.approx(2 / 80)  # with the linear test's 79 (Bonferroni)
    rng = np.random.default_rng(7)
    _, ind, _ = fit_estimate(x, rng.standard_normal((700, 2)), random_state=0, **FAST)
    assert ind.diagnostics["permutation_test"]["n_points"] == 80
    assert ind.p_value > 0.1


def test_validation_rows_are_capped(monkeypatch):
    x, y = _pair(600, seed=8)
    ref = MMGEstimator(random_state=0, **FAST).fit(x, y)
    monkeypatch.setattr(estimator_mod, "VALIDATION_MAX_ROWS", 30)
    est = MMGEstimator(random_state=0, **FAST).fit(x, y)
    assert ref.n_validation_ == 60 and est.n_validation_ == 30
    assert est.n_train_ == ref.n_train_ == 600
