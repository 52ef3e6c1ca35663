"""Conditional MI, entropy and pointwise MI (issue 12): exact maths with analytic Gaussian
denoisers first, then small learned fits with tolerances from their standard errors."""

import json
import math

import numpy as np
import pytest
import torch

import mmgap
from mmgap.cli import main
from mmgap.entropy import EntropyEstimator, estimate_entropy
from mmgap.estimator import MMGEstimator
from mmgap.gap import GaussianOracle, gap_draws, mc_mean_stderr, mismatch_draws
from mmgap.inference import z_strata
from mmgap.logsnr import TruncatedLogistic
from mmgap.tasks.truth import gaussian_cmi, gaussian_pointwise_mi
from mmgap.training import GaussianPrior

WIDE = TruncatedLogistic(0.0, 3.0, 6.0)  # [-18, 18]: the Gaussian tails beyond are < 1e-6


def _random_cov(d, seed, ridge=0.3):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T / d + ridge * np.eye(d)


def _posterior_eps(cov_all, dim_x, z, lam, cond):
    """E[eps | noisy z, cond] by brute-force Gaussian conditioning on the joint of
    (eps, z_noisy, cond) with zero means; cond = the stacked observed conditions."""
    a2, s2 = 1 / (1 + math.exp(-lam)), 1 / (1 + math.exp(lam))
    a, s = math.sqrt(a2), math.sqrt(s2)
    sxx, sxc, scc = cov_all[:dim_x, :dim_x], cov_all[:dim_x, dim_x:], cov_all[dim_x:, dim_x:]
    # z = a x + s eps: cov(eps, z) = s I, cov(z, z) = a2 Sxx + s2 I, cov(z, c) = a Sxc
    obs_cov = np.block([[a2 * sxx + s2 * np.eye(dim_x), a * sxc], [a * sxc.T, scc]])
    cross = np.hstack([s * np.eye(dim_x), np.zeros((dim_x, scc.shape[0]))])
    obs = np.hstack([z, cond])
    return obs @ np.linalg.solve(obs_cov, cross.T)


@pytest.mark.parametrize("keep", [0.0, 1.0])
def test_gaussian_prior_with_context_is_the_exact_posterior_mean(keep):
    dx, dy, dc = 2, 2, 3
    cov = _random_cov(dx + dy + dc, 1)
    rng = np.random.default_rng(0)
    data = rng.multivariate_normal(np.zeros(dx + dy + dc), cov, size=200_000)
    x, y, c = (torch.as_tensor(data[:, :dx]), torch.as_tensor(data[:, dx:dx + dy]),
               torch.as_tensor(data[:, dx + dy:]))
    prior = GaussianPrior(dx, dy, dc).fit(x, y, c)
    pts = rng.multivariate_normal(np.zeros(dx + dy + dc), cov, size=5)
    z = rng.normal(size=(5, dx))
    lam = 1.5
    got = prior(torch.as_tensor(z), torch.full((5,), lam, dtype=torch.float64),
                torch.as_tensor(pts[:, dx:dx + dy]), torch.full((5,), keep, dtype=torch.float64),
                torch.as_tensor(pts[:, dx + dy:])).numpy()
    if keep:
        want = _posterior_eps(cov, dx, z, lam, pts[:, dx:])
    else:  # condition on c only: marginalise y out of the joint
        idx = list(range(dx)) + list(range(dx + dy, dx + dy + dc))
        want = _posterior_eps(cov[np.ix_(idx, idx)], dx, z, lam, pts[:, dx + dy:])
    # fitted on 2e5 samples: covariance error ~ 1/sqrt(n) ~ 0.002
    np.testing.assert_allclose(got, want, atol=0.02)


def test_gaussian_prior_cmi_matches_closed_form():
    """The exact Gaussian denoiser with context integrates to the closed-form I(X;Y|Z)."""
    dx, dy, dc = 2, 1, 2
    # collider: x (2), y (1) independent; c = (x1 + y, x2 - y) + noise, so I(X;Y) = 0 < I(X;Y|Z)
    m = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0],
                  [1, 0, 1, .6, 0], [0, 1, -1, 0, .6]], dtype=float)
    cov = m @ m.T
    truth = gaussian_cmi(cov, dx, dy)
    rng = np.random.default_rng(1)
    data = torch.as_tensor(rng.multivariate_normal(np.zeros(dx + dy + dc), cov, size=100_000))
    x, y, c = data[:, :dx], data[:, dx:dx + dy], data[:, dx + dy:]
    prior = GaussianPrior(dx, dy, dc).fit(x, y, c)
    d = gap_draws(prior, x[:4000], y[:4000], WIDE, 16, torch.Generator().manual_seed(0),
                  context=c[:4000])
    for form in ("direct", "orthogonal"):
        mi, se = d.estimate(form)
        assert abs(mi - truth) < 4 * se + 0.01, (form, mi, se, truth)
    # and it is not the unconditional MI, which is 0 here
    assert truth > 0.3 and mmgap.gap.gaussian_mi(cov[:dx + dy, :dx + dy], dx) == pytest.approx(0)


