"""MMGEstimator: wiring of validation, preprocessing, the denoiser, the training loop and the
MMSE-gap Monte Carlo. sklearn conventions (DESIGN.md §3).
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from . import __version__, distributed
from . import control as control_mod
from .adaptive import (AUTO_TAIL_SHARE, gap_quantile_proposal, gaussian_gap_curve,
                       gaussian_tail_share)
from .base import ParamsMixin, resolve_device
from .gap import gap_draws, mc_mean_stderr, mmse_on_grid
from .inference import (DELTA_WEIGHT_CHECKED, DELTA_WEIGHT_CONTROLLED, MODEL_ERROR_REL,
                        MODEL_ERROR_REL_CONTROLLED, FEW_SAMPLES_PER_DIM, KNN_CHECK_MAX_DIMS,
                        KNN_CHECK_MAX_ROWS, LINEAR_TEST_PERMUTATIONS, PERMUTATION_MAX_ROWS,
                        calibrated_stderr,
                        capped_rows, combined_p_value, gaussian_copula_check, label_entropy,
                        learning_growth, linear_permutation_test, permutation_test,
                        repair_trigger, REPAIR_CURES, REPAIR_HULL, LOWER_BOUND_FLAGS,
                        reliability_flags, upper_end_floor, z_strata)
from .logsnr import TruncatedLogistic, logsnr_grid
from .networks import build_network
from .preprocessing import ChannelStandardizer, DiscreteColumns, OneHot, make_scaler
from .training import (DenoisingLoss, DiscretePrior, EpsDenoiser, GaussianPrior, Trainer,
                       ValidationLoss)
from .types import Z95, MIResult, MMGWarning, MMSECurve, PointwiseResult, check_units, nats_to
from .validation import (RowSubset, as_2d_array, as_labels, check_finite, check_fraction,
                         chunk_rows,
                         check_not_constant, check_positive_int, check_random_state,
                         check_discrete_spec, check_training_params, check_xy,
                         equal_columns, label_column,
                         resolve_discrete, split_image)
from .validation import _column_names

__all__ = ["MMGEstimator", "fit_estimate", "prepare_fit_inputs", "fit_rows", "FitInputs",
           "VARIANTS", "DEFAULT_VARIANT"]

logger = logging.getLogger(__name__)

VARIANTS = ("auto", "direct", "orthogonal", "adaptive", "orthogonal-adaptive")
NETWORKS = ("auto", "mlp", "conv")
DEFAULT_VARIANT = "auto"
# AdamW weight decay used for image-shaped inputs when weight_decay=None: chosen between 0.25
# and 0.35, which both passed a 4-fit self-consistency subset on digits; the full test plan
# then passed with 0.3 (docs/benchmarks/self_consistency.md).
IMAGE_WEIGHT_DECAY = 0.3
#: most rows held back for validation in ``fit`` (validation_fraction of the training rows up
#: to this). The validation loss is scored about 13 times per fit with 4 fixed draws per row,
#: so without a cap that work grows with N while the training budget does not: at 8,000 rows
#: it took a third of the training time of 2,000 steps (docs/benchmarks/scale.md). 2,048 rows
#: (8,192 paired draws) is 2.5 times the validation set of a bmi40 fit (N = 10^4: 800 rows), so
#: checkpoints are compared at least as sharply as there. It binds only above 20,480 training rows
#: (N > 25,600 with test_size 0.2), so nothing changes at bmi40 size; rows it leaves out stay
#: in the training part.
VALIDATION_MAX_ROWS = 2048
_FORM = {"direct": "direct", "adaptive": "direct",
         "orthogonal": "orthogonal", "orthogonal-adaptive": "orthogonal"}


def _seeds(random_state: Any, n: int) -> list:
    rng = np.random.default_rng(random_state)
    return [int(s) for s in rng.integers(0, 2**62, size=n)]


class MMGEstimator(ParamsMixin):
    """Mutual information I(X;Y) from the MMSE gap of one conditional diffusion denoiser.

    One residual-MLP denoiser eps_hat(z, logsnr, y or null) is trained on (x, y) with y
    withheld with probability ``p_uncond``; I(X;Y) is half the integral over log-SNR of the
    gap between its unconditional and conditional denoising errors, estimated by Monte Carlo
    on held-out data with importance-weighted log-SNR draws.

    Parameters
    ----------
    variant : "auto" (default) | "direct" | "orthogonal" | "adaptive" | "orthogonal-adaptive"
        Integrand form (direct = difference of squared errors, unbiased for a perfect
        denoiser; orthogonal = squared difference of the two predictions, never negative,
        lower variance) and whether the log-SNR proposal is adapted from a pilot run.
        "auto" is "orthogonal", switched to "orthogonal-adaptive" before training when a
        Gaussian fitted to the training data puts more than AUTO_TAIL_SHARE (2%) of its gap
        area beyond the fixed window (high MI); image-shaped x or y keep "orthogonal" (the
        Gaussian check misreads data near a manifold). The choice is in ``variant_`` and
        ``diagnostics["auto"]``.
    n_permutations : permutations of y within the evaluation points for the independence
        test in ``estimate`` (``MIResult.p_value``; 0 = no test). Default 99 (p-values in steps
        of 0.01). For continuous vectors under the rank map without z, ``fit`` also runs an
        exact permutation test of the training rows' canonical correlations with
        4 n_permutations + 3 permutations (``diagnostics["linear_test"]``) and ``p_value`` is
        the Bonferroni combination min(1, 2 min(p_denoiser, p_linear)) (design note 22).
    n_steps : training steps (budget, default 6000). max_seconds : optional wall-clock budget for training.
    batch_size, learning_rate, weight_decay : optimiser settings (AdamW, warm-up + cosine).
        weight_decay None (auto) is IMAGE_WEIGHT_DECAY (0.3) when x or y is image-shaped and 0
        otherwise: on 64-256 noisy pixels the unregularised conditional map fits noise
        (docs/benchmarks/self_consistency.md).
    network : "auto" (default), "mlp" or "conv". "mlp" is the residual MLP on flattened
        inputs; "conv" a small convolutional U-Net (:class:`mmgap.networks.ConvUNet`) that needs
        image-shaped x, (n, H, W) or (n, C, H, W), and takes y as an image of the same size or
        as a vector. "auto" uses the MLP for every input: on 8x8 digits it beat the U-Net at
        equal wall time on a CPU (docs/benchmarks/self_consistency.md).
    gaussian_prior : None (auto: on for the adaptive variants), True or False. With it, the
        denoiser is eps_hat = G(z, logsnr, y) - alpha F, where G is the exact optimal denoiser
        of a Gaussian fitted to the training data (training.GaussianPrior) and F the network;
        without it G = sigma z, the optimal denoiser of N(0, I). The prior makes high-MI
        data learnable: at high log-SNR the Gaussian part resolves (z - alpha B y) / sigma,
        which an MLP cannot, and its closed-form gap curve tells the adaptive rule where
        the gap lies beyond the pilot's window. Its canonical correlations (given z, if any) are
        shrunk by their expected plug-in bias (design note 24). Left at None,
        :func:`fit_estimate` / :func:`estimate_mi` refit with it when the Gaussian-copula
        check lies well above the first fit (``inference.repair_trigger``, design note 25).
    width, depth : network size; None = width 128, depth from the dimensions (networks.default_width;
        the U-Net's base channel count, default 32, is ``width``; its depth follows the image).
    p_uncond : probability of withholding y in a training example.
    ema_decay : decay of the exponential moving average of weights used for estimation.
    logsnr_loc, logsnr_scale, logsnr_clip : truncated-logistic log-SNR proposal for training
        and estimation (window loc +- clip * scale); the adaptive variants replace it after
        a pilot of ``pilot_fraction`` of the steps.
    validation_fraction : part of the training data held back to score the EMA weights
        (denoising loss with fixed draws) about 12 times during training; the best-scoring
        weights are kept. This guards against over-fitting, which inflates the orthogonal
        form and deflates the direct form on held-out data. 0 disables it.
    patience : stop after this many validation scores without improvement (None: never).
    k_draws : (logsnr, eps) draws per held-out point in ``estimate``; None = about 32,768
        draws in total (between 2 and 32 per point). More draws barely help the orthogonal
        form, whose error is dominated by the spread of the pointwise information.
    preprocess : per-column map of x (and continuous y) fitted on the training data:
        "rank" (the default: normal quantile of a kernel-smoothed empirical CDF, robust to
        heavy tails and skew, smooth enough for tightly coupled pairs; see
        ``preprocessing.SmoothRankNormal``), "rank-knots" (the older rank map interpolated
        between 256 training quantiles), "standardize" (mean 0, sd 1), "gaussianize" or
        "none". All maps are monotone per variable, so the MI is unchanged.
        Image-shaped inputs are instead standardised per channel (one mean and sd over all
        pixels), unless "none"; pixels that are constant in every image are allowed.
    x_discrete, y_discrete, z_discrete : which columns of x, y, z are discrete: "auto" (the
        default: a column is discrete when all its values are integers or booleans and it
        takes at most 50 distinct values, and at most n/4), True (every column), False (none:
        all are treated as continuous) or a list of column indices (or names, for a pandas
        DataFrame). Discrete columns are coded without noise and without merging or splitting
        classes, so the I-MMSE identity stays exact: in x (the noised variable) each becomes
        one equally spaced ordinal code, and the log-SNR window is widened upwards until
        neighbouring codes are resolved; in y and z each becomes one-hot. A y (or z) that is
        one discrete column is handled as class labels: stratified train/held-out splits,
        exact conditional permutation tests, and the cap I <= H(labels). When x (or y) is
        discrete in every column, the estimate is capped at its plug-in entropy. When x is
        discrete in every column and y is not, the roles are swapped inside the estimator
        (y is noised, x conditions; the MI is the same): ``swapped_`` is True and every
        method still takes (x, y) in the caller's order (``mmse_curve`` then shows the
        curves of y).
        With z, the estimate is the conditional MI I(X;Y|Z): the denoiser always sees z (its
        context input) and sees y only sometimes, and the gap is between mmse(logsnr | z)
        and mmse(logsnr | y, z).
    units : "nats" or "bits". device : "auto", "cpu", "cuda", ... random_state : int or None.
    verbose : show a progress bar while training (only when stderr is a terminal).
    """

    def __init__(self, variant: str = DEFAULT_VARIANT, n_steps: int = 6000,
                 batch_size: int = 256, learning_rate: float = 2e-3,
                 weight_decay: Optional[float] = None,
                 width: Optional[int] = None, depth: Optional[int] = None,
                 p_uncond: float = 0.5, ema_decay: float = 0.995,
                 max_seconds: Optional[float] = None, logsnr_loc: float = 1.0,
                 logsnr_scale: float = 2.0, logsnr_clip: float = 4.0,
                 pilot_fraction: float = 0.3, validation_fraction: float = 0.1,
                 patience: Optional[int] = 4, k_draws: Optional[int] = None,
                 preprocess: str = "rank", y_discrete: Any = "auto", units: str = "nats",
                 device: str = "auto", random_state: Optional[int] = None,
                 verbose: bool = True, network: str = "auto",
                 gaussian_prior: Optional[bool] = None, n_permutations: int = 99,
                 z_discrete: Any = "auto", x_discrete: Any = "auto"):
        self.variant = variant
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.width = width
        self.depth = depth
        self.p_uncond = p_uncond
        self.ema_decay = ema_decay
        self.max_seconds = max_seconds
        self.logsnr_loc = logsnr_loc
        self.logsnr_scale = logsnr_scale
        self.logsnr_clip = logsnr_clip
        self.pilot_fraction = pilot_fraction
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.k_draws = k_draws
        self.preprocess = preprocess
        self.y_discrete = y_discrete
        self.units = units
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.network = network
        self.gaussian_prior = gaussian_prior
        self.n_permutations = n_permutations
        self.z_discrete = z_discrete
        self.x_discrete = x_discrete

    # ------------------------------------------------------------------ parameter checks
    def _check_params(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {list(VARIANTS)}, got {self.variant!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"network: expected one of {list(NETWORKS)}, got {self.network!r}")
        check_positive_int(self.n_steps, "n_steps")
        check_random_state(self.random_state)
        check_positive_int(self.batch_size, "batch_size")
        if isinstance(self.n_permutations, bool) or not isinstance(self.n_permutations, (int, np.integer)) \
                or self.n_permutations < 0:
            raise ValueError(f"n_permutations: expected an integer >= 0, got {self.n_permutations!r}")
        for name in ("width", "depth", "k_draws"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        check_training_params(self)
        check_fraction(self.p_uncond, "p_uncond")
        check_fraction(self.pilot_fraction, "pilot_fraction")
        check_units(self.units)
        for name in ("x_discrete", "y_discrete", "z_discrete"):
            check_discrete_spec(getattr(self, name), name)
        make_scaler(self.preprocess)
        TruncatedLogistic(self.logsnr_loc, self.logsnr_scale, self.logsnr_clip)

    # ------------------------------------------------------------------ data handling
    def _prepare(self, x: Any, y: Any, z: Any = None, *, fitting: bool, min_samples: int,
                 validation_seed: Optional[int] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Checked, preprocessed float32 tensors (x, y, z or None); ``fitting`` fits the maps.

        Float input (a memory map or a :class:`mmgap.validation.RowSubset` included) is read
        in blocks and never copied whole: the only full-size copy made is the returned
        tensors. With ``validation_seed`` the rows come back in the order of the validation
        permutation of ``fit`` (validation rows first), so that its split is two views."""
        if fitting:
            self.swapped_ = self._swap_roles(x, y)
        if self.swapped_:  # MI is symmetric: the continuous y is the one noised
            x, y = y, x
        x_spec, y_spec = ((self.y_discrete, self.x_discrete) if self.swapped_
                          else (self.x_discrete, self.y_discrete))
        x_names = _column_names(x)
        x, x_shape = split_image(x, "x")
        if fitting:
            self.y_labels_ = label_column(y_spec, y, "y", "y_discrete")
        y_names = None if self.y_labels_ else _column_names(y)
        y, y_shape = (y, None) if self.y_labels_ else split_image(y, "y")
        xa, ya = check_xy(x, y, y_discrete=self.y_labels_, min_samples=min_samples, dtype=None)
        if fitting:
            self.x_image_shape_, self.y_image_shape_ = x_shape, y_shape
            self.dim_x_in_ = int(xa.shape[1])
            self.dim_y_in_ = 1 if self.y_labels_ else int(ya.shape[1])
            self.x_discrete_ = self._discrete_columns(x_spec, xa, x_shape, "x",
                                                      "x_discrete", x_names)
            self.y_discrete_ = [0] if self.y_labels_ else self._discrete_columns(
                y_spec, ya, y_shape, "y", "y_discrete", y_names)
            if x_shape is None:
                check_not_constant(xa, "x")
            if y_shape is None and not self.y_labels_ and not self._y_placeholder:
                check_not_constant(ya, "y")
            self.equal_columns_ = [] if self.y_labels_ else equal_columns(xa, ya)
            self.x_scaler_ = self._scaler(x_shape, self.x_discrete_, "ordinal")
            if self.x_scaler_ is not None:
                self.x_scaler_.fit(xa, "x")
            self.label_entropy_ = None
            if self.y_labels_:
                self.y_encoder_ = OneHot().fit(ya, "y")
                self.label_entropy_ = label_entropy(ya)
                self.y_scaler_ = None
            else:
                self.y_encoder_ = None
                self.y_scaler_ = None if self._y_placeholder else self._scaler(
                    y_shape, self.y_discrete_, "onehot")
                if self.y_scaler_ is not None:
                    self.y_scaler_.fit(ya, "y")
                if self.y_discrete_ and len(self.y_discrete_) == ya.shape[1]:
                    self.label_entropy_ = label_entropy(_row_symbols(ya))
            if self.x_discrete_ and len(self.x_discrete_) == xa.shape[1]:
                hx = label_entropy(_row_symbols(xa))
                self.label_entropy_ = hx if self.label_entropy_ is None else min(
                    hx, self.label_entropy_)
        else:
            for name, got, want in (("x", x_shape, self.x_image_shape_), ("y", y_shape, self.y_image_shape_)):
                if got is not None and got != want:
                    raise ValueError(f"{name}: expected images of shape {want} as in fit, got {got}")
            if xa.shape[1] != self.dim_x_in_:
                raise ValueError(f"x: expected {self.dim_x_in_} columns as in fit, got {xa.shape[1]}")
        n, dev = int(xa.shape[0]), self.device_
        order = None
        if validation_seed is not None and self._n_validation(n):
            order = np.random.default_rng(validation_seed).permutation(n)
        xt = _prepared_tensor(xa, self.x_scaler_, "x", order, dev)
        if self.y_encoder_ is not None:
            yt = _prepared_tensor(ya, self.y_encoder_, "y", order, dev)
        else:
            if not fitting and ya.shape[1] != self.dim_y_in_:
                raise ValueError(f"y: expected {self.dim_y_in_} columns as in fit, got {ya.shape[1]}")
            yt = _prepared_tensor(ya, self.y_scaler_, "y", order, dev)
        za = self._prepare_z(z, n, fitting)
        return xt, yt, None if za is None else _prepared_tensor(za, None, "z", order, dev)

    def _n_validation(self, n: int) -> int:
        """Validation rows held back from ``n`` training rows: ``validation_fraction`` of
        them (none if that is under 20), at most :data:`VALIDATION_MAX_ROWS`."""
        n_val = int(round(self.validation_fraction * n))
        return 0 if n_val < 20 else min(n_val, VALIDATION_MAX_ROWS)

    # False in subclasses whose x and y are not interchangeable (entropy h(X|Y))
    _can_swap = True

    def _swap_roles(self, x: Any, y: Any) -> bool:
        """True when x is discrete in every column and y is not: then y is noised and x is
        the condition (the same MI, and a discrete variable is the harder one to denoise:
        on X uniform on 5 classes, Y | X uniform on [X, X + 2], noising X read 0.98 and
        noising Y 1.07 against 1.055). Images never swap."""
        if not self._can_swap or self._y_placeholder:
            return False
        if any(np.ndim(v) > 2 for v in (x, y)):
            return False
        try:
            xa = check_finite(as_2d_array(x, "x", dtype=None), "x")
        except ValueError:
            return False  # reported by the checks that follow, in the caller's terms
        if not label_column(self.x_discrete, x, "x", "x_discrete"):
            cols = resolve_discrete(self.x_discrete, xa, "x", "x_discrete", _column_names(x))
            if len(cols) < xa.shape[1]:
                return False
        if label_column(self.y_discrete, y, "y", "y_discrete"):
            return False
        try:
            ya = check_finite(as_2d_array(y, "y", dtype=None), "y")
        except ValueError:
            return False
        return len(resolve_discrete(self.y_discrete, ya, "y", "y_discrete",
                                    _column_names(y))) < ya.shape[1]

    @staticmethod
    def _discrete_columns(spec, arr, image_shape, name, param, names) -> list:
        """Resolved discrete columns of a variable (none for images)."""
        if image_shape is not None:
            if spec is True or (isinstance(spec, (list, tuple)) and spec):
                raise ValueError(f"{param}: image-shaped {name} cannot have discrete columns")
            return []
        return resolve_discrete(spec, arr, name, param, names)

    def _prepare_z(self, z: Any, n: int, fitting: bool) -> Optional[np.ndarray]:
        """The conditioning variable z of I(X;Y|Z), checked and preprocessed like y."""
        if fitting:
            self.has_z_ = z is not None
            self.z_scaler_ = self.z_encoder_ = self.z_image_shape_ = None
            self.dim_z_ = self.dim_z_in_ = 0
            self.z_labels_, self.z_discrete_ = False, []
        elif (z is None) == self.has_z_:
            raise ValueError("z: this estimator was fitted with z (conditional MI); pass z here too"
                             if self.has_z_ else
                             "z: this estimator was fitted without z; refit with z for I(X;Y|Z)")
        if z is None:
            return None
        if fitting:
            self.z_labels_ = label_column(self.z_discrete, z, "z", "z_discrete")
        z_shape = None
        if self.z_labels_:
            za = as_labels(z, "z")
        else:
            z_names = _column_names(z)
            zf, z_shape = split_image(z, "z")
            za = check_finite(as_2d_array(zf, "z"), "z")
        if za.shape[0] != n:
            raise ValueError(f"x and z: expected the same number of samples (rows), got {n} "
                             f"and {za.shape[0]}")
        if fitting:
            if self.z_labels_:
                self.z_encoder_ = OneHot().fit(za, "z")
                self.z_discrete_ = [0]
            else:
                self.z_discrete_ = self._discrete_columns(self.z_discrete, za, z_shape, "z",
                                                          "z_discrete", z_names)
                if z_shape is None:
                    check_not_constant(za, "z")
                self.z_image_shape_ = z_shape
                self.z_scaler_ = self._scaler(z_shape, self.z_discrete_, "onehot")
                if self.z_scaler_ is not None:
                    self.z_scaler_.fit(za, "z")
            self.dim_z_in_ = 1 if self.z_labels_ else int(za.shape[1])
        else:
            if z_shape is not None and z_shape != self.z_image_shape_:
                raise ValueError(f"z: expected images of shape {self.z_image_shape_} as in fit, "
                                 f"got {z_shape}")
            if not self.z_labels_ and za.shape[1] != self.dim_z_in_:
                raise ValueError(f"z: expected {self.dim_z_in_} columns as in fit, got {za.shape[1]}")
        if self.z_encoder_ is not None:
            za = self.z_encoder_.transform(za, "z")
        elif self.z_scaler_ is not None:
            za = self.z_scaler_.transform(za, "z")
        if fitting:
            self.dim_z_ = int(za.shape[1])
        return za

    def _scaler(self, image_shape, discrete=(), encoding="ordinal"):
        if image_shape is not None and self.preprocess != "none":
            return ChannelStandardizer(image_shape[0])
        if discrete:
            return DiscreteColumns(list(discrete), encoding, make_scaler(self.preprocess))
        return make_scaler(self.preprocess)

    # True while y is a constant placeholder (a subclass that needs no y, e.g. entropy h(X))
    _y_placeholder = False
    # shrink the Gaussian prior's canonical correlations by their expected plug-in bias
    # (GaussianPrior.fit(shrink=True), design note 24); with z, the partial ones given z
    _shrink_prior = True

    def _p_uncond(self) -> float:
        """Probability of withholding y in training (1.0: y is a placeholder, never shown)."""
        return 1.0 if self._y_placeholder else float(self.p_uncond)

    def _use_prior(self) -> bool:
        if self.gaussian_prior is None:  # auto: on for the adaptive variants
            return self.variant_.endswith("adaptive")
        return bool(self.gaussian_prior)

    def _network_kind(self) -> str:
        kind = "mlp" if self.network == "auto" else self.network
        if kind == "conv" and self.x_image_shape_ is None:
            raise ValueError("network: 'conv' needs image-shaped x, (n, H, W) or (n, C, H, W)")
        if kind == "conv" and self.has_z_:
            raise ValueError("network: 'conv' has no input for z yet; use network='mlp' (or "
                             "'auto') for conditional MI")
        return kind

    def _base_proposal(self) -> TruncatedLogistic:
        """The fixed proposal; with discrete columns in x its window is widened upwards (same
        lower edge and scale) to the log-SNR where neighbouring ordinal codes are resolved."""
        base = TruncatedLogistic(float(self.logsnr_loc), float(self.logsnr_scale),
                                 float(self.logsnr_clip))
        return base.widened_to(getattr(self, "logsnr_resolve_", None))

    def _build_network(self, seed: int, xt=None, yt=None, ct=None) -> torch.nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = build_network(self.network_kind_, self.dim_x_, self.dim_y_, width=self.width,
                                depth=self.depth, x_shape=self.x_image_shape_,
                                y_shape=self.y_image_shape_, dim_context=self.dim_z_)
        prior = None
        if self._discrete_pair() and xt is not None:
            prior = DiscretePrior.fitted(xt, yt, seed)
        if prior is None and self._use_prior():
            prior = GaussianPrior(self.dim_x_, self.dim_y_, self.dim_z_).fit(
                xt, yt, ct, shrink=self._shrink_prior)
        return EpsDenoiser(net, prior).to(self.device_)

    def _discrete_pair(self) -> bool:
        """x and y both discrete in every column (and no z): the base is the plug-in
        :class:`mmgap.training.DiscretePrior`."""
        return (not self.has_z_ and self.x_image_shape_ is None
                and len(self.x_discrete_) == self.dim_x_in_
                and (self.y_labels_ or (self.y_image_shape_ is None and not self._y_placeholder
                                        and len(self.y_discrete_) == self.dim_y_in_)))

    def _validation(self, proposal, xv, yv, cv, seed: int) -> ValidationLoss:
        gen = torch.Generator(device=self.device_).manual_seed(seed)
        return ValidationLoss(proposal, xv, yv, cv, k_draws=4, generator=gen)

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any, y: Any, z: Any = None) -> "MMGEstimator":
        """Train the denoiser on (x, y). x: (n, dim_x); y: (n, dim_y) or labels (n,);
        z: optional (n, dim_z) or labels (n,) (``z_discrete``) for I(X;Y|Z).
        Returns self; any earlier fit is forgotten."""
        t0 = time.perf_counter()
        self._check_params()
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        # under torchrun a bare "cuda" is this process's GPU, cuda:LOCAL_RANK
        self.device_ = distributed.local_device(resolve_device(self.device))
        seed_init, seed_train, seed_est, seed_val = _seeds(self.random_state, 4)
        xt, yt, ct = self._prepare(x, y, z, fitting=True, min_samples=10,
                                   validation_seed=seed_val)
        self.logsnr_resolve_ = (self.x_scaler_.resolving_logsnr()
                                if isinstance(self.x_scaler_, DiscreteColumns) else None)
        cv = None
        self.n_train_ = int(xt.shape[0])
        # the cross-checks see every training row (validation rows included): they do not
        # involve the network (design notes 21 and 22)
        self.gaussian_check_ = self._gaussian_check(xt, yt, ct)
        self.linear_test_ = (None if self.gaussian_check_ is None or self.n_permutations == 0
                             else linear_permutation_test(
                                 xt, yt, LINEAR_TEST_PERMUTATIONS(self.n_permutations),
                                 seed_est + 5))
        n_val = self._n_validation(self.n_train_)
        if 0 < round(self.validation_fraction * self.n_train_) < 20:
            logger.info("validation_fraction leaves fewer than 20 points; validation is off")
        if n_val:  # _prepare put the rows in the permutation seeded by seed_val: two views
            xv, yv, xt, yt = xt[:n_val], yt[:n_val], xt[n_val:], yt[n_val:]
            if ct is not None:
                cv, ct = ct[:n_val], ct[n_val:]
        eval_every = validation_interval(self.n_steps)
        self.dim_x_ = int(xt.shape[1])
        self.dim_y_ = int(yt.shape[1])
        self.network_kind_ = self._network_kind()
        self._estimate_seed_ = seed_est
        self.variant_, self.auto_ = self._resolve_variant(xt, yt, ct)
        m_check = min(int(xt.shape[0]), 2000)
        # for the over-fitting check
        # (copies: views would keep the whole training tensor alive after fit)
        self._train_check_ = (xt[:m_check].clone(), yt[:m_check].clone(),
                              None if ct is None else ct[:m_check].clone())
        model = self._build_network(seed_init, xt, yt, ct)
        gen = torch.Generator(device=self.device_).manual_seed(seed_train)
        trainer = Trainer(model, total_steps=self.n_steps, learning_rate=self.learning_rate,
                          weight_decay=self._weight_decay(), ema_decay=self.ema_decay,
                          max_seconds=self.max_seconds, generator=gen, verbose=self.verbose,
                          data_parallel=True)  # only while torch.distributed has >1 process
        proposal = self._base_proposal()
        self.adaptation_ = None
        if self.variant_.endswith("adaptive"):
            n_pilot = max(1, int(round(self.pilot_fraction * self.n_steps)))
            trainer.run(DenoisingLoss(proposal, self._p_uncond()), xt, yt, n_steps=n_pilot,
                        batch_size=self.batch_size, name="pilot", context=ct)
            m = min(self.n_train_, 2048)
            grid = logsnr_grid(-12.0, 24.0, 73, device=self.device_)
            curves = mmse_on_grid(trainer.ema, xt[:m], yt[:m], grid, 1, gen,
                                  context=None if ct is None else ct[:m])
            g = grid.cpu().numpy()
            gap = curves["gap_orthogonal"]
            prior = trainer.ema.prior
            if prior is not None:  # beyond the pilot's window the Gaussian part is what is known
                gap = np.maximum(gap, gaussian_gap_curve(g, prior.eval_u.cpu().numpy(),
                                                         prior.eval_c.cpu().numpy()))
            proposal, info = gap_quantile_proposal(g, gap)
            info["proposal"] = proposal.to_dict()
            self.adaptation_ = info
            for note in info["notes"]:
                warnings.warn(f"adaptive proposal: {note}", MMGWarning, stacklevel=2)
            remaining = self.n_steps - n_pilot
            if remaining > 0 and trainer.log.stopped_reason != "time budget":
                trainer.run(DenoisingLoss(proposal, self._p_uncond()), xt, yt, n_steps=remaining,
                            batch_size=self.batch_size, name="adapted", context=ct,
                            validation=self._validation(proposal, xv, yv, cv, seed_val) if n_val else None,
                            eval_every=eval_every, patience=self.patience)
        else:
            trainer.run(DenoisingLoss(proposal, self._p_uncond()), xt, yt, n_steps=self.n_steps,
                        batch_size=self.batch_size, context=ct,
                        validation=self._validation(proposal, xv, yv, cv, seed_val) if n_val else None,
                        eval_every=eval_every, patience=self.patience)
        self.n_validation_ = n_val
        self.eval_every_ = eval_every
        self.proposal_ = proposal
        self.model_ = trainer.ema.eval()
        self.training_log_ = trainer.log
        self.learning_ = learning_growth(trainer.mi_curve, trainer.log.best_step)
        self.seconds_fit_ = time.perf_counter() - t0
        return self

    def _resolve_variant(self, xt: torch.Tensor, yt: torch.Tensor, ct: Optional[torch.Tensor] = None):
        """The variant to train: ``variant`` itself, or for "auto" the Gaussian check."""
        if self.variant != "auto":
            return self.variant, None
        n = int(xt.shape[0])
        dims = int(xt.shape[1]) + int(yt.shape[1]) + (0 if ct is None else int(ct.shape[1]))
        if self.x_image_shape_ is not None or self.y_image_shape_ is not None:
            # images lie near a low-dimensional manifold: the fitted Gaussian's marginal
            # covariance is near-singular and its gap curve runs far past the window (blob
            # images with 2-10 nats gave shares that picked the adapted window, whose
            # estimates were 49 to 6e10 nats; docs/benchmarks/hard.md), so the Gaussian
            # check is not evidence for images: keep the fixed window
            return "orthogonal", {"gaussian_tail_share": None, "threshold": AUTO_TAIL_SHARE,
                                  "variant": "orthogonal",
                                  "reason": "image-shaped input: the Gaussian check does not "
                                            "apply to data near a low-dimensional manifold"}
        if n < FEW_SAMPLES_PER_DIM * dims:  # the fitted Gaussian is degenerate: no evidence
            return "orthogonal", {"gaussian_tail_share": None, "threshold": AUTO_TAIL_SHARE,
                                  "variant": "orthogonal",
                                  "reason": f"{n} samples for {dims} dimensions: too few to "
                                            "fit the Gaussian the choice rests on"}
        prior = GaussianPrior(int(xt.shape[1]), int(yt.shape[1]),
                              0 if ct is None else int(ct.shape[1])).fit(xt, yt, ct)
        share = gaussian_tail_share(prior.eval_u.cpu().numpy(), prior.eval_c.cpu().numpy(),
                                    self._base_proposal().high)
        chosen = "orthogonal-adaptive" if share > AUTO_TAIL_SHARE else "orthogonal"
        if chosen != "orthogonal":
            logger.info("variant auto: %.0f%% of a fitted Gaussian's MMSE gap lies beyond the "
                        "fixed log-SNR window; using %s", 100 * share, chosen)
        return chosen, {"gaussian_tail_share": share, "threshold": AUTO_TAIL_SHARE,
                        "variant": chosen}

    def _gaussian_check(self, xt: torch.Tensor, yt: torch.Tensor, ct) -> Optional[Dict[str, float]]:
        """:func:`mmgap.inference.gaussian_copula_check` on the prepared training rows, for
        continuous vectors under the default rank map without z and with at least
        FEW_SAMPLES_PER_DIM samples per dimension; None otherwise (the Gaussian-copula MI is
        a cross-check only when every column is normal: images, discrete columns and other
        preprocessing are left out)."""
        if (not self._plain_vectors(ct) or self.preprocess != "rank" or self._y_placeholder
                or self.y_labels_
                or int(xt.shape[0]) < FEW_SAMPLES_PER_DIM * (int(xt.shape[1]) + int(yt.shape[1]))):
            return None
        return gaussian_copula_check(xt, yt)

    def _plain_vectors(self, ct) -> bool:
        """x and y are continuous vectors (no image shape, no discrete column) and there is
        no z: where the cross-checks (Gaussian copula, k-NN) apply."""
        return (ct is None and getattr(self, "x_image_shape_", None) is None
                and getattr(self, "y_image_shape_", None) is None
                and not getattr(self, "x_discrete_", None)
                and not getattr(self, "y_discrete_", None))

    def _weight_decay(self) -> float:
        if self.weight_decay is not None:
            return float(self.weight_decay)
        images = self.x_image_shape_ is not None or self.y_image_shape_ is not None
        return IMAGE_WEIGHT_DECAY if images else 0.0

    # ------------------------------------------------------------------ estimate
    def _k_draws(self, n: int) -> int:
        if self.k_draws is not None:
            return int(self.k_draws)
        return int(min(32, max(2, math.ceil(32768 / max(n, 1)))))

    def _control(self, x: Any, y: Any, others, ct, draws, k: int) -> Dict[str, Any]:
        """{"applied": True, "n_all", "orthogonal": control.control_variate(...) or None,
        "direct": ...} or {"applied": False, "reason"} (see :meth:`estimate`'s ``others``)."""
        if not (isinstance(others, (tuple, list)) and len(others) == 2):
            raise ValueError("others: expected a pair (x_other, y_other) of the dataset's "
                             f"other rows, got {type(others).__name__}")
        if not self._plain_vectors(ct) or self.y_labels_ or self._y_placeholder:
            return {"applied": False, "reason": "only for continuous vectors without z"}
        xo = check_finite(as_2d_array(others[0], "others[0]"), "others[0]")
        yo = check_finite(as_2d_array(others[1], "others[1]"), "others[1]")
        xh, yh = as_2d_array(x, "x"), as_2d_array(y, "y")
        if (xo.shape[0] != yo.shape[0] or xo.shape[1] != xh.shape[1]
                or yo.shape[1] != yh.shape[1]):
            raise ValueError(f"others: expected x_other and y_other with the same number of "
                             f"rows and the columns of x ({xh.shape[1]}) and y "
                             f"({yh.shape[1]}), got shapes {xo.shape} and {yo.shape}")
        n_all = xh.shape[0] + xo.shape[0]
        if n_all * (xh.shape[1] + yh.shape[1]) > control_mod.MAX_CELLS:
            return {"applied": False, "reason": f"more than {control_mod.MAX_CELLS} cells"}
        xa, ya = np.concatenate([xh, xo]), np.concatenate([yh, yo])
        if self.swapped_:  # the network noises the user's y: so does the Gaussian
            xa, ya = ya, xa
        g = control_mod.gaussian_integrands(xa, ya, xh.shape[0], self.proposal_, k,
                                            self._estimate_seed_, self._estimate_seed_ + 7,
                                            device=self.device_)
        if g is None:
            return {"applied": False,
                    "reason": "too few rows per dimension or a constant column"}
        n = xh.shape[0]
        g["difference"] = g["direct"] - g["orthogonal"]
        m = {f: draws.mi_values(f) for f in ("orthogonal", "direct")}
        m["difference"] = m["direct"] - m["orthogonal"]
        out: Dict[str, Any] = {"applied": True, "n_all": n_all}
        for f in ("orthogonal", "direct", "difference"):
            out[f] = control_mod.control_variate(m[f], g[f][:n], g[f])
        return out

    def _draws(self, x: Any, y: Any, z: Any = None, k: Optional[int] = None):
        """(draws, prepared x, y, z, k) of the estimate's Monte Carlo on (x, y[, z])."""
        self._check_is_fitted("model_")
        xt, yt, ct = self._prepare(x, y, z, fitting=False, min_samples=2)
        gen = torch.Generator(device=self.device_).manual_seed(self._estimate_seed_)
        k = self._k_draws(xt.shape[0]) if k is None else k
        draws = gap_draws(self.model_, xt, yt, self.proposal_, k, gen, context=ct)
        return draws, xt, yt, ct, k

    def estimate(self, x: Any, y: Any, z: Any = None, *,
                 others: Optional[Tuple[Any, Any]] = None) -> MIResult:
        """Estimate I(X;Y) on held-out samples with the fitted denoiser, with a calibrated
        interval, a permutation p-value and reliability flags.

        ``stderr`` is ``inference.calibrated_stderr``: the Monte Carlo error of this estimate
        given the network (``diagnostics["stderr_mc"]``: the finite evaluation set and the
        draws), the disagreement of the two integrand forms (weighted 0.25 where the
        Gaussian-copula cross-check applies, 0.5 there when ``others`` gave the control
        variate, 1 elsewhere), and a floor of 1.5% of the
        estimate for training randomness and bias (chosen on seed 0 of bmi40 and the high-MI
        tasks; docs/benchmarks/calibration.md). For continuous vectors under the rank map
        without z, ``diagnostics["gaussian_check"]`` holds the bias-corrected Gaussian-copula
        MI of the training rows, and the interval's upper end reaches at least its upper 95%
        limit (flag ``gaussian_above`` when it lies well above). ``p_value`` tests I(X;Y) = 0
        by permuting y within these points (exactly valid only when the network never saw them), combined
        with the linear test of ``fit`` where there is one (see ``n_permutations``).
        ``diagnostics["flags"]`` lists what the interval cannot account for.

        With ``z`` (the estimator was fitted with z), the result is I(X;Y|Z)
        (``quantity == "cmi"``) and the test is of conditional independence: y is permuted
        only among points with the same z (discrete z: exact) or among small groups of
        points with nearby z (continuous z: approximate, see
        :func:`mmgap.inference.z_strata`).

        ``others`` = (x_other, y_other): the dataset's other rows (e.g. the training rows),
        when (x, y) are a uniformly random subset of the rows (a split that did not look at
        the data, as :func:`mmgap.estimate_mi`'s unstratified split). The estimate and its
        Monte Carlo error then use the control variate of :mod:`mmgap.control` (a Gaussian
        denoiser's integrand averaged over all rows; ``diagnostics["control_variate"]``),
        which has the same expectation and, where the data are near-Gaussian, about half
        the standard error. Not applied (the reason is in the diagnostics) with z, images,
        discrete columns, labels, or more than ``control.MAX_CELLS`` cells.
        """
        t0 = time.perf_counter()
        draws, xt, yt, ct, k = self._draws(x, y, z)
        n = int(xt.shape[0])
        form = _FORM[self.variant_]
        other = "direct" if form == "orthogonal" else "orthogonal"
        mi, se_mc = draws.estimate(form)
        mi_o, se_o = draws.estimate(other)
        diff, se_diff = mc_mean_stderr(draws.mi_values("direct") - draws.mi_values("orthogonal"))
        control = None if others is None else self._control(x, y, others, ct, draws, k)
        if control is not None and control.get("applied"):
            if control[form] is not None:
                mi, se_mc = control[form]["mi"], control[form]["stderr"]
            if control[other] is not None:
                mi_o, se_o = control[other]["mi"], control[other]["stderr"]
            if control["difference"] is not None:
                diff, se_diff = control["difference"]["mi"], control["difference"]["stderr"]
        gauss = getattr(self, "gaussian_check_", None)
        controlled = (control is not None and control.get("applied", False)
                      and control[form] is not None)
        se = calibrated_stderr(
            mi, se_mc, diff,
            rel=MODEL_ERROR_REL_CONTROLLED if controlled else MODEL_ERROR_REL,
            delta_weight=1.0 if gauss is None else (
                DELTA_WEIGHT_CONTROLLED if controlled else DELTA_WEIGHT_CHECKED))
        gen = torch.Generator(device=self.device_).manual_seed(self._estimate_seed_ + 2)
        # MI density 1/2 gap(logsnr) at the two edges of the window, on up to 1024 points;
        m = min(n, 1024)
        edges = logsnr_grid(self.proposal_.low, self.proposal_.high, 2, device=self.device_)
        # both forms must show the gap open (an imperfect network's orthogonal gap is noise > 0)
        ec = mmse_on_grid(self.model_, xt[:m], yt[:m], edges, 2, gen,
                          context=None if ct is None else ct[:m])
        edge = np.minimum(ec["gap_orthogonal"], ec["mmse"] - ec["mmse_cond"])
        edge_density = (0.5 * float(edge[0]), 0.5 * float(edge[1]))
        train_mi = train_se = None
        if getattr(self, "_train_check_", None) is not None:
            xtr, ytr, ctr = self._train_check_
            tr = gap_draws(self.model_, xtr, ytr, self.proposal_, k, gen, context=ctr)
            train_mi, train_se_mc = tr.estimate(form)
            train_se = math.hypot(train_se_mc, se_mc)
        test = None
        if self.n_permutations > 0:
            z_all_discrete = self.has_z_ and len(self.z_discrete_) == self.dim_z_in_
            # above PERMUTATION_MAX_ROWS: a subset drawn independently of the data
            sub = capped_rows(n, PERMUTATION_MAX_ROWS, self._estimate_seed_ + 3)
            if sub is not None:
                sub = torch.as_tensor(sub, device=self.device_)
            xp, yp, cp = ((xt, yt, ct) if sub is None else
                          (xt[sub], yt[sub], None if ct is None else ct[sub]))
            m = int(xp.shape[0])
            strata = None if cp is None else z_strata(cp.cpu().numpy(), discrete=z_all_discrete)
            test = permutation_test(self.model_, xp, yp, self.proposal_,
                                    n_permutations=self.n_permutations,
                                    k_draws=max(1, min(8, math.ceil(4000 / m))), generator=gen,
                                    context=cp, strata=strata,
                                    residualize=ct is not None and not self.y_discrete_
                                    and not z_all_discrete)
        bound = getattr(self, "label_entropy_", None)
        mi_unclipped = mi
        if bound is not None and mi > bound:
            mi = bound
        knn_mi = self._knn_cross_check(x, y, ct)
        ci_high = min(mi + Z95 * se, math.inf if bound is None else bound)
        learning = getattr(self, "learning_", None) or {}  # inference.learning_growth
        flags = reliability_flags(
            mi=mi, edge_density=edge_density, window=(self.proposal_.low, self.proposal_.high),
            n_train=self.n_train_, dim_x=self.dim_x_, dim_y=self.dim_y_ + self.dim_z_,
            train_mi=train_mi, train_gap_stderr=train_se or 0.0, upper_bound=bound,
            mi_unclipped=mi_unclipped,
            time_budget_hit=self.training_log_.stopped_reason == "time budget",
            steps=self.training_log_.steps, adaptive=self.variant_.endswith("adaptive"),
            delta=diff, delta_stderr=se_diff,
            equal_columns=getattr(self, "equal_columns_", []),
            knn_mi=knn_mi, ci_high=ci_high,
            gauss_mi=None if gauss is None else gauss["mi"],
            gauss_stderr=0.0 if gauss is None else gauss["stderr"],
            stopped_early=self.training_log_.stopped_reason == "early stopping",
            best_step=self.training_log_.best_step, eval_every=getattr(self, "eval_every_", None),
            growth=learning.get("growth") if learning.get("growth_stderr") is not None else None,
            growth_stderr=learning.get("growth_stderr") or 0.0)
        # the upper end reaches the cross-checks (design notes 20 and 21)
        floor = upper_end_floor(ci_high, knn_mi=knn_mi, gauss=gauss)
        warnings_list = [f["message"] for f in flags]
        for w in warnings_list:
            warnings.warn(w, MMGWarning, stacklevel=2)
        u = self.units
        diagnostics = {
            f"mi_{form}": nats_to(mi_unclipped, u),
            f"stderr_{form}": nats_to(se_mc, u),
            f"mi_{other}": nats_to(mi_o, u), f"stderr_{other}": nats_to(se_o, u),
            "stderr_mc": nats_to(se_mc, u),
            "direct_minus_orthogonal": nats_to(diff, u),
            "direct_minus_orthogonal_stderr": nats_to(se_diff, u),
            "integrand": form,
            "variant_used": self.variant_,
            "auto": self.auto_,
            "edge_mi_density": [nats_to(v, u) for v in edge_density],
            "knn_check": None if knn_mi is None else nats_to(knn_mi, u),
            "knn_check_raises_upper_end": knn_mi is not None and bool(knn_mi > ci_high),
            "gaussian_check": None if gauss is None else {
                "mi": nats_to(gauss["mi"], u), "stderr": nats_to(gauss["stderr"], u),
                "raises_upper_end": bool(gauss["mi"] + Z95 * gauss["stderr"] > ci_high)},
            "mi_on_training_points": None if train_mi is None else nats_to(train_mi, u),
            "permutation_test": test,
            "linear_test": getattr(self, "linear_test_", None),
            "proposal": self.proposal_.to_dict(),
            "adaptation": self.adaptation_,
            "k_draws": k,
            "n_validation": self.n_validation_,
            "training": self.training_log_.summary(),
            "learning_curve": _learning_diagnostics(getattr(self, "learning_", None), u),
            "weight_decay": self._weight_decay(),
            "network": {"kind": self.network_kind_, "width": self.model_.net.width,
                        "depth": self.model_.net.depth,
                        "n_parameters": int(sum(p.numel() for p in self.model_.parameters()))},
            "device": str(self.device_),
            "seconds_fit": self.seconds_fit_,
            "flags": flags,
            "warnings": warnings_list,
            "roles_swapped": self.swapped_,
        }
        if control is not None:
            diagnostics["control_variate"] = _control_diagnostics(control, u)
        if bound is not None:
            diagnostics["label_entropy"] = nats_to(bound, u)
        if ct is not None:
            diagnostics["dim_z"] = self.dim_z_
        return MIResult(mi=nats_to(mi, u), stderr=nats_to(se, u), units=u, variant=self.variant_,
                        quantity="cmi" if ct is not None else "mi",
                        n_train=self.n_train_, n_test=n,
                        seconds=time.perf_counter() - t0, diagnostics=diagnostics,
                        p_value=None if test is None else combined_p_value(
                            test["p_value"], (getattr(self, "linear_test_", None)
                                              or {}).get("p_value")),
                        upper_bound=None if bound is None else nats_to(bound, u),
                        lower_bound_only=any(f["code"] in LOWER_BOUND_FLAGS for f in flags),
                        ci_high_floor=None if floor is None else nats_to(floor, u))

    def _knn_cross_check(self, x: Any, y: Any, ct) -> Optional[float]:
        """KSG (k = 5) on the evaluation rows (at most KNN_CHECK_MAX_ROWS, a subset drawn from
        the seed alone), in nats, for continuous vectors of at most KNN_CHECK_MAX_DIMS
        dimensions without z; None otherwise (images, discrete columns, z, more dims)."""
        from .baselines.ksg import _standardise_columns, ksg_mi

        if not self._plain_vectors(ct) or self.dim_x_ + self.dim_y_ > KNN_CHECK_MAX_DIMS:
            return None
        xa, ya = as_2d_array(x, "x"), as_2d_array(y, "y")
        n = xa.shape[0]
        if n < 50:
            return None
        sub = capped_rows(n, KNN_CHECK_MAX_ROWS, self._estimate_seed_ + 4)
        if sub is not None:
            xa, ya = xa[sub], ya[sub]
        mi, _ = ksg_mi(_standardise_columns(np.asarray(xa, dtype=np.float64)),
                       _standardise_columns(np.asarray(ya, dtype=np.float64)), 5)
        return mi

    def mmse_curve(self, x: Any, y: Any, grid: Optional[np.ndarray] = None,
                   k_draws: int = 4, z: Any = None) -> MMSECurve:
        """The unconditional and conditional eps-MMSE curves on a log-SNR grid, evaluated on
        (x, y) (preferably held-out). Default grid: the proposal window widened by 2 on each
        side, 61 points. With z: the curves given z and given (y, z)."""
        self._check_is_fitted("model_")
        xt, yt, ct = self._prepare(x, y, z, fitting=False, min_samples=2)
        if grid is None:
            g = logsnr_grid(self.proposal_.low - 2, self.proposal_.high + 2, 61, device=self.device_)
        else:
            g = torch.as_tensor(np.asarray(grid, dtype=np.float32), device=self.device_)
            if g.ndim != 1 or g.numel() < 2 or not torch.isfinite(g).all():
                raise ValueError("grid: expected a 1-D array of at least 2 finite log-SNR values")
        gen = torch.Generator(device=self.device_).manual_seed(self._estimate_seed_ + 1)
        res = mmse_on_grid(self.model_, xt, yt, g, check_positive_int(k_draws, "k_draws"), gen,
                           context=ct)
        return MMSECurve(logsnr=g.cpu().double().numpy(), mmse=res["mmse"],
                         mmse_cond=res["mmse_cond"], mmse_stderr=res["mmse_stderr"],
                         mmse_cond_stderr=res["mmse_cond_stderr"], dim_x=self.dim_x_,
                         gap_orthogonal=res["gap_orthogonal"])

    def pointwise_mi(self, x: Any, y: Any, z: Any = None) -> np.ndarray:
        """Per-sample contributions whose mean is the estimate (shape (n,), in ``units``),
        in the estimate's integrand form and draws. For pointwise MI values that estimate
        i(x; y) itself, use :meth:`pointwise`."""
        draws = self._draws(x, y, z)[0]
        return nats_to(1.0, self.units) * draws.pointwise(_FORM[self.variant_])

    def pointwise(self, x: Any, y: Any, z: Any = None, *, k_draws: int = 64) -> PointwiseResult:
        """Pointwise MI i(x_i; y_i) = log p(x_i | y_i) - log p(x_i) of each row (or
        i(x_i; y_i | z_i) with z), from ``k_draws`` noise draws per row.

        Uses the *direct* integrand, 1/2 w (||eps - eps_hat(z)||^2 - ||eps - eps_hat(z, y)||^2):
        for each fixed (x, y) its expectation over the noise is exactly the log density
        ratio (the pointwise I-MMSE relation). The orthogonal integrand has the same mean
        over rows but not row by row. Each value's ``stderr`` is its Monte Carlo error over
        the draws; rows should be ones the network did not train on
        (:func:`mmgap.pointwise_mi` cross-fits so that every row is).
        """
        k = check_positive_int(k_draws, "k_draws")
        draws = self._draws(x, y, z, k=k)[0]
        v = draws.mi_values("direct")
        scale = nats_to(1.0, self.units)
        se = v.std(axis=1, ddof=1) / math.sqrt(k) if k > 1 else np.full(v.shape[0], np.inf)
        return PointwiseResult(values=scale * v.mean(axis=1), stderr=scale * se, units=self.units,
                               quantity="pcmi" if self.has_z_ else "pmi",
                               diagnostics={"integrand": "direct", "k_draws": k,
                                            "proposal": self.proposal_.to_dict()})

    # ------------------------------------------------------------------ persistence
    def _config(self) -> dict:
        """The JSON-able description of this fitted estimator (see :mod:`mmgap.persistence`)."""
        params = self.get_params()
        params["device"] = str(params["device"])
        return {
            "format": "mmgap-estimator", "mmgap_version": __version__,
            "class": type(self).__name__, "params": params,
            "fitted": {
                "dim_x": self.dim_x_, "dim_y": self.dim_y_, "dim_y_in": self.dim_y_in_,
                "n_train": self.n_train_, "n_validation": self.n_validation_, "width": self.model_.net.width,
                "depth": self.model_.net.depth, "proposal": self.proposal_.to_dict(),
                "network": self.network_kind_, "x_image_shape": self.x_image_shape_,
                "y_image_shape": self.y_image_shape_,
                "adaptation": self.adaptation_, "estimate_seed": self._estimate_seed_,
                "variant": self.variant_, "auto": self.auto_,
                "gaussian_check": getattr(self, "gaussian_check_", None),
                "linear_test": getattr(self, "linear_test_", None),
                "label_entropy": getattr(self, "label_entropy_", None),
                "x_scaler": None if self.x_scaler_ is None else self.x_scaler_.to_dict(),
                "y_scaler": None if self.y_scaler_ is None else self.y_scaler_.to_dict(),
                "y_encoder": None if self.y_encoder_ is None else self.y_encoder_.to_dict(),
                "dim_z": self.dim_z_, "dim_z_in": self.dim_z_in_,
                "z_image_shape": self.z_image_shape_,
                "z_scaler": None if self.z_scaler_ is None else self.z_scaler_.to_dict(),
                "z_encoder": None if self.z_encoder_ is None else self.z_encoder_.to_dict(),
                "dim_x_in": self.dim_x_in_, "x_discrete": self.x_discrete_,
                "y_discrete": self.y_discrete_, "z_discrete": self.z_discrete_,
                "y_labels": self.y_labels_, "z_labels": self.z_labels_,
                "swapped": self.swapped_,
                "training": {**self.training_log_.summary(),
                             "eval_every": getattr(self, "eval_every_", None)},
                "learning": _learning_record(getattr(self, "learning_", None)),
                "seconds_fit": self.seconds_fit_,
            },
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``path/config.json`` (parameters, preprocessing, proposal, the weights' hash)
        and ``path/weights.pt`` (EMA state_dict) atomically. An existing non-empty ``path`` is
        replaced only with ``overwrite=True``. Returns the directory."""
        from .persistence import save_estimator

        return save_estimator(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> "MMGEstimator":
        """Load an estimator written by :meth:`save`. The config is validated in full first
        (one ValueError naming the file and field); weights are read with
        ``weights_only=True`` and checked against the saved hash; nothing is unpickled."""
        from .persistence import load_estimator

        return load_estimator(cls, path, device=device)


def validation_interval(n_steps: int) -> int:
    """Steps between validation scores of a fit with a budget of ``n_steps``."""
    return max(50, n_steps // 12)


def train_test_split_indices(n: int, test_size: float, random_state: Any,
                             labels: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Random (train_idx, test_idx) with round(test_size * n) test points (at least 2).
    With ``labels`` (discrete y) the split is stratified: every class gets
    round(test_size * count) held-out points, at least 1 and at most count - 1, so it
    appears in both parts; a class with a single sample goes to the training part."""
    n_test = max(2, int(round(test_size * n)))
    if n - n_test < 10:
        raise ValueError(
            f"x: expected enough samples for a train/test split (at least {n_test + 10}), got {n}"
        )
    rng = np.random.default_rng(random_state)
    if labels is None:
        perm = rng.permutation(n)
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    test = []
    for c in range(classes.size):
        if counts[c] < 2:  # a single sample: training only (held out, it would be unseen)
            continue
        idx = rng.permutation(np.flatnonzero(inverse == c))
        k = int(min(max(1, round(test_size * idx.size)), idx.size - 1))
        test.append(idx[:k])
    held = sum(t.size for t in test)
    if held < 2:
        raise ValueError(
            f"y: {classes.size} classes in {n} samples leave {held} to hold out (a class needs "
            "at least 2 samples to appear in both parts): too many classes for the data; merge "
            "rare classes, or do not declare y discrete")
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(n), test_idx), test_idx


def discrete_spec(cls: type, params: dict, name: str) -> Any:
    """``params[name]`` if given, else the default of ``cls`` (False if it has none)."""
    if name in params:
        return params[name]
    p = inspect.signature(cls.__init__).parameters.get(name)
    return False if p is None else p.default


def _row_symbols(a: np.ndarray) -> np.ndarray:
    """One integer symbol per distinct row of ``a`` (for the plug-in entropy of a discrete
    variable with several columns)."""
    return np.unique(a, axis=0, return_inverse=True)[1].reshape(-1)


def _control_diagnostics(control: Dict[str, Any], units: str) -> Dict[str, Any]:
    """The JSON-ready ``diagnostics["control_variate"]`` of :meth:`MMGEstimator.estimate`."""
    if not control.get("applied"):
        return {"applied": False, "reason": control.get("reason")}
    out: Dict[str, Any] = {"applied": True, "n_all": control["n_all"]}
    for f in ("orthogonal", "direct", "difference"):
        c = control.get(f)
        out[f] = None if c is None else {
            "mi_without": nats_to(c["mi_plain"], units),
            "stderr_without": nats_to(c["stderr_plain"], units),
            "beta": c["beta"], "correlation": c["corr"]}
    return out


def _prepared_tensor(a: Any, mapper, name: str, order: Optional[np.ndarray],
                     device) -> torch.Tensor:
    """float32 tensor of ``mapper.transform(a)`` (or of ``a`` when ``mapper`` is None), rows
    in ``order`` when given, built block by block from a float array, a memory map or a
    :class:`mmgap.validation.RowSubset`: no full-size float64 copy is made. Per-row maps
    give the same numbers as transforming the whole array at once, so the blocks are mapped
    on ``torch.get_num_threads()`` threads. One-hot and discrete-column maps transform the
    whole array (their messages name the caller's rows)."""
    if isinstance(mapper, (OneHot, DiscreteColumns)) or np.ndim(a) != 2:
        whole = np.asarray(a)
        out = np.asarray(whole if mapper is None else mapper.transform(whole, name))
        if order is not None:
            out = out[order]
        return torch.as_tensor(out, dtype=torch.float32, device=device)
    n = int(a.shape[0])
    step = chunk_rows(a.shape[1])

    def mapped(start: int) -> np.ndarray:
        rows = slice(start, start + step) if order is None else order[start:start + step]
        block = np.asarray(a[rows])
        return block if mapper is None else mapper.transform(block, name)

    first = mapped(0)
    out = torch.empty((n, first.shape[1]), dtype=torch.float32)
    dest = out.numpy()
    dest[:first.shape[0]] = first

    def fill(start: int) -> None:
        dest[start:start + step] = mapped(start)

    starts = range(step, n, step)
    workers = min(len(starts), torch.get_num_threads())
    if workers > 1:  # numpy's interpolation, ndtri and copies release the GIL
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fill, starts))
    else:
        for start in starts:
            fill(start)
    return out.to(device)


