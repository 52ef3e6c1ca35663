"""Image inputs: data loaders, the self-consistency construction and bookkeeping, the conv
U-Net, per-channel standardisation, image-shaped estimator input and the selfcheck CLI."""

import gzip
import json
import math
import struct

import numpy as np
import pytest
import torch

from mmgap.cli import main
from mmgap.estimator import MMGEstimator, fit_estimate
from mmgap.images import load_digits_images, load_mnist_images, read_idx
from mmgap.networks import ConvUNet, unet_levels
from mmgap.preprocessing import ChannelStandardizer, scaler_from_dict
from mmgap.selfcheck import (SelfCheckPlan, make_pairs, mask_rows, ratio_with_stderr,
                             run_selfcheck)
from mmgap.types import MIResult


def write_idx(path, arr, gz=False):
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(">u1").tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_and_npz_mnist_loaders(tmp_path, gz):
    arr = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    p = tmp_path / ("imgs.idx3-ubyte" + (".gz" if gz else ""))
    write_idx(p, arr, gz)
    np.testing.assert_array_equal(read_idx(p), arr)
    imgs, levels = load_mnist_images(p)
    assert levels == 256 and imgs.shape == (5, 28, 28) and imgs.dtype == np.int64
    np.savez(tmp_path / "m.npz", x_train=arr)
    np.testing.assert_array_equal(load_mnist_images(tmp_path / "m.npz")[0], arr)


def test_mnist_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="never downloaded"):
        load_mnist_images(tmp_path / "missing.idx")
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        load_mnist_images(tmp_path / "bad.idx")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 28, 28)), b=np.zeros(3))
    with pytest.raises(ValueError, match="expected one named"):
        load_mnist_images(tmp_path / "two.npz")


def test_digits_and_the_construction():
    images, levels = load_digits_images()
    assert images.shape == (1797, 8, 8) and levels == 17 and images.max() == 16
    a, b = make_pairs(images, levels, 500, 0.5, np.random.default_rng(0))
    assert a.shape == b.shape == (500, 8, 8)
    assert a.min() >= 0 and a.max() < 1  # dequantised into [0, 1)
    # every A lies in the box of some real image: floor(17 A) is an image of the data set
    pix = np.floor(a * levels).astype(int).reshape(500, -1)
    known = {row.tobytes() for row in images.reshape(len(images), -1)}
    assert all(row.tobytes() in known for row in pix)
    b3 = mask_rows(b, 3)
    assert np.all(b3[:, 3:] == 0) and np.array_equal(b3[:, :3], b[:, :3])
    # B_r is a function of B_(r+k): masking B_5 to 3 rows gives B_3
    assert np.array_equal(mask_rows(mask_rows(b, 5), 3), b3)


def test_plans_cover_what_the_ratios_need():
    for h, quick in [(8, True), (8, False), (28, True), (28, False)]:
        plan = SelfCheckPlan.default(h, quick)
        plan.check(h)
        assert h in plan.baseline_rows and all(r + plan.dp_k <= h for r in plan.dp_rows)
    with pytest.raises(ValueError, match="baseline_rows"):
        SelfCheckPlan([2, 4], [2], 2, [4]).check(8)
    with pytest.raises(ValueError, match="dp_rows"):
        SelfCheckPlan([4, 8], [7], 2, [4]).check(8)


def test_ratio_stderr_delta_method():
    r, se = ratio_with_stderr(MIResult(mi=2.0, stderr=0.2), MIResult(mi=1.0, stderr=0.05))
    assert r == 2.0 and se == pytest.approx(2.0 * math.hypot(0.1, 0.05))


def _fake_estimate(truth_per_row, noise=0.0):
    """An 'estimator' returning the exact MI of the construction's structure: each kept
    row adds truth_per_row[row] nats; extra views add nothing; independent pairs add up."""

    def estimate(x, y, seed):
        rng = np.random.default_rng(seed)
        if x.ndim == 4 and x.shape[1] == 2:  # additivity: two independent pairs
            rows = int((np.abs(y[:, 0]).sum(axis=(0, 2)) > 0).sum())
            mi = 2 * sum(truth_per_row[:rows])
        else:
            yy = y if y.ndim == 3 else y[:, 0]  # data processing: the first view has more rows
            rows = int((np.abs(yy).sum(axis=(0, 2)) > 0).sum())
            mi = sum(truth_per_row[:rows])
        return MIResult(mi=mi + noise * rng.standard_normal(), stderr=0.01)

    return estimate


