import math

import numpy as np
import pytest
import torch
from scipy import integrate

from mmgap.gap import (GaussianOracle, direct_integrand, gap_draws, gaussian_conditional_cov,
                       gaussian_mi, gaussian_mmse, mc_mean_stderr, mmse_on_grid,
                       orthogonal_integrand)
from mmgap.logsnr import TruncatedLogistic, VPLinearUniformT, logsnr_grid


def dense_cov(dim_x, dim_y, rho):
    d = dim_x + dim_y
    cov = np.full((d, d), rho)
    np.fill_diagonal(cov, 1.0)
    return cov


def random_cov(dim_x, dim_y, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((dim_x + dim_y, dim_x + dim_y))
    cov = a @ a.T / (dim_x + dim_y) + 0.3 * np.eye(dim_x + dim_y)
    return cov


def sample(cov, n, seed):
    rng = np.random.default_rng(seed)
    xy = rng.multivariate_normal(np.zeros(cov.shape[0]), cov, size=n)
    return torch.tensor(xy, dtype=torch.float64)


def test_gaussian_mi_closed_form_1d():
    rho = 0.75
    cov = dense_cov(1, 1, rho)
    assert gaussian_mi(cov, 1) == pytest.approx(-0.5 * math.log(1 - rho**2), rel=1e-12)
    assert gaussian_mi(cov, 1) == pytest.approx(0.413339, abs=1e-6)
    assert gaussian_mi(dense_cov(5, 5, 0.5), 5) == pytest.approx(0.592812, abs=1e-6)


def test_gaussian_mmse_closed_form():
    # x ~ N(0, I_d): mmse = d * sigmoid(logsnr)
    lam = np.linspace(-5, 5, 11)
    assert np.allclose(gaussian_mmse(lam, np.eye(3)), 3 / (1 + np.exp(-lam)))


@pytest.mark.parametrize("cov,dim_x", [(dense_cov(1, 1, 0.75), 1), (dense_cov(3, 2, 0.5), 3),
                                       (random_cov(4, 3, 0), 4)])
def test_integral_of_closed_form_gap_is_mi(cov, dim_x):
    """I = 1/2 integral [mmse(l) - mmse(l | y)] dl with the closed-form curves."""
    _, cond = gaussian_conditional_cov(cov, dim_x)
    gap = lambda l: 0.5 * (gaussian_mmse(l, cov[:dim_x, :dim_x]) - gaussian_mmse(l, cond))
    val, _ = integrate.quad(gap, -60, 60, limit=400)
    assert val == pytest.approx(gaussian_mi(cov, dim_x), rel=1e-7)


def test_oracle_curves_match_closed_form_mmse():
    cov = random_cov(3, 2, 1)
    xy = sample(cov, 20_000, 0)
    x, y = xy[:, :3], xy[:, 3:]
    grid = logsnr_grid(-6, 6, 7, dtype=torch.float64)
    res = mmse_on_grid(GaussianOracle(cov, 3), x, y, grid, k_draws=1,
                       generator=torch.Generator().manual_seed(0))
    _, cond = gaussian_conditional_cov(cov, 3)
    for key, c, se in (("mmse", cov[:3, :3], res["mmse_stderr"]),
                       ("mmse_cond", cond, res["mmse_cond_stderr"])):
        truth = gaussian_mmse(grid.numpy(), c)
        assert np.all(np.abs(res[key] - truth) < 4 * se + 1e-12), (key, res[key], truth)


@pytest.mark.parametrize("cov,dim_x,proposal", [
    (dense_cov(1, 1, 0.75), 1, TruncatedLogistic(1.0, 2.0, 4.0)),
    (dense_cov(1, 1, 0.3), 1, TruncatedLogistic(0.0, 1.5, 6.0)),
    (dense_cov(3, 3, 0.5), 3, TruncatedLogistic(1.0, 2.0, 5.0)),
    (dense_cov(5, 5, 0.5), 5, TruncatedLogistic(1.0, 2.0, 5.0)),
    (random_cov(4, 2, 3), 4, TruncatedLogistic(2.0, 2.0, 6.0)),
    (dense_cov(1, 1, 0.75), 1, VPLinearUniformT()),  # MINDE's time sampling
    (dense_cov(3, 3, 0.5), 3, VPLinearUniformT(0.1, 20.0, 1e-3)),
])
@pytest.mark.parametrize("form", ["direct", "orthogonal"])
def test_oracle_through_monte_carlo_reproduces_closed_form(cov, dim_x, proposal, form):
    truth = gaussian_mi(cov, dim_x)
    # truncation bias of the window, from the closed-form curves (tiny by construction)
    _, cond = gaussian_conditional_cov(cov, dim_x)
    gap = lambda l: 0.5 * (gaussian_mmse(l, cov[:dim_x, :dim_x]) - gaussian_mmse(l, cond))
    windowed, _ = integrate.quad(gap, proposal.low, proposal.high, limit=400)
    assert abs(windowed - truth) < 2e-3
    xy = sample(cov, 4000, 7)
    draws = gap_draws(GaussianOracle(cov, dim_x), xy[:, :dim_x], xy[:, dim_x:], proposal,
                      k_draws=8, generator=torch.Generator().manual_seed(11))
    mi, se = draws.estimate(form)
    assert abs(mi - windowed) < 4 * se, (mi, windowed, se)
    # an estimate this precise rules out constants off by more than a few hundredths
    assert se < 0.03


def test_oracle_independent_pair_gives_zero_gap():
    cov = np.eye(4)
    xy = sample(cov, 500, 0)
    draws = gap_draws(GaussianOracle(cov, 2), xy[:, :2], xy[:, 2:], TruncatedLogistic(), 4,
                      torch.Generator().manual_seed(0))
    assert np.allclose(draws.orthogonal, 0.0, atol=1e-12)
    assert np.allclose(draws.direct, 0.0, atol=1e-9)


def test_integrands_against_naive_loop():
    g = torch.Generator().manual_seed(0)
    eps, a, b = (torch.randn(6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    d = direct_integrand(eps, a, b)
    o = orthogonal_integrand(a, b)
    for i in range(6):
        di = sum((eps[i, j] - a[i, j]) ** 2 - (eps[i, j] - b[i, j]) ** 2 for j in range(3))
        oi = sum((b[i, j] - a[i, j]) ** 2 for j in range(3))
        assert d[i].item() == pytest.approx(di.item())
        assert o[i].item() == pytest.approx(oi.item())
    assert d.shape == o.shape == (6,)


def test_gap_draws_use_the_same_draws_for_both_forms():
    cov = dense_cov(2, 2, 0.6)
    xy = sample(cov, 300, 1)
    draws = gap_draws(GaussianOracle(cov, 2), xy[:, :2], xy[:, 2:], TruncatedLogistic(), 3,
                      torch.Generator().manual_seed(0))
    assert draws.direct.shape == draws.orthogonal.shape == draws.weight.shape == (300, 3)
    assert np.allclose(draws.direct, draws.mse - draws.mse_cond)
    assert np.all(draws.orthogonal >= 0)
    # pointwise contributions average to the estimate
    assert draws.pointwise("orthogonal").mean() == pytest.approx(draws.estimate("orthogonal")[0])


def test_mc_mean_stderr():
    v = np.array([[1.0, 3.0], [2.0, 2.0], [5.0, 7.0]])
    mean, se = mc_mean_stderr(v)
    per = np.array([2.0, 2.0, 6.0])
    assert mean == pytest.approx(per.mean())
    assert se == pytest.approx(per.std(ddof=1) / math.sqrt(3))
    # a single point: its draws are treated as independent
    mean1, se1 = mc_mean_stderr(np.array([[1.0, 2.0, 3.0, 6.0]]))
    assert mean1 == pytest.approx(3.0)
    assert se1 == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2)


def test_shrink_canonical_removes_the_bias_by_water_filling():
    from mmgap.gap import shrink_canonical

    r = np.array([0.99, 0.8, 0.3, 0.1, 0.0])
    m = -0.5 * np.log1p(-r ** 2)
    for bias in (0.01, 0.1, 0.5):
        out = shrink_canonical(r, bias)
        m_out = -0.5 * np.log1p(-out ** 2)
        assert m_out.sum() == pytest.approx(m.sum() - bias, abs=1e-12)
        lost = m - m_out
        moved = lost[out > 0]
        assert np.allclose(moved, moved[0])  # the same delta off every pair it keeps
        assert np.all(lost[out == 0] <= moved[0] + 1e-12)  # dropped pairs were below delta
        assert np.all(np.diff(out) <= 0)  # the order is kept
    np.testing.assert_array_equal(shrink_canonical(r, 0.0), r)
    np.testing.assert_array_equal(shrink_canonical(r, 100.0), np.zeros(5))


def test_gaussian_mi_bias_matches_monte_carlo():
    """Plug-in Gaussian MI over 400 replicates of n = 40 rows (dx = 3, dy = 2, true MI 0):
    its mean exceeds the truth by gaussian_mi_bias within 4 standard errors."""
    from mmgap.gap import gaussian_mi, gaussian_mi_bias

    rng = np.random.default_rng(0)
    vals = [gaussian_mi(np.cov(rng.standard_normal((40, 5)).T), 3) for _ in range(400)]
    bias = gaussian_mi_bias(40, 3, 2)
    assert bias == pytest.approx(0.5 * 3 * 2 / 40, rel=0.5)
    assert abs(np.mean(vals) - bias) < 4 * np.std(vals) / 20
    with pytest.raises(ValueError, match="n: expected more than"):
        gaussian_mi_bias(5, 3, 2)
