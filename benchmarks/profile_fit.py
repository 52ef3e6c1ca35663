"""Where the time of one default `mmgap.estimate_mi` goes (issue 15, step 1: profile first).

Runs the default estimator once per task under cProfile and splits the wall time into
phases by the cumulative time of the functions that implement them:

- prep:        validation, the split and the preprocessing maps (`fit_estimate` minus fit/estimate)
- forward:     the denoiser's forward pass inside training (`DenoisingLoss.__call__`)
- backward:    `Tensor.backward`
- optimizer:   `AdamW.step` (and zero_grad)
- ema:         `Trainer._update_ema`
- validation:  scoring checkpoints (`ValidationLoss.__call__`, `select_checkpoint`, state copies)
- loop other:  the rest of `Trainer.run` (index sampling, learning-rate schedule, logging, Python)
- estimate:    `MMGEstimator.estimate`, split into the Monte Carlo draws (`gap_draws`), the edge
               and training-point checks, and the permutation test

cProfile adds a per-call overhead to Python-level calls (a few percent here; most time is in
torch kernels), so read the shares, not the absolute seconds. Compare runs made in one go.

Usage:
    OMP_NUM_THREADS=2 python benchmarks/profile_fit.py --out docs/benchmarks/profile_fit.md \
        [--tasks ID,ID] [--n-samples 10000] [--steps 6000]
"""

import argparse
import cProfile
import platform
import pstats
import time
import warnings
from pathlib import Path

TASKS = ("1v1-normal-0.75", "multinormal-dense-5-5-0.5", "multinormal-dense-25-25-0.5",
         "multinormal-dense-50-50-0.5")


def cumulative(stats: pstats.Stats, file_part: str, func: str) -> float:
    total = 0.0
    for (path, _, name), (_, _, _, ct, _) in stats.stats.items():
        if name == func and file_part in path:
            total = max(total, ct)  # recursion-safe: the outermost entry
    return total


def profile_task(task_id, n, steps):
    import mmgap
    from mmgap.tasks import get_task

    x, y = get_task(task_id).sample(n, seed=0)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    res = mmgap.estimate_mi(x, y, n_steps=steps, verbose=False, random_state=0)
    prof.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    c = lambda f, n: cumulative(st, f, n)  # noqa: E731
    fit = c("estimator.py", "fit")
    est = c("estimator.py", "estimate")
    run = c("training.py", "run")
    # ValidationLoss.__call__ and DenoisingLoss.__call__ share a name: tell them apart by
    # the class their line belongs to
    loss_ct, val_ct = 0.0, 0.0
    for (path, line, name), (_, _, _, ct, _) in st.stats.items():
        if "training.py" in path and name == "__call__":
            src = Path(path).read_text().splitlines()
            owner = next((src[i] for i in range(line - 1, -1, -1) if src[i].startswith("class ")), "")
            if "ValidationLoss" in owner:
                val_ct += ct
            elif "DenoisingLoss" in owner:
                loss_ct += ct
    phases = {"backward": c("_tensor.py", "backward"),
              "optimizer": c("optimizer.py", "wrapper") or c("adamw.py", "step"),
              "ema": c("training.py", "_update_ema")}
    phases["forward (loss)"] = loss_ct
    phases["validation"] = val_ct + c("training.py", "select_checkpoint")
    phases["loop other"] = run - sum(phases.values())
    phases["prep"] = wall - fit - est
    gd = c("gap.py", "gap_draws")
    perm = c("inference.py", "permutation_test")
    grid = c("gap.py", "mmse_on_grid")
    phases["estimate: Monte Carlo draws (held-out and training-point check)"] = gd
    phases["estimate: permutation test"] = perm
    phases["estimate: other checks"] = est - gd - perm
    phases["fit outside the loop (maps, Gaussian check, set-up, first-call warm-up)"] = fit - run
    steps_done = res.diagnostics["training"]["steps"]
    return {"task": task_id, "wall": wall, "phases": phases, "steps": steps_done,
            "steps_per_second": res.diagnostics["training"]["steps_per_second"], "grid": grid,
            "mi": res.mi}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=6000)
    a = ap.parse_args()
    import torch

    warnings.simplefilter("ignore")
    rows = [profile_task(t, a.n_samples, a.steps) for t in a.tasks.split(",")]
    names = list(rows[0]["phases"])
    lines = ["# Where the time of one default estimate goes", "",
             f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
             f"torch {torch.__version__}; N = {a.n_samples}, up to {a.steps} steps (validation "
             "may stop earlier), default `mmgap.estimate_mi`, seed 0, under cProfile.", "",
             "Command: `python benchmarks/profile_fit.py --out docs/benchmarks/profile_fit.md`", "",
             "| phase | " + " | ".join(r["task"] for r in rows) + " |",
             "|---|" + "---|" * len(rows)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{r['phases'][name]:.1f} s ({100 * r['phases'][name] / r['wall']:.0f}%)" for r in rows) + " |")
    lines.append("| **wall** | " + " | ".join(f"**{r['wall']:.1f} s**" for r in rows) + " |")
    lines.append("| steps run (steps/s in the loop) | " + " | ".join(
        f"{r['steps']} ({r['steps_per_second']})" for r in rows) + " |")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
