"""Trace the held-out MI estimate through training, next to the validation loss.

For each task, the default MMGEstimator is trained exactly as `mmgap bench` trains it (same
split, seed and schedule), except that early stopping is off (``patience=None``) so that the
whole schedule is seen. At each validation checkpoint the EMA weights are also used to
estimate I(X;Y) on the held-out 20% (both integrand forms, fixed draws). The default
settings would have stopped at the first checkpoint after four without a new best, and kept
the latest checkpoint within two standard errors of the best; the plot marks both.

Usage:
    python benchmarks/checkpoint_trace.py --tasks spiral-multinormal-sparse-25-25-2-2.0 \
        --seed 0 --out docs/benchmarks/checkpoint_trace
Writes OUT/trace.jsonl (one record per task and seed, with the per-checkpoint rows) and
OUT/trace.png.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from mmgap.estimator import MMGEstimator, train_test_split_indices
from mmgap.gap import gap_draws
from mmgap.tasks import get_task
from mmgap.training import select_checkpoint


def default_choice(val_steps, val_losses, patience=4):
    """(step where the default would stop, step it would keep), from the traced losses."""
    best, since, stop = np.inf, 0, len(val_steps) - 1
    for i, v in enumerate(val_losses[:-1]):
        if float(v.mean()) < best:
            best, since = float(v.mean()), 0
        else:
            since += 1
            if since >= patience:
                stop = i
                break
    kept = select_checkpoint(val_losses[: stop + 1])
    return val_steps[stop], val_steps[kept]


def trace(task_id, seed, n, n_steps, k_draws):
    task = get_task(task_id)
    x, y = task.sample(n, seed)
    tr, te = train_test_split_indices(n, 0.2, seed)
    est = MMGEstimator(random_state=seed, n_steps=n_steps, patience=None, verbose=False)
    rows, losses = [], []
    make_validation = est._validation

    def hooked(proposal, xv, yv, cv, s):
        validation = make_validation(proposal, xv, yv, cv, s)
        xh, yh, _ = est._prepare(x[te], y[te], fitting=False, min_samples=2)

        def score(model):
            out = validation(model)
            draws = gap_draws(model, xh, yh, proposal, k_draws,
                              torch.Generator(device=xh.device).manual_seed(12345))
            (mo, so), (md, sd) = draws.estimate("orthogonal"), draws.estimate("direct")
            losses.append(out)
            rows.append({"val_loss": float(out.mean()), "orthogonal": mo, "orthogonal_se": so,
                         "direct": md, "direct_se": sd})
            return out
        return score

    est._validation = hooked
    t0 = time.time()
    est.fit(x[tr], y[tr])
    steps = list(est.training_log_.val_steps)
    for row, step in zip(rows, steps):
        row["step"] = step
    stop, kept = default_choice(steps, losses)
    return {"task": task_id, "seed": seed, "n_samples": n, "n_steps": n_steps,
            "truth": task.mutual_information, "default_stop_step": stop,
            "default_kept_step": kept, "seconds": round(time.time() - t0, 1),
            "threads": torch.get_num_threads(), "rows": rows}


def plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(records), figsize=(4.6 * len(records), 3.6), squeeze=False)
    for ax, rec in zip(axes[0], records):
        steps = [r["step"] for r in rec["rows"]]
        for form, colour in (("orthogonal", "C0"), ("direct", "C1")):
            v = np.array([r[form] for r in rec["rows"]])
            se = np.array([r[form + "_se"] for r in rec["rows"]])
            ax.plot(steps, v, "o-", color=colour, ms=3, label=f"{form} (held out)")
            ax.fill_between(steps, v - 2 * se, v + 2 * se, color=colour, alpha=0.15)
        t = rec["truth"]
        ax.axhspan(t - max(0.1, 0.1 * t), t + max(0.1, 0.1 * t), color="0.85", label="pass band")
        ax.axhline(t, color="k", lw=1)
        ax.axvline(rec["default_kept_step"], color="C2", ls="--", label="default keeps")
        ax.axvline(rec["default_stop_step"], color="C3", ls=":", label="default stops")
        ax2 = ax.twinx()
        ax2.plot(steps, [r["val_loss"] for r in rec["rows"]], "s-", color="0.4", ms=3)
        ax2.set_ylabel("validation loss (grey)")
        ax.set_title(f"{rec['task']}\nseed {rec['seed']}", fontsize=8)
        ax.set_xlabel("training step")
        ax.set_ylabel("MI estimate (nats)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", required=True, help="comma-separated task ids")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--draws", type=int, default=8, help="draws per held-out point per checkpoint")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for task_id in args.tasks.split(","):
        rec = trace(task_id, args.seed, args.n_samples, args.steps, args.draws)
        records.append(rec)
        with open(out / "trace.jsonl", "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        best = min(rec["rows"], key=lambda r: r["val_loss"])
        print(f"{task_id} seed {args.seed}: truth {rec['truth']:.3f}; kept step "
              f"{rec['default_kept_step']}; best-val step {best['step']} -> "
              f"{best['orthogonal']:.3f}; last -> {rec['rows'][-1]['orthogonal']:.3f} "
              f"({rec['seconds']} s)", flush=True)
    plot(records, out / "trace.png")


if __name__ == "__main__":
    main()
