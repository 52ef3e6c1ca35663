"""Where does the orthogonal form's error on images come from? A cross-fitting check.

Gaussian 8x8 images with the digits' mean and covariance (dequantised), B = A + noise,
B_r = the top r rows of B: I(A; B_r) is known in closed form. Four denoisers are trained:
two on all 8,000 training points with different seeds, and two on disjoint halves. On the
same held-out (log-SNR, noise) draws we compare:
  - the orthogonal form E||D||^2 of each, with D = eps_hat(z, y) - eps_hat(z);
  - the cross products E[D1 . D2] of two independently trained denoisers (seeds, halves).
If the error of one network's D is independent noise e, E||D||^2 = G(1-c)^2 + E||e||^2 while
the cross product drops E||e||^2 and keeps only the shrinkage (1-c)^2 (c: the fraction of the
true difference the network misses). Comparing both tells the two apart.

Usage: python benchmarks/image_crossfit.py --steps 3000 --rows 4 --seed 0
"""

import argparse
import json
import time

import numpy as np
import torch

from mmgap.estimator import MMGEstimator
from mmgap.gap import fused_pass
from mmgap.images import load_digits_images
from mmgap.logsnr import add_noise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--draws", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(1)
    r, seed, n = args.rows, args.seed, args.n
    images, levels = load_digits_images()
    flat = images.reshape(len(images), -1).astype(float)
    mean = (flat + 0.5).mean(0) / levels
    cov = np.cov(flat.T) / levels**2 + np.eye(64) / (12 * levels**2)
    idx = np.arange(r * 8)
    truth = 0.5 * np.linalg.slogdet(cov[np.ix_(idx, idx)] + np.eye(idx.size))[1]
    rng = np.random.default_rng(100 + seed)
    a = mean + rng.standard_normal((n, 64)) @ np.linalg.cholesky(cov).T
    b = (a + rng.standard_normal(a.shape))[:, : r * 8]  # the kept rows; the rest are 0
    n_train = int(0.8 * n)
    # one standardisation for all four networks, so that their outputs live in one space
    x = (a - a[:n_train].mean(0)) / a[:n_train].std(0)
    y = (b - b[:n_train].mean(0)) / b[:n_train].std(0)

    def fit(rows, rs):
        return MMGEstimator(variant="orthogonal", n_steps=args.steps, preprocess="none",
                            verbose=False, random_state=rs).fit(x[rows], y[rows])

    t0 = time.time()
    half = n_train // 2
    nets = {"full": fit(np.arange(n_train), seed), "full2": fit(np.arange(n_train), seed + 1000),
            "half1": fit(np.arange(half), seed), "half2": fit(np.arange(half, n_train), seed)}
    gen = torch.Generator().manual_seed(7)
    xt = torch.as_tensor(x[n_train:], dtype=torch.float32).repeat_interleave(args.draws, 0)
    yt = torch.as_tensor(y[n_train:], dtype=torch.float32).repeat_interleave(args.draws, 0)
    lam, w = nets["full"].proposal_.sample(xt.shape[0], gen, device=xt.device, dtype=xt.dtype,
                                           stratified=True)
    eps = torch.randn(xt.shape, generator=gen)
    z = add_noise(xt, lam, eps)
    out, diff = {}, {}
    with torch.inference_mode():
        for name, est in nets.items():
            eps_u, eps_c = fused_pass(est.model_, z, lam, yt, None)
            diff[name] = eps_c - eps_u
            out[f"{name}_orthogonal"] = float((0.5 * w * (diff[name] ** 2).sum(-1)).mean())
            direct = ((eps - eps_u) ** 2).sum(-1) - ((eps - eps_c) ** 2).sum(-1)
            out[f"{name}_direct"] = float((0.5 * w * direct).mean())
        out["cross_seeds"] = float((0.5 * w * (diff["full"] * diff["full2"]).sum(-1)).mean())
        out["cross_halves"] = float((0.5 * w * (diff["half1"] * diff["half2"]).sum(-1)).mean())
    print(json.dumps({"steps": args.steps, "rows": r, "seed": seed, "n": n, "truth": truth,
                      **{k: round(v, 4) for k, v in out.items()},
                      "seconds": round(time.time() - t0)}))


if __name__ == "__main__":
    main()
