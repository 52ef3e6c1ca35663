"""Variational lower bounds on I(X;Y) as pure functions of a critic's score matrix.

``scores`` is a (B, B) tensor with ``scores[i, j] = f(x_i, y_j)`` for a batch of B joint
samples (x_i, y_i): the diagonal holds B draws from p(x, y), the B(B-1) off-diagonal
entries draws from p(x)p(y). Every bound is returned as B per-row *terms* whose mean is the
bound, so that a validation loss can be compared checkpoint to checkpoint row by row.

- InfoNCE (van den Oord et al. 2018; Poole et al. 2019 eq. 12)::

      I >= mean_i [ f(x_i, y_i) - log( (1/B) sum_j exp f(x_i, y_j) ) ]

  never above log B (the denominator includes the positive pair).
- NWJ (Nguyen, Wainwright & Jordan 2010; "f-GAN KL", Poole et al. eq. 9 with a = e)::

      I >= E_p[f] - E_{p(x)p(y)}[exp(f - 1)]

- DV (Donsker-Varadhan)::

      I >= E_p[f] - log E_{p(x)p(y)}[exp f]

- MINE (Belghazi et al. 2018) reports the DV bound, but trains with a biased-gradient fix:
  the denominator E[exp f] of the DV gradient is replaced by an exponential moving average
  across batches (:func:`mine_surrogate`).

The expectations over p(x)p(y) use all off-diagonal pairs of the batch.
"""

from __future__ import annotations

import math
from typing import Tuple

import torch
from torch import Tensor

__all__ = ["BOUNDS", "infonce_terms", "nwj_terms", "dv_terms", "bound_terms", "bound_value",
           "offdiag_logmeanexp", "mine_surrogate"]


def _check_scores(scores: Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores: expected a square (B, B) matrix with B >= 2, got shape "
                         f"{tuple(scores.shape)}")
    return scores.shape[0]


def _offdiag(scores: Tensor) -> Tensor:
    """The B(B-1) off-diagonal entries, shape (B, B-1) (row i: f(x_i, y_j), j != i)."""
    b = scores.shape[0]
    return scores.flatten()[1:].view(b - 1, b + 1)[:, :-1].reshape(b, b - 1)


def offdiag_logmeanexp(scores: Tensor) -> Tensor:
    """log of the mean of exp(scores[i, j]) over all i != j (a scalar), computed stably."""
    b = _check_scores(scores)
    return torch.logsumexp(_offdiag(scores).flatten(), 0) - math.log(b * (b - 1))


def infonce_terms(scores: Tensor) -> Tensor:
    """Per-row InfoNCE terms ``f_ii - logsumexp_j f_ij + log B``, shape (B,)."""
    b = _check_scores(scores)
    return scores.diagonal() - torch.logsumexp(scores, dim=1) + math.log(b)


def nwj_terms(scores: Tensor) -> Tensor:
    """Per-row NWJ terms ``f_ii - mean_{j != i} exp(f_ij - 1)``, shape (B,)."""
    _check_scores(scores)
    return scores.diagonal() - torch.exp(_offdiag(scores) - 1.0).mean(dim=1)


def dv_terms(scores: Tensor) -> Tensor:
    """Per-row DV terms ``f_ii - log mean_{i != j} exp f_ij`` (the log-mean-exp is over the
    whole off-diagonal, so it is shared by all rows), shape (B,)."""
    return scores.diagonal() - offdiag_logmeanexp(scores)


BOUNDS = {"infonce": infonce_terms, "nwj": nwj_terms, "dv": dv_terms, "mine": dv_terms}


def bound_terms(name: str, scores: Tensor) -> Tensor:
    """Per-row terms of the bound ``name`` (one of :data:`BOUNDS`); their mean is the bound."""
    if name not in BOUNDS:
        raise ValueError(f"bound: expected one of {sorted(BOUNDS)}, got {name!r}")
    return BOUNDS[name](scores)


def bound_value(name: str, scores: Tensor) -> Tensor:
    """The bound ``name`` on one batch (a scalar tensor)."""
    return bound_terms(name, scores).mean()


def mine_surrogate(scores: Tensor, log_ma: Tensor) -> Tuple[Tensor, Tensor]:
    """MINE's training objective for one batch, given ``log_ma``, the log of the moving
    average of E_q[exp f] from earlier batches (a detached scalar).

    Returns (surrogate, batch_log_mean_exp). The surrogate ``mean f_ii - m_b / ma`` with
    ``m_b`` the batch mean of exp f over off-diagonal pairs has gradient
    ``grad mean f_ii - grad m_b / ma``: the DV gradient with its denominator m_b replaced by
    the moving average, which removes most of the bias of the minibatch DV gradient.
    Computed in log space (exp(log m_b - log ma)) so large scores do not overflow.
    """
    lme = offdiag_logmeanexp(scores)
    surrogate = scores.diagonal().mean() - torch.exp(lme - log_ma.detach())
    return surrogate, lme.detach()
