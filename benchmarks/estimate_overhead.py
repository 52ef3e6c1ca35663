"""What the trust machinery adds to one default estimate: the time of ``fit`` against the time
of ``estimate`` in three forms, measured in one process on the same fitted network.

- ``draws``: the Monte Carlo passes alone (what ``estimate`` did before the interval, test and
  flags existed);
- ``estimate, no test``: plus the edge check and the training-point check (n_permutations=0);
- ``estimate``: the default, with the 99-permutation test.

Usage:
    python benchmarks/estimate_overhead.py [--tasks ID,ID] [--threads 1] [--out FILE.md]
"""

import argparse
import platform
import time
import warnings

DEFAULT_TASKS = ("1v1-normal-0.75", "multinormal-dense-5-5-0.5", "student-identity-5-5-2",
                 "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    a = ap.parse_args()
    import torch

    import mmgap
    from mmgap.tasks import get_task

    torch.set_num_threads(a.threads)
    warnings.simplefilter("ignore", mmgap.MMGWarning)
    lines = [f"Machine: {platform.processor() or platform.machine()}, torch threads {a.threads}; "
             f"`python benchmarks/estimate_overhead.py --threads {a.threads}`", "",
             "| task | fit (s) | draws (s) | estimate, no test (s) | estimate (s) | added to fit + draws |",
             "|---|---|---|---|---|---|"]
    for tid in a.tasks.split(","):
        x, y = get_task(tid).sample(10_000, seed=0)
        t0 = time.perf_counter()
        est = mmgap.MMGEstimator(random_state=0, verbose=False).fit(x[:8000], y[:8000])
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        est._draws(x[8000:], y[8000:])
        t_draws = time.perf_counter() - t0
        est.n_permutations = 0
        t0 = time.perf_counter()
        est.estimate(x[8000:], y[8000:])
        t_notest = time.perf_counter() - t0
        est.n_permutations = 99
        t0 = time.perf_counter()
        est.estimate(x[8000:], y[8000:])
        t_full = time.perf_counter() - t0
        added = (t_full - t_draws) / (t_fit + t_draws)
        lines.append(f"| {tid} | {t_fit:.1f} | {t_draws:.2f} | {t_notest:.2f} | {t_full:.2f} | {added:+.1%} |")
        print(lines[-1], flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
