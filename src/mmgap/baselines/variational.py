"""Neural variational MI estimators: InfoNCE, NWJ, DV and MINE behind one class.

A critic (:mod:`.critics`) is trained on the training samples to maximise a lower bound
(:mod:`.bounds`) with mmgap's training loop (:class:`mmgap.training.Trainer`: AdamW, warm-up
and cosine schedule, EMA weights, checkpoint selection on a validation part of the *training*
data). ``estimate`` evaluates the bound once, with the EMA weights, on the samples it is
given (held-out data, by :func:`mmgap.methods.run_method`), split into batches of
``batch_size`` rows: the estimate is the mean over batches, its standard error the spread of
the batch values over sqrt(number of batches). The reported number is never the best of
several evaluations on the reported set.

All four bounds are lower bounds in expectation. InfoNCE cannot exceed log(batch_size);
NWJ, DV and MINE can, but their variance grows like exp(I) (McAllester & Stratos 2020;
Song & Ermon 2020), so they become unreliable above a few nats.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from mmgap.base import resolve_device
from mmgap.preprocessing import make_scaler
from mmgap.training import Trainer
from mmgap.types import MIResult, check_units, nats_to
from mmgap.validation import (check_fraction, check_positive_int, check_training_params,
                              check_xy)

from ._base import ParamsMixin, check_fit_dims, record_fit_dims
from .bounds import BOUNDS, bound_terms, mine_surrogate, offdiag_logmeanexp
from .critics import CRITICS, make_critic

__all__ = ["VariationalEstimator", "InfoNCEEstimator", "NWJEstimator", "DVEstimator",
           "MINEEstimator", "BoundLoss", "MINELoss", "BoundValidation"]

logger = logging.getLogger(__name__)


class BoundLoss:
    """Training loss for the Trainer: minus the bound ``name`` on the batch's score matrix.
    __call__(critic, x, y, context, generator) -> scalar."""

    def __init__(self, name: str):
        if name not in BOUNDS:
            raise ValueError(f"bound: expected one of {sorted(BOUNDS)}, got {name!r}")
        self.name = name

    def __call__(self, critic, x: Tensor, y: Tensor, context, generator) -> Tensor:
        return -bound_terms(self.name, critic(x, y)).mean()


class MINELoss:
    """MINE's loss: minus :func:`.bounds.mine_surrogate`, with the moving average of
    E_q[exp f] (kept in log space) updated after every batch at rate ``rate``."""

    def __init__(self, rate: float = 0.01):
        check_fraction(rate, "mine_rate")
        self.rate = float(rate)
        self.log_ma: Optional[Tensor] = None

    def __call__(self, critic, x: Tensor, y: Tensor, context, generator) -> Tensor:
        scores = critic(x, y)
        if self.log_ma is None:  # first batch: the average starts at the batch value
            self.log_ma = offdiag_logmeanexp(scores).detach()
        surrogate, lme = mine_surrogate(scores, self.log_ma)
        # log((1 - r) * ma + r * m_b), computed stably
        self.log_ma = torch.logaddexp(self.log_ma + math.log1p(-self.rate),
                                      lme + math.log(self.rate))
        return -surrogate


def _batches(n: int, batch_size: int):
    """Index arrays splitting range(n) into max(1, n // batch_size) near-equal batches."""
    return np.array_split(np.arange(n), max(1, n // batch_size))


class BoundValidation:
    """Minus the per-row bound terms of a critic on fixed validation batches (for the
    Trainer's checkpoint selection). __call__(critic) -> (n,) tensor."""

    def __init__(self, name: str, x: Tensor, y: Tensor, batch_size: int):
        self.name, self.x, self.y = name, x, y
        self.batches = _batches(x.shape[0], batch_size)

    @torch.no_grad()
    def __call__(self, critic) -> Tensor:
        parts = [-bound_terms(self.name, critic(self.x[b], self.y[b])).double()
                 for b in self.batches]
        return torch.cat(parts).cpu()


class VariationalEstimator(ParamsMixin):
    """A critic trained to maximise a variational lower bound on I(X;Y).

    Parameters
    ----------
    bound : "infonce" | "nwj" | "dv" | "mine".
    critic : "separable" (g(x).h(y), default) or "joint" (MLP on [x, y]; B times slower).
    width, depth, embed_dim : critic size: hidden width, hidden layers per MLP, and the
        embedding size of the separable critic.
    n_steps, batch_size, learning_rate, weight_decay, ema_decay : training (AdamW with
        warm-up and cosine decay; EMA of the weights used for the estimate).
    max_seconds : optional wall-clock budget for training.
    mine_rate : MINE only, rate of the moving average of E_q[exp f].
    validation_fraction : part of the training data held back to score checkpoints (the
        bound on fixed batches) about 12 times; the best-scoring EMA weights are kept.
    patience : stop after this many scores without improvement (None: never).
    preprocess : per-column map fitted on the training data, as in MMGEstimator
        ("rank" default, "standardize", "none").
    units, device, random_state, verbose : as in MMGEstimator.
    """

    name = "variational"
    description = "variational lower bound with a neural critic"
    reference = "Poole et al., On variational bounds of mutual information, ICML 2019"
    needs_heldout = True

    def __init__(self, bound: str = "infonce", critic: str = "separable", width: int = 128,
                 depth: int = 2, embed_dim: int = 32, n_steps: int = 3000, batch_size: int = 256,
                 learning_rate: float = 1e-3, weight_decay: float = 0.0, ema_decay: float = 0.99,
                 max_seconds: Optional[float] = None, mine_rate: float = 0.01,
                 validation_fraction: float = 0.1, patience: Optional[int] = 4,
                 preprocess: str = "rank", units: str = "nats", device: str = "auto",
                 random_state: Optional[int] = None, verbose: bool = True):
        self.bound = bound
        self.critic = critic
        self.width = width
        self.depth = depth
        self.embed_dim = embed_dim
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.max_seconds = max_seconds
        self.mine_rate = mine_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.preprocess = preprocess
        self.units = units
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        if self.bound not in BOUNDS:
            raise ValueError(f"bound: expected one of {sorted(BOUNDS)}, got {self.bound!r}")
        if self.critic not in CRITICS:
            raise ValueError(f"critic: expected one of {sorted(CRITICS)}, got {self.critic!r}")
        for name in ("width", "depth", "embed_dim", "n_steps"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.batch_size, "batch_size", minimum=2)
        check_training_params(self)
        check_fraction(self.mine_rate, "mine_rate")
        check_units(self.units)
        make_scaler(self.preprocess)

    def _tensors(self, x: np.ndarray, y: np.ndarray):
        if self.x_scaler_ is not None:
            x = self.x_scaler_.transform(x, "x")
            y = self.y_scaler_.transform(y, "y")
        dev = self.device_
        return (torch.as_tensor(x, dtype=torch.float32, device=dev),
                torch.as_tensor(y, dtype=torch.float32, device=dev))

    def fit(self, x: Any, y: Any) -> "VariationalEstimator":
        """Train the critic on (x, y). Returns self."""
        t0 = time.perf_counter()
        self._check_params()
        xa, ya = check_xy(x, y, min_samples=20)
        record_fit_dims(self, xa, ya)
        self.device_ = resolve_device(self.device)
        self.x_scaler_ = make_scaler(self.preprocess)
        self.y_scaler_ = make_scaler(self.preprocess)
        if self.x_scaler_ is not None:
            self.x_scaler_.fit(xa, "x")
            self.y_scaler_.fit(ya, "y")
        xt, yt = self._tensors(xa, ya)
        rng = np.random.default_rng(self.random_state)
        seed_init, seed_train, seed_val = (int(s) for s in rng.integers(0, 2**62, size=3))
        n = xt.shape[0]
        n_val = int(round(self.validation_fraction * n))
        validation = None
        if n_val >= 20:
            perm = torch.as_tensor(np.random.default_rng(seed_val).permutation(n), device=self.device_)
            xv, yv = xt[perm[:n_val]], yt[perm[:n_val]]
            xt, yt = xt[perm[n_val:]], yt[perm[n_val:]]
            # at least two batches; smaller than the training batch if the part is small
            validation = BoundValidation(self.bound, xv, yv, min(int(self.batch_size), n_val // 2))
        elif n_val:
            logger.info("validation part has fewer than 20 rows; validation is off")
            n_val = 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed_init)
            model = make_critic(self.critic, self.dim_x_, self.dim_y_, width=int(self.width),
                                depth=int(self.depth), embed_dim=int(self.embed_dim))
        model = model.to(self.device_)
        gen = torch.Generator(device=self.device_).manual_seed(seed_train)
        trainer = Trainer(model, total_steps=int(self.n_steps), learning_rate=self.learning_rate,
                          weight_decay=self.weight_decay or 0.0, ema_decay=self.ema_decay,
                          max_seconds=self.max_seconds, generator=gen, verbose=self.verbose)
        loss = MINELoss(self.mine_rate) if self.bound == "mine" else BoundLoss(self.bound)
        trainer.run(loss, xt, yt, n_steps=int(self.n_steps), batch_size=int(self.batch_size),
                    name=self.bound, validation=validation,
                    eval_every=max(50, int(self.n_steps) // 12), patience=self.patience)
        self.n_validation_ = n_val
        self.n_train_ = int(n)  # all rows given to fit, the validation part included
        self.critic_ = trainer.ema.eval().requires_grad_(False)
        self.training_log_ = trainer.log
        self.seconds_fit_ = time.perf_counter() - t0
        return self

    @torch.no_grad()
    def estimate(self, x: Any, y: Any) -> MIResult:
        """The bound on (x, y) (preferably held out) in near-equal batches of ``batch_size``
        rows; stderr = sd of the batch values / sqrt(number of batches) (nan for one batch).
        The error bar covers the evaluation sample only, not training randomness."""
        t0 = time.perf_counter()
        self._check_is_fitted("critic_")
        xa, ya = check_xy(x, y, min_samples=2, check_constant=False)
        check_fit_dims(self, xa, ya)
        xt, yt = self._tensors(xa, ya)
        batches = _batches(xt.shape[0], int(self.batch_size))
        values = np.array([float(bound_terms(self.bound, self.critic_(xt[b], yt[b])).double().mean())
                           for b in batches])
        mi = float(np.mean(values))
        se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
        u = self.units
        diagnostics = {
            "bound": self.bound, "critic": self.critic, "n_batches": len(values),
            "batch_values": [nats_to(v, u) for v in values.tolist()],
            "log_batch_size": math.log(int(self.batch_size)),
            "n_validation": self.n_validation_,
            "training": self.training_log_.summary(),
            "device": str(self.device_), "seconds_fit": self.seconds_fit_,
            "warnings": [],
        }
        if self.bound == "infonce" and mi > math.log(len(batches[0])) - 0.5:
            diagnostics["warnings"].append(
                "InfoNCE is within 0.5 nats of its ceiling log(batch_size); the true MI may be higher")
        return MIResult(mi=nats_to(mi, u), stderr=nats_to(se, u), units=u, variant=self.name,
                        n_train=self.n_train_, n_test=int(xt.shape[0]),
                        seconds=time.perf_counter() - t0, diagnostics=diagnostics)


def _bound_class(bound: str, description: str, reference: str) -> type:
    """A VariationalEstimator subclass with ``bound`` fixed (its own name and docs). Its
    ``__init__`` has VariationalEstimator's signature without ``bound`` (so get_params,
    set_params and repr see the right parameters), with the defaults defined once."""
    base = inspect.signature(VariationalEstimator.__init__)
    sig = base.replace(parameters=[p for n, p in base.parameters.items() if n != "bound"])

    def __init__(self, *args, **kwargs):
        given = sig.bind(self, *args, **kwargs)
        given.apply_defaults()
        params = {k: v for k, v in given.arguments.items() if k != "self"}
        VariationalEstimator.__init__(self, bound=bound, **params)

    __init__.__signature__ = sig
    cls_name = {"infonce": "InfoNCEEstimator", "nwj": "NWJEstimator", "dv": "DVEstimator",
                "mine": "MINEEstimator"}[bound]
    doc = f"{description}.\n\n    Reference: {reference}.\n    Parameters as in VariationalEstimator (bound fixed to {bound!r})."
    return type(cls_name, (VariationalEstimator,), {
        "__init__": __init__, "__doc__": doc, "name": bound, "description": description,
        "reference": reference, "__module__": __name__,
    })


InfoNCEEstimator = _bound_class(
    "infonce", "InfoNCE contrastive lower bound (at most log batch_size), neural critic",
    "van den Oord, Li & Vinyals, Representation learning with contrastive predictive coding, "
    "arXiv 1807.03748, 2018")
NWJEstimator = _bound_class(
    "nwj", "NWJ (f-divergence) lower bound, neural critic",
    "Nguyen, Wainwright & Jordan, Estimating divergence functionals and the likelihood ratio "
    "by convex risk minimization, IEEE Trans. Inf. Theory 2010")
DVEstimator = _bound_class(
    "dv", "Donsker-Varadhan lower bound, neural critic, plain minibatch gradients",
    "Donsker & Varadhan 1983; as an estimator: Poole et al., ICML 2019")
MINEEstimator = _bound_class(
    "mine", "MINE: Donsker-Varadhan bound with the moving-average gradient correction",
    "Belghazi et al., Mutual information neural estimation, ICML 2018")
