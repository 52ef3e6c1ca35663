"""Pointwise MI against its exact value on Gaussian tasks (issue 12).

For each task and seed: N samples, 2 folds; on each fold a default MMGEstimator is trained
on the other fold, then ``est.pointwise`` (direct integrand, K draws per row) and
``est.estimate`` are evaluated on the fold's rows. Reported per task: Pearson correlation of
the values with the exact pointwise MI (log p(x|y) - log p(x), or log p(x|y,z) - log p(x|z)
for a CMI task, from the task's covariance); the ceiling that the per-row Monte Carlo noise
alone allows (the correlation of the exact values with themselves plus noise of the reported
per-row stderr); the mean of the values against the truth; and per fold the mean of the
values minus the fold's MI estimate in units of that estimate's stderr.

Usage:
    python benchmarks/pointwise.py --out docs/benchmarks/pointwise/results.jsonl \
        [--tasks ID,ID] [--seeds 0] [--n-samples 10000] [--draws 64] [--steps 6000]
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

TASKS = ("1v1-normal-0.75", "multinormal-dense-2-2-0.5", "multinormal-dense-5-5-0.5",
         "multinormal-sparse-3-3-2-2.0", "multinormal-sparse-5-5-2-2.0",
         "multinormal-dense-25-25-0.5", "cmi-gauss-sparse-3-3-3-2-0.6-1.0",
         "cmi-collider-1-0.5")


def exact_pointwise(task, x, y, z=None):
    from mmgap.tasks.conditional import gaussian_task_cov
    from mmgap.tasks.truth import gaussian_pointwise_mi

    cov = gaussian_task_cov(task)
    if z is None:
        return gaussian_pointwise_mi(cov, task.dim_x, x, y)
    # i(x;y|z) = i(x; (y,z)) - i(x; z)
    dx, dy = task.dim_x, task.dim_y
    idx = list(range(dx)) + list(range(dx + dy, cov.shape[0]))
    return (gaussian_pointwise_mi(cov, dx, x, np.hstack([y, z]))
            - gaussian_pointwise_mi(cov[np.ix_(idx, idx)], dx, x, z))


def run(task_id, seed, n, draws, steps):
    from mmgap import MMGEstimator
    from mmgap.pointwise import fold_indices
    from mmgap.tasks import get_task

    task = get_task(task_id)
    sample = task.sample(n, seed=seed)
    x, y = sample[0], sample[1]
    z = sample[2] if len(sample) == 3 else None
    truth_pw = exact_pointwise(task, x, y, z)
    fold = fold_indices(n, 2, seed)
    values, stderr = np.empty(n), np.empty(n)
    folds = []
    t0 = time.perf_counter()
    for f in range(2):
        te, tr = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        est = MMGEstimator(random_state=seed * 10 + f, n_steps=steps, verbose=False)
        est.fit(x[tr], y[tr], None if z is None else z[tr])
        pw = est.pointwise(x[te], y[te], None if z is None else z[te], k_draws=draws)
        res = est.estimate(x[te], y[te], None if z is None else z[te])
        values[te], stderr[te] = pw.values, pw.stderr
        folds.append({"fold": f, "pointwise_mean": pw.mean, "pointwise_mean_stderr": pw.mean_stderr,
                      "estimate": res.mi, "estimate_stderr": res.stderr,
                      "estimate_direct": res.diagnostics["mi_direct"],
                      "z_mean_vs_estimate": (pw.mean - res.mi) / res.stderr})
    return {"task": task_id, "seed": seed, "n_samples": n, "k_draws": draws, "n_steps": steps,
            "truth": task.truth, "truth_pointwise_mean": float(truth_pw.mean()),
            "pearson": float(np.corrcoef(values, truth_pw)[0, 1]),
            "pearson_truth_vs_truth_plus_noise": float(np.corrcoef(
                truth_pw, truth_pw + np.random.default_rng(0).normal(size=n) * stderr)[0, 1]),
            "pointwise_mean": float(values.mean()),
            "pointwise_mean_stderr": float(values.std(ddof=1) / np.sqrt(n)),
            "median_row_stderr": float(np.median(stderr)), "folds": folds,
            "seconds": time.perf_counter() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6000)
    a = ap.parse_args()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    for seed in a.seeds:
        for tid in a.tasks.split(","):
            rec = run(tid, seed, a.n_samples, a.draws, a.steps)
            with open(out, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"{tid:40s} seed {seed}: r = {rec['pearson']:.3f} (noise ceiling "
                  f"{rec['pearson_truth_vs_truth_plus_noise']:.3f}), mean {rec['pointwise_mean']:.4f} "
                  f"+- {rec['pointwise_mean_stderr']:.4f} vs truth {rec['truth']:.4f}; "
                  f"fold z {[round(f['z_mean_vs_estimate'], 2) for f in rec['folds']]} "
                  f"({rec['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
