"""Atomic save, explicit overwrite, and a load that validates everything first."""

import json
import os

import numpy as np
import pytest
import torch

from mmgap import MMGEstimator
from mmgap.cli import main

FAST = dict(n_steps=30, verbose=False, random_state=0, n_permutations=0)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = x + rng.normal(size=(300, 2))
    return MMGEstimator(**FAST).fit(x[:240], y[:240]), x[240:], y[240:]


def test_save_refuses_to_overwrite_and_replaces_with_overwrite(tmp_path, fitted):
    est, x, y = fitted
    path = est.save(tmp_path / "m")
    assert sorted(os.listdir(path)) == ["config.json", "weights.pt"]
    with pytest.raises(ValueError, match="overwrite=True"):
        est.save(path)
    est.save(path, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["m"]  # no temporary directories left behind
    assert MMGEstimator.load(path, device="cpu").estimate(x, y).mi == pytest.approx(est.estimate(x, y).mi)
    empty = tmp_path / "empty"
    empty.mkdir()
    est.save(empty)  # an empty directory is fine
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        est.save(tmp_path / "file")


def test_failed_save_leaves_the_old_model(tmp_path, fitted, monkeypatch):
    est, x, y = fitted
    path = est.save(tmp_path / "m")
    before = (path / "config.json").read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("mmgap.persistence.json.dumps", boom)
    with pytest.raises(OSError, match="disk full"):
        est.save(path, overwrite=True)
    assert (path / "config.json").read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["m"]


def _tamper(path, fn):
    cfg = json.loads((path / "config.json").read_text())
    fn(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("edit,match", [
    (lambda c: c["fitted"].pop("dim_x"), r"fitted.dim_x: missing"),
    (lambda c: c["fitted"].update(dim_x="two"), r"fitted.dim_x: expected an integer"),
    (lambda c: c["fitted"].update(width=-3), r"fitted.width: expected a positive"),
    (lambda c: c["fitted"]["x_scaler"].update(params="bad"), r"fitted.x_scaler: not a valid"),
    (lambda c: c["fitted"]["x_scaler"]["params"][0][5].reverse(),
     r"fitted.x_scaler: not a valid.*sorted"),
    (lambda c: c["fitted"].update(proposal={"kind": "nope"}), r"fitted.proposal: not a valid"),
    (lambda c: c["fitted"]["training"].pop("steps"), r"fitted.training.steps: missing"),
    (lambda c: c["fitted"].update(learning={"half_step": 1, "chosen_step": 2, "growth": "up"}),
     r"fitted.learning.growth: expected"),
    (lambda c: c["params"].update(variant="sideways"), r"params.variant"),
    (lambda c: c["params"].update(bogus=1), r"params: .*bogus"),
    (lambda c: c.update(fitted=[]), r"config.fitted: expected an object"),
    (lambda c: c.update(weights_sha256="0" * 64), r"does not match the weights_sha256"),
    (lambda c: c["fitted"].update(dim_x=3), r"does not fit the network"),
    (lambda c: c.update(format="other"), r"not a saved MMGEstimator"),
])
def test_tampered_config_gives_one_clear_error(tmp_path, fitted, edit, match):
    est, _, _ = fitted
    path = est.save(tmp_path / "m")
    _tamper(path, edit)
    with pytest.raises(ValueError, match=match):
        MMGEstimator.load(path, device="cpu")


def test_nan_in_config_or_weights_is_refused(tmp_path, fitted):
    est, _, _ = fitted
    path = est.save(tmp_path / "m")
    text = (path / "config.json").read_text().replace('"seconds_fit": ', '"seconds_fit": NaN, "x": ', 1)
    (path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="finite"):
        MMGEstimator.load(path, device="cpu")
    path = est.save(tmp_path / "w")
    state = torch.load(path / "weights.pt", weights_only=True)
    key = next(k for k, v in state.items() if torch.is_floating_point(v))
    state[key] = state[key] * float("nan")
    torch.save(state, path / "weights.pt")
    _tamper(path, lambda c: c.pop("weights_sha256"))
    with pytest.raises(ValueError, match="non-finite"):
        MMGEstimator.load(path, device="cpu")
    (path / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable weights file"):
        MMGEstimator.load(path, device="cpu")


def test_cli_checks_output_paths_before_training(tmp_path, capsys, gaussian_1d):
    x, y = gaussian_1d(200, 0)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    cases = [(["--save", str(tmp_path / "full")], "--overwrite"),
             (["--plot", str(tmp_path / "nodir" / "p.png")], "--plot"),
             (["--plot", str(tmp_path)], "is a directory")]
    for extra, msg in cases:
        code = main(["estimate", str(tmp_path / "d.npz"), "--steps", "5000", "--quiet", *extra])
        err = capsys.readouterr().err
        assert code == 2 and msg in err, err  # refused at once: 5000 steps never ran
    code = main(["estimate", str(tmp_path / "d.npz"), "--steps", "20", "--quiet", "--permutations", "0",
                 "--save", str(tmp_path / "full"), "--overwrite"])
    assert code == 0 and (tmp_path / "full" / "config.json").is_file()
