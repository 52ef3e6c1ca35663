"""Which variant `variant="auto"` picks on every bmi40 and high-MI task (seed-0 samples,
N = 10,000, the 8,000 training points of the default split), with the Gaussian tail share
it decides on. The choice is made before training, so a 1-step fit shows it.

Usage:
    python benchmarks/auto_variant_check.py [--out docs/benchmarks/calibration/auto_choice.md]
"""

import argparse
import warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    import mmgap
    from mmgap.estimator import train_test_split_indices
    from mmgap.tasks import get_task, list_task_ids

    warnings.simplefilter("ignore")
    lines = ["| suite | task | true MI | Gaussian tail share | auto picks |", "|---|---|---|---|---|"]
    summary = {}
    for suite in ("bmi40", "high-mi"):
        for tid in list_task_ids(suite):
            t = get_task(tid)
            x, y = t.sample(10_000, seed=0)
            tr, _ = train_test_split_indices(10_000, 0.2, 0)
            est = mmgap.MMGEstimator(n_steps=1, verbose=False, random_state=0, n_permutations=0,
                                     y_discrete=t.y_discrete, validation_fraction=0,
                                     ).fit(x[tr], y[tr])
            share = est.auto_["gaussian_tail_share"]
            lines.append(f"| {suite} | {tid} | {t.mutual_information:.2f} | {share:.4f} | {est.variant_} |")
            summary.setdefault((suite, "spiral" in tid), []).append((share, est.variant_))
    lines.append("")
    for (suite, spiral), rows in summary.items():
        picks = {v: sum(1 for _, w in rows if w == v) for _, v in rows}
        lines.append(f"- {suite}{' spiral' if spiral else ''}: {len(rows)} tasks, share "
                     f"{min(s for s, _ in rows):.4f}-{max(s for s, _ in rows):.4f}, picks {picks}")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write("`python benchmarks/auto_variant_check.py` (seed 0, N = 10,000)\n\n" + text)


if __name__ == "__main__":
    main()