def test_mismatch_draws_give_the_gaussian_kl_divergence():
    d = 3
    sp, sg = _random_cov(d, 5), _random_cov(d, 6, ridge=0.8)
    kl = 0.5 * (np.trace(np.linalg.solve(sg, sp)) - d + np.linalg.slogdet(sg)[1]
                - np.linalg.slogdet(sp)[1])
    pad = lambda s: np.block([[s, np.zeros((d, 1))], [np.zeros((1, d)), np.eye(1)]])  # noqa: E731
    p_oracle, g_oracle = GaussianOracle(pad(sp), d), GaussianOracle(pad(sg), d)
    x = torch.as_tensor(np.random.default_rng(2).multivariate_normal(np.zeros(d), sp, size=4000))
    y = torch.zeros(4000, 1, dtype=torch.float64)
    draws = mismatch_draws(p_oracle, g_oracle, x, y, 0.0, WIDE, 16, torch.Generator().manual_seed(1))
    for form in ("direct", "orthogonal"):
        est, se = draws.estimate(form)
        assert abs(est - kl) < 4 * se + 0.005, (form, est, se, kl)
    assert kl > 0.1  # a real divergence, so a zero estimate fails


def test_entropy_of_gaussian_data_and_the_exact_jacobian():
    cov = _random_cov(4, 7)
    x = np.random.default_rng(3).multivariate_normal(np.zeros(4), cov, size=3000)
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    kw = dict(n_steps=200, verbose=False, random_state=0)
    res = estimate_entropy(x, **kw)
    assert res.quantity == "entropy" and "h(X)" in res.summary()
    # 600 held-out points: se of the Gaussian cross-entropy ~ sqrt(d/2)/sqrt(600) ~ 0.06
    assert abs(res.mi - truth) < 4 * res.stderr, (res.mi, res.stderr, truth)
    scaled = estimate_entropy(7.0 * x, **kw)
    assert scaled.mi - res.mi == pytest.approx(4 * math.log(7.0), abs=1e-3)
    lo, hi = res.ci95
    assert lo < res.mi < hi  # entropies are not clipped at 0


def test_entropy_refuses_rank_and_conditional_entropy_is_lower():
    for kind in ("rank", "rank-knots"):
        with pytest.raises(ValueError, match="preprocess"):
            EntropyEstimator(preprocess=kind).fit(np.random.default_rng(0).normal(size=(100, 2)))
    rng = np.random.default_rng(4)
    y = rng.normal(size=(3000, 1))
    x = y + 0.5 * rng.normal(size=(3000, 1))
    est = EntropyEstimator(n_steps=300, verbose=False, random_state=0).fit(x[:2400], y[:2400])
    h, h_given = est.estimate(x[2400:]), est.estimate(x[2400:], y[2400:])
    assert h_given.quantity == "conditional_entropy"
    # truths 0.5 log(2 pi e 1.25) = 1.53 and 0.5 log(2 pi e 0.25) = 0.73
    assert abs(h.mi - 0.5 * math.log(2 * math.pi * math.e * 1.25)) < 4 * h.stderr
    assert abs(h_given.mi - 0.5 * math.log(2 * math.pi * math.e * 0.25)) < 4 * h_given.stderr