def _learning_record(learning: Optional[dict]) -> Optional[dict]:
    """What a saved estimator keeps of ``inference.learning_growth``'s record: the inputs of
    the ``still_learning`` flag (not the per-checkpoint curve)."""
    if learning is None:
        return None
    out = {k: learning[k] for k in ("half_step", "chosen_step")}
    for k in ("growth", "growth_stderr"):
        v = learning[k]
        out[k] = float(v) if v is not None and math.isfinite(v) else None
    return out


def _learning_diagnostics(learning: Optional[dict], units: str) -> Optional[dict]:
    """``inference.learning_growth``'s record in the result's units (None without validation)."""
    if learning is None:
        return None
    out = dict(learning)
    out["mi"] = [nats_to(v, units) for v in learning["mi"]]
    for key in ("growth", "growth_stderr"):
        if out[key] is not None:
            out[key] = nats_to(out[key], units)
    return out


def _rows(a: Any, idx: np.ndarray, shape) -> np.ndarray:
    """Rows ``idx`` of a validated (flattened) array, back in the caller's image layout."""
    return a[idx] if shape is None else a[idx].reshape(-1, *shape)


def fit_estimate(x: Any, y: Any, *, test_size: float = 0.2, random_state: Optional[int] = 0,
                 estimator: Optional[type] = None, z: Any = None, repair: bool = True,
                 **params: Any):
    """Split, fit on the training part, estimate on the held-out part.
    Returns (fitted estimator, MIResult, (x_test, y_test)); see :func:`mmgap.api.estimate_mi`.
    ``repair``: when ``inference.repair_trigger`` fires, refit on the same rows with the
    cure of ``inference.REPAIR_CURES`` and return the refit; ``diagnostics["repair"]`` keeps
    the first fit. The triggers (only without z): the Gaussian-copula check well above the
    first fit, with ``gaussian_prior`` left at None and a non-adaptive variant (cure:
    ``gaussian_prior=True``); the k-NN check above the interval with ``preprocess`` left at
    its default rank map (cure: ``preprocess="standardize"``; the refit's 95% interval is
    widened to hold the first fit's, ``inference.REPAIR_HULL``).
    With ``z`` the estimate is I(X;Y|Z), z is split with the same rows, and the last item
    is (x_test, y_test, z_test).
    ``estimator``: the class to construct with ``params`` (default :class:`MMGEstimator`;
    any class with fit/estimate and a ``random_state`` parameter)."""
    t0 = time.perf_counter()
    check_fraction(test_size, "test_size")
    check_random_state(random_state)
    data = prepare_fit_inputs(x, y, z, estimator=estimator, repair=repair, params=params)
    # stratify on discrete y, else on discrete z, so that every class is in both parts
    tr, te = train_test_split_indices(data.n, test_size, random_state, labels=data.labels)
    est, res, held = fit_rows(data, tr, te, random_state=random_state, params=params,
                              control=data.labels is None)
    res.seconds = time.perf_counter() - t0
    res.diagnostics["test_size"] = test_size
    return est, res, held


