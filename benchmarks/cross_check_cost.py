"""Seconds that the fit-time cross-checks add (design notes 21 and 22): the Gaussian-copula
check (one covariance) and the linear permutation test (399 permutations, the default), on
N = 8,000 rank-normalised rows (the training part of a bmi40-sized task) of dx + dy
dimensions, against the seconds of a default fit measured on the same machine.

Usage:
    python benchmarks/cross_check_cost.py [--dims 1,5,25,50,100] [--threads 1] [--out FILE.md]
"""

import argparse
import platform
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", default="1,5,25,50,100")
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    import numpy as np
    import torch

    from mmgap.inference import (LINEAR_TEST_PERMUTATIONS, gaussian_copula_check,
                                 linear_permutation_test)

    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    lines = [f"Machine: {platform.machine()}, torch threads {a.threads}, N = {a.n}; "
             f"`python benchmarks/cross_check_cost.py --threads {a.threads}`", "",
             "| dims | Gaussian-copula check (s) | linear test, 399 permutations (s) |",
             "|---|---|---|"]
    for d in (int(v) for v in a.dims.split(",")):
        x = torch.tensor(rng.normal(size=(a.n, d)), dtype=torch.float32)
        y = torch.tensor(rng.normal(size=(a.n, d)), dtype=torch.float32)
        tg, tl = [], []
        for r in range(a.repeats):
            t0 = time.perf_counter()
            gaussian_copula_check(x, y)
            tg.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            linear_permutation_test(x, y, LINEAR_TEST_PERMUTATIONS(99), r)
            tl.append(time.perf_counter() - t0)
        lines.append(f"| {d}+{d} | {min(tg):.3f} | {min(tl):.3f} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