def test_pointwise_direct_form_tracks_the_exact_log_ratio():
    """With the analytic Gaussian denoiser, the per-row direct integrand is unbiased for
    i(x;y) row by row (the orthogonal one is not)."""
    cov = np.eye(4)
    cov[0, 2] = cov[2, 0] = 0.8
    cov[1, 3] = cov[3, 1] = 0.5
    oracle = GaussianOracle(cov, 2)
    data = np.random.default_rng(5).multivariate_normal(np.zeros(4), cov, size=40)
    x, y = torch.as_tensor(data[:, :2]), torch.as_tensor(data[:, 2:])
    truth = gaussian_pointwise_mi(cov, 2, data[:, :2], data[:, 2:])
    d = gap_draws(oracle, x, y, WIDE, 4000, torch.Generator().manual_seed(0))
    v = d.mi_values("direct")
    est, se = v.mean(1), v.std(1, ddof=1) / math.sqrt(v.shape[1])
    z = (est - truth) / se
    assert np.mean(np.abs(z) < 3) >= 0.9, z  # ~99.7% expected; 90% leaves room for 40 rows
    assert np.corrcoef(est, truth)[0, 1] > 0.95


def test_z_strata():
    z = np.random.default_rng(0).normal(size=(1000, 3))
    g = z_strata(z, discrete=False, group_size=4)
    sizes = np.bincount(g)
    assert sizes.min() >= 4 and sizes.max() < 8 and sizes.sum() == 1000
    # groups are local: within-group spread far below the overall spread
    within = np.mean([z[g == k].std(0).mean() for k in range(g.max() + 1)])
    assert within < 0.35 * z.std(0).mean()
    onehot = np.eye(3)[np.random.default_rng(1).integers(0, 3, size=50)]
    gd = z_strata(onehot, discrete=True)
    for k in np.unique(gd):
        assert len(np.unique(onehot[gd == k], axis=0)) == 1


