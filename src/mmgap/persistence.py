"""Saving and loading a fitted MMGEstimator: ``DIR/config.json`` (parameters, preprocessing,
proposal, the SHA-256 of the weights) and ``DIR/weights.pt`` (the EMA state_dict).

- :func:`save_estimator` is atomic: both files are written into a temporary directory beside
  ``DIR``, flushed to disk, and the directory is renamed into place. An existing ``DIR`` is
  replaced only with ``overwrite=True``. A save that fails half-way leaves ``DIR`` as it was.
- :func:`load_estimator` validates the whole config (types, ranges, finite numbers, the weights'
  hash) before building anything; every problem is one ValueError naming the file and the
  field. Weights are read with ``weights_only=True``; nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

import torch

from .base import resolve_device
from .logsnr import proposal_from_dict
from .networks import build_network
from .preprocessing import OneHot, scaler_from_dict
from .training import DiscretePrior, EpsDenoiser, GaussianPrior, TrainingLog

__all__ = ["save_estimator", "load_estimator", "CONFIG_FILE", "WEIGHTS_FILE"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
FORMAT = "mmgap-estimator"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_estimator(est, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``est`` (fitted) to the directory ``path`` atomically; returns the directory."""
    est._check_is_fitted("model_")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"path: {str(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"path: {str(out)!r} already exists and is not empty; pass "
                         "overwrite=True (--overwrite) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.saving-", dir=out.parent))
    try:
        torch.save(est.model_.state_dict(), tmp / WEIGHTS_FILE)
        _fsync(tmp / WEIGHTS_FILE)
        config = est._config()
        config["weights_sha256"] = _sha256(tmp / WEIGHTS_FILE)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        _fsync(tmp / CONFIG_FILE)
        if out.exists():  # swap: the old directory is moved aside, then removed
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "d")
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
        _fsync(out.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


# ----------------------------------------------------------------------------- validation

class _Invalid(ValueError):
    pass


def _get(d: Dict[str, Any], key: str, where: str, kinds, *, optional: bool = False,
         positive: bool = False, nonneg: bool = False):
    if not isinstance(d, dict):
        raise _Invalid(f"{where}: expected an object")
    if key not in d:
        if optional:
            return None
        raise _Invalid(f"{where}.{key}: missing")
    value = d[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in kinds:
        raise _Invalid(f"{where}.{key}: expected {_names(kinds)}, got {value!r}")
    if not isinstance(value, kinds):
        raise _Invalid(f"{where}.{key}: expected {_names(kinds)}, got {type(value).__name__}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _Invalid(f"{where}.{key}: expected a finite number, got {value!r}")
        if positive and value <= 0:
            raise _Invalid(f"{where}.{key}: expected a positive number, got {value!r}")
        if nonneg and value < 0:
            raise _Invalid(f"{where}.{key}: expected a number >= 0, got {value!r}")
    return value


def _names(kinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join({int: "an integer", float: "a number", str: "a string", dict: "an object",
                        list: "a list", bool: "true/false"}[k] for k in kinds)


def _check_finite(value, where: str) -> None:
    """Every number in a nested config is finite (NaN/inf in scalers would poison results)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Invalid(f"{where}: expected a finite number, got {value!r}")


def _shape(d, key, where):
    shape = _get(d, key, where, list, optional=True)
    if shape is not None and (not shape or not all(isinstance(s, int) and not isinstance(s, bool)
                                                    and s > 0 for s in shape)):
        raise _Invalid(f"{where}.{key}: expected a list of positive integers, got {shape!r}")
    return None if shape is None else tuple(shape)


def _validate(cfg, cls) -> Dict[str, Any]:
    if not isinstance(cfg, dict):
        raise _Invalid("expected a JSON object")
    if cfg.get("format") != FORMAT or cfg.get("class") != cls.__name__:
        raise _Invalid(f"not a saved {cls.__name__} (format/class fields)")
    params = _get(cfg, "params", "config", dict)
    f = _get(cfg, "fitted", "config", dict)
    _check_finite(f, "fitted")
    out = {"params": params}
    for key in ("dim_x", "dim_y", "dim_y_in", "width"):
        out[key] = _get(f, key, "fitted", int, positive=True)
    out["depth"] = _get(f, "depth", "fitted", int, nonneg=True)  # the U-Net's is 0
    for key in ("n_train", "n_validation"):
        out[key] = _get(f, key, "fitted", int, nonneg=True)
    out["estimate_seed"] = _get(f, "estimate_seed", "fitted", int, nonneg=True)
    out["seconds_fit"] = _get(f, "seconds_fit", "fitted", (int, float), nonneg=True)
    out["network"] = _get(f, "network", "fitted", str, optional=True) or "mlp"
    if out["network"] not in ("mlp", "conv"):
        raise _Invalid(f"fitted.network: expected 'mlp' or 'conv', got {out['network']!r}")
    out["x_image_shape"] = _shape(f, "x_image_shape", "fitted")
    out["y_image_shape"] = _shape(f, "y_image_shape", "fitted")
    out["z_image_shape"] = _shape(f, "z_image_shape", "fitted")
    for key in ("dim_z", "dim_z_in"):  # absent in saves from before conditional MI
        out[key] = _get(f, key, "fitted", int, optional=True, nonneg=True) or 0
    # absent in saves from before discrete columns: nothing was discrete but labels
    out["dim_x_in"] = _get(f, "dim_x_in", "fitted", int, optional=True, positive=True) or out["dim_x"]
    for key in ("x_discrete", "y_discrete", "z_discrete"):
        cols = _get(f, key, "fitted", list, optional=True) or []
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cols):
            raise _Invalid(f"fitted.{key}: expected a list of column indices")
        out[key] = cols
    for key in ("y_labels", "z_labels", "swapped"):
        out[key] = _get(f, key, "fitted", (bool,), optional=True)
    out["adaptation"] = _get(f, "adaptation", "fitted", dict, optional=True)
    out["auto"] = _get(f, "auto", "fitted", dict, optional=True)
    # absent in saves from before the Gaussian-copula cross-check: no check
    g = _get(f, "gaussian_check", "fitted", dict, optional=True)
    if g is not None:
        _get(g, "mi", "fitted.gaussian_check", (int, float))
        _get(g, "stderr", "fitted.gaussian_check", (int, float), nonneg=True)
    out["gaussian_check"] = g
    lin = _get(f, "linear_test", "fitted", dict, optional=True)
    if lin is not None:
        p = _get(lin, "p_value", "fitted.linear_test", (int, float), positive=True)
        if p > 1:
            raise _Invalid(f"fitted.linear_test.p_value: expected a number in (0, 1], got {p!r}")
    out["linear_test"] = lin
    out["variant"] = _get(f, "variant", "fitted", str, optional=True)
    out["label_entropy"] = _get(f, "label_entropy", "fitted", (int, float), optional=True,
                                nonneg=True)
    t = _get(f, "training", "fitted", dict)
    out["training"] = {
        "steps": _get(t, "steps", "fitted.training", int, nonneg=True),
        "seconds": _get(t, "seconds", "fitted.training", (int, float), nonneg=True),
        "stopped_reason": _get(t, "stopped_reason", "fitted.training", str, optional=True),
        "phases": _get(t, "phases", "fitted.training", list, optional=True) or [],
        "final_loss": _get(t, "final_loss", "fitted.training", (int, float), optional=True),
        "best_step": _get(t, "best_step", "fitted.training", int, optional=True, nonneg=True),
        "eval_every": _get(t, "eval_every", "fitted.training", int, optional=True, nonneg=True),
    }
    lr = _get(f, "learning", "fitted", dict, optional=True)
    if lr is not None:
        lr = {"half_step": _get(lr, "half_step", "fitted.learning", int, nonneg=True),
              "chosen_step": _get(lr, "chosen_step", "fitted.learning", int, nonneg=True),
              "growth": _get(lr, "growth", "fitted.learning", (int, float), optional=True),
              "growth_stderr": _get(lr, "growth_stderr", "fitted.learning", (int, float),
                                    optional=True, nonneg=True),
              "steps": [], "mi": []}  # the per-checkpoint curve is not saved
    out["learning"] = lr
    for key, build in (("proposal", proposal_from_dict), ("x_scaler", scaler_from_dict),
                       ("y_scaler", scaler_from_dict), ("z_scaler", scaler_from_dict),
                       ("y_encoder", lambda d: None if d is None else OneHot.from_dict(d)),
                       ("z_encoder", lambda d: None if d is None else OneHot.from_dict(d))):
        raw = _get(f, key, "fitted", dict, optional=key != "proposal")
        try:
            out[key] = build(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise _Invalid(f"fitted.{key}: not a valid {key.replace('_', ' ')} ({err})") from None
    for key in ("x_scaler", "y_scaler", "z_scaler"):
        std = getattr(out[key], "std", None)
        if std is not None and not (std > 0).all():
            raise _Invalid(f"fitted.{key}.std: expected positive values")
    out["weights_sha256"] = _get(cfg, "weights_sha256", "config", str, optional=True)
    return out


def load_estimator(cls, path: str | os.PathLike, device: str = "auto"):
    """Load an estimator of class ``cls`` written by :func:`save_estimator`."""
    p = Path(path)
    cfg_file, w_file = p / CONFIG_FILE, p / WEIGHTS_FILE
    if not cfg_file.is_file() or not w_file.is_file():
        raise ValueError(f"path: expected a directory with {CONFIG_FILE} and {WEIGHTS_FILE}, got {str(p)!r}")
    try:
        cfg = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"path: {cfg_file} is not valid JSON ({err})") from None
    try:
        v = _validate(cfg, cls)
    except _Invalid as err:
        raise ValueError(f"path: {cfg_file}: {err}") from None
    if v["weights_sha256"] is not None and _sha256(w_file) != v["weights_sha256"]:
        raise ValueError(f"path: {w_file} does not match the weights_sha256 in {cfg_file} "
                         "(a partial or mixed save?)")
    params = dict(v["params"])
    params["device"] = device
    try:
        est = cls(**params)
        est._check_params()
    except TypeError as err:
        raise ValueError(f"path: {cfg_file}: params: {err}") from None
    except ValueError as err:
        raise ValueError(f"path: {cfg_file}: params.{err}") from None
    est.device_ = resolve_device(device)
    est.dim_x_, est.dim_y_, est.dim_y_in_ = v["dim_x"], v["dim_y"], v["dim_y_in"]
    est.n_train_, est.n_validation_ = v["n_train"], v["n_validation"]
    est.x_scaler_, est.y_scaler_, est.y_encoder_ = v["x_scaler"], v["y_scaler"], v["y_encoder"]
    est.proposal_ = v["proposal"]
    est.adaptation_ = v["adaptation"]
    est.variant_ = v["variant"] or est.variant
    if est.variant_ == "auto":
        raise ValueError(f"path: {cfg_file}: fitted.variant: expected a resolved variant, got 'auto'")
    est.auto_ = v["auto"]
    est.gaussian_check_ = v["gaussian_check"]
    est.linear_test_ = v["linear_test"]
    if v["label_entropy"] is not None:
        est.label_entropy_ = float(v["label_entropy"])
    est._estimate_seed_ = v["estimate_seed"]
    est.seconds_fit_ = v["seconds_fit"]
    t = v["training"]
    log = TrainingLog(steps=t["steps"], seconds=t["seconds"], stopped_reason=t["stopped_reason"],
                      phases=t["phases"])
    if t["final_loss"] is not None:
        log.loss_steps, log.loss_values = [log.steps], [t["final_loss"]]
    log.best_step = t["best_step"]
    if t["eval_every"] is not None:
        est.eval_every_ = t["eval_every"]
    est.training_log_ = log
    est.learning_ = v["learning"]
    est.network_kind_ = v["network"]
    est.x_image_shape_, est.y_image_shape_ = v["x_image_shape"], v["y_image_shape"]
    est.dim_z_, est.dim_z_in_, est.has_z_ = v["dim_z"], v["dim_z_in"], v["dim_z"] > 0
    est.z_scaler_, est.z_encoder_, est.z_image_shape_ = v["z_scaler"], v["z_encoder"], v["z_image_shape"]
    est.dim_x_in_ = v["dim_x_in"]
    est.swapped_ = bool(v["swapped"])
    est.x_discrete_, est.y_discrete_, est.z_discrete_ = v["x_discrete"], v["y_discrete"], v["z_discrete"]
    est.y_labels_ = est.y_encoder_ is not None if v["y_labels"] is None else v["y_labels"]
    est.z_labels_ = est.z_encoder_ is not None if v["z_labels"] is None else v["z_labels"]
    if est.y_labels_:
        est.y_discrete_ = [0]
    if est.z_labels_:
        est.z_discrete_ = [0]
    try:
        state = torch.load(w_file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise ValueError(f"path: {w_file} is not a readable weights file ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise ValueError(f"path: {w_file} does not hold a state_dict")
    try:
        net = build_network(est.network_kind_, est.dim_x_, est.dim_y_, width=v["width"],
                            depth=v["depth"], x_shape=est.x_image_shape_, y_shape=est.y_image_shape_,
                            dim_context=est.dim_z_)
        prior = GaussianPrior(est.dim_x_, est.dim_y_, est.dim_z_) if "prior.b" in state else None
        if "prior.atoms" in state:
            prior = DiscretePrior(state["prior.atoms"].shape[0], est.dim_x_,
                                  state["prior.y_keys"].shape[0], est.dim_y_)
        model = EpsDenoiser(net, prior)
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"path: {w_file} does not fit the network described in {cfg_file} "
                         f"({first})") from None
    for name, tensor in state.items():
        if torch.is_floating_point(tensor) and not torch.isfinite(tensor).all():
            raise ValueError(f"path: {w_file}: {name} holds non-finite values")
    est.model_ = model.to(est.device_).eval().requires_grad_(False)
    return est
