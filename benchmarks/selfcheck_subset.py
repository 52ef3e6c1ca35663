"""A subset of the self-consistency tests on digits (r = 4, 8; data processing at r = 2;
additivity at r = 4: four fits), to compare MMG settings cheaply.

Usage:
    python benchmarks/selfcheck_subset.py --steps 3000 --gaussian-prior --out prior.json
    python benchmarks/selfcheck_subset.py --steps 3000 --n-samples 50000 --out n50k.json
"""

import argparse
import json
import warnings

import torch

from mmgap.estimator import fit_estimate
from mmgap.images import load_digits_images
from mmgap.selfcheck import SelfCheckPlan, format_table, run_selfcheck


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--gaussian-prior", action="store_true")
    ap.add_argument("--width", type=int, default=None, help="MLP width (default: the estimator's)")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the JSON result here")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    images, levels = load_digits_images()

    def est(x, y, seed):
        return fit_estimate(x, y, random_state=seed, n_steps=args.steps,
                            gaussian_prior=args.gaussian_prior, width=args.width,
                            weight_decay=args.weight_decay,
                            verbose=False)[1]

    res = run_selfcheck(images, levels, est, n_samples=args.n_samples, seed=args.seed,
                        plan=SelfCheckPlan([4, 8], [2], 2, [4]), progress=False)
    print(format_table(res))
    out = res.to_dict()
    out.update(n_steps=args.steps, gaussian_prior=args.gaussian_prior, width=args.width,
               weight_decay=args.weight_decay)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh)


if __name__ == "__main__":
    main()
