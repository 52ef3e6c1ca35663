"""Variational bounds: the vectorised functions against naive double loops, MINE's gradient
against its definition, closed-form values for an optimal critic, and the critics' shapes."""

import math

import numpy as np
import pytest
import torch

from mmgap.baselines.bounds import (bound_terms, bound_value, dv_terms, infonce_terms,
                                    mine_surrogate, nwj_terms, offdiag_logmeanexp)
from mmgap.baselines.critics import JointCritic, SeparableCritic, make_critic
from mmgap.baselines.variational import MINELoss


def naive_bounds(s):
    """InfoNCE, NWJ and DV written out with Python loops over a (B, B) list of floats."""
    b = len(s)
    nce = 0.0
    for i in range(b):
        nce += s[i][i] - math.log(sum(math.exp(s[i][j]) for j in range(b)) / b)
    nce /= b
    pos = sum(s[i][i] for i in range(b)) / b
    off = [s[i][j] for i in range(b) for j in range(b) if i != j]
    nwj = pos - sum(math.exp(v - 1) for v in off) / len(off)
    dv = pos - math.log(sum(math.exp(v) for v in off) / len(off))
    return nce, nwj, dv


@pytest.mark.parametrize("b, seed", [(2, 0), (3, 1), (7, 2), (16, 3)])
def test_bounds_match_naive_loops(b, seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(0.5, 2.0, size=(b, b))
    s[np.diag_indices(b)] += 1.5
    t = torch.as_tensor(s, dtype=torch.float64)
    nce, nwj, dv = naive_bounds(s.tolist())
    assert float(infonce_terms(t).mean()) == pytest.approx(nce, rel=1e-12, abs=1e-12)
    assert float(nwj_terms(t).mean()) == pytest.approx(nwj, rel=1e-12, abs=1e-12)
    assert float(dv_terms(t).mean()) == pytest.approx(dv, rel=1e-12, abs=1e-12)
    assert float(bound_value("mine", t)) == pytest.approx(dv, rel=1e-12, abs=1e-12)
    # per-row NWJ terms: row i uses only its own off-diagonal entries
    for i in range(b):
        row = s[i][i] - np.mean([math.exp(s[i][j] - 1) for j in range(b) if j != i])
        assert float(nwj_terms(t)[i]) == pytest.approx(row, rel=1e-12)


def test_offdiag_logmeanexp_is_stable_and_excludes_the_diagonal():
    s = torch.full((4, 4), 500.0, dtype=torch.float64)
    s.fill_diagonal_(1e6)  # must not enter
    assert float(offdiag_logmeanexp(s)) == pytest.approx(500.0)


def test_infonce_never_exceeds_log_b_and_reaches_it_for_a_separating_critic():
    b = 8
    s = torch.full((b, b), -50.0, dtype=torch.float64)
    s.fill_diagonal_(50.0)
    assert float(infonce_terms(s).mean()) == pytest.approx(math.log(b), abs=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = torch.as_tensor(rng.normal(0, 5, (b, b)))
        assert float(infonce_terms(t).mean()) <= math.log(b) + 1e-12


def test_constant_critic_gives_zero_for_every_bound_but_nwj_optimum_at_one():
    s = torch.zeros(5, 5, dtype=torch.float64)
    assert float(bound_value("infonce", s)) == pytest.approx(0.0, abs=1e-12)
    assert float(bound_value("dv", s)) == pytest.approx(0.0, abs=1e-12)
    # NWJ with f = c is c - exp(c - 1), maximised (= 0) at c = 1
    assert float(bound_value("nwj", s + 1.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(bound_value("nwj", s)) == pytest.approx(-math.exp(-1), abs=1e-12)


def test_optimal_critic_on_gaussian_pairs_recovers_the_true_mi():
    # f* = log p(x,y)/(p(x)p(y)) (+1 for NWJ); with many samples every bound ~ I.
    rho, b = 0.6, 1500
    rng = np.random.default_rng(5)
    x = rng.standard_normal(b)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(b)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    c = 1 - rho**2
    pmi = -0.5 * math.log(c) - (rho**2 * (xx**2 + yy**2) - 2 * rho * xx * yy) / (2 * c)
    s = torch.as_tensor(pmi)
    truth = -0.5 * math.log(c)
    # sampling sd of the mean log-ratio is about sqrt(Var pmi / b) ~ 0.02 here
    assert float(bound_value("dv", s)) == pytest.approx(truth, abs=0.08)
    assert float(bound_value("nwj", s + 1)) == pytest.approx(truth, abs=0.08)
    assert float(bound_value("infonce", s)) == pytest.approx(truth, abs=0.08)


def test_mine_surrogate_has_the_dv_value_shape_and_moving_average_gradient():
    torch.manual_seed(0)
    s = torch.randn(6, 6, dtype=torch.float64, requires_grad=True)
    log_ma = torch.tensor(0.3, dtype=torch.float64)
    surrogate, lme = mine_surrogate(s, log_ma)
    surrogate.backward()
    # d/ds of mean f_ii - m_b / ma, with m_b = mean_{i != j} exp(s_ij)
    b = 6
    expected = np.zeros((b, b))
    sv = s.detach().numpy()
    for i in range(b):
        for j in range(b):
            expected[i, j] = 1.0 / b if i == j else math.exp(sv[i, j]) / (b * (b - 1)) / math.exp(0.3)
            if i != j:
                expected[i, j] *= -1
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-10, atol=1e-14)
    assert float(lme) == pytest.approx(float(offdiag_logmeanexp(s.detach())))


def test_mine_loss_moving_average_update():
    loss = MINELoss(rate=0.25)

    def critic(x, y):
        return x @ y.T

    x1 = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    loss(critic, x1, x1, None, None)
    m1 = float(offdiag_logmeanexp(critic(x1, x1)))
    assert float(loss.log_ma) == pytest.approx(m1)  # starts at the first batch value
    x2 = 0.5 * x1
    loss(critic, x2, x2, None, None)
    m2 = math.exp(float(offdiag_logmeanexp(critic(x2, x2))))
    assert math.exp(float(loss.log_ma)) == pytest.approx(0.75 * math.exp(m1) + 0.25 * m2)


def test_bound_terms_rejects_bad_input():
    with pytest.raises(ValueError, match="bound"):
        bound_terms("mi", torch.zeros(3, 3))
    with pytest.raises(ValueError, match="scores"):
        infonce_terms(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="scores"):
        dv_terms(torch.zeros(1, 1))


@pytest.mark.parametrize("cls", [SeparableCritic, JointCritic])
def test_critics_score_every_pair(cls):
    torch.manual_seed(0)
    critic = cls(3, 2, width=16, depth=2, embed_dim=4)
    x, y = torch.randn(5, 3), torch.randn(4, 2)
    critic.requires_grad_(False)
    s = critic(x, y)
    assert s.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            assert float(critic(x[i:i + 1], y[j:j + 1])[0, 0]) == pytest.approx(float(s[i, j]), abs=1e-5)


def test_make_critic_names_the_argument():
    with pytest.raises(ValueError, match="critic"):
        make_critic("bilinear", 1, 1, width=8, depth=1, embed_dim=2)
