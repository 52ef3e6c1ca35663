"""The public entry points on a CUDA device (skipped where torch sees no GPU, e.g. in CI).

Each test runs a whole default pipeline with a short training budget: the point is that
every tensor, generator and copy lives where it should (a CUDA generator cannot draw on the
CPU, a CUDA tensor cannot become a numpy array without a copy), not the accuracy, which the
accuracy tests and benchmarks measure. Where a short budget is enough for a loose but
meaningful check (a 1-D Gaussian with known MI), it is made.
"""

import math

import numpy as np
import pytest
import torch

import mmgap

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def gaussian_pair(n, rho, seed=0, dim=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * math.log(1 - rho ** 2)


def test_estimate_mi_default_pipeline_on_cuda():
    x, y, truth = gaussian_pair(5000, 0.75)
    res = mmgap.estimate_mi(x, y, n_steps=2000, device="cuda", verbose=False)
    assert res.diagnostics["device"].startswith("cuda")
    assert res.p_value is not None and 0 < res.p_value <= 0.05
    # 2000 steps on 4000 rows: the CPU default lands within 0.05 of 0.413 on this task
    assert abs(res.mi - truth) < 0.1, res.summary()


def test_conditional_labels_pointwise_entropy_on_cuda():
    rng = np.random.default_rng(1)
    x, y, _ = gaussian_pair(2000, 0.6, seed=1)
    z = rng.standard_normal((2000, 1))
    assert np.isfinite(mmgap.estimate_mi(x, y, z, n_steps=300, device="cuda", verbose=False).mi)
    labels = (x[:, 0] > 0).astype(int)
    res = mmgap.estimate_mi(y, labels, y_discrete=True, n_steps=300, device="cuda",
                            verbose=False)
    assert np.isfinite(res.mi) and res.p_value is not None
    pw = mmgap.pointwise_mi(x, y, n_steps=300, device="cuda", verbose=False)
    assert pw.values.shape == (2000,) and np.all(np.isfinite(pw.values))
    h = mmgap.estimate_entropy(x, n_steps=300, device="cuda", verbose=False)
    assert np.isfinite(h.mi)


def test_matrix_on_cuda():
    x, y, _ = gaussian_pair(2000, 0.8, seed=2)
    m = mmgap.mi_matrix(np.hstack([x, y, np.random.default_rng(99).standard_normal((2000, 1))]),
                        n_steps=300, device="cuda", verbose=False)
    off = ~np.eye(3, dtype=bool)  # the diagonal is not estimated (NaN)
    assert np.all(np.isfinite(m.mi[off])) and m.mi[0, 1] > m.mi[0, 2]


def test_fit_on_cuda_save_and_load_on_cpu(tmp_path):
    x, y, _ = gaussian_pair(2000, 0.75, seed=3)
    est = mmgap.MMGEstimator(n_steps=300, device="cuda", verbose=False, random_state=0)
    est.fit(x[:1600], y[:1600])
    before = est.estimate(x[1600:], y[1600:]).mi
    path = est.save(tmp_path / "est")
    cpu = mmgap.MMGEstimator.load(path, device="cpu")
    after = cpu.estimate(x[1600:], y[1600:]).mi
    assert np.isfinite(after)
    # same weights, other device and random stream: the Monte Carlo error of 400 rows
    assert abs(after - before) < 0.1
