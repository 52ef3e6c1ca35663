"""Core speed/accuracy benchmark for MMGEstimator (not a test).

Measures, on this machine:
1. training throughput (steps/s) of the default network for several problem sizes;
2. accuracy and wall time at fixed step budgets on ground-truth tasks (N = 10,000 samples,
   80/20 split, several seeds), for the default variant;
3. the four variants side by side at the default budget.

Writes a Markdown report (default docs/benchmarks/core.md) with the command and the machine.

    python benchmarks/core.py                # full run (about 20-30 minutes on 2 cores)
    python benchmarks/core.py --quick        # a few minutes, fewer tasks/seeds
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import mmgap
from mmgap.logsnr import TruncatedLogistic
from mmgap.networks import ResidualMLP
from mmgap.estimator import train_test_split_indices
from mmgap.gap import GaussianOracle, gap_draws
from mmgap.tasks import get_task
from mmgap.tasks.families import (bivariate_normal_covariance, dense_covariance,
                                  sparse_covariance)
from mmgap.training import DenoisingLoss, EpsDenoiser, Trainer

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}; {os.cpu_count()} logical CPUs; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); Python {platform.python_version()}; "
            f"{platform.system()} {platform.release()}")


def throughput(dim: int, n_steps: int = 300, batch_size: int = 256) -> dict:
    x = torch.randn(8000, dim)
    y = torch.randn(8000, dim)
    model = EpsDenoiser(ResidualMLP(dim, dim))
    trainer = Trainer(model, total_steps=n_steps, generator=torch.Generator().manual_seed(0))
    loss = DenoisingLoss(TruncatedLogistic())
    trainer.run(loss, x, y, n_steps=20, batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    trainer.run(loss, x, y, n_steps=n_steps, batch_size=batch_size)
    sec = time.perf_counter() - t0
    return {"dim_x": dim, "dim_y": dim, "width": model.net.width, "depth": model.net.depth,
            "batch_size": batch_size, "steps_per_second": n_steps / sec,
            "ms_per_step": 1000 * sec / n_steps}


def task_covariance(task):
    """Joint covariance of an untransformed Gaussian task (None for other tasks)."""
    p = task.params
    if p.get("transforms"):
        return None
    if p.get("family") == "bivariate-normal":
        return bivariate_normal_covariance(p["correlation"])
    if p.get("family") == "multinormal-dense":
        return dense_covariance(p["dim_x"], p["dim_y"], p["off_diag"])
    if p.get("family") == "multinormal-sparse":
        return sparse_covariance(p["dim_x"], p["dim_y"], p["n_interacting"], p["strength"])
    return None


def oracle_on_split(task, x, y, seed: int, proposal) -> float:
    """Orthogonal estimate of the Bayes-optimal (analytic) denoiser on the same held-out
    points and proposal as the learned one: the error left with a perfect network."""
    cov = task_covariance(task)
    if cov is None:
        return float("nan")
    _, te = train_test_split_indices(x.shape[0], 0.2, seed)
    draws = gap_draws(GaussianOracle(cov, task.dim_x), torch.as_tensor(x[te]),
                      torch.as_tensor(y[te]), proposal, 16, torch.Generator().manual_seed(seed))
    return draws.estimate("orthogonal")[0]


def run_one(task_id: str, seed: int, n_samples: int, **params) -> dict:
    task = get_task(task_id)
    x, y = task.sample(n_samples, seed=seed)
    res = mmgap.estimate_mi(x, y, random_state=seed, verbose=False, **params)
    d = res.diagnostics
    oracle = oracle_on_split(task, x, y, seed, TruncatedLogistic(**d["proposal"]))
    return {
        "task": task_id, "seed": seed, "truth": task.mutual_information, "params": params,
        "mi": res.mi, "stderr": res.stderr, "error": res.mi - task.mutual_information,
        "mi_direct": d["mi_direct"], "mi_orthogonal": d["mi_orthogonal"],
        "oracle_error": oracle - task.mutual_information,
        "best_step": d["training"]["best_step"], "steps": d["training"]["steps"],
        "seconds": res.seconds, "train_seconds": d["training"]["seconds"],
        "steps_per_second": d["training"]["steps_per_second"],
    }


def summarise(rows, keys):
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] if k != "params" else json.dumps(r[k], sort_keys=True)
                                for k in keys), []).append(r)
    out = []
    for key, rs in groups.items():
        err = np.array([r["error"] for r in rs])
        out.append({
            **dict(zip(keys, key)), "truth": rs[0]["truth"], "n": len(rs),
            "mean_estimate": float(np.mean([r["mi"] for r in rs])),
            "mean_error": float(err.mean()), "mae": float(np.abs(err).mean()),
            "max_abs_error": float(np.abs(err).max()),
            "mean_stderr": float(np.mean([r["stderr"] for r in rs])),
            "mean_seconds": float(np.mean([r["seconds"] for r in rs])),
            "oracle_mae": float(np.mean([abs(r["oracle_error"]) for r in rs])),
            "direct_mae": float(np.mean([abs(r["mi_direct"] - r["truth"]) for r in rs])),
            "max_seconds": float(np.max([r["seconds"] for r in rs])),
        })
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer tasks, seeds and budgets")
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--n-samples", type=int, default=10_000)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "core.md"))
    p.add_argument("--json-out", default=None, help="also write all records as JSON lines")
    p.add_argument("--tasks", nargs="+", default=None, help="task ids (default: a fixed list)")
    p.add_argument("--budgets", type=int, nargs="+", default=None, help="step budgets")
    p.add_argument("--variant-tasks", type=int, default=3,
                   help="compare the four variants on the first N tasks")
    args = p.parse_args(argv)

    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    tasks = args.tasks or (["1v1-normal-0.75", "multinormal-dense-5-5-0.5"] if args.quick else
                           ["1v1-normal-0.75", "multinormal-dense-5-5-0.5",
                            "student-identity-2-2-1", "multinormal-sparse-3-3-2-2.0",
                            "multinormal-dense-25-25-0.5"])
    budgets = args.budgets or ([1000, 3000] if args.quick else [1000, 2000, 3000, 5000])
    variants = list(mmgap.VARIANTS)
    t_start = time.perf_counter()

    print("throughput ...", file=sys.stderr)
    thr = [throughput(d) for d in (1, 5, 25, 50)]

    rows = []
    for task_id in tasks:
        for steps in budgets:
            for seed in seeds:
                r = run_one(task_id, seed, args.n_samples, n_steps=steps)
                r["variant"] = mmgap.estimator.DEFAULT_VARIANT
                r["budget"] = steps
                rows.append(r)
                print(f"{task_id} steps={steps} seed={seed}: {r['mi']:.4f} "
                      f"(truth {r['truth']:.4f}) {r['seconds']:.1f}s", file=sys.stderr)
    var_rows = []
    for task_id in tasks[:args.variant_tasks]:
        for variant in variants:
            for seed in seeds:
                r = run_one(task_id, seed, args.n_samples, n_steps=3000, variant=variant)
                r["variant"] = variant
                r["budget"] = 3000
                var_rows.append(r)
                print(f"{task_id} {variant} seed={seed}: {r['mi']:.4f} {r['seconds']:.1f}s",
                      file=sys.stderr)
    wall = time.perf_counter() - t_start

    if args.json_out:
        with open(args.json_out, "w") as fh:
            for r in rows + var_rows:
                fh.write(json.dumps(r) + "\n")

    cmd = "python " + " ".join(["benchmarks/core.py", *(argv if argv is not None else sys.argv[1:])])
    lines = [
        "# Core benchmark: speed and accuracy of MMGEstimator",
        "",
        f"- Command: `{cmd}` (from the repository root, after `make setup`)",
        f"- Date: {dt.date.today().isoformat()}; total wall time {wall / 60:.1f} min",
        f"- Machine: {machine()}",
        f"- Data: N = {args.n_samples} samples per run, 80/20 train/held-out split "
        f"(`estimate_mi` defaults), seeds {seeds} (task sample seed = random_state = seed)",
        "- Errors are estimate - truth in nats; `stderr` is the reported Monte Carlo standard "
        "error; seconds are wall time of the whole `estimate_mi` call (fit + estimate).",
        "- The machine is shared: absolute seconds are noisy, compare within this table.",
        "- *oracle MAE, same split*: the analytic Bayes-optimal denoiser pushed through the same "
        "Monte Carlo on the same held-out points (Gaussian tasks only): the error a perfect "
        "network would still have, from the finite held-out sample.",
        "",
        "## Training throughput (default network, batch 256)",
        "",
        "| dim_x = dim_y | width | depth | steps/s | ms/step |",
        "|---|---|---|---|---|",
    ]
    for t in thr:
        lines.append(f"| {t['dim_x']} | {t['width']} | {t['depth']} | "
                     f"{t['steps_per_second']:.0f} | {t['ms_per_step']:.2f} |")
    lines += ["", f"## Accuracy at fixed budgets (variant `{mmgap.estimator.DEFAULT_VARIANT}`)", "",
              "| task | truth | steps | mean estimate | mean error | MAE | max abs error | MAE direct form | oracle MAE, same split | mean stderr | mean s | max s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summarise(rows, ["task", "budget"]):
        lines.append(f"| {s['task']} | {s['truth']:.4f} | {s['budget']} | {s['mean_estimate']:.4f} | "
                     f"{s['mean_error']:+.4f} | {s['mae']:.4f} | {s['max_abs_error']:.4f} | "
                     f"{s['direct_mae']:.4f} | {s['oracle_mae']:.4f} | "
                     f"{s['mean_stderr']:.4f} | {s['mean_seconds']:.1f} | {s['max_seconds']:.1f} |")
    lines += ["", "## The four variants at 3000 steps", "",
              "| task | variant | mean estimate | mean error | MAE | mean stderr | mean s |",
              "|---|---|---|---|---|---|---|"]
    for s in summarise(var_rows, ["task", "variant"]):
        lines.append(f"| {s['task']} | {s['variant']} | {s['mean_estimate']:.4f} | "
                     f"{s['mean_error']:+.4f} | {s['mae']:.4f} | {s['mean_stderr']:.4f} | "
                     f"{s['mean_seconds']:.1f} |")
    lines.append("")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
