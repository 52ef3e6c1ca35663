"""Plots (needs the ``plot`` extra: ``pip install 'mmgap[plot]'``)."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from .types import MMSECurve

__all__ = ["plot_mmse_curve", "plot_pointwise"]


def _pyplot():
    try:
        import matplotlib

        if not os.environ.get("DISPLAY") and os.environ.get("MPLBACKEND") is None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'mmgap[plot]' (or pip install matplotlib)"
        ) from err
    return plt


def _figure(ax):
    """(figure, axes): a new 6.4 x 4.2 in figure, or the one ``ax`` belongs to."""
    if ax is None:
        return _pyplot().subplots(figsize=(6.4, 4.2), dpi=120)
    return ax.figure, ax


def plot_mmse_curve(curve: MMSECurve, path: Optional[str] = None, *, ax=None,
                    title: Optional[str] = None, mi: Optional[float] = None,
                    proposal=None):
    """Draw the unconditional and conditional eps-MMSE curves against log-SNR with the gap
    between them shaded (its area / 2 is the MI). Saves a PNG when ``path`` is given.
    Returns the matplotlib Figure."""
    fig, ax = _figure(ax)
    lam = np.asarray(curve.logsnr)
    ax.plot(lam, curve.mmse, color="C0", label="mmse(logsnr)  (y withheld)")
    ax.plot(lam, curve.mmse_cond, color="C1", label="mmse(logsnr | y)")
    ax.fill_between(lam, curve.mmse_cond, curve.mmse, where=curve.mmse >= curve.mmse_cond,
                    color="C2", alpha=0.3, interpolate=True,
                    label="gap (area / 2 = I(X;Y))" if mi is None else f"gap: I = {mi:.3f} nats")
    ax.fill_between(lam, curve.mmse, curve.mmse_cond, where=curve.mmse < curve.mmse_cond,
                    color="C3", alpha=0.3, interpolate=True,
                    label="negative gap" if np.any(curve.mmse < curve.mmse_cond) else None)
    ax.axhline(curve.dim_x, color="0.6", lw=0.8, ls=":")
    if proposal is not None:
        ax.axvspan(proposal.low, proposal.high, color="0.9", zorder=0,
                   label="log-SNR window")
    ax.set_xlabel("log-SNR  $\\lambda$")
    ax.set_ylabel("denoising error  E||eps - eps_hat||$^2$")
    ax.set_title(title or "MMSE gap")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def plot_pointwise(result, path: Optional[str] = None, *, ax=None, title: Optional[str] = None):
    """Histogram of pointwise MI values (a :class:`mmgap.types.PointwiseResult`) with their
    mean (the MI estimate) marked. Saves a PNG when ``path`` is given. Returns the Figure."""
    fig, ax = _figure(ax)
    v = np.asarray(result.values)
    ax.hist(v, bins=min(80, max(10, v.size // 50)), color="C0", alpha=0.8)
    ax.axvline(result.mean, color="C3", lw=1.5,
               label=f"mean = {result.mean:.3f} {result.units} (the MI estimate)")
    ax.axvline(0.0, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel(f"pointwise MI ({result.units})")
    ax.set_ylabel("rows")
    ax.set_title(title or f"pointwise MI of {v.size} rows "
                 f"(median per-row stderr {np.median(result.stderr):.2f})")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def plot_mi_matrix(result, path: Optional[str] = None, *, ax=None, title: Optional[str] = None):
    """Heat map of a pairwise MI matrix (a :class:`mmgap.matrix.MIMatrix`), the diagonal
    left blank (entropy or infinite). Saves a PNG when ``path`` is given. Returns the
    Figure."""
    fig, ax = _figure(ax)
    m = np.array(result.mi, dtype=float)
    np.fill_diagonal(m, np.nan)
    p = m.shape[0]
    im = ax.imshow(m, cmap="viridis", vmin=0.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=f"I(X_i; X_j) ({result.units})")
    ticks = np.arange(p)
    labels = [str(n) for n in result.names]
    if p <= 40:
        ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
        ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_title(title or f"pairwise MI of {p} variables")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