class FitInputs:
    """Validated inputs of :func:`fit_estimate` and of a cross-fit (:mod:`mmgap.crossfit`),
    ready to be split by rows: the arrays ``xa``, ``ya``, ``za`` (flattened images), their
    callers' image shapes, the stratification ``labels`` (discrete y, else discrete z, else
    None), the estimator class and whether it may be repaired."""

    def __init__(self, **fields: Any):
        self.__dict__.update(fields)

    @property
    def n(self) -> int:
        return int(self.xa.shape[0])


def prepare_fit_inputs(x: Any, y: Any, z: Any = None, *, estimator: Optional[type] = None,
                       repair: bool = True, params: Optional[dict] = None) -> FitInputs:
    """Validate (x, y[, z]) once for :func:`fit_rows` (every row is checked here, so that
    messages name the caller's rows)."""
    params = {} if params is None else params
    if not isinstance(repair, bool):
        raise ValueError(f"repair: expected True or False, got {repair!r}")
    cls = estimator or MMGEstimator
    y_labels = label_column(discrete_spec(cls, params, "y_discrete"), y, "y", "y_discrete")
    xf, x_shape = split_image(x, "x")
    yf, y_shape = (y, None) if y_labels else split_image(y, "y")
    # MMG estimators read float input (memory maps too) in blocks: no float64 copy here
    blocked = isinstance(cls, type) and issubclass(cls, MMGEstimator)
    xa, ya = check_xy(xf, yf, y_discrete=y_labels, min_samples=20,
                      dtype=None if blocked else np.float64)
    za = z_labels = None
    if z is not None:
        za = np.asarray(z.detach().cpu().numpy() if hasattr(z, "detach") else z)
        if za.ndim == 0 or za.shape[0] != xa.shape[0]:
            raise ValueError(f"x and z: expected the same number of samples (rows), got "
                             f"{xa.shape[0]} and {za.shape[0] if za.ndim else 'a scalar'}")
        if label_column(discrete_spec(cls, params, "z_discrete"), za, "z", "z_discrete"):
            z_labels = as_labels(za, "z")  # every row checked here: messages name the caller's rows
        else:
            check_finite(as_2d_array(split_image(za, "z")[0], "z", dtype=None), "z")
    # images go back to the caller's layout ((n, H, W) stays 3-D)
    return FitInputs(cls=cls, xa=xa, ya=ya, za=za, y_labels=y_labels, blocked=blocked,
                     labels=ya if y_labels else z_labels,
                     xs=tuple(np.shape(x))[1:] if x_shape is not None else None,
                     ys=tuple(np.shape(y))[1:] if y_shape is not None else None,
                     repairable=blocked and za is None and repair)


