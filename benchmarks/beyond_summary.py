"""Tables for docs/benchmarks/cmi.md and entropy.md from `mmgap bench` folders (and the
side-by-side package runs of benchmarks/cmi_side_by_side.py).

Usage:
    python benchmarks/beyond_summary.py cmi docs/benchmarks/cmi_v1 [--null docs/benchmarks/cmi_null]
    python benchmarks/beyond_summary.py entropy docs/benchmarks/entropy_v1

cmi: per task the truth and, per method, the mean over seeds (and how many seeds ran); the
share of tasks whose mean is within 0.1 nats or 10% of the truth; MAE over all runs and over
the tasks with a block of dimension >= 5; the zero-truth (common-cause, chain) estimates;
coverage of the 95% interval; median seconds; and the conditional test's rejections at
alpha = 0.05 on zero-truth tasks (with a Clopper-Pearson 95% interval).
entropy: the same with the criterion 0.1 nats or 2% of |h|, MAE split at dim 10.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np


def load(path: Path):
    from mmgap.benchmark.runner import load_records

    recs = load_records(path) if (path / "results.sqlite").exists() or \
        (path / "results.jsonl").exists() else []
    side = path / "side_by_side.jsonl"
    if side.exists():
        recs += [json.loads(l) for l in side.read_text().splitlines() if l.strip()]
    return [r for r in recs if r.get("success")]


def clopper_pearson(k, n, level=0.95):
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def passes(mean, truth, rel):
    return abs(mean - truth) <= 0.1 or abs(mean - truth) <= rel * abs(truth)


def dims_of(task_id):
    from mmgap.tasks import get_task

    t = get_task(task_id)
    return t.dim_x, t.dim_y, t.dim_z


def table(recs, kind):
    rel = 0.1 if kind == "cmi" else 0.02
    by = defaultdict(list)
    for r in recs:
        by[(r["task"], r["method"])].append(r)
    tasks = list(dict.fromkeys(r["task"] for r in recs))
    methods = [m for m in ("mmg", "ksg-cmi", "kl", "ennemi", "infomeasure-ksg", "infomeasure-kl")
               if any(r["method"] == m for r in recs)]
    lines = ["| task | dims (x, y, z) | truth | " + " | ".join(methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]
    stats = {m: {"pass": 0, "tasks": 0, "err": [], "err_big": [], "err_small": [], "secs": [],
                 "cover": 0, "n_ci": 0} for m in methods}
    for t in tasks:
        dx, dy, dz = dims_of(t)
        big = max(dx, dy, dz) >= (5 if kind == "cmi" else 10)
        truth = next(r["truth"] for r in recs if r["task"] == t)
        row = [t, f"{dx}, {dy}, {dz}" if kind == "cmi" else f"{dx}", f"{truth:.3f}"]
        for m in methods:
            rs = by.get((t, m), [])
            if not rs:
                row.append("–")
                continue
            mean = statistics.fmean(r["estimate"] for r in rs)
            ok = passes(mean, truth, rel)
            s = stats[m]
            s["tasks"] += 1
            s["pass"] += ok
            for r in rs:
                e = abs(r["estimate"] - truth)
                s["err"].append(e)
                (s["err_big"] if big else s["err_small"]).append(e)
                s["secs"].append(r["seconds"])
                if r.get("ci95"):
                    lo, hi = r["ci95"]
                    s["n_ci"] += 1
                    s["cover"] += lo <= truth <= (np.inf if hi is None else hi)
            row.append(f"{mean:.3f}{'' if ok else ' ✗'} ({len(rs)})")
        lines.append("| " + " | ".join(row) + " |")
    big_name = "any block >= 5" if kind == "cmi" else "dim >= 10"
    lines += ["", f"| method | tasks within 0.1 nats or {rel:.0%} | MAE all runs | MAE, {big_name} "
              "| MAE, the rest | 95% CI coverage | median s per run |", "|---|---|---|---|---|---|---|"]
    for m in methods:
        s = stats[m]
        mae = lambda v: f"{statistics.fmean(v):.3f} ({len(v)})" if v else "–"  # noqa: E731
        cov = f"{s['cover']}/{s['n_ci']} = {s['cover'] / s['n_ci']:.0%}" if s["n_ci"] else "–"
        lines.append(f"| {m} | {s['pass']}/{s['tasks']} | {mae(s['err'])} | {mae(s['err_big'])} | "
                     f"{mae(s['err_small'])} | {cov} | {statistics.median(s['secs']):.1f} |")
    return lines


def null_lines(recs):
    zero = [r for r in recs if r["method"] == "mmg" and r["truth"] == 0.0 and r.get("p_value") is not None]
    if not zero:
        return []
    lines = ["", "| zero-truth task | runs | mean estimate | max estimate | p <= 0.05 |",
             "|---|---|---|---|---|"]
    by = defaultdict(list)
    for r in zero:
        by[r["task"]].append(r)
    for t, rs in by.items():
        k = sum(r["p_value"] <= 0.05 for r in rs)
        lines.append(f"| {t} | {len(rs)} | {statistics.fmean(r['estimate'] for r in rs):.4f} | "
                     f"{max(r['estimate'] for r in rs):.4f} | {k} |")
    k = sum(r["p_value"] <= 0.05 for r in zero)
    lo, hi = clopper_pearson(k, len(zero))
    lines.append(f"| all | {len(zero)} | | | {k} = {k / len(zero):.1%} (95% CI {lo:.1%}–{hi:.1%}) |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=("cmi", "entropy"))
    ap.add_argument("folder")
    ap.add_argument("--null", default=None, help="a bench folder of extra zero-truth runs")
    a = ap.parse_args()
    recs = load(Path(a.folder))
    print("\n".join(table(recs, a.kind)))
    if a.kind == "cmi":
        extra = load(Path(a.null)) if a.null else []
        print("\n".join(null_lines(recs + extra)))


if __name__ == "__main__":
    main()
