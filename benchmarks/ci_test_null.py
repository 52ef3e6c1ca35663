"""False-positive rate of the conditional independence test (H0: I(X;Y|Z) = 0) on tasks
where it holds (common cause, chain), for two ways of permuting y among held-out points:

- ``strata``: y permuted within groups of about 4 points with nearby z (k-d cells);
- ``residual``: y split into its linear fit on (1, z) and the residual; only residuals are
  permuted within the same groups (the default of `MMGEstimator.estimate`).

For each task and network seed, one MMGEstimator is trained (N_train samples of seed s);
then for each of R independent held-out sets (fresh samples of other seeds) both tests are
run on the same fitted network with 99 permutations. A held-out set never overlaps the
training data, so each p-value is a test of H0 on new data; R sets per network measure the
rate given that network, and several networks average over training.

Usage:
    python benchmarks/ci_test_null.py --out docs/benchmarks/cmi_null/ci_test_null.jsonl \
        [--tasks ID,ID] [--nets 2] [--first-net 0] [--reps 25] [--n-train 8000] [--n-test 2000] [--steps 6000]

Recorded run (docs/benchmarks/cmi.md): --nets 2 --reps 20 --steps 3000 on the four default
tasks, then --first-net 2 --nets 2 on the two common-cause tasks.
"""

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch

TASKS = ("cmi-common-cause-1-1-1-1.5", "cmi-common-cause-5-5-5-1.0", "cmi-chain-1-1.0-1.0",
         "cmi-chain-3-1.0-0.8")


def p_values(est, x, y, z, seed):
    from mmgap.inference import permutation_test, z_strata

    xt, yt, ct = est._prepare(x, y, z, fitting=False, min_samples=2)
    strata = z_strata(ct.cpu().numpy(), discrete=False)
    out = {}
    for name, resid in (("strata", False), ("residual", True)):
        gen = torch.Generator().manual_seed(seed)
        t = permutation_test(est.model_, xt, yt, est.proposal_, n_permutations=99,
                             k_draws=max(1, min(8, math.ceil(4000 / xt.shape[0]))),
                             generator=gen, context=ct, strata=strata, residualize=resid)
        out[name] = t["p_value"]
    return out


def summary(path):
    """The markdown table of docs/benchmarks/cmi.md from a results file."""
    from collections import defaultdict

    from scipy.stats import beta

    recs = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    by = defaultdict(list)
    for r in recs:
        by[r["task"]].append(r)

    def cp(k, n):
        lo = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
        hi = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
        return lo, hi

    print("| task | networks | tests | p ≤ 0.05, strata only | p ≤ 0.05, residuals within strata (default) |")
    print("|---|---|---|---|---|")
    tot, n_all = {"strata": 0, "residual": 0}, 0
    for t, rs in by.items():
        n_all += len(rs)
        ks = {m: sum(r[m] <= 0.05 for r in rs) for m in tot}
        for m in tot:
            tot[m] += ks[m]
        print(f"| {t} | {len(set(r['net'] for r in rs))} | {len(rs)} | {ks['strata']} | {ks['residual']} |")
    cells = []
    for m in ("strata", "residual"):
        lo, hi = cp(tot[m], n_all)
        cells.append(f"{tot[m]} = {tot[m] / n_all:.1%} (95% CI {lo:.1%}–{hi:.1%})")
    print(f"| all | | {n_all} | {cells[0]} | {cells[1]} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary", action="store_true", help="print the table of --out and stop")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--nets", type=int, default=2)
    ap.add_argument("--first-net", type=int, default=0, help="number of the first network")
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--n-train", type=int, default=8000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=6000)
    a = ap.parse_args()
    if a.summary:
        return summary(a.out)
    from mmgap import MMGEstimator
    from mmgap.tasks import get_task

    warnings.simplefilter("ignore")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for tid in a.tasks.split(","):
        task = get_task(tid)
        for net in range(a.first_net, a.first_net + a.nets):
            t0 = time.perf_counter()
            x, y, z = task.sample(a.n_train, seed=1000 + net)
            est = MMGEstimator(random_state=net, n_steps=a.steps, verbose=False,
                               n_permutations=0).fit(x, y, z)
            for rep in range(a.reps):
                xh, yh, zh = task.sample(a.n_test, seed=2000 + 100 * net + rep)
                rec = {"task": tid, "net": net, "rep": rep, "n_train": a.n_train,
                       "n_test": a.n_test, "steps": a.steps, **p_values(est, xh, yh, zh, rep)}
                with open(out, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            recs = [json.loads(l) for l in out.read_text().splitlines()]
            mine = [r for r in recs if r["task"] == tid and r["net"] == net]
            print(f"{tid:32s} net {net}: p<=0.05 strata {sum(r['strata'] <= 0.05 for r in mine)}"
                  f"/{len(mine)}, residual {sum(r['residual'] <= 0.05 for r in mine)}/{len(mine)} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
