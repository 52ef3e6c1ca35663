import math

import pytest
import torch

from mmgap.logsnr import TruncatedLogistic
from mmgap.networks import ResidualMLP
from mmgap.training import (DenoisingLoss, EpsDenoiser, Trainer, TrainingError, ValidationLoss,
                            lr_factor, select_checkpoint, train_denoiser)


def data(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(n, 1, generator=g)
    x = 0.9 * y + math.sqrt(1 - 0.81) * torch.randn(n, 1, generator=g)
    return x, y


def test_eps_denoiser_zero_output_is_gaussian_optimal():
    # F = 0 gives eps_hat = sigma * z, the Bayes denoiser of N(0, I) data
    model = EpsDenoiser(ResidualMLP(2, 1))
    z = torch.randn(5, 2)
    lam = torch.linspace(-3, 3, 5)
    out = model(z, lam, torch.randn(5, 1), torch.ones(5))
    assert torch.allclose(out, torch.sigmoid(-lam).sqrt()[:, None] * z)


def test_training_lowers_the_loss_and_logs():
    x, y = data()
    model = EpsDenoiser(ResidualMLP(1, 1))
    trainer = train_denoiser(model, x, y, DenoisingLoss(TruncatedLogistic(), 0.5), n_steps=400,
                             batch_size=128, generator=torch.Generator().manual_seed(0),
                             log_every=50)
    log = trainer.log
    assert log.steps == 400 and len(log.loss_values) == 8
    assert log.loss_values[-1] < log.loss_values[0]
    assert log.steps_per_second > 0 and log.stopped_reason == "step budget"
    # EMA weights differ from the raw weights but track them
    raw = torch.cat([p.flatten() for p in model.parameters()])
    ema = torch.cat([p.flatten() for p in trainer.ema.parameters()])
    assert not torch.equal(raw, ema)
    # the conditional loss beats the unconditional one after training
    loss_c = DenoisingLoss(TruncatedLogistic(), 0.0)
    loss_u = DenoisingLoss(TruncatedLogistic(), 1.0)
    with torch.no_grad():
        lc = loss_c(trainer.ema, x, y, None, torch.Generator().manual_seed(1)).mean()
        lu = loss_u(trainer.ema, x, y, None, torch.Generator().manual_seed(1)).mean()
    assert lc < lu


def test_nan_loss_stops_training_with_a_clear_error():
    x, y = data(200)
    x[3, 0] = float("nan")
    model = EpsDenoiser(ResidualMLP(1, 1))
    with pytest.raises(TrainingError, match="loss became nan"):
        train_denoiser(model, x, y, DenoisingLoss(TruncatedLogistic()), n_steps=200,
                       batch_size=200, generator=torch.Generator().manual_seed(0))


def test_time_budget_stops_training():
    x, y = data(500)
    trainer = Trainer(EpsDenoiser(ResidualMLP(1, 1)), total_steps=10**6, max_seconds=0.3,
                      generator=torch.Generator().manual_seed(0))
    log = trainer.run(DenoisingLoss(TruncatedLogistic()), x, y, n_steps=10**6, batch_size=64)
    assert log.stopped_reason == "time budget"
    assert 0 < log.steps < 10**6 and log.seconds < 2.0


def test_same_generator_seed_gives_same_weights():
    x, y = data(500)

    def run():
        torch.manual_seed(0)
        model = EpsDenoiser(ResidualMLP(1, 1))
        train_denoiser(model, x, y, DenoisingLoss(TruncatedLogistic()), n_steps=50,
                       batch_size=64, generator=torch.Generator().manual_seed(3))
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(run(), run())


def test_lr_schedule():
    assert lr_factor(0.0) == pytest.approx(1e-3)
    assert lr_factor(0.05) == pytest.approx(1.0)
    assert lr_factor(1.0) == pytest.approx(0.05)
    vals = [lr_factor(p / 100) for p in range(5, 101)]
    assert all(a >= b for a, b in zip(vals, vals[1:]))


def test_select_checkpoint_prefers_latest_not_significantly_worse():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(4000, generator=g, dtype=torch.float64)
    noise = lambda: 1e-3 * torch.randn(4000, generator=g, dtype=torch.float64)
    # a flat curve: the last checkpoint is within noise of the best -> pick the last
    flat = [base + 0.01, base + noise(), base + noise(), base + noise()]
    assert select_checkpoint(flat) == 3
    # a clear minimum followed by over-fitting -> pick the minimum
    bowl = [base + 0.05, base, base + 0.02, base + 0.05]
    assert select_checkpoint(bowl) == 1


def test_validation_keeps_the_chosen_checkpoint_and_can_stop_early():
    x, y = data(1000)
    xv, yv = data(300, seed=1)
    val = ValidationLoss(TruncatedLogistic(), xv, yv, k_draws=2,
                         generator=torch.Generator().manual_seed(0))
    first = val(EpsDenoiser(ResidualMLP(1, 1)))
    assert first.shape == (600,)
    # common random numbers: the same model scores the same
    model = EpsDenoiser(ResidualMLP(1, 1))
    assert torch.equal(val(model), val(model))
    trainer = Trainer(model, total_steps=400, generator=torch.Generator().manual_seed(0))
    log = trainer.run(DenoisingLoss(TruncatedLogistic()), x, y, n_steps=400, batch_size=64,
                      validation=val, eval_every=50)
    assert log.val_steps[:3] == [50, 100, 150] and log.best_step in log.val_steps
    chosen = log.val_values[log.val_steps.index(log.best_step)]
    assert float(val(trainer.ema).mean()) == pytest.approx(chosen)
    # patience=1 with a validation that never improves stops at the second score
    worse = iter(range(100))
    flat_val = lambda m: torch.full((10,), float(next(worse)), dtype=torch.float64)
    t2 = Trainer(EpsDenoiser(ResidualMLP(1, 1)), total_steps=400,
                 generator=torch.Generator().manual_seed(0))
    log2 = t2.run(DenoisingLoss(TruncatedLogistic()), x, y, n_steps=400, batch_size=64,
                  validation=flat_val, eval_every=50, patience=1)
    assert log2.stopped_reason == "early stopping" and log2.steps == 100 and log2.best_step == 50



def test_validation_records_the_estimate_at_every_checkpoint():
    """The trainer keeps, per checkpoint, the per-draw orthogonal integrand 1/2 w ||eps_c -
    eps_u||^2 on the fixed validation draws; its mean is the validation MI estimate."""
    from mmgap.gap import fused_pass, orthogonal_integrand
    from mmgap.inference import learning_growth
    x, y = data(1000)
    xv, yv = data(300, seed=1)
    prop = TruncatedLogistic()
    val = ValidationLoss(prop, xv, yv, k_draws=2, generator=torch.Generator().manual_seed(0))
    trainer = Trainer(EpsDenoiser(ResidualMLP(1, 1)), total_steps=400,
                      generator=torch.Generator().manual_seed(0))
    log = trainer.run(DenoisingLoss(prop), x, y, n_steps=400, batch_size=64,
                      validation=val, eval_every=50)
    assert [c[0] for c in trainer.mi_curve] == log.val_steps
    assert all(c[1].shape == (600,) and c[2] == 300 for c in trainer.mi_curve)
    # the chosen checkpoint's record is the integrand of the kept weights on those draws
    eps_u, eps_c = fused_pass(trainer.ema, val.z, val.logsnr, val.y, None)
    want = 0.5 * val.weight.double() * orthogonal_integrand(eps_u, eps_c).double()
    kept = [c[1] for c in trainer.mi_curve if c[0] == log.best_step][0]
    assert torch.allclose(kept, want, rtol=1e-5, atol=1e-7)
    lc = learning_growth(trainer.mi_curve, log.best_step)
    i_end, i_half = lc["steps"].index(lc["chosen_step"]), lc["steps"].index(lc["half_step"])
    assert lc["growth"] == pytest.approx(lc["mi"][i_end] - lc["mi"][i_half], abs=1e-9)


# ---------------------------------------------------------------- GaussianPrior
def test_gaussian_prior_equals_the_oracle_for_its_fitted_covariance():
    import numpy as np

    from mmgap.gap import GaussianOracle
    from mmgap.training import GaussianPrior

    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T / 5 + 0.2 * np.eye(5)
    xy = rng.multivariate_normal(np.zeros(5), cov, size=4000)
    xy -= xy.mean(0)  # the oracle assumes zero means
    x, y = torch.as_tensor(xy[:, :3]), torch.as_tensor(xy[:, 3:])
    prior = GaussianPrior(3, 2).fit(x, y)
    oracle = GaussianOracle(np.cov(xy.T), 3)
    z = torch.randn(64, 3, dtype=torch.float64)
    lam = torch.linspace(-10, 16, 64, dtype=torch.float64)
    yy = torch.randn(64, 2, dtype=torch.float64)
    keep = (torch.arange(64) % 2).double()
    torch.testing.assert_close(prior(z, lam, yy, keep), oracle(z, lam, yy, keep),
                               rtol=1e-8, atol=1e-10)


def test_eps_denoiser_with_prior_and_zero_network_is_the_prior():
    from mmgap.networks import ResidualMLP
    from mmgap.training import EpsDenoiser, GaussianPrior

    torch.manual_seed(0)
    x = torch.randn(500, 2)
    y = x[:, :1] + 0.1 * torch.randn(500, 1)
    prior = GaussianPrior(2, 1).fit(x, y)
    den = EpsDenoiser(ResidualMLP(2, 1), prior)  # output layer starts at zero
    z, lam, keep = torch.randn(8, 2), torch.randn(8) * 4, torch.ones(8)
    torch.testing.assert_close(den(z, lam, y[:8], keep), prior(z, lam, y[:8], keep))
    # the prior's state travels with state_dict
    other = EpsDenoiser(ResidualMLP(2, 1), GaussianPrior(2, 1))
    other.load_state_dict(den.state_dict())
    torch.testing.assert_close(other(z, lam, y[:8], keep), den(z, lam, y[:8], keep))


def _prior_mi(prior) -> float:
    """The Gaussian MI a fitted prior implies: 1/2 (log det Sigma_x - log det Sigma_{x|y})."""
    return 0.5 * float(torch.log(prior.eval_u).sum() - torch.log(prior.eval_c).sum())


def _gaussian_pair(n, dim, rho2, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    e = torch.randn(n, dim, generator=g, dtype=torch.float64)
    r = torch.as_tensor(rho2, dtype=torch.float64)
    return x, r.sqrt() * x + (1 - r).sqrt() * e


def test_shrunk_prior_removes_exactly_the_expected_bias():
    from mmgap.gap import gaussian_mi_bias
    from mmgap.training import GaussianPrior

    x, y = _gaussian_pair(600, 6, [0.9, 0.5, 0.2, 0.0, 0.0, 0.0], 0)
    plain = GaussianPrior(6, 6).fit(x, y)
    shrunk = GaussianPrior(6, 6).fit(x, y, shrink=True)
    assert _prior_mi(shrunk) == pytest.approx(_prior_mi(plain) - gaussian_mi_bias(600, 6, 6),
                                              abs=1e-9)
    # the marginal of x is untouched; only the regression on y changes
    torch.testing.assert_close(shrunk.eval_u, plain.eval_u)
    assert not torch.allclose(shrunk.b, plain.b)


def test_shrunk_regression_with_no_bias_is_the_plain_fit(monkeypatch):
    from mmgap import training
    from mmgap.training import GaussianPrior

    x, y = _gaussian_pair(400, 4, [0.8, 0.3, 0.0, 0.0], 1)
    x = torch.cat([x, x[:, :1] + x[:, 1:2]], 1)  # a singular x covariance on the way
    plain = GaussianPrior(5, 4).fit(x, y)
    monkeypatch.setattr(training, "gaussian_mi_bias", lambda n, dx, dy: 0.0)
    same = GaussianPrior(5, 4).fit(x, y, shrink=True)
    torch.testing.assert_close(same.b, plain.b, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(same.eval_c, plain.eval_c, rtol=1e-7, atol=1e-9)


def test_shrunk_prior_is_unbiased_where_the_plain_fit_is_not():
    """40 + 40 dimensions, 10 coupled pairs, n = 1,000 (4 replicates): the plain fit's implied
    MI is biased up by about dx dy / 2n = 0.8 nats; the shrunk one's mean lies within 4 standard
    errors of the truth and much closer than the plain one."""
    from mmgap.training import GaussianPrior

    rho2 = [0.7] * 10 + [0.0] * 30
    truth = -0.5 * 10 * math.log(1 - 0.7)
    plain, shrunk = [], []
    for seed in range(4):
        x, y = _gaussian_pair(1000, 40, rho2, 10 + seed)
        plain.append(_prior_mi(GaussianPrior(40, 40).fit(x, y)))
        shrunk.append(_prior_mi(GaussianPrior(40, 40).fit(x, y, shrink=True)))
    s = torch.tensor(shrunk, dtype=torch.float64)
    se = float(s.std() / 2)
    assert abs(float(s.mean()) - truth) < 4 * se + 0.05
    assert sum(plain) / 4 - truth > 0.5
    assert abs(float(s.mean()) - truth) < 0.3 * (sum(plain) / 4 - truth)


def test_shrunk_prior_with_a_context(monkeypatch):
    """With a context c the partial canonical correlations given c are shrunk: the implied
    CMI falls by exactly gaussian_mi_bias(n - dc, dx, dy), the unconditional pass is the plain
    one, and with no bias the fit equals the plain regression on (y, c)."""
    from mmgap import training
    from mmgap.gap import gaussian_mi_bias
    from mmgap.training import GaussianPrior

    g = torch.Generator().manual_seed(3)
    c = torch.randn(700, 3, generator=g, dtype=torch.float64)
    x = c @ torch.randn(3, 5, generator=g, dtype=torch.float64) + torch.randn(700, 5, generator=g, dtype=torch.float64)
    y = 0.5 * x[:, :4] + c[:, :1] + torch.randn(700, 4, generator=g, dtype=torch.float64)
    plain = GaussianPrior(5, 4, 3).fit(x, y, c)
    shrunk = GaussianPrior(5, 4, 3).fit(x, y, c, shrink=True)
    assert _prior_mi(shrunk) == pytest.approx(_prior_mi(plain) - gaussian_mi_bias(700 - 3, 5, 4),
                                              abs=1e-9)
    torch.testing.assert_close(shrunk.eval_u, plain.eval_u)
    torch.testing.assert_close(shrunk.b_ctx_u, plain.b_ctx_u)
    monkeypatch.setattr(training, "gaussian_mi_bias", lambda n, dx, dy: 0.0)
    same = GaussianPrior(5, 4, 3).fit(x, y, c, shrink=True)
    for name in ("b", "b_ctx_c", "eval_c"):
        torch.testing.assert_close(getattr(same, name), getattr(plain, name), rtol=1e-7, atol=1e-9)