def _collider(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
    return x, y, x + y + 0.5 * rng.normal(size=(n, 1))


def test_learned_cmi_on_a_collider_and_its_persistence(tmp_path):
    x, y, z = _collider(5000, 0)
    truth = gaussian_cmi(np.array([[1, 0, 1], [0, 1, 1], [1, 1, 2.25]]), 1, 1)
    est = MMGEstimator(n_steps=1500, random_state=0, verbose=False, n_permutations=19)
    est.fit(x[:4000], y[:4000], z[:4000])
    res = est.estimate(x[4000:], y[4000:], z[4000:])
    assert res.quantity == "cmi" and "I(X;Y|Z)" in res.summary()
    assert abs(res.mi - truth) < 3 * res.stderr, (res.mi, res.stderr, truth)
    assert res.p_value == pytest.approx(0.05)  # the smallest possible with 19 permutations
    with pytest.raises(ValueError, match="z: this estimator was fitted with z"):
        est.estimate(x[4000:], y[4000:])
    path = est.save(tmp_path / "m")
    again = MMGEstimator.load(path).estimate(x[4000:], y[4000:], z[4000:])
    assert again.mi == pytest.approx(res.mi, rel=1e-6)


def test_cmi_bad_input_and_discrete_z():
    x, y, z = _collider(400, 1)
    with pytest.raises(ValueError, match="x and z: expected the same number"):
        mmgap.estimate_mi(x, y, z[:-1], n_steps=10, verbose=False)
    zz = z.copy()
    zz[3, 0] = np.nan
    with pytest.raises(ValueError, match="z"):
        mmgap.estimate_mi(x, y, zz, n_steps=10, verbose=False)
    with pytest.raises(ValueError, match="z: method 'ksg' does not estimate conditional MI"):
        mmgap.estimate_mi(x, y, z, method="ksg")
    labels = (z[:, 0] > 0).astype(int)
    res = mmgap.estimate_mi(x, y, labels, z_discrete=True, n_steps=50, verbose=False,
                            n_permutations=9)
    assert res.quantity == "cmi" and res.diagnostics["dim_z"] == 2


def test_cli_cmi_pointwise_entropy(tmp_path, capsys):
    x, y, z = _collider(600, 2)
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y, z=z)
    assert main(["estimate", str(data), "--z-key", "z", "--steps", "50", "--quiet",
                 "--permutations", "9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quantity"] == "cmi" and out["p_value"] is not None
    csv = tmp_path / "p.csv"
    assert main(["pointwise", str(data), "--out", str(csv), "--steps", "30", "--quiet",
                 "--draws", "4"]) == 0
    lines = csv.read_text().splitlines()
    assert lines[0] == "row,pmi,stderr" and len(lines) == 601
    capsys.readouterr()
    np.save(tmp_path / "x.npy", x)
    assert main(["entropy", str(tmp_path / "x.npy"), "--steps", "30", "--quiet", "--json"]) == 0
    ent = json.loads(capsys.readouterr().out)
    assert ent["quantity"] == "entropy" and "entropy" in ent and len(ent["ci95"]) == 2
    with pytest.raises(SystemExit):  # argparse refuses it: not among the choices
        main(["entropy", str(tmp_path / "x.npy"), "--preprocess", "rank"])
    assert main(["estimate", str(data), "--z-discrete"]) == 2
    assert main(["pointwise", str(data), "--out", str(tmp_path / "p.txt")]) == 2
    err = capsys.readouterr().err
    assert "--z-discrete: no Z given" in err and "--out: expected a .csv or .npy" in err


def test_negative_mi_estimate_gives_the_interval_0_0_and_entropy_is_unclipped():
    from mmgap.types import MIResult

    assert MIResult(mi=-0.01, stderr=0.004).ci95 == (0.0, 0.0)
    assert MIResult(mi=-0.01, stderr=0.004, quantity="entropy").ci95[0] < -0.01


def test_image_z_discrete_y_entropy_and_pointwise_with_z_run():
    rng = np.random.default_rng(6)
    n = 300
    zi = rng.normal(size=(n, 4, 4))
    x = zi[:, 0, :2] + rng.normal(size=(n, 2))
    y = zi[:, 1, :1] + rng.normal(size=(n, 1))
    res = mmgap.estimate_mi(x, y, zi, n_steps=20, verbose=False, n_permutations=5)
    assert res.quantity == "cmi" and res.diagnostics["dim_z"] == 16
    labels = rng.integers(0, 3, size=n)
    h = estimate_entropy(x + labels[:, None], labels, y_discrete=True, n_steps=20, verbose=False)
    assert h.quantity == "conditional_entropy" and math.isfinite(h.mi)
    pw = mmgap.pointwise_mi(x, y, zi, n_steps=20, verbose=False, k_draws=2)
    assert pw.quantity == "pcmi" and pw.values.shape == (n,) and np.isfinite(pw.values).all()
    with pytest.raises(ValueError, match="n_folds"):
        mmgap.pointwise_mi(x, y, n_folds=1)


def test_entropy_estimator_save_load_round_trip(tmp_path):
    x = np.random.default_rng(8).normal(size=(500, 2))
    est = EntropyEstimator(n_steps=20, verbose=False, random_state=0).fit(x[:400])
    h = est.estimate(x[400:])
    again = EntropyEstimator.load(est.save(tmp_path / "h"))
    assert again.estimate(x[400:]).mi == pytest.approx(h.mi, rel=1e-6)
    with pytest.raises(ValueError, match="fitted without y"):
        again.estimate(x[400:], x[400:, :1])


def test_mixture_gaussianizer_is_monotone_with_the_exact_jacobian():
    from mmgap.preprocessing import MixtureGaussianizer, scaler_from_dict

    rng = np.random.default_rng(9)
    x = np.column_stack([rng.uniform(size=3000) * 3, rng.gamma(2.0, size=3000)])
    g = MixtureGaussianizer().fit(x)
    u = g.transform(x)
    assert np.all(np.abs(u.mean(0)) < 0.05) and np.all(np.abs(u.std(0) - 1) < 0.05)
    for j in range(2):
        order = np.argsort(x[:, j])
        assert np.all(np.diff(u[order, j]) >= 0)
    step = 1e-6
    num = np.zeros(3000)
    for j in range(2):
        xs = x.copy()
        xs[:, j] += step
        num += np.log((g.transform(xs)[:, j] - u[:, j]) / step)
    np.testing.assert_allclose(g.log_abs_det_jacobian_rows(x), num, atol=1e-3)
    # far outside the training range the map stays finite
    assert np.isfinite(g.transform(np.array([[-50.0, 1e3]]))).all()
    again = scaler_from_dict(g.to_dict())
    np.testing.assert_allclose(again.transform(x), u)


@pytest.mark.parametrize("call", ["entropy", "pointwise", "cmi"])
def test_bad_rows_are_named_in_the_callers_numbering(call):
    rng = np.random.default_rng(10)
    x, y, z = rng.normal(size=(100, 2)), rng.normal(size=(100, 1)), rng.normal(size=(100, 1))
    bad = z if call == "cmi" else y
    bad[7, 0] = np.nan
    name = "z" if call == "cmi" else "y"
    with pytest.raises(ValueError, match=f"{name}: contains NaN \\(first at row 7"):
        if call == "entropy":
            estimate_entropy(x, y)
        elif call == "pointwise":
            mmgap.pointwise_mi(x, y)
        else:
            mmgap.estimate_mi(x, y, z)