def test_run_selfcheck_passes_an_exact_estimator_and_fails_a_wrong_one():
    images, levels = load_digits_images()
    per_row = [0.05, 0.2, 0.3, 0.3, 0.3, 0.3, 0.2, 0.05]
    res = run_selfcheck(images, levels, _fake_estimate(per_row), n_samples=200, quick=True,
                        progress=False)
    assert res.passed, res.tests
    assert res.tests["additivity"]["ratios"] == pytest.approx([2.0, 2.0])
    assert res.tests["data_processing"]["ratios"] == pytest.approx([1.0, 1.0])
    base = res.tests["baseline"]["ratios"]
    assert base == sorted(base) and base[-1] == 1.0
    d = res.to_dict()
    assert json.loads(json.dumps(d))["passed"] is True
    assert set(d["tests"]) == {"baseline", "data_processing", "additivity"}

    def sum_of_views(x, y, seed):  # double counts the extra view: data processing must fail
        if y.ndim == 4 and x.ndim == 3:
            rows = sum(int((np.abs(y[:, c]).sum(axis=(0, 2)) > 0).sum()) for c in range(2))
            return MIResult(mi=sum(per_row[:min(rows, 8)]) + 0.5, stderr=0.01)
        return _fake_estimate(per_row)(x, y, seed)

    bad = run_selfcheck(images, levels, sum_of_views, n_samples=200, quick=True, progress=False)
    assert not bad.tests["data_processing"]["passed"] and not bad.passed
    assert bad.tests["baseline"]["passed"] and bad.tests["additivity"]["passed"]


def test_channel_standardizer():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.normal(3, 2, (100, 16)), rng.normal(-1, 0.5, (100, 16))], axis=1)
    a[:, 0] = 5.0  # a constant pixel is fine
    s = ChannelStandardizer(2).fit(a)
    t = s.transform(a).reshape(100, 2, 16)
    assert np.allclose(t.mean(axis=(0, 2)), 0) and np.allclose(t.std(axis=(0, 2)), 1)
    again = scaler_from_dict(s.to_dict())
    np.testing.assert_allclose(again.transform(a), s.transform(a))
    with pytest.raises(ValueError, match="channel 1 is constant"):
        ChannelStandardizer(2).fit(np.concatenate([a[:, :16], np.ones((100, 16))], axis=1))


def test_unet_levels_and_shapes():
    assert unet_levels(8, 8) == 1 and unet_levels(28, 28) == 2 and unet_levels(5, 5) == 0
    torch.manual_seed(0)
    for x_shape, y_shape in [((1, 8, 8), (2, 8, 8)), ((2, 28, 28), (10,)), ((1, 5, 7), (1, 5, 7))]:
        net = ConvUNet(x_shape, y_shape, width=8)
        b = 3
        dx, dy = int(np.prod(x_shape)), int(np.prod(y_shape))
        out = net(torch.randn(b, dx), torch.randn(b), torch.randn(b, dy), torch.ones(b))
        assert out.shape == (b, dx)
        assert torch.all(out == 0)  # zero-initialised output layer
    with pytest.raises(ValueError, match="y_shape"):
        ConvUNet((1, 8, 8), (1, 4, 4))


def test_unet_null_embedding_replaces_y_where_keep_is_zero():
    torch.manual_seed(1)
    net = ConvUNet((1, 8, 8), (1, 8, 8), width=8)
    torch.nn.init.normal_(net.out.weight)
    z, lam = torch.randn(2, 64), torch.zeros(2)
    y1, y2 = torch.randn(2, 64), torch.randn(2, 64)
    keep0 = torch.zeros(2)
    assert torch.allclose(net(z, lam, y1, keep0), net(z, lam, y2, keep0))
    assert not torch.allclose(net(z, lam, y1, torch.ones(2)), net(z, lam, y2, torch.ones(2)))


