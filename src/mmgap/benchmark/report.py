"""Summarise results.jsonl: a task x method table, per-method totals, a heatmap.

Success criterion (configurable): a (task, method) passes when the mean estimate over seeds
is within ``abs_tol`` nats of the truth OR within ``rel_tol`` of the truth (for entropy tasks,
``entropy_rel_tol`` = 2% of |h|: entropies are large and their scale is arbitrary).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from .runner import load_records

__all__ = ["Cell", "summarise", "write_report", "plot_heatmap"]


@dataclass
class Cell:
    task: str
    method: str
    truth: float
    n_runs: int
    n_failed: int
    mean: float
    sem: float  # standard error of the mean over seeds (nan with one seed)
    mean_seconds: float
    passed: bool

    @property
    def error(self) -> float:
        return self.mean - self.truth


ENTROPY_REL_TOL = 0.02


def summarise(records: List[Dict[str, Any]], *, abs_tol: float = 0.1,
              rel_tol: float = 0.1, entropy_rel_tol: float = ENTROPY_REL_TOL) -> List[Cell]:
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["task"], r["method"]), []).append(r)
    cells = []
    for (task, method), rs in groups.items():
        ok = [r for r in rs if r.get("success")]
        truth = next((r["truth"] for r in rs if r.get("truth") is not None), float("nan"))
        est = np.array([r["estimate"] for r in ok], dtype=float)
        finite = est[np.isfinite(est)]
        mean = float(finite.mean()) if finite.size and finite.size == est.size else float("nan")
        sem = float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else float("nan")
        secs = float(np.mean([r["seconds"] for r in ok])) if ok else float("nan")
        rel = entropy_rel_tol if rs[0].get("quantity") == "entropy" else rel_tol
        passed = bool(ok) and len(ok) == len(rs) and math.isfinite(mean) and (
            abs(mean - truth) <= abs_tol or abs(mean - truth) <= rel * abs(truth))
        cells.append(Cell(task, method, truth, len(rs), len(rs) - len(ok), mean, sem, secs, passed))
    return cells


def _order(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def plot_heatmap(cells: List[Cell], path: os.PathLike) -> None:
    """Tasks (rows) x methods (columns), coloured by mean estimate - truth (nats)."""
    from ..plotting import _pyplot

    plt = _pyplot()
    tasks = _order(c.task for c in cells)
    methods = _order(c.method for c in cells)
    grid = np.full((len(tasks), len(methods)), np.nan)
    for c in cells:
        grid[tasks.index(c.task), methods.index(c.method)] = c.error
    lim = max(0.2, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.2)
    lim = min(lim, 1.0)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(methods), 1.2 + 0.28 * len(tasks)), dpi=110)
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(len(tasks)):
        for j in range(len(methods)):
            v = grid[i, j]
            ax.text(j, i, "fail" if not np.isfinite(v) else f"{v:+.2f}", ha="center", va="center",
                    fontsize=6.5, color="black")
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=6.5)
    fig.colorbar(im, ax=ax, label="mean estimate - truth (nats)", shrink=0.6)
    ax.set_title("MI estimation error by task and method", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _calibration_lines(records: List[Dict[str, Any]], methods: List[str]) -> List[str]:
    """One table row per method whose records carry ``ci95``: coverage of the truth by the
    per-run 95% interval, the median width, how many runs raised a flag, and how many had
    p <= 0.05 (where the method reports a p-value)."""
    rows = []
    for m in methods:
        rs = [r for r in records if r["method"] == m and r.get("success") and r.get("ci95")]
        if not rs:
            continue
        inf = float("inf")
        covered = sum(r["ci95"][0] <= r["truth"] <= (inf if r["ci95"][1] is None else r["ci95"][1])
                      for r in rs)
        widths = [(inf if r["ci95"][1] is None else r["ci95"][1]) - r["ci95"][0] for r in rs]
        flagged = sum(bool(r.get("flags")) for r in rs)
        ps = [r["p_value"] for r in rs if r.get("p_value") is not None]
        rej = f"{sum(p <= 0.05 for p in ps)}/{len(ps)}" if ps else "-"
        rows.append(f"| {m} | {len(rs)} | {covered}/{len(rs)} ({covered / len(rs):.0%}) | "
                    f"{float(np.median(widths)):.4f} | {flagged}/{len(rs)} | {rej} |")
    return rows


def write_report(out_dir: os.PathLike, *, abs_tol: float = 0.1, rel_tol: float = 0.1,
                 heatmap: bool = True) -> Path:
    """Write ``out_dir/report.md`` (and ``heatmap.png``); returns the report path."""
    out = Path(out_dir)
    records = load_records(out)
    if not records:
        raise ValueError(f"{out}: no results.jsonl records to report on")
    cells = summarise(records, abs_tol=abs_tol, rel_tol=rel_tol)
    tasks = _order(c.task for c in cells)
    methods = _order(c.method for c in cells)
    by = {(c.task, c.method): c for c in cells}
    n_samples = sorted({r["n_samples"] for r in records})
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"# Benchmark report: {len(tasks)} tasks x {len(methods)} methods",
        "",
        f"- Records: {len(records)} from `{out / 'results.jsonl'}`; n_samples {n_samples}; seeds {seeds}.",
        f"- Pass: |mean estimate over seeds - truth| <= {abs_tol} nats or <= {rel_tol:.0%} of "
        "the truth (entropy tasks: 0.1 nats or 2% of |h|), with every seed run successfully.",
        "- Cells: mean estimate (± standard error over seeds), then the error; ✗ marks a miss.",
        "",
        "## Per method",
        "",
        "| method | tasks passed | mean absolute error (nats) | median seconds per task | failed runs |",
        "|---|---|---|---|---|",
    ]
    for m in methods:
        cs = [by[(t, m)] for t in tasks if (t, m) in by]
        errs = [abs(c.error) for c in cs if math.isfinite(c.error)]
        secs = [c.mean_seconds for c in cs if math.isfinite(c.mean_seconds)]
        lines.append(f"| {m} | {sum(c.passed for c in cs)}/{len(cs)} | "
                     f"{np.mean(errs) if errs else float('nan'):.4f} | "
                     f"{np.median(secs) if secs else float('nan'):.1f} | {sum(c.n_failed for c in cs)} |")
    calib = _calibration_lines(records, methods)
    if calib:
        lines += ["", "## Intervals and flags (per run)", "",
                  "| method | runs | 95% CI covers the truth | median CI width (nats) | "
                  "runs flagged | p <= 0.05 |", "|---|---|---|---|---|---|"] + calib
    lines += ["", "## Per task", "", "| task | truth | " + " | ".join(methods) + " |",
              "|---|---|" + "---|" * len(methods)]
    for t in tasks:
        row = [t, f"{next(c.truth for c in cells if c.task == t):.3f}"]
        for m in methods:
            c = by.get((t, m))
            if c is None:
                row.append("")
            elif not math.isfinite(c.mean):
                row.append(f"failed ({c.n_failed}/{c.n_runs})")
            else:
                sem = f" ± {c.sem:.3f}" if math.isfinite(c.sem) else ""
                row.append(f"{c.mean:.3f}{sem} ({c.error:+.3f}){'' if c.passed else ' ✗'}")
        lines.append("| " + " | ".join(row) + " |")
    errors = [r for r in records if not r.get("success")]
    if errors:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {r['task']} / {r['method']} / seed {r['seed']}: {r.get('error')}" for r in errors]
    if heatmap:
        try:
            plot_heatmap(cells, out / "heatmap.png")
            lines += ["", "![heatmap](heatmap.png)"]
        except ImportError:
            lines += ["", "(heatmap skipped: matplotlib is not installed)"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
