import math

import numpy as np
import pytest
from scipy import integrate

from mmgap.adaptive import gap_quantile_proposal, gaussian_gap_curve
from mmgap.gap import gaussian_conditional_cov, gaussian_mi, gaussian_mmse


def test_gaussian_gap_curve_matches_closed_form_mmse():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T / 5 + 0.1 * np.eye(5)
    _, cond = gaussian_conditional_cov(cov, 3)
    grid = np.linspace(-10, 20, 31)
    g = gaussian_gap_curve(grid, np.linalg.eigvalsh(cov[:3, :3]), np.linalg.eigvalsh(cond))
    np.testing.assert_allclose(g, gaussian_mmse(grid, cov[:3, :3]) - gaussian_mmse(grid, cond),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loc,scale", [(0.8, 1.0), (3.0, 2.5), (-2.0, 1.7)])
def test_proposal_recovers_a_logistic_shaped_gap(loc, scale):
    grid = np.linspace(-30, 40, 7001)
    u = (grid - loc) / scale
    gap = 1 / (1 + np.exp(-u)) * 1 / (1 + np.exp(u))  # a logistic density shape
    prop, info = gap_quantile_proposal(grid, gap, margin=3.0)
    assert prop.loc == pytest.approx(loc, abs=1e-3)
    assert prop.scale == pytest.approx(max(1.0, scale), rel=1e-3)
    # window: the 0.5% / 99.5% quantiles (loc -+ scale * ln(199)) plus 3 units
    half = scale * math.log(199) + 3.0
    assert prop.high == pytest.approx(loc + half, abs=1e-2)
    assert info["notes"] == []


@pytest.mark.parametrize("strength", [2.0, 200.0, 2000.0])
def test_window_holds_the_gap_of_sparse_high_mi_gaussians(strength):
    # two coupled pairs with correlation s^2/(1+s^2) in 5 + 5 dims (the high-MI family)
    rho = strength**2 / (1 + strength**2)
    eig_u, eig_c = np.ones(5), np.array([1, 1, 1, 1 - rho**2, 1 - rho**2])
    grid = np.linspace(-12, 24, 73)
    prop, _ = gap_quantile_proposal(grid, gaussian_gap_curve(grid, eig_u, eig_c))
    truth = -np.log(1 - rho**2)  # two pairs, 1/2 log each
    g = lambda l: 0.5 * gaussian_gap_curve(np.atleast_1d(l), eig_u, eig_c)[0]
    inside, _ = integrate.quad(g, prop.low, prop.high, limit=400)
    assert abs(inside - truth) < 0.01 * truth + 5e-3
    assert prop.high > -math.log(1 - rho**2)  # beyond the coupled pairs' crossing


def test_on_exact_1d_gaussian_curves_truncation_bias_is_small():
    rho = 0.75
    cov = np.array([[1, rho], [rho, 1.0]])
    grid = np.linspace(-12, 24, 721)
    _, cond = gaussian_conditional_cov(cov, 1)
    gap = gaussian_mmse(grid, cov[:1, :1]) - gaussian_mmse(grid, cond)
    prop, _ = gap_quantile_proposal(grid, gap)
    half_gap = lambda l: 0.5 * (gaussian_mmse(l, cov[:1, :1]) - gaussian_mmse(l, cond))
    inside, _ = integrate.quad(half_gap, prop.low, prop.high, limit=200)
    assert abs(inside - gaussian_mi(cov, 1)) < 5e-3


def test_no_gap_falls_back_to_the_grid_centre():
    grid = np.linspace(-5, 5, 11)
    prop, info = gap_quantile_proposal(grid, np.zeros(11))
    assert prop.loc == pytest.approx(0.0) and info["notes"]
