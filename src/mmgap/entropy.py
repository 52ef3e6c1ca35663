"""Differential entropy h(X) and h(X|Y) from the same kind of denoiser as the MI.

Maths (docs/design-notes.md, note 18). For any fixed reference density g with optimal
eps-denoiser eps_g, the mismatched-estimation identity gives

    D(p || g) = 1/2 * integral over logsnr of [ mse_g(logsnr) - mmse_p(logsnr) ] d logsnr,

where mse_g is the error of eps_g on data from p. With g the Gaussian fitted to the training
data (:class:`mmgap.training.GaussianPrior`), ``-E_p log g(X)`` is exact on held-out points
and

    h(X) = -E_p log g(X) - D(p || g).

The fitted denoiser is eps_hat = eps_g - alpha F (the Gaussian prior plus a network), so the
orthogonal integrand ||eps_g - eps_hat||^2 = alpha^2 ||F||^2 is the network's correction:
zero for Gaussian data, and everything the Gaussian misses otherwise. h(X|Y) is the same with
the conditional Gaussian (linear regression of x on y) and the conditional pass.

The estimate is made on preprocessed data u = T(x); h(X) = h(U) - E log|det dT/dx|. Only maps
with a known Jacobian are accepted: "gaussianize" (the default here: per column u =
Phi^-1(F(x)) with F a fitted Gaussian-mixture CDF, so du/dx = f(x) / phi(u) is known at each
row), "standardize" (affine, a constant term), "none", and the per-channel image
standardisation. The rank-to-normal map of the
MI estimator is refused: its Jacobian is the density being estimated.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Optional

import numpy as np
import torch

from .estimator import MMGEstimator, discrete_spec, train_test_split_indices
from .gap import mc_mean_stderr, mismatch_draws
from .inference import MODEL_ERROR_REL
from .types import MIResult, MMGWarning, nats_to
from .validation import (as_2d_array, check_finite, code_text_inputs, check_fraction, check_random_state,
                         label_column, resolve_discrete,
                         check_xy, split_image)

__all__ = ["EntropyEstimator", "estimate_entropy"]

_FORMS = ("direct", "orthogonal")


class EntropyEstimator(MMGEstimator):
    """Differential entropy h(X), or h(X|Y), from a denoiser built on a fitted Gaussian.

    ``fit(x)`` trains an unconditional denoiser of x; ``fit(x, y)`` a conditional one (y
    withheld with probability ``p_uncond``), from which ``estimate(x)`` gives h(X) and
    ``estimate(x, y)`` gives h(X|Y). Results are :class:`mmgap.types.MIResult` with
    ``quantity`` "entropy" or "conditional_entropy" (in ``units``; may be negative).

    Parameters are those of :class:`mmgap.MMGEstimator`, with these differences:
    ``variant`` "orthogonal" (default; the squared network correction) or "direct" (the
    difference of denoising errors); ``preprocess`` "gaussianize" (default: a per-column
    Gaussian-mixture CDF then the normal quantile, whose Jacobian is known per row),
    "standardize" (affine) or "none" ("rank" is refused: its Jacobian is unknown; the default
    was chosen on distributions outside the entropy suite,
    benchmarks/entropy_preprocess_select.py); ``gaussian_prior`` is always on (it is the
    reference); ``n_permutations`` is unused; the log-SNR window defaults to a wider one,
    loc 2, scale 2, clip 5 ([-8, 12]), because the divergence from the Gaussian sits at high
    SNR for data with sharp features (docs/benchmarks/entropy.md).
    """

    def __init__(self, variant: str = "orthogonal", n_steps: int = 6000,
                 batch_size: int = 256, learning_rate: float = 2e-3,
                 weight_decay: Optional[float] = None,
                 width: Optional[int] = None, depth: Optional[int] = None,
                 p_uncond: float = 0.5, ema_decay: float = 0.995,
                 max_seconds: Optional[float] = None, logsnr_loc: float = 2.0,
                 logsnr_scale: float = 2.0, logsnr_clip: float = 5.0,
                 pilot_fraction: float = 0.3, validation_fraction: float = 0.1,
                 patience: Optional[int] = 4, k_draws: Optional[int] = None,
                 preprocess: str = "gaussianize", y_discrete: Any = "auto",
                 units: str = "nats", device: str = "auto", random_state: Optional[int] = None,
                 verbose: bool = True, network: str = "auto",
                 gaussian_prior: Optional[bool] = None, n_permutations: int = 0,
                 z_discrete: Any = "auto", x_discrete: Any = "auto"):
        super().__init__(
            variant=variant, n_steps=n_steps, batch_size=batch_size,
            learning_rate=learning_rate, weight_decay=weight_decay, width=width, depth=depth,
            p_uncond=p_uncond, ema_decay=ema_decay, max_seconds=max_seconds,
            logsnr_loc=logsnr_loc, logsnr_scale=logsnr_scale, logsnr_clip=logsnr_clip,
            pilot_fraction=pilot_fraction, validation_fraction=validation_fraction,
            patience=patience, k_draws=k_draws, preprocess=preprocess, y_discrete=y_discrete,
            units=units, device=device, random_state=random_state, verbose=verbose,
            network=network, gaussian_prior=gaussian_prior, n_permutations=n_permutations,
            z_discrete=z_discrete, x_discrete=x_discrete)

    _can_swap = False  # h(X|Y) is not symmetric in X and Y
    # the prior is the reference density of h(X|Y): its regression on y stays the plain fit
    _shrink_prior = False

    def _check_params(self) -> None:
        super()._check_params()
        if self.variant not in _FORMS:
            raise ValueError(f"variant: expected one of {list(_FORMS)} for entropy, got "
                             f"{self.variant!r}")
        if self.preprocess in ("rank", "rank-knots"):
            raise ValueError(f"preprocess: {self.preprocess!r} changes the entropy by an unknown "
                             "amount (its Jacobian is the density being estimated); use "
                             "'gaussianize', 'standardize' or 'none'")
        if self.gaussian_prior is False:
            raise ValueError("gaussian_prior: the entropy estimator needs the Gaussian prior "
                             "(it is the reference density); leave it None or True")

    def _use_prior(self) -> bool:
        return True

    def fit(self, x: Any, y: Any = None, z: Any = None) -> "EntropyEstimator":
        """Train on x (for h(X)) or on (x, y) (for h(X) and h(X|Y)). Returns self."""
        if z is not None:
            raise ValueError("z: conditioning on a third variable is not supported for entropy; "
                             "pass the condition as y")
        xf, x_shape = split_image(x, "x")
        if x_shape is None:
            self._check_params()
            xa = check_finite(as_2d_array(xf, "x"), "x")
            cols = resolve_discrete(self.x_discrete, xa, "x", "x_discrete")
            if cols:
                raise ValueError(
                    f"x_discrete: column(s) {cols} of x are discrete; the differential entropy "
                    "of a discrete variable is -infinity. If they are rounded measurements of a "
                    "continuous quantity, pass x_discrete=False")
        self._y_placeholder = y is None
        if y is None:
            xa, _ = split_image(x, "x")
            n = as_2d_array(xa, "x").shape[0]
            y = np.zeros((n, 1))
        super().fit(x, y)
        self.conditional_ = not self._y_placeholder
        return self

    def _dummy_y(self, n: int):
        """A valid y of n rows (its values are never used)."""
        if self.y_encoder_ is not None:
            return np.full(n, self.y_encoder_.classes[0])
        if self.y_image_shape_ is not None:
            return np.zeros((n, *self.y_image_shape_))
        return np.zeros((n, self.dim_y_in_))

    def _log_det_jacobian_rows(self, x: Any) -> np.ndarray:
        """log |det dU/dX| of the preprocessing at each row of x, shape (n,) (0 for "none")."""
        xa = as_2d_array(split_image(x, "x")[0], "x")
        if self.x_scaler_ is None:
            return np.zeros(xa.shape[0])
        return self.x_scaler_.log_abs_det_jacobian_rows(xa, "x")

    def estimate(self, x: Any, y: Any = None, z: Any = None) -> MIResult:
        """h(X) (``y`` None) or h(X|Y) on held-out samples, with a standard error.

        ``stderr`` = sqrt(se_mc^2 + (direct - orthogonal)^2 + (0.015 D)^2): the spread of the
        per-point values -log g(x_i) - d_i over the held-out points and draws, the
        disagreement of the two integrand forms, and the relative model-error floor of the MI
        (:data:`mmgap.inference.MODEL_ERROR_REL`) applied to the learned part D.
        """
        t0 = time.perf_counter()
        self._check_is_fitted("model_")
        if z is not None:
            raise ValueError("z: not supported for entropy")
        conditional = y is not None
        if conditional and not self.conditional_:
            raise ValueError("y: this estimator was fitted without y; refit with y for h(X|Y)")
        if not conditional:  # the marginal pass ignores y: any valid y will do
            xa, _ = split_image(x, "x")
            y = self._dummy_y(as_2d_array(xa, "x").shape[0])
        xt, yt, _ = self._prepare(x, y, fitting=False, min_samples=2)
        n = int(xt.shape[0])
        keep = 1.0 if conditional else 0.0
        gen = torch.Generator(device=self.device_).manual_seed(self._estimate_seed_)
        k = self._k_draws(n)
        prior = self.model_.prior
        draws = mismatch_draws(self.model_, prior, xt, yt, keep, self.proposal_, k, gen)
        cross = prior.cross_entropy(xt, yt if conditional else None).cpu().numpy()
        form = self.variant_
        other = "direct" if form == "orthogonal" else "orthogonal"
        div, _ = draws.estimate(form)
        div_o, _ = draws.estimate(other)
        jac_rows = self._log_det_jacobian_rows(x)
        # per row: -log g(u) - (divergence draws) - log|dU/dX|: h(X) = h(U) - E log|dU/dX|
        h, se_mc = mc_mean_stderr((cross - jac_rows)[:, None] - draws.mi_values(form))
        jac = float(jac_rows.mean())
        delta = div - div_o if form == "direct" else div_o - div  # direct - orthogonal
        se = math.sqrt(se_mc ** 2 + delta ** 2 + (MODEL_ERROR_REL * div) ** 2)
        flags = []
        if abs(delta) > max(0.5 * abs(div), 0.05):
            flags.append({"code": "forms_disagree",
                          "message": f"the direct and orthogonal integrands differ by "
                                     f"{delta:+.4f} nats against a divergence from the Gaussian "
                                     f"of {div:.4f}: the denoiser has not resolved the density; "
                                     "raise n_steps or the sample size",
                          "action": "interval widened"})
        if self.training_log_.stopped_reason == "time budget":
            flags.append({"code": "time_budget", "message": "training stopped by the time budget",
                          "action": "none"})
        for f in flags:
            warnings.warn(f["message"], MMGWarning, stacklevel=2)
        u = self.units
        diagnostics = {
            "gaussian_cross_entropy": nats_to(float(cross.mean()) - jac, u),
            f"divergence_{form}": nats_to(div, u), f"divergence_{other}": nats_to(div_o, u),
            "direct_minus_orthogonal": nats_to(delta, u),
            "stderr_mc": nats_to(se_mc, u),
            "mean_log_det_jacobian": jac,
            "integrand": form, "proposal": self.proposal_.to_dict(), "k_draws": k,
            "training": self.training_log_.summary(), "device": str(self.device_),
            "seconds_fit": self.seconds_fit_, "flags": flags,
            "warnings": [f["message"] for f in flags],
        }
        return MIResult(mi=nats_to(h, u), stderr=nats_to(se, u), units=u, variant=form,
                        n_train=self.n_train_, n_test=n, seconds=time.perf_counter() - t0,
                        diagnostics=diagnostics,
                        quantity="conditional_entropy" if conditional else "entropy")

    def _config(self) -> dict:
        cfg = super()._config()
        cfg["fitted"]["conditional"] = self.conditional_
        return cfg

    @classmethod
    def load(cls, path, device: str = "auto") -> "EntropyEstimator":
        """Load an estimator written by :meth:`save` (see :meth:`MMGEstimator.load`)."""
        import json
        from pathlib import Path

        est = super().load(path, device=device)
        fitted = json.loads((Path(path) / "config.json").read_text())["fitted"]
        conditional = fitted.get("conditional")
        if not isinstance(conditional, bool):
            raise ValueError(f"path: {path}: fitted.conditional: expected true or false")
        est.conditional_ = conditional
        est._y_placeholder = not conditional
        return est


def estimate_entropy(x: Any, y: Any = None, *, test_size: float = 0.2,
                     random_state: Optional[int] = 0, **params: Any) -> MIResult:
    """One call: h(X) (or h(X|Y) when ``y`` is given) in ``units``, from an
    :class:`EntropyEstimator` (``**params``) fitted on 1 - ``test_size`` of the rows and
    evaluated on the rest. ``seconds`` covers everything."""
    t0 = time.perf_counter()
    check_fraction(test_size, "test_size")
    check_random_state(random_state)
    xf, x_shape = split_image(x, "x")
    xa = check_finite(as_2d_array(xf, "x"), "x")  # row numbers in messages are the caller's
    tr, te = train_test_split_indices(xa.shape[0], test_size, random_state)
    xs = np.asarray(x)
    est = EntropyEstimator(random_state=random_state, **params)
    if y is None:
        est.fit(xs[tr])
        res = est.estimate(xs[te])
    else:
        (y,) = code_text_inputs({"y": y}, params)  # text labels of y: categories
        ys = np.asarray(y)
        y_discrete = label_column(discrete_spec(EntropyEstimator, params, "y_discrete"), ys,
                                  "y", "y_discrete")
        check_xy(xa, ys if y_discrete else split_image(ys, "y")[0], y_discrete=y_discrete)
        est.fit(xs[tr], ys[tr])
        res = est.estimate(xs[te], ys[te])
    res.seconds = time.perf_counter() - t0
    res.diagnostics["test_size"] = test_size
    return res
