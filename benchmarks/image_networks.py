"""MLP vs convolutional U-Net denoiser on image-shaped data, at an equal wall-clock budget.

Two data sets with 8x8 images (scikit-learn digits):
- "gauss": A ~ N(mean, cov) with the mean and covariance of the dequantised digits, and
  B = A + sigma * eps: every I(A; B_r) is known in closed form (Gaussian channel);
- "digits": the real dequantised digits with the same channel (truth unknown; the
  self-consistency identities are checked instead: additivity ratio 2).

Usage: python benchmarks/image_networks.py --seconds 60 --out docs/benchmarks/image_networks.jsonl
       python benchmarks/image_networks.py --steps 20000 --device cuda --data gauss --networks mlp
"""

import argparse
import json
import time

import numpy as np

from mmgap.estimator import fit_estimate
from mmgap.images import load_digits_images
from mmgap.selfcheck import make_pairs, mask_rows


def gaussian_truth(cov, sigma, rows, width=8):
    idx = np.arange(rows * width)
    c = cov[np.ix_(idx, idx)] + sigma**2 * np.eye(idx.size)
    return 0.5 * (np.linalg.slogdet(c)[1] - idx.size * np.log(sigma**2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--networks", nargs="+", default=["mlp", "conv"])
    ap.add_argument("--rows", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--data", nargs="+", default=["gauss", "digits"], choices=["gauss", "digits"])
    ap.add_argument("--steps", type=int, default=None,
                    help="train exactly this many steps (cosine schedule over them) instead of "
                         "the --seconds budget")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    images, levels = load_digits_images()
    flat = images.reshape(len(images), -1).astype(float)
    mean = (flat + 0.5).mean(0) / levels
    cov = np.cov(flat.T) / levels**2 + np.eye(64) / (12 * levels**2)
    chol = np.linalg.cholesky(cov)
    out = open(args.out, "a") if args.out else None
    for seed in args.seeds:
        for data in args.data:
            for kind, r in [("single", r) for r in args.rows] + [("additivity", args.rows[0])]:
                rng = np.random.default_rng(1000 * seed + r + (50 if kind == "additivity" else 0))

                def draw():
                    if data == "digits":
                        return make_pairs(images, levels, args.n, args.sigma, rng)
                    a = (mean + rng.standard_normal((args.n, 64)) @ chol.T).reshape(-1, 8, 8)
                    return a, a + args.sigma * rng.standard_normal(a.shape)

                if kind == "single":
                    a, b = draw()
                    x, y = a, mask_rows(b, r)
                    truth = gaussian_truth(cov, args.sigma, r) if data == "gauss" else None
                else:
                    a1, b1 = draw()
                    a2, b2 = draw()
                    x = np.stack([a1, a2], 1)
                    y = np.stack([mask_rows(b1, r), mask_rows(b2, r)], 1)
                    truth = 2 * gaussian_truth(cov, args.sigma, r) if data == "gauss" else None
                for net in args.networks:
                    t0 = time.time()
                    budget = ({"n_steps": args.steps} if args.steps else
                              {"n_steps": 100_000, "max_seconds": args.seconds})
                    _, res, _ = fit_estimate(x, y, random_state=seed, network=net,
                                             device=args.device, verbose=False,
                                             weight_decay=args.weight_decay, **budget)
                    d = res.diagnostics
                    rec = {"data": data, "kind": kind, "r": r, "network": net, "seed": seed,
                           "truth": truth, "mi": res.mi, "stderr": res.stderr,
                           "mi_direct": d.get("mi_direct"), "steps": d["training"]["steps"],
                           "best_step": d["training"]["best_step"],
                           "seconds": round(time.time() - t0, 1),
                           "budget_s": None if args.steps else args.seconds,
                           "device": args.device, "weight_decay": args.weight_decay,
                           "n": args.n, "sigma": args.sigma}
                    print(json.dumps(rec), flush=True)
                    if out:
                        out.write(json.dumps(rec) + "\n")
                        out.flush()


if __name__ == "__main__":
    main()
