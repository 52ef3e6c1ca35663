"""The trained baselines (InfoNCE, NWJ, DV, MINE, MINDE-c) on a 1-D Gaussian and on an
independent pair, plus their interface (run_method split, validation, parameters).

Tolerances come from a seed-spread run (8 seeds; n = 4000, 600 steps for the bounds, 800
for MINDE; held-out 20%; script in docs/benchmarks/baselines.md):

    bounds, rho = 0.75 (I = 0.4133): mean 0.414-0.416, sd 0.032 (the held-out sample
        dominates: all four bounds move together seed by seed)
    bounds, rho = 0:    mean 0.0002, sd 0.002
    minde, rho = 0.75:  mean 0.454, sd 0.019 (+0.04 bias at this small budget)
    minde, rho = 0:     mean 0.0002, sd 0.0002

Per-seed tolerance 0.1 is 3 sd for the bounds (and covers MINDE's bias + 3 sd); the mean of
three seeds must be within 0.07 (> 3 sd of that mean beyond the bias). For the independent
pair, 0.02 is 10 sd. A constant cannot pass both cases.
"""

import numpy as np
import pytest

from mmgap.baselines import (BASELINES, InfoNCEEstimator, MINDEEstimator, MINEEstimator,
                             VariationalEstimator)
from mmgap.methods import run_method

TRUE_MI = -0.5 * np.log(1 - 0.75**2)
STEPS = {"infonce": 600, "nwj": 600, "dv": 600, "mine": 600, "minde": 800}


def gaussian_1d(n, seed, rho=0.75):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return x[:, None], y[:, None]


@pytest.mark.parametrize("name", sorted(STEPS))
def test_gaussian_1d_within_seed_spread(name):
    errors = []
    for seed in range(3):
        x, y = gaussian_1d(4000, 100 + seed)
        res = run_method(name, x, y, random_state=seed, n_steps=STEPS[name], verbose=False)
        assert res.n_test == 800 and res.n_train == 3200 and res.diagnostics["n_validation"] == 320
        assert np.isfinite(res.stderr) and res.stderr > 0
        errors.append(res.mi - TRUE_MI)
        assert abs(errors[-1]) < 0.1, (name, seed, res.mi)
    assert abs(np.mean(errors)) < 0.07, (name, errors)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_independent_pair_gives_about_zero(name):
    for seed in range(3):
        x, y = gaussian_1d(4000, 200 + seed, rho=0.0)
        res = run_method(name, x, y, random_state=seed, n_steps=STEPS[name], verbose=False)
        assert abs(res.mi) < 0.02, (name, seed, res.mi)


def test_trained_baselines_are_registered_with_fixed_bounds():
    for name in ("infonce", "nwj", "dv", "mine"):
        cls = BASELINES[name]
        assert issubclass(cls, VariationalEstimator) and cls().bound == name
        assert "bound" not in cls._param_names()
    assert BASELINES["minde"] is MINDEEstimator


def test_infonce_estimate_is_capped_by_log_batch_size():
    # y = x exactly: I is infinite, InfoNCE stays below log(batch_size) and says so
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 1))
    res = run_method("infonce", x, x + 1e-3 * rng.standard_normal((3000, 1)), random_state=0,
                     n_steps=600, batch_size=16, verbose=False)
    assert np.log(16) - 0.5 < res.mi <= np.log(16) + 1e-9
    assert any("ceiling" in w for w in res.diagnostics["warnings"])


def test_variational_parameter_validation_names_the_argument():
    x, y = gaussian_1d(200, 0)
    for kwargs, arg in [({"critic": "bilinear"}, "critic"), ({"batch_size": 1}, "batch_size"),
                        ({"learning_rate": 0}, "learning_rate"), ({"mine_rate": 1.5}, "mine_rate"),
                        ({"preprocess": "zscore"}, "preprocess"), ({"n_steps": 0}, "n_steps")]:
        with pytest.raises(ValueError, match=arg):
            MINEEstimator(**kwargs).fit(x, y)
    with pytest.raises(ValueError, match="form"):
        MINDEEstimator(form="joint").fit(x, y)


def test_estimate_checks_widths_and_fit_state():
    x, y = gaussian_1d(300, 0)
    est = InfoNCEEstimator(n_steps=20, batch_size=32, verbose=False)
    with pytest.raises(ValueError, match="not fitted"):
        est.estimate(x, y)
    est.fit(x, y)
    with pytest.raises(ValueError, match="x: expected 1 column"):
        est.estimate(np.hstack([x, x]), y)
    with pytest.raises(ValueError, match="NaN"):
        est.estimate(np.where(np.arange(300)[:, None] == 5, np.nan, x), y)


def test_joint_critic_trains_too():
    x, y = gaussian_1d(2000, 3)
    res = run_method("infonce", x, y, random_state=0, critic="joint", width=32, n_steps=300,
                     batch_size=64, verbose=False)
    assert abs(res.mi - TRUE_MI) < 0.15


def test_minde_saves_and_loads_with_its_proposal(tmp_path):
    x, y = gaussian_1d(1000, 4)
    est = MINDEEstimator(n_steps=100, random_state=0, verbose=False).fit(x[:800], y[:800])
    before = est.estimate(x[800:], y[800:])
    est.save(tmp_path / "m")
    again = MINDEEstimator.load(tmp_path / "m", device="cpu")
    after = again.estimate(x[800:], y[800:])
    assert after.mi == pytest.approx(before.mi, rel=1e-6)
    assert before.variant == "minde" and again.proposal_ == est.proposal_


def test_minde_takes_discrete_labels():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 1500)
    x = labels[:, None] + 0.5 * rng.standard_normal((1500, 2))
    res = run_method("minde", x, labels, y_discrete=True, random_state=0, n_steps=200,
                     verbose=False)
    assert res.mi > 0.3
