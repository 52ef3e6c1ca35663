import math

import numpy as np
import pytest

from mmgap.adaptive import adapt_proposal, crossing
from mmgap.gap import gaussian_conditional_cov, gaussian_mi, gaussian_mmse


def test_crossing_interpolates_linearly():
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    curve = np.array([0.0, 0.2, 0.6, 1.0])
    assert crossing(grid, curve, 0.4) == pytest.approx(1.5)
    assert crossing(grid, curve, 0.0) == 0.0
    assert crossing(grid, curve, 2.0) is None


@pytest.mark.parametrize("loc,scale", [(0.8, 1.0), (3.0, 2.5), (-2.0, 1.7)])
def test_adapt_recovers_a_logistic_curve(loc, scale):
    grid = np.linspace(-20, 30, 2001)
    d = 3
    cond = d / (1 + np.exp(-(grid - loc) / scale))
    uncond = d / (1 + np.exp(-grid))
    prop, info = adapt_proposal(grid, uncond, cond, d, margin=8.0)
    assert prop.loc == pytest.approx(loc, abs=1e-3)
    assert prop.scale == pytest.approx(scale, rel=1e-3)
    # the window reaches 8 units beyond both half crossings
    assert prop.high == pytest.approx(loc + max(loc - 0.0, 0) + 8.0, abs=1e-2)
    assert prop.low <= min(loc, 0.0) - 8.0 + 1e-2
    assert info["notes"] == []


def test_adapt_on_exact_gaussian_curves_keeps_truncation_bias_small():
    # 1-D Gaussian, rho = 0.75: the adapted window must still hold (almost) all of the gap
    from scipy import integrate

    rho = 0.75
    cov = np.array([[1, rho], [rho, 1.0]])
    grid = np.linspace(-12, 24, 721)
    _, cond = gaussian_conditional_cov(cov, 1)
    prop, _ = adapt_proposal(grid, gaussian_mmse(grid, cov[:1, :1]), gaussian_mmse(grid, cond), 1)
    gap = lambda l: 0.5 * (gaussian_mmse(l, cov[:1, :1]) - gaussian_mmse(l, cond))
    inside, _ = integrate.quad(gap, prop.low, prop.high, limit=200)
    assert abs(inside - gaussian_mi(cov, 1)) < 5e-4
    assert prop.loc == pytest.approx(-math.log(1 - rho**2), abs=0.02)


def test_adapt_falls_back_when_curve_never_crosses():
    grid = np.linspace(-5, 5, 11)
    prop, info = adapt_proposal(grid, np.full(11, 0.1), np.full(11, 0.1), 2)
    assert prop.loc == 5.0
    assert info["notes"]
