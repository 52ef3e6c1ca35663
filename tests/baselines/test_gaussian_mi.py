"""Gaussian (canonical-correlation) MI: closed forms, sampling accuracy, stderr, edge cases."""

import numpy as np
import pytest

from mmgap.baselines import (GaussianMI, canonical_correlations, estimate_gaussian,
                             gaussian_mi, gaussian_mi_from_cov)
from mmgap.types import LN2, MIEstimator

# 10 coordinates, all pairwise correlations 0.5; X = first 5, Y = last 5.
# det of an m x m equicorrelation matrix: (1 - rho)^(m - 1) (1 + (m - 1) rho).
EQUI = np.full((10, 10), 0.5) + 0.5 * np.eye(10)
EQUI_MI = 0.5 * (2 * np.log(0.5**4 * 3.0) - np.log(0.5**9 * 5.5))  # 0.592812 nats
EQUI_RHO = 5.0 / 6.0  # its only non-zero canonical correlation


def with_exact_covariance(cov, n, seed):
    """n samples whose (1/n or 1/(n-1)) sample covariance is proportional to cov exactly."""
    z = np.random.default_rng(seed).standard_normal((n, cov.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + 3.0


def test_closed_form_on_exact_covariance():
    assert EQUI_MI == pytest.approx(0.592812, abs=5e-7)
    assert gaussian_mi_from_cov(EQUI, 5) == pytest.approx(EQUI_MI, rel=1e-12)
    assert EQUI_MI == pytest.approx(-0.5 * np.log(1 - EQUI_RHO**2), rel=1e-12)
    z = with_exact_covariance(EQUI, 200, seed=0)
    mi, influence = gaussian_mi(z[:, :5], z[:, 5:])
    assert mi == pytest.approx(EQUI_MI, rel=1e-10)
    assert influence.shape == (200,)
    assert abs(influence.mean()) < 1e-10
    r = canonical_correlations(z[:, :5], z[:, 5:])
    np.testing.assert_allclose(r, [EQUI_RHO, 0, 0, 0, 0], atol=1e-10)


@pytest.mark.parametrize("dim_x, dim_y", [(1, 1), (2, 3), (4, 2)])
def test_qr_route_matches_logdet_route(dim_x, dim_y):
    rng = np.random.default_rng(dim_x * 10 + dim_y)
    a = rng.standard_normal((dim_x + dim_y, dim_x + dim_y))
    z = rng.standard_normal((500, dim_x + dim_y)) @ a
    mi, _ = gaussian_mi(z[:, :dim_x], z[:, dim_x:])
    assert mi == pytest.approx(gaussian_mi_from_cov(np.cov(z, rowvar=False), dim_x), rel=1e-10)


def test_five_dim_dense_gaussian_within_sampling_error():
    # Delta method: sd of the estimate = EQUI_RHO / sqrt(N) = 0.0083 at N = 10000; upward bias
    # about dim_x dim_y / (2N) = 0.00125. Measured over 200 seeds: bias 0.0017, sd 0.0078.
    n = 10_000
    z = np.random.default_rng(1).standard_normal((n, 10)) @ np.linalg.cholesky(EQUI).T
    res = GaussianMI().estimate(z[:, :5], z[:, 5:])
    sd = EQUI_RHO / np.sqrt(n)
    assert abs(res.mi - EQUI_MI) < 4 * sd + 25 / (2 * n)
    # the reported (influence-function) stderr matches the Gaussian theory
    assert res.stderr == pytest.approx(sd, rel=0.1)
    assert res.variant == "cca" and res.n_test == n and res.n_train == 0


def test_independent_pair_is_about_zero():
    # bias dim_x dim_y / (2N); sd about sqrt(2 dim_x dim_y) / (2N)
    rng = np.random.default_rng(2)
    n = 10_000
    one = GaussianMI().estimate(rng.standard_normal(n), rng.standard_normal(n))
    assert 0 <= one.mi < 1e-3
    five = GaussianMI().estimate(rng.standard_normal((n, 5)), rng.standard_normal((n, 5)))
    assert 0 <= five.mi < 0.004


def test_measures_only_linear_dependence_and_is_not_a_general_lower_bound():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(20_000)
    # strongly dependent but uncorrelated: Gaussian MI ~ 0
    assert GaussianMI().estimate(x, x**2).mi < 1e-3
    # binary x plus small noise: true MI <= log 2, Gaussian MI ~ -1/2 log(1 - 1/1.0025) ~ 3
    b = rng.choice([-1.0, 1.0], size=20_000)
    assert GaussianMI().estimate(b, b + 0.05 * rng.standard_normal(20_000)).mi > np.log(2) + 1


def test_units_and_protocol():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(300)
    y = x + rng.standard_normal(300)
    est = GaussianMI()
    assert isinstance(est, MIEstimator)
    assert est.fit(x, y) is est
    nats = est.estimate(x, y)
    bits = GaussianMI(units="bits").estimate(x, y)
    assert bits.mi == pytest.approx(nats.mi / LN2) and bits.units == "bits"
    assert bits.stderr == pytest.approx(nats.stderr / LN2)
    assert estimate_gaussian(x, y).mi == nats.mi
    assert est.get_params() == {"units": "nats"}
    with pytest.raises(ValueError, match="units:"):
        GaussianMI(units="bans").estimate(x, y)
    with pytest.raises(ValueError, match="y: expected 1 column"):
        est.estimate(x, np.c_[y, y])
    nats.to_dict()


def test_exact_linear_relation_gives_inf_with_warning():
    x = np.random.default_rng(5).standard_normal((100, 2))
    with pytest.warns(UserWarning, match="infinite"):
        res = GaussianMI().estimate(x, x @ np.array([[1.0], [2.0]]))
    assert res.mi == np.inf and np.isnan(res.stderr)


def test_degenerate_inputs_raise():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((50, 2))
    with pytest.raises(ValueError, match="x: the columns are linearly dependent"):
        GaussianMI().estimate(np.c_[x, x[:, 0] + x[:, 1]], rng.standard_normal(50))
    with pytest.raises(ValueError, match="samples"):
        GaussianMI().estimate(x[:3], rng.standard_normal(3))
    with pytest.raises(ValueError, match="positive-definite"):
        gaussian_mi_from_cov(np.ones((3, 3)), 1)
    with pytest.raises(ValueError, match="dim_x"):
        gaussian_mi_from_cov(EQUI, 10)
    with pytest.raises(ValueError, match="square"):
        gaussian_mi_from_cov(np.ones((2, 3)), 1)