def fit_rows(data: FitInputs, tr: np.ndarray, te: np.ndarray, *, random_state: Optional[int],
             params: dict, control: bool = False):
    """Fit ``data.cls(random_state=random_state, **params)`` on rows ``tr``, estimate on
    rows ``te``, and repair as :func:`fit_estimate` describes. Returns (estimator, result,
    held-out arrays); ``result.seconds`` is the estimate's alone. ``control``: ``te`` is a
    uniformly random subset of the rows, so the estimate may use the training rows as
    ``others`` (the control variate of :mod:`mmgap.control`; vectors without z only)."""
    cls, xa, ya, za, xs, ys = data.cls, data.xa, data.ya, data.za, data.xs, data.ys
    est = cls(random_state=random_state, **params)
    fit_kw = {} if za is None else {"z": za[tr]}
    # training rows of a 2-D table are not gathered: fit reads them in blocks
    x_fit = RowSubset(xa, tr) if data.blocked and xs is None else _rows(xa, tr, xs)
    y_fit = (RowSubset(ya, tr) if data.blocked and ys is None and not data.y_labels
             else _rows(ya, tr, ys))
    est.fit(x_fit, y_fit, **fit_kw)
    held = (_rows(xa, te, xs), _rows(ya, te, ys))
    est_kw = {} if za is None else {"z": za[te]}
    if (control and "others" in inspect.signature(est.estimate).parameters
            and za is None and data.xs is None and data.ys is None
            and not data.y_labels and data.n * (int(np.shape(xa)[1]) + int(np.shape(ya)[1]))
            <= control_mod.MAX_CELLS):
        est_kw["others"] = (_rows(xa, tr, None), _rows(ya, tr, None))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = est.estimate(*held, **est_kw)
    trigger = (repair_trigger(
        res.mi, res.flags, res.diagnostics.get("gaussian_check"),
        prior=params.get("gaussian_prior") is None and not est.variant_.endswith("adaptive"),
        rank_map="preprocess" not in params and est.preprocess == "rank",
        knn_raises=bool(res.diagnostics.get("knn_check_raises_upper_end")),
        knn_mi=res.diagnostics.get("knn_check") or 0.0)
        if data.repairable else None)
    if trigger is not None:
        # the known cures (inference.REPAIR_CURES; design notes 23, 25, 26)
        first = res
        cure = REPAIR_CURES[trigger]
        logger.info("%s: refitting with %s", trigger, cure)
        est = cls(random_state=random_state, **dict(params, **cure))
        est.fit(x_fit, y_fit, **fit_kw)
        res = est.estimate(*held, **est_kw)
        lo, hi = first.ci95
        if trigger in REPAIR_HULL:  # both fits are valid: the interval holds both (note 27)
            res.ci_low_ceiling = lo
            res.ci_high_floor = hi if res.ci_high_floor is None else max(hi, res.ci_high_floor)
        res.diagnostics["repair"] = {
            "flag": trigger,
            "action": "refitted with " + ", ".join(f"{k}={v!r}" for k, v in cure.items()),
            "first_fit": {"mi": first.mi, "ci95": [lo, hi if math.isfinite(hi) else None],
                          "flags": [f["code"] for f in first.flags],
                          "seconds": first.diagnostics.get("seconds_fit")},
            "interval": ("hull of both fits' intervals" if trigger in REPAIR_HULL
                         else "the refit's"),
        }
    else:
        for w in caught:  # nothing was repaired: the first fit's warnings stand
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    del x_fit, y_fit
    return est, res, held if za is None else held + (za[te],)
