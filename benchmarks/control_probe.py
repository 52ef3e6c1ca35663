"""The numbers behind design note 30 (the control variate of the held-out estimate).

For each task: one default fit (seed 11, not a reported seed) on 80% of N = 10,000 rows; on
the held-out 20%, the orthogonal form's Monte Carlo error at 17, 68 and 272 noise draws per
row (does the error come from the draws or from the rows?), and the estimate with and without
the control (``estimate(others=...)``). Then the cost of the control alone
(:func:`mmgap.control.gaussian_integrands`) at 1+1 to 50+50 dimensions.

Usage:
    python benchmarks/control_probe.py --threads 1
"""

import argparse
import time

import numpy as np
import torch

from mmgap.control import gaussian_integrands
from mmgap.estimator import MMGEstimator, train_test_split_indices
from mmgap.logsnr import TruncatedLogistic
from mmgap.tasks import get_task

TASKS = ("1v1-normal-0.75", "multinormal-dense-5-5-0.5", "student-identity-3-3-2",
         "multinormal-dense-50-50-0.5")


def probe_task(task_id, seed=11, n=10_000):
    task = get_task(task_id)
    x, y = task.sample(n, seed)
    tr, te = train_test_split_indices(n, 0.2, seed)
    est = MMGEstimator(random_state=seed, n_permutations=0).fit(x[tr], y[tr])
    draws = []
    for k in (17, 68, 272):
        d = est._draws(x[te], y[te], k=k)[0]
        draws.append(f"k={k}: {d.estimate('orthogonal')[1]:.4f}")
    plain = est.estimate(x[te], y[te])
    res = est.estimate(x[te], y[te], others=(x[tr], y[tr]))
    c = res.diagnostics["control_variate"][res.diagnostics["integrand"]]
    print(f"{task_id} (truth {task.mutual_information:.4f}): stderr_mc by draws per row "
          f"{', '.join(draws)}; without control {plain.mi:.4f} +- "
          f"{plain.diagnostics['stderr_mc']:.4f}, with {res.mi:.4f} +- "
          f"{res.diagnostics['stderr_mc']:.4f} (correlation {c['correlation']:.3f})", flush=True)


def probe_cost():
    for d in (1, 5, 25, 50):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(10_000, d))
        y = 0.5 * x + rng.normal(size=(10_000, d))
        t0 = time.perf_counter()
        gaussian_integrands(x, y, 2000, TruncatedLogistic(), 17, 0, 1)
        print(f"control alone, {d}+{d} dims, N = 10,000, 17 draws: "
              f"{time.perf_counter() - t0:.2f} s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tasks", default=",".join(TASKS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for t in args.tasks.split(","):
        probe_task(t)
    probe_cost()


if __name__ == "__main__":
    main()