@pytest.mark.parametrize("network", ["mlp", "conv"])
def test_estimator_takes_images_and_round_trips(tmp_path, network):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((600, 6, 6))
    b = mask_rows(a + rng.standard_normal(a.shape), 3)  # masked rows are constant: allowed
    est, res, (xt, yt) = fit_estimate(a, b, random_state=0, n_steps=30, network=network,
                                      verbose=False)
    assert res.diagnostics["network"]["kind"] == network and np.isfinite(res.mi)
    assert xt.shape == (120, 6, 6)
    est.save(tmp_path / "e")
    again = MMGEstimator.load(tmp_path / "e", device="cpu")
    assert again.estimate(xt, yt).mi == pytest.approx(res.mi, rel=1e-6)
    with pytest.raises(ValueError, match="images of shape"):
        est.estimate(xt[:, :5, :5], yt[:, :5, :5])


def test_conv_network_needs_images():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 4))
    with pytest.raises(ValueError, match="network: 'conv' needs image-shaped x"):
        MMGEstimator(network="conv", n_steps=5).fit(x, x)
    with pytest.raises(ValueError, match="network"):
        MMGEstimator(network="cnn", n_steps=5).fit(x, x)


def test_selfcheck_cli_quick_json_and_errors(capsys, tmp_path):
    code = main(["selfcheck", "--quick", "--n-samples", "200", "--steps", "10", "--json",
                 "--quiet", "--plot", str(tmp_path / "sc.png"), "--weight-decay", "0.2"])
    out = json.loads(capsys.readouterr().out)
    assert code == (0 if out["passed"] else 1)
    assert out["weight_decay"] == 0.2
    assert set(out["tests"]) == {"baseline", "data_processing", "additivity"}
    assert all("passed" in t and "ratios" in t for t in out["tests"].values())
    assert (tmp_path / "sc.png").stat().st_size > 0
    assert main(["selfcheck", "--dataset", "mnist"]) == 2
    assert "--mnist" in capsys.readouterr().err
    assert main(["selfcheck", "--dataset", "mnist", "--mnist", str(tmp_path / "nope.idx")]) == 2
    assert "never downloaded" in capsys.readouterr().err
    assert main(["selfcheck", "--quick", "--n-samples", "200", "--steps", "10",
                 "--weight-decay", "-1"]) == 2
    assert "weight_decay" in capsys.readouterr().err


def test_estimate_cli_takes_image_arrays(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a = rng.random((300, 6, 6))
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", mask_rows(a + rng.standard_normal(a.shape), 3))
    code = main(["estimate", "--x", str(tmp_path / "a.npy"), "--y", str(tmp_path / "b.npy"),
                 "--steps", "10", "--network", "conv", "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["diagnostics"]["network"]["kind"] == "conv"


def test_vector_baselines_flatten_images_and_say_so():
    from mmgap.methods import run_method

    rng = np.random.default_rng(1)
    a = rng.random((400, 4, 4))
    res = run_method("cca", a, a + rng.standard_normal(a.shape))
    assert res.diagnostics["flattened_images"] == ["x", "y"] and res.mi > 0


def test_weight_decay_auto_is_on_for_images_only():
    from mmgap.estimator import IMAGE_WEIGHT_DECAY, MMGEstimator

    rng = np.random.default_rng(0)
    img = rng.standard_normal((80, 4, 4))
    vec = rng.standard_normal((80, 3))
    kw = dict(n_steps=4, batch_size=16, verbose=False, random_state=0)
    cases = [(img, img + rng.standard_normal(img.shape), None, IMAGE_WEIGHT_DECAY),
             (vec, img, None, IMAGE_WEIGHT_DECAY),  # an image-shaped y is enough
             (vec, vec + rng.standard_normal(vec.shape), None, 0.0),
             (img, img, 0.05, 0.05)]
    for x, y, wd, want in cases:
        est = MMGEstimator(weight_decay=wd, **kw).fit(x[:60], y[:60])
        assert est.estimate(x[60:], y[60:]).diagnostics["weight_decay"] == want
    with pytest.raises(ValueError, match="weight_decay"):
        MMGEstimator(weight_decay=-0.1, **kw).fit(vec, vec)
