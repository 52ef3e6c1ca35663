import math

import pytest
import torch
from scipy import integrate

from mmgap.logsnr import (TruncatedLogistic, add_noise, alpha_sigma, logsnr_from_alpha_sigma,
                          logsnr_grid)


def test_alpha_sigma_variance_preserving_and_round_trip():
    lam = torch.linspace(-20, 20, 101, dtype=torch.float64)
    a, s = alpha_sigma(lam)
    assert torch.allclose(a**2 + s**2, torch.ones_like(lam))
    assert torch.allclose(a**2, torch.sigmoid(lam))
    assert torch.allclose(logsnr_from_alpha_sigma(a, s), lam, atol=1e-9)


def test_add_noise_matches_formula():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(5, 3, generator=g, dtype=torch.float64)
    lam = torch.tensor([-3.0, -1, 0, 1, 3], dtype=torch.float64)
    z = add_noise(x, lam, eps)
    expected = torch.sqrt(torch.sigmoid(lam))[:, None] * x + torch.sqrt(torch.sigmoid(-lam))[:, None] * eps
    assert torch.allclose(z, expected)


@pytest.mark.parametrize("loc,scale,clip", [(0.0, 1.0, 3.0), (1.0, 2.0, 4.0), (-2.5, 0.7, 8.0)])
def test_proposal_icdf_cdf_density_agree(loc, scale, clip):
    q = TruncatedLogistic(loc, scale, clip)
    v = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    lam = q.icdf(v)
    # inverse CDF and CDF are inverses
    assert torch.allclose(q.cdf(lam), v, atol=1e-10)
    # the density is the derivative of the CDF
    h = 1e-5
    num = (q.cdf(lam + h) - q.cdf(lam - h)) / (2 * h)
    assert torch.allclose(q.density(lam), num, rtol=1e-5, atol=1e-9)
    # and it integrates to one over the window
    total, _ = integrate.quad(lambda l: float(q.density(torch.tensor(l, dtype=torch.float64))),
                              q.low, q.high, limit=200)
    assert total == pytest.approx(1.0, abs=1e-8)
    assert float(q.density(torch.tensor(q.high + 0.1, dtype=torch.float64))) == 0.0
    assert q.icdf(torch.tensor([0.0, 1.0], dtype=torch.float64)).tolist() == pytest.approx([q.low, q.high])


@pytest.mark.parametrize("loc,scale,clip", [(0.0, 1.0, 3.0), (1.0, 2.0, 4.0), (3.0, 1.5, 6.0)])
def test_importance_weights_mean_is_window_length(loc, scale, clip):
    q = TruncatedLogistic(loc, scale, clip)
    g = torch.Generator().manual_seed(1)
    lam, w = q.sample(200_000, g, dtype=torch.float64)
    assert lam.min() >= q.low and lam.max() <= q.high
    assert torch.allclose(w, 1.0 / q.density(lam))
    mean = w.mean().item()
    se = w.std().item() / math.sqrt(w.numel())
    assert abs(mean - 2 * clip * scale) < 4 * se
    # stratified draws keep the same weights and the same expectation, with less spread
    lam_s, w_s = q.sample(200_000, g, dtype=torch.float64, stratified=True)
    assert abs(w_s.mean().item() - 2 * clip * scale) < 4 * se


def test_importance_weighted_integral_of_sigmoid_gap():
    # integral of sigmoid(l) - sigmoid(l + c) over the real line is -c; the window catches
    # all but an exponentially small tail
    q = TruncatedLogistic(0.0, 2.0, 8.0)
    g = torch.Generator().manual_seed(2)
    lam, w = q.sample(400_000, g, dtype=torch.float64)
    c = -1.3
    vals = w * (torch.sigmoid(lam) - torch.sigmoid(lam + c))
    se = vals.std().item() / math.sqrt(vals.numel())
    assert abs(vals.mean().item() - 1.3) < 4 * se + 1e-6


@pytest.mark.parametrize("kwargs,match", [
    (dict(scale=0.0), "scale"), (dict(clip=-1.0), "clip"), (dict(loc=float("nan")), "loc"),
])
def test_proposal_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TruncatedLogistic(**kwargs)


def test_grid():
    g = logsnr_grid(-2, 2, 5)
    assert g.tolist() == [-2, -1, 0, 1, 2]
    with pytest.raises(ValueError):
        logsnr_grid(2, -2, 5)
    with pytest.raises(ValueError):
        logsnr_grid(0, 1, 1)


# ---------------------------------------------------------------- VPLinearUniformT (MINDE)
from mmgap.logsnr import VPLinearUniformT, proposal_from_dict  # noqa: E402


def test_vp_uniform_t_window_and_weights():
    p = VPLinearUniformT()
    # B(1) = 0.1 + 9.95 = 10.05 -> logsnr(1) = -log(expm1(10.05)); B(1e-3) ~ 1.0995e-4
    assert p.low == pytest.approx(-math.log(math.expm1(10.05)), rel=1e-12)
    assert p.high == pytest.approx(-math.log(math.expm1(0.1e-3 + 9.95e-6)), rel=1e-12)
    lam, w = p.sample(400_000, torch.Generator().manual_seed(0), dtype=torch.float64,
                      stratified=True)
    assert float(lam.min()) >= p.low - 1e-9 and float(lam.max()) <= p.high + 1e-9
    # E_q[1/q] is the window length; stratified draws make the Monte Carlo error tiny
    assert float(w.mean()) == pytest.approx(p.high - p.low, rel=2e-3)
    torch.testing.assert_close(p.weight(lam), w, rtol=1e-9, atol=0)


def test_vp_uniform_t_density_is_the_derivative_of_its_cdf():
    p = VPLinearUniformT(0.1, 20.0, 1e-3)
    lam = torch.linspace(p.low + 0.1, p.high - 0.1, 50, dtype=torch.float64)
    cdf = lambda l: (1.0 - p.t_of_logsnr(l)) / (1.0 - p.t_min)  # P(logsnr <= l) = P(t >= t(l))
    h = 1e-5
    numeric = (cdf(lam + h) - cdf(lam - h)) / (2 * h)
    torch.testing.assert_close(p.density(lam), numeric, rtol=1e-5, atol=1e-9)
    t = torch.linspace(p.t_min, 1.0, 20, dtype=torch.float64)
    torch.testing.assert_close(p.t_of_logsnr(p.logsnr_of_t(t)), t, rtol=1e-9, atol=1e-12)
    assert float(p.density(torch.tensor([p.high + 1.0], dtype=torch.float64))) == 0.0


def test_proposal_from_dict_round_trips_both_kinds():
    for prop in (TruncatedLogistic(0.5, 1.5, 3.0), VPLinearUniformT(0.2, 10.0, 1e-2)):
        assert proposal_from_dict(prop.to_dict()) == prop
    with pytest.raises(ValueError, match="proposal"):
        proposal_from_dict({"kind": "cosine"})
    with pytest.raises(ValueError, match="t_min"):
        VPLinearUniformT(t_min=1.5)
    with pytest.raises(ValueError, match="beta_max"):
        VPLinearUniformT(beta_min=5.0, beta_max=1.0)
