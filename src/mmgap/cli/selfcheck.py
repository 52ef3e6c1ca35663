"""`mmgap selfcheck`."""

from __future__ import annotations

import json
import sys


from .common import (EXIT_OK, EXIT_FAILURE, _Formatter, _emit)


def register(sub) -> None:
    sc = sub.add_parser(
        "selfcheck", formatter_class=_Formatter, help="self-consistency tests on real images",
        description="Self-consistency tests (Song & Ermon 2020) on images, where no true MI is "
                    "known. A = a dequantised image (drawn with replacement), B = A + sigma*noise "
                    "(one noise draw), B_r = B with only its top r rows kept. Tests: baseline "
                    "I(A;B_r)/I(A;B_full) rises to 1; data processing I(A;[B_(r+k),B_r])/"
                    "I(A;B_(r+k)) = 1; additivity I([A1,A2];[B1_r,B2_r])/I(A;B_r) = 2. Prints a "
                    "table of ratios with error bars and a verdict per test; exits 1 if a test "
                    "fails. Nothing is downloaded.")
    sc.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                    help="digits: scikit-learn's bundled 8x8 digits; mnist: local file given by --mnist")
    sc.add_argument("--mnist", metavar="PATH", default=None,
                    help="MNIST images: an IDX file (train-images-idx3-ubyte[.gz]) or a .npz")
    sc.add_argument("--quick", action="store_true",
                    help="fewer rows r, fewer samples and steps (a few minutes on 2 CPU cores)")
    sc.add_argument("--method", default="mmg", help="estimator (see `mmgap methods`)")
    sc.add_argument("--network", choices=("auto", "mlp", "conv"), default="auto",
                    help="MMG denoiser network for the images")
    sc.add_argument("--weight-decay", type=float, default=None,
                    help="AdamW weight decay of the MMG denoiser, which regularises the "
                         "conditional map (default: the estimator's own, 0.3 for images; "
                         "docs/benchmarks/self_consistency.md)")
    sc.add_argument("--n-samples", type=int, default=None,
                    help="samples per estimate (default 10000; 5000 with --quick)")
    sc.add_argument("--steps", type=int, default=None,
                    help="training steps per estimate (default 3000; 1500 with --quick)")
    sc.add_argument("--sigma", type=float, default=1.0,
                    help="observation noise, in units of the pixel range [0, 1]")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    sc.add_argument("--json", action="store_true", help="print one JSON object")
    sc.add_argument("--plot", metavar="PNG", default=None, help="write the three-panel figure")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_selfcheck(args) -> int:
    from ..images import load_digits_images, load_mnist_images
    from ..methods import MMG_METHODS, check_method, method_trains, run_method
    from ..selfcheck import format_table, plot_selfcheck, run_selfcheck

    method = check_method(args.method)
    if args.dataset == "mnist":
        if not args.mnist:
            raise ValueError("--mnist: give the path of a local MNIST file for --dataset mnist")
        images, levels = load_mnist_images(args.mnist)
    else:
        if args.mnist:
            raise ValueError("--mnist: only used with --dataset mnist")
        images, levels = load_digits_images()
    n = args.n_samples or (5000 if args.quick else 10_000)
    steps = args.steps or (1500 if args.quick else 3000)
    progress = not args.quiet and sys.stderr.isatty()

    def estimate(x, y, seed):
        if method in MMG_METHODS:
            return run_method(method, x, y, random_state=seed, n_steps=steps,
                              network=args.network, device=args.device, verbose=False,
                              weight_decay=args.weight_decay)
        # baselines take flat vectors; masked rows are constant, so no per-column scaling
        kw = {"n_steps": steps, "device": args.device, "verbose": False,
              "preprocess": "none"} if method_trains(method) else {}
        return run_method(method, x.reshape(len(x), -1), y.reshape(len(y), -1),
                          random_state=seed, **kw)

    res = run_selfcheck(images, levels, estimate, dataset=args.dataset, method=method,
                        n_samples=n, sigma=args.sigma, seed=args.seed, quick=args.quick,
                        progress=progress)
    out = res.to_dict()
    out["n_steps"] = steps
    out["weight_decay"] = ("auto" if args.weight_decay is None else args.weight_decay) \
        if method in MMG_METHODS else None
    if args.plot:
        plot_selfcheck(res, args.plot)
        out["plot"] = args.plot
    if args.json:
        _emit(json.dumps(out))
    else:
        _emit(format_table(res))
        if args.plot:
            _emit(f"plot: {args.plot}")
    return EXIT_OK if res.passed else EXIT_FAILURE
