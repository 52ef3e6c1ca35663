"""MI matrices and feature scores against known truth (issue 14, "many variables").

Part 1, ``--part matrix``: `mmgap.mi_matrix` on the 20-variable Gaussian graphical table of
`mmgap.tasks.matrix.gaussian_graphical_table` (17 continuous columns under monotone maps, 3
discrete columns with 4-5 levels; 190 pairs with exact truth), N rows, one run per table
seed. Table seed 0 was used to develop the design and choose the defaults (2,000 steps, 16
draws); the report uses table seeds 1, 2, 3 (other graphs, other columns discrete).
Records MAE over the 190 pairs, Spearman rank correlation with the truth, the largest
error, the seconds, and the share of pairs whose 95% interval covers the truth.

Part 2, ``--part separate``: the cost and accuracy of the alternative, one default
`mmgap.estimate_mi` per pair, on a random subset of pairs of the same tables (all 190 would
take about 95 minutes per table on 2 cores); extrapolated to 190 pairs.

Part 3, ``--part features``: `mmgap.mutual_info_regression` / `mutual_info_classif` against
scikit-learn's k-NN functions of the same names on `feature_target_task` (20 features with
exact I(X_j; y)), seeds 1, 2, 3: MAE, Spearman with the truth, seconds.

Each part appends JSON lines to ``--out`` (one per run) and prints a summary.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/matrix.py --part matrix --seeds 1 2 3 --out docs/benchmarks/matrix_v1/matrix.jsonl
    OMP_NUM_THREADS=1 python benchmarks/matrix.py --part separate --seeds 1 --pairs 12 --out docs/benchmarks/matrix_v1/separate.jsonl
    OMP_NUM_THREADS=1 python benchmarks/matrix.py --part features --seeds 1 2 3 --out docs/benchmarks/matrix_v1/features.jsonl
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import mmgap
from mmgap.tasks.matrix import feature_target_task, gaussian_graphical_table


def _append(path: Path, rec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def part_matrix(args, out: Path) -> None:
    iu = np.triu_indices(20, 1)
    for seed in args.seeds:
        task = gaussian_graphical_table(20, seed=seed)
        data = task.sample(args.n_samples, seed=1000 + seed)
        disc = [j for j, d in enumerate(task.discrete) if d]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = mmgap.mi_matrix(data, discrete=disc, random_state=seed, verbose=False,
                                  n_steps=args.steps)
        secs = time.perf_counter() - t0
        truth, est, se = task.truth[iu], res.mi[iu], res.stderr[iu]
        err = est - truth
        cover = np.abs(err) <= 1.96 * se
        rec = {"part": "matrix", "task": task.id, "seed": seed, "n_samples": args.n_samples,
               "seconds": secs, "mae": float(np.abs(err).mean()),
               "max_abs_error": float(np.abs(err).max()), "bias": float(err.mean()),
               "spearman": float(spearmanr(est, truth)[0]), "coverage95": float(cover.mean()),
               "mae_pairs_above_0.1": float(np.abs(err[truth > 0.1]).mean()),
               "rel_error_pairs_above_0.5": float(np.abs(err[truth > 0.5] / truth[truth > 0.5]).mean()),
               "diagnostics": {k: v for k, v in res.diagnostics.items() if k != "direct_form"},
               "estimates": est.tolist(), "truth": truth.tolist(), "stderr": se.tolist(),
               "machine": platform.processor() or platform.machine()}
        _append(out, rec)
        print(f"table seed {seed}: MAE {rec['mae']:.4f}, max |err| {rec['max_abs_error']:.3f}, "
              f"Spearman {rec['spearman']:.4f}, coverage {rec['coverage95']:.2f}, {secs:.0f} s",
              flush=True)


def part_separate(args, out: Path) -> None:
    iu = np.triu_indices(20, 1)
    for seed in args.seeds:
        task = gaussian_graphical_table(20, seed=seed)
        data = task.sample(args.n_samples, seed=1000 + seed)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(iu[0].size, size=args.pairs, replace=False)
        for c in chosen:
            i, j = int(iu[0][c]), int(iu[1][c])
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = mmgap.estimate_mi(data[:, i], data[:, j], random_state=seed, verbose=False,
                                        n_permutations=0,
                                        x_discrete=bool(task.discrete[i]),
                                        y_discrete=bool(task.discrete[j]))
            rec = {"part": "separate", "task": task.id, "seed": seed, "pair": [i, j],
                   "truth": float(task.truth[i, j]), "estimate": float(res.mi),
                   "stderr": float(res.stderr), "seconds": time.perf_counter() - t0}
            _append(out, rec)
            print(f"  pair {i},{j}: truth {rec['truth']:.3f} est {rec['estimate']:.3f} "
                  f"{rec['seconds']:.0f} s", flush=True)


def part_features(args, out: Path) -> None:
    from sklearn.feature_selection import mutual_info_classif as sk_classif
    from sklearn.feature_selection import mutual_info_regression as sk_regression

    for seed in args.seeds:
        for n_classes in (None, 3):
            task = feature_target_task(20, n_classes=n_classes, seed=seed)
            x, y = task.sample(args.n_samples, seed=2000 + seed)
            ours = mmgap.mutual_info_classif if n_classes else mmgap.mutual_info_regression
            theirs = sk_classif if n_classes else sk_regression
            for name, fn in (("mmgap", ours), ("sklearn", theirs)):
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kw = {"verbose": False} if name == "mmgap" else {}
                    scores = np.asarray(fn(x, y, random_state=seed, **kw))
                secs = time.perf_counter() - t0
                err = scores - task.truth
                rec = {"part": "features", "task": task.id, "seed": seed, "method": name,
                       "n_samples": args.n_samples, "seconds": secs,
                       "mae": float(np.abs(err).mean()),
                       "spearman": float(spearmanr(scores, task.truth)[0]),
                       "scores": scores.tolist(), "truth": list(map(float, task.truth))}
                _append(out, rec)
                print(f"{task.id} seed {seed} {name}: MAE {rec['mae']:.4f} Spearman "
                      f"{rec['spearman']:.3f} {secs:.1f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("matrix", "separate", "features"), required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=None, help="mi_matrix steps (default: its own)")
    ap.add_argument("--pairs", type=int, default=12, help="pairs per table for --part separate")
    ap.add_argument("--out", required=True, help="JSON-lines file to append to")
    args = ap.parse_args()
    {"matrix": part_matrix, "separate": part_separate, "features": part_features}[args.part](
        args, Path(args.out))


if __name__ == "__main__":
    main()
