"""The ``mmgap`` command line: parse, call one library function, print (text or --json).

Bad input exits with code 2 and one line naming the problem; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from . import __version__, distributed

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

DEMO_TASK = "multinormal-dense-5-5-0.5"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows an option's default, except when it is None or the help text already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is None or "default" in text:
            return text
        return super()._get_help_string(action)


def _emit(text: str) -> None:
    if not distributed.is_main():  # under torchrun only rank 0 prints (all compute the same)
        return
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# library parameter -> the command-line option that sets it, for error messages
_PARAM_FLAGS = {"n_steps": "--steps", "max_seconds": "--max-seconds", "test_size": "--test-size",
                "random_state": "--seed", "weight_decay": "--weight-decay",
                "n_permutations": "--permutations", "width": "--width"}


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    name, sep, rest = message.partition(":")
    if sep and name in _PARAM_FLAGS:  # "n_steps: expected ..." -> "--steps (n_steps): expected ..."
        message = f"{_PARAM_FLAGS[name]} ({name}):{rest}"
    if code != EXIT_USAGE or distributed.is_main():  # bad input: every rank sees it; say it once
        sys.stderr.write(f"mmgap: error: {message}\n")
    return code


def _add_run_args(p: argparse.ArgumentParser, steps_help: str) -> None:
    """Budget, seed, split, device and units: shared by every training command."""
    p.add_argument("--steps", type=int, default=None, help=steps_help)
    p.add_argument("--max-seconds", type=float, default=None,
                   help="optional wall-clock budget for training")
    p.add_argument("--seed", type=int, default=0, help="random seed (split, init, training, estimate)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="fraction of samples held out for the estimate")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--units", choices=("nats", "bits"), default="nats")


def _add_repair_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-repair", action="store_true",
                   help="MMG: keep the first fit even when a cross-check shows it missed "
                        "dependence (by default it is refitted with the known cure: the "
                        "Gaussian prior, or standardised columns; a repair: line says which)")


def _add_training_args(p: argparse.ArgumentParser) -> None:
    from .estimator import DEFAULT_VARIANT, VARIANTS
    p.add_argument("--method", default="mmg",
                     help="estimator: mmg (default variant, auto), mmg-direct, mmg-orthogonal, "
                          "mmg-adaptive, mmg-orthogonal-adaptive, or a baseline: ksg, cca, "
                          "infonce, nwj, dv, mine, minde (see `mmgap methods`). Training options "
                          "(--steps, --seed, --test-size, --preprocess, --device) apply to the "
                          "trained baselines too; --variant only to mmg")

    p.add_argument("--variant", choices=VARIANTS, default=DEFAULT_VARIANT,
                   help="integrand form and proposal adaptation; auto = orthogonal, with the "
                        "adapted proposal when a Gaussian fit puts the gap beyond the fixed "
                        "window (see README)")
    p.add_argument("--permutations", type=int, default=99,
                   help="permutations of y within the held-out part for the independence "
                        "test, and of the training rows for its canonical-correlation part "
                        "(MMG methods; 0 = no test)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="level of the independence test's decision")
    _add_run_args(p, "training steps (default: the method's own; 6000 for MMG)")
    p.add_argument("--preprocess", choices=("rank", "standardize", "gaussianize", "none"),
                   default=None,
                   help="per-column monotone map fitted on the training part (MI is unchanged "
                        "by it); gaussianize = Gaussian-mixture CDF then normal quantile. "
                        "Default: rank, and MMG refits on standardised columns when the k-NN "
                        "check sees more than the rank-map fit (see --no-repair)")

    p.add_argument("--network", choices=("auto", "mlp", "conv"), default="auto",
                   help="MMG denoiser: residual MLP, or a convolutional U-Net for image-shaped "
                        "x ((n, H, W) or (n, C, H, W) arrays in .npy/.npz); auto = mlp")
    p.add_argument("--width", type=int, default=None,
                   help="hidden width of the MMG denoiser (default 128; 64 runs about 1.9x "
                        "faster on 2 CPU threads; bmi40 36/40 against 39/40: it under-"
                        "estimates spiral couplings and the 50+50 dense Gaussian, docs/benchmarks/speed.md)")
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="write the MMSE-gap plot (needs matplotlib) to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no warnings")


_DISCRETE_HELP = ("which columns of {v} are discrete: 'auto' (default: integer columns with at "
                  "most 50 distinct values), the flag alone or 'all' (every column), 'none', or "
                  "a comma list of 0-based positions within {v} or of names from its --*-cols")


def _discrete_arg(value):
    """--x-discrete / --y-discrete / --z-discrete: 'auto', 'all', 'none' or a column list."""
    if value is True:
        return True
    v = str(value).strip()
    low = v.lower()
    if low == "auto":
        return "auto"
    if low in ("all", "yes", "true"):
        return True
    if low in ("none", "no", "false"):
        return False
    cols = [c.strip() for c in v.split(",")]
    if not all(cols):
        raise argparse.ArgumentTypeError(f"expected auto, all, none or a comma list of columns, "
                                         f"got {value!r}")
    return [int(c) if c.lstrip("-").isdigit() else c for c in cols]


def _add_data_args(est: argparse.ArgumentParser) -> None:
    est.add_argument("data", nargs="?", default=None, metavar="DATA",
                     help=".npz with arrays x and y, or a .csv/.parquet table")
    est.add_argument("--x", metavar="FILE", help="file with the X samples")
    est.add_argument("--y", metavar="FILE", help="file with the Y samples")
    est.add_argument("--x-cols", metavar="A,B", help="CSV/parquet columns for X (names or 0-based indices)")
    est.add_argument("--y-cols", metavar="C", help="CSV/parquet columns for Y (names or 0-based indices)")
    est.add_argument("--x-key", default="x", help="array name for X inside a .npz")
    est.add_argument("--y-key", default="y", help="array name for Y inside a .npz")
    est.add_argument("--x-discrete", nargs="?", const=True, default="auto", type=_discrete_arg,
                     metavar="COLS", help=_DISCRETE_HELP.format(v="X"))
    est.add_argument("--y-discrete", nargs="?", const=True, default="auto", type=_discrete_arg,
                     metavar="COLS", help=_DISCRETE_HELP.format(v="Y"))
    est.add_argument("--z", metavar="FILE", default=None,
                     help="file with the Z samples: condition on Z, giving I(X;Y|Z)")
    est.add_argument("--z-cols", metavar="C", default=None,
                     help="columns for Z in the DATA table (or in --z FILE): I(X;Y|Z)")
    est.add_argument("--z-key", default=None, metavar="KEY",
                     help="array name for Z inside the DATA .npz (or --z .npz; default 'z'): I(X;Y|Z)")
    est.add_argument("--z-discrete", nargs="?", const=True, default="auto", type=_discrete_arg,
                     metavar="COLS", help=_DISCRETE_HELP.format(v="Z"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmgap",
        description="Estimate the mutual information I(X;Y) from samples with the MMSE gap "
                    "of one conditional diffusion denoiser (MMG).",
        formatter_class=_Formatter,
        epilog="Examples:\n  mmgap demo\n  mmgap estimate data.npz\n"
               "  mmgap estimate --x feats.npy --y labels.csv --y-cols label --y-discrete\n"
               "  mmgap estimate table.csv --x-cols a,b,c --y-cols d --json\n"
               "  mmgap test data.npz --alpha 0.01\n"
               "  mmgap estimate table.csv --x-cols a --y-cols b --z-cols c,d   # I(X;Y|Z)\n"
               "  mmgap pointwise data.npz --out pmi.csv\n"
               "  mmgap entropy x.npy --json",
    )
    parser.add_argument("--version", action="version", version=f"mmgap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    est = sub.add_parser(
        "estimate", formatter_class=_Formatter,
        help="estimate I(X;Y) from data files",
        description="Estimate I(X;Y) from samples in files. Rows are samples. Either one file "
                    "DATA (.npz with arrays x and y, or a .csv/.parquet table with --x-cols and "
                    "--y-cols) or two files --x and --y (.npy, .npz, .csv, .parquet). A held-out "
                    "part (--test-size) is used for the estimate.",
    )
    _add_data_args(est)
    est.add_argument("--save", metavar="DIR", default=None,
                     help="save the fitted estimator (config.json + weights.pt) to DIR (MMG only)")
    est.add_argument("--overwrite", action="store_true",
                     help="let --save replace an existing, non-empty DIR")
    _add_training_args(est)
    _add_repair_arg(est)

    tst = sub.add_parser(
        "test", formatter_class=_Formatter,
        help="test whether X and Y are independent (p-value)",
        description="Permutation test of H0: I(X;Y) = 0. The denoiser is trained on the "
                    "training part; y is then permuted within the held-out part (--test-size) "
                    "and the fitted denoiser re-evaluated --permutations times. The p-value "
                    "(1 + #{permuted >= observed}) / (1 + permutations) is exactly valid: under "
                    "independence P(p <= alpha) <= alpha. For continuous vectors (rank map, no "
                    "Z) a second exact permutation test of the training rows' canonical "
                    "correlations runs too (4 x --permutations + 3 permutations), and the "
                    "p-value is min(1, 2 min(p1, p2)) "
                    "(Bonferroni, still exactly valid). Prints the p-value, the decision at "
                    "--alpha and the MI estimate. Same data options as `estimate`. With Z "
                    "(--z, --z-cols, --z-key) it tests H0: I(X;Y|Z) = 0 by permuting y only "
                    "among held-out points with equal z (--z-discrete: exact) or nearby z "
                    "(approximate; docs/benchmarks/cmi.md).",
    )
    _add_data_args(tst)
    _add_training_args(tst)
    _add_repair_arg(tst)

    pw = sub.add_parser(
        "pointwise", formatter_class=_Formatter,
        help="pointwise MI i(x;y) of every row, to a CSV or .npy file",
        description="Pointwise mutual information i(x_i; y_i) = log p(x_i|y_i) - log p(x_i) of "
                    "every row (or i(x_i; y_i | z_i) with Z), cross-fitted: the rows are split "
                    "into --folds folds and each row is evaluated by a denoiser trained on the "
                    "other folds. The CSV has columns row, pmi, stderr (the Monte Carlo error of "
                    "each value over --draws noise draws); .npy holds an (n, 2) array [pmi, "
                    "stderr]. The mean of the values estimates I(X;Y). Same data options as "
                    "`estimate`.",
    )
    _add_data_args(pw)
    pw.add_argument("--out", metavar="FILE", required=True,
                    help="where to write the values: .csv (row, pmi, stderr) or .npy")
    pw.add_argument("--folds", type=int, default=2, help="cross-fitting folds (>= 2)")
    pw.add_argument("--draws", type=int, default=64, help="noise draws per row")
    _add_training_args(pw)

    mx = sub.add_parser(
        "matrix", formatter_class=_Formatter,
        help="pairwise MI between all columns of a table (or each column against --target)",
        description="Pairwise mutual information I(X_i; X_j) between the columns of a table, "
                    "from one ensemble of small MMG denoisers trained together (one per column "
                    "and one per ordered pair), instead of one fit per pair. The CSV is the "
                    "square matrix with the column names as header and first column; the "
                    "diagonal holds H(X_j) for a discrete column and is empty for a continuous "
                    "one (infinite). With --target COL: I(X_j; target) for every other column "
                    "(like scikit-learn's mutual_info_regression / mutual_info_classif), written "
                    "as rows column,mi. Text columns of a CSV are read as categories (always "
                    "discrete).",
    )
    mx.add_argument("data", metavar="DATA", help=".csv/.parquet table, or a 2-D .npy/.npz array")
    mx.add_argument("--out", metavar="FILE", required=True, help="the .csv to write")
    mx.add_argument("--cols", metavar="A,B", default=None,
                    help="columns to use (names or 0-based indices; default: all)")
    mx.add_argument("--key", default=None, metavar="KEY", help="array name inside a .npz")
    mx.add_argument("--discrete", nargs="?", const=True, default="auto", type=_discrete_arg,
                    metavar="COLS",
                    help="which columns are discrete: 'auto' (default: integer columns with at "
                         "most 50 distinct values), the flag alone or 'all', 'none', or a comma "
                         "list of names or 0-based positions among the columns used")
    mx.add_argument("--target", metavar="COL", default=None,
                    help="score every other column against this one instead of the full matrix")
    mx.add_argument("--steps", type=int, default=None, help="training steps (default: 800,000 net-steps over the 1 + (p-1) nets per column, 2,000 to 20,000; 2,000 for 20 columns)")
    mx.add_argument("--draws", type=int, default=16, help="noise draws per held-out row and pair")
    mx.add_argument("--test-size", type=float, default=0.2, help="share of rows held out")
    mx.add_argument("--seed", type=int, default=0, help="random seed")
    mx.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    mx.add_argument("--units", choices=("nats", "bits"), default="nats")
    mx.add_argument("--plot", metavar="PNG", default=None, help="write a heat map of the matrix")
    mx.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    mx.add_argument("--quiet", action="store_true", help="no progress bar")

    ent = sub.add_parser(
        "entropy", formatter_class=_Formatter,
        help="differential entropy h(X) (or h(X|Y) with --given)",
        description="Differential entropy h(X) in nats (or bits), or h(X|Y) with --given, from "
                    "a denoiser built on a Gaussian fitted to the data: h = cross-entropy of the "
                    "Gaussian (exact on held-out rows) - the divergence from it (the MMSE gap "
                    "between the Gaussian's denoiser and the learned one). DATA is a .npy "
                    "(the whole array is X), a .npz (array --x-key) or a table (--x-cols; all "
                    "columns if omitted). Preprocessing (gaussianize, standardize or none) has a "
                    "known Jacobian, accounted for exactly.",
    )
    ent.add_argument("data", metavar="DATA", help=".npy, .npz or .csv/.parquet with the X samples")
    ent.add_argument("--x-cols", metavar="A,B", help="table columns for X (default: all)")
    ent.add_argument("--x-key", default="x", help="array name for X inside a .npz")
    ent.add_argument("--given", metavar="FILE", default=None,
                     help="file with the Y samples to condition on: h(X|Y)")
    ent.add_argument("--given-cols", metavar="C", default=None,
                     help="columns for Y in the DATA table (or in --given FILE): h(X|Y)")
    ent.add_argument("--given-key", metavar="KEY", default=None,
                     help="array name for Y inside the DATA .npz (or --given .npz): h(X|Y)")
    ent.add_argument("--given-discrete", action="store_true",
                     help="Y holds integer class labels")
    ent.add_argument("--method", choices=("mmg", "kl"), default="mmg",
                     help="mmg (the denoiser) or kl (Kozachenko-Leonenko k-NN baseline, all "
                          "rows; no --given)")
    ent.add_argument("--variant", choices=("orthogonal", "direct"), default="orthogonal",
                     help="integrand of the divergence from the Gaussian (mmg)")
    _add_run_args(ent, "training steps (default 6000)")
    ent.add_argument("--preprocess", choices=("gaussianize", "standardize", "none"),
                     default="gaussianize",
                     help="per-column map whose Jacobian is added back exactly: gaussianize "
                          "(Gaussian-mixture CDF then normal quantile) or standardize (affine)")
    ent.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ent.add_argument("--quiet", action="store_true", help="no progress bar, no warnings")

    demo = sub.add_parser(
        "demo", formatter_class=_Formatter,
        help="run on a built-in example with a known answer",
        description=f"Estimate I(X;Y) on the built-in task {DEMO_TASK} (X, Y 5-dimensional, "
                    "all 10 coordinates pairwise correlated 0.5; true I = 0.5928 nats), print "
                    "truth, estimate and error, and write the MMSE-gap plot.",
    )
    demo.add_argument("--n-samples", type=int, default=10_000, help="samples to draw")
    _add_training_args(demo)
    _add_repair_arg(demo)
    demo.set_defaults(plot="mmgap-demo.png")

    bench = sub.add_parser(
        "bench", formatter_class=_Formatter, help="run estimators on ground-truth tasks",
        description="Run every (task, method, seed) and append one JSON record per run to "
                    "OUT/results.jsonl. Records already there are skipped, so an interrupted "
                    "run resumes; a failing run is recorded, not raised. Then `mmgap report OUT`.",
    )
    bench.add_argument("--suite", default=None,
                       help="bmi40, high-mi, extra, cmi (I(X;Y|Z) tasks), entropy (h(X) tasks), mixed, "
                            "fine, many-pairs, images-known or all")
    bench.add_argument("--tasks", default=None, metavar="ID,ID", help="task ids (see `mmgap tasks`)")
    bench.add_argument("--methods", default="mmg", metavar="M,M", help="method names (see `mmgap methods`)")
    bench.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds")
    bench.add_argument("--n-samples", type=int, default=10_000, help="samples per run")
    bench.add_argument("--steps", type=int, default=None, help="training steps for MMG methods and the trained baselines (default: each method's own)")
    bench.add_argument("--out", default="bench-out", help="output directory")
    bench.add_argument("--jobs", type=int, default=1, help="worker processes (local executor)")
    bench.add_argument("--executor", choices=("local", "ray"), default="local")
    bench.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    bench.add_argument("--report", action="store_true", help="write the report when done")
    bench.add_argument("--retry-failed", action="store_true",
                       help="run again the keys stored as failed runs (a success replaces them)")

    exp = sub.add_parser("export", formatter_class=_Formatter,
                         help="write every record of a bench directory to a JSONL file",
                         description="Write every record of DIR's results store to FILE, one "
                                     "JSON object a line, each run key once.")
    exp.add_argument("dir", metavar="DIR")
    exp.add_argument("file", metavar="FILE")
    imp = sub.add_parser("import", formatter_class=_Formatter,
                         help="add the records of a JSONL file to a bench directory",
                         description="Add the records of FILE (one JSON object a line, as "
                                     "written by `mmgap export`) to DIR's results store. A key "
                                     "that already holds a successful record keeps it; lines "
                                     "that are not records are skipped and counted.")
    imp.add_argument("dir", metavar="DIR")
    imp.add_argument("file", metavar="FILE")

    rep = sub.add_parser("report", formatter_class=_Formatter, help="summarise a bench directory",
                         description="Write DIR/report.md (task x method table, per-method "
                                     "totals) and DIR/heatmap.png from DIR/results.jsonl.")
    rep.add_argument("dir", metavar="DIR")
    rep.add_argument("--abs-tol", type=float, default=0.1, help="pass if |error| <= this (nats) ...")
    rep.add_argument("--rel-tol", type=float, default=0.1, help="... or <= this fraction of the truth")

    tasks = sub.add_parser("tasks", formatter_class=_Formatter, help="list ground-truth tasks")
    tasks.add_argument("--suite", default="all", help="bmi40, high-mi, extra, cmi, entropy, mixed, fine, many-pairs, "
                       "images-known or all")
    tasks.add_argument("--json", action="store_true")

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

    methods = sub.add_parser("methods", formatter_class=_Formatter, help="list estimators")
    methods.add_argument("--json", action="store_true")
    return parser


def _setup_logging(quiet: bool) -> None:
    import warnings

    from .types import MMGWarning

    # result warnings are printed with the result (text) or carried in diagnostics (JSON)
    warnings.simplefilter("ignore", MMGWarning)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mmgap: warning: %(message)s"))
    log = logging.getLogger("mmgap")
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.WARNING)
    log.propagate = False


def _params(args) -> dict:
    params = dict(variant=args.variant, max_seconds=args.max_seconds,
                  device=args.device, units=args.units,
                  verbose=not args.quiet, network=args.network,
                  n_permutations=args.permutations)
    if args.preprocess is not None:  # left out, the estimator's default (and its repair)
        params["preprocess"] = args.preprocess
    if args.steps is not None:
        params["n_steps"] = args.steps
    if args.width is not None:
        params["width"] = args.width
    return params


def _plot(est, res, x_test, y_test, *rest) -> None:
    from .plotting import plot_mmse_curve

    *z_test, path = rest
    curve = est.mmse_curve(x_test, y_test, z=z_test[0] if z_test else None)
    mi_nats = res.mi if res.units == "nats" else res.mi * 0.6931471805599453
    plot_mmse_curve(curve, path, mi=mi_nats, proposal=est.proposal_,
                    title=f"MMSE gap ({res.variant}): I = {res.mi:.3f} {res.units}")


def _emit_truth(extra: dict, n: int, res) -> None:
    _emit(f"task:     {extra['task']}  ({n} samples)")
    _emit(f"truth:    {extra['truth']:.4f} {res.units}")
    _emit(f"estimate: {res.summary()}")
    _emit(f"error:    {res.mi - extra['truth']:+.4f} {res.units}")


def _writable_dir(path: Path) -> bool:
    """The nearest existing ancestor of ``path`` is a writable directory."""
    p = path
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    return p.is_dir() and os.access(p, os.W_OK)


def _check_outputs(args) -> None:
    """Output paths are checked before training, so a bad one cannot cost the estimate."""
    plot = getattr(args, "plot", None)
    if plot:
        target = Path(plot)
        if target.is_dir():
            raise ValueError(f"--plot: {plot!r} is a directory; expected a file name such as gap.png")
        if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
            raise ValueError(f"--plot: cannot write {plot!r}: {str(target.parent)!r} is not a "
                             "writable directory")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ValueError("--plot: needs matplotlib (pip install 'mmgap[plot]')") from None
    save = getattr(args, "save", None)
    if save:
        target = Path(save)
        if target.exists() and not target.is_dir():
            raise ValueError(f"--save: {save!r} exists and is not a directory")
        if target.is_dir() and any(target.iterdir()) and not args.overwrite:
            raise ValueError(f"--save: {save!r} already exists and is not empty; add --overwrite "
                             "to replace it")
        if not _writable_dir(target.parent):
            raise ValueError(f"--save: cannot create {save!r}: its parent is not writable")


def _load_z(args):
    """The Z of I(X;Y|Z) named by --z / --z-cols / --z-key, or None."""
    from .dataio import DataError, load_array, parse_columns

    z_file, z_cols, z_key = getattr(args, "z", None), getattr(args, "z_cols", None), getattr(args, "z_key", None)
    if z_file is None and z_cols is None and z_key is None:
        if getattr(args, "z_discrete", "auto") != "auto":
            raise ValueError("--z-discrete: no Z given; add --z FILE, --z-cols or --z-key")
        return None
    if z_file is not None:
        return load_array(z_file, columns=parse_columns(z_cols), key=z_key or "z", name="z")
    if args.data is None:
        raise DataError("--z-cols/--z-key pick Z from DATA; with --x/--y files give --z FILE")
    if Path(args.data).suffix.lower() == ".npz":
        if z_cols:
            raise DataError(f"{args.data}: --z-cols applies to tables; use --z-key for .npz")
        return load_array(args.data, key=z_key, name="z")
    if z_key:
        raise DataError(f"{args.data}: --z-key applies to .npz files; use --z-cols for tables")
    return load_array(args.data, columns=parse_columns(z_cols), name="z")


def _discrete_specs(args) -> dict:
    """x_discrete / y_discrete / z_discrete from the flags, names resolved to positions within
    each variable's --*-cols."""
    from .dataio import parse_columns

    out = {}
    for v in ("x", "y", "z"):
        spec = getattr(args, f"{v}_discrete", "auto")
        if isinstance(spec, list) and any(isinstance(c, str) for c in spec):
            cols = parse_columns(getattr(args, f"{v}_cols", None))
            if not cols:
                raise ValueError(f"--{v}-discrete: column names need --{v}-cols to say which "
                                 f"columns {v.upper()} is; or give 0-based positions within {v.upper()}")
            missing = [c for c in spec if isinstance(c, str) and c not in cols]
            if missing:
                raise ValueError(f"--{v}-discrete: {missing[0]!r} is not among --{v}-cols "
                                 f"({', '.join(cols)})")
            spec = [cols.index(c) if isinstance(c, str) else c for c in spec]
        out[f"{v}_discrete"] = spec
    return out


def _run_estimate(args, x, y, *, extra: Optional[dict] = None, z=None) -> int:
    from .estimator import fit_estimate
    from .methods import MMG_METHODS, check_method, run_method

    method = check_method(getattr(args, "method", "mmg"))
    _check_outputs(args)
    specs = _discrete_specs(args)
    z_kw = {} if z is None else {"z": z, "z_discrete": specs["z_discrete"]}
    if method not in MMG_METHODS:
        if args.plot and extra is None:
            raise ValueError(f"--plot: the MMSE-gap plot needs an MMG method, not {method!r}")
        if getattr(args, "save", None):
            raise ValueError(f"--save: only MMG methods are saved, not {method!r}")
        from .baselines import BASELINES

        accepted = set(BASELINES[method]._param_names())
        params = {k: v for k, v in _params(args).items() if k in accepted and k != "variant"}
        if getattr(args, "command", None) == "test" and "n_permutations" not in accepted:
            raise ValueError(f"--method: {method!r} has no independence test; use an MMG "
                             "method or minde")
        from .validation import label_column

        if z is not None:
            z_kw["z_discrete"] = label_column(specs["z_discrete"], z, "z", "--z-discrete")
        y_labels = label_column(specs["y_discrete"], y, "y", "--y-discrete")
        if not y_labels and specs["y_discrete"] not in ("auto", False):
            raise ValueError(f"--y-discrete: method {method!r} takes discrete Y only as one "
                             "column of labels")
        if specs["x_discrete"] not in ("auto", False):
            raise ValueError(f"--x-discrete: method {method!r} does not take discrete columns; "
                             "use an MMG method")
        res = run_method(method, x, y, y_discrete=y_labels, random_state=args.seed,
                         test_size=args.test_size, **params, **z_kw)
        out = res.to_dict()
        if extra:
            out.update(extra)
        if args.json:
            _emit(json.dumps(out))
        elif extra and "truth" in extra:
            _emit_truth(extra, x.shape[0], res)
        else:
            _emit(res.summary())
        return EXIT_OK
    variant = MMG_METHODS[method][0] or args.variant
    params = {**_params(args), "variant": variant}
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha: expected a level between 0 and 1, got {args.alpha}")
    if getattr(args, "command", None) == "test" and args.permutations < 1:
        raise ValueError(f"--permutations: the test needs at least 1, got {args.permutations}")
    est, res, held = fit_estimate(x, y, test_size=args.test_size, random_state=args.seed,
                                  repair=not getattr(args, "no_repair", False),
                                  x_discrete=specs["x_discrete"],
                                  y_discrete=specs["y_discrete"], **params, **z_kw)
    out = res.to_dict()
    if res.p_value is not None:
        out["alpha"] = args.alpha
        out["dependent"] = bool(res.p_value <= args.alpha)
    if extra:
        out.update(extra)
    if args.plot:
        if distributed.is_main():
            _plot(est, res, *held, args.plot)
        out["plot"] = args.plot
    if getattr(args, "save", None) and distributed.is_main():
        out["saved"] = str(est.save(args.save, overwrite=args.overwrite))
    if args.json:
        _emit(json.dumps(out))
    else:
        if getattr(args, "command", None) == "test":
            _emit(_decision(res, args.alpha))
        if extra and "truth" in extra:
            _emit_truth(extra, x.shape[0], res)
        else:
            _emit(res.summary())
        d = res.diagnostics
        other = "direct" if d["integrand"] == "orthogonal" else "orthogonal"
        _emit(f"          ({other} integrand: {d['mi_' + other]:.3f} \u00b1 "
              f"{d['stderr_' + other]:.3f}; {d['training']['steps']} steps at "
              f"{d['training']['steps_per_second']} steps/s on {d['device']})")
        if res.p_value is not None and getattr(args, "command", None) != "test":
            _emit(f"test:     {_decision(res, args.alpha)}")
        checks = []
        if d.get("gaussian_check"):
            g = d["gaussian_check"]
            checks.append(f"Gaussian copula {g['mi']:.3f} \u00b1 {g['stderr']:.3f}")
        if d.get("knn_check") is not None:
            checks.append(f"KSG {d['knn_check']:.3f}")
        if checks:
            _emit(f"checks:   {'; '.join(checks)} (second opinions on the same data; see "
                  "README, 'How far to trust the answer')")
        rep = d.get("repair")
        if rep:
            first = rep["first_fit"]
            hi = "inf" if first["ci95"][1] is None else f"{first['ci95'][1]:.3f}"
            _emit(f"repair:   {rep['flag']} on the first fit ({first['mi']:.3f}, 95% CI "
                  f"{first['ci95'][0]:.3f}–{hi}): {rep['action']}")
        for f in d.get("flags", []):
            action = "" if f["action"] == "none" else f" [{f['action']}]"
            _emit(f"flag:     {f['code']}: {f['message']}{action}")
        if args.plot:
            _emit(f"plot:     {args.plot}")
        if out.get("saved"):
            _emit(f"saved:    {out['saved']}")
    return EXIT_OK


def _decision(res, alpha: float) -> str:
    t = res.diagnostics.get("permutation_test") or {}
    verdict = ("dependent (independence rejected)" if res.p_value <= alpha
               else "no evidence of dependence (independence not rejected)")
    lin = res.diagnostics.get("linear_test")
    n = t.get("n_permutations", "?")
    how = (f"denoiser {t['p_value']:.4g}, canonical correlations {lin['p_value']:.4g}, "
           f"Bonferroni over {n} and {lin['n_permutations']} permutations"
           if lin and t.get("p_value") is not None else f"{n} permutations")
    return f"p = {res.p_value:.4g} ({how}): {verdict} at alpha = {alpha}"


def cmd_estimate(args) -> int:
    from .dataio import load_xy, parse_columns

    x, y = load_xy(args.data, x=args.x, y=args.y, x_cols=parse_columns(args.x_cols),
                   y_cols=parse_columns(args.y_cols), x_key=args.x_key, y_key=args.y_key)
    from .validation import check_xy

    if np.ndim(x) <= 2 and np.ndim(y) <= 2:
        check_xy(x, y, y_discrete=args.y_discrete is True and np.ndim(y) == 1, min_samples=20,
                 check_constant=True, dtype=None)  # .npy input is memory-mapped: no copy
    # image-shaped arrays ((n, H, W) or (n, C, H, W) in .npy/.npz) are checked by the estimator
    return _run_estimate(args, x, y, z=_load_z(args))


def cmd_demo(args) -> int:
    from .tasks import get_task
    from .types import nats_to

    task = get_task(DEMO_TASK)
    if args.n_samples < 20:
        raise ValueError(f"--n-samples: expected at least 20, got {args.n_samples}")
    x, y = task.sample(args.n_samples, seed=args.seed)
    truth = nats_to(task.mutual_information, args.units)
    return _run_estimate(args, x, y,
                         extra={"task": task.id, "truth": truth})


def cmd_pointwise(args) -> int:
    from .dataio import load_xy, parse_columns
    from .methods import MMG_METHODS
    from .pointwise import pointwise_mi

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".npy"):
        raise ValueError(f"--out: expected a .csv or .npy file name, got {args.out!r}")
    if out.is_dir():
        raise ValueError(f"--out: {args.out!r} is a directory; expected a file name such as pmi.csv")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out: cannot write {args.out!r}: {str(out.parent)!r} is not a "
                         "writable directory")
    if args.method not in MMG_METHODS:
        raise ValueError(f"--method: pointwise MI needs an MMG method, got {args.method!r}")
    for flag, value, default in (("--test-size", args.test_size, 0.2),
                                 ("--permutations", args.permutations, 99),
                                 ("--alpha", args.alpha, 0.05)):
        if value != default:  # accepted by the shared options, meaningless here
            raise ValueError(f"{flag}: pointwise MI cross-fits over --folds and runs no test; "
                             "drop this option")
    _check_outputs(args)
    x, y = load_xy(args.data, x=args.x, y=args.y, x_cols=parse_columns(args.x_cols),
                   y_cols=parse_columns(args.y_cols), x_key=args.x_key, y_key=args.y_key)
    z = _load_z(args)
    params = {**_params(args), "variant": MMG_METHODS[args.method][0] or args.variant,
              "n_permutations": 0, **_discrete_specs(args)}
    if z is None:
        params.pop("z_discrete")
    res = pointwise_mi(x, y, z, n_folds=args.folds, k_draws=args.draws,
                       random_state=args.seed, **params)
    table = np.column_stack([res.values, res.stderr])
    if distributed.is_main():  # under torchrun rank 0 writes
        tmp = out.with_name(out.name + ".part")
        if out.suffix.lower() == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, table)
        else:
            with open(tmp, "w") as fh:
                fh.write("row,pmi,stderr\n")
                for i, (v, e) in enumerate(table):
                    fh.write(f"{i},{v:.6g},{e:.6g}\n")
        os.replace(tmp, out)
        if args.plot:
            from .plotting import plot_pointwise

            plot_pointwise(res, args.plot)
    name = "i(x;y|z)" if z is not None else "i(x;y)"
    summary = {"quantity": res.quantity, "n": int(res.values.size), "mean": res.mean,
               "mean_stderr": res.mean_stderr, "median_stderr": float(np.median(res.stderr)),
               "units": res.units, "out": str(out), "plot": args.plot,
               "n_folds": args.folds, "k_draws": args.draws}
    if args.json:
        _emit(json.dumps(summary))
    else:
        _emit(f"pointwise {name}: {res.values.size} rows, mean {res.mean:.4f} \u00b1 "
              f"{res.mean_stderr:.4f} {res.units} (an estimate of the MI); median per-row "
              f"stderr {summary['median_stderr']:.3f}")
        _emit(f"written:  {out}" + (f"\nplot:     {args.plot}" if args.plot else ""))
    return EXIT_OK


def cmd_entropy(args) -> int:
    from .dataio import DataError, load_array, parse_columns
    from .entropy import estimate_entropy

    p = Path(args.data)
    suffix = p.suffix.lower()
    if suffix in (".npy", ".npz"):
        if args.x_cols:
            raise DataError(f"{p}: --x-cols applies to tables; use --x-key for .npz")
        x = load_array(args.data, key=args.x_key if suffix == ".npz" else None, name="x")
    else:
        x = load_array(args.data, columns=parse_columns(args.x_cols), name="x")
    y = None
    if args.given is not None:
        y = load_array(args.given, columns=parse_columns(args.given_cols),
                       key=args.given_key or "y", name="y")
    elif args.given_cols is not None or args.given_key is not None:
        if suffix == ".npz":
            if args.given_cols:
                raise DataError(f"{p}: --given-cols applies to tables; use --given-key for .npz")
            y = load_array(args.data, key=args.given_key, name="y")
        else:
            if args.given_key:
                raise DataError(f"{p}: --given-key applies to .npz files")
            y = load_array(args.data, columns=parse_columns(args.given_cols), name="y")
            if args.x_cols is None:
                raise DataError(f"{p}: with --given-cols, say which columns are X (--x-cols)")
    elif args.given_discrete:
        raise ValueError("--given-discrete: no Y given; add --given FILE, --given-cols or --given-key")
    if args.method == "kl":
        from .methods import run_entropy_method

        if y is not None:
            raise ValueError("--given: the kl baseline estimates h(X) only; use --method mmg")
        res = run_entropy_method("kl", x, units=args.units)
    else:
        params = dict(variant=args.variant, max_seconds=args.max_seconds, device=args.device,
                      units=args.units, preprocess=args.preprocess, verbose=not args.quiet,
                      y_discrete=True if args.given_discrete else "auto")
        if args.steps is not None:
            params["n_steps"] = args.steps
        res = estimate_entropy(x, y, test_size=args.test_size, random_state=args.seed, **params)
    if args.json:
        out = res.to_dict()
        out["entropy"] = out.pop("mi")
        _emit(json.dumps(out))
    else:
        _emit(res.summary())
        d = res.diagnostics
        if "gaussian_cross_entropy" in d:
            _emit(f"          (Gaussian cross-entropy {d['gaussian_cross_entropy']:.3f} minus the "
                  f"divergence from it, {d['divergence_' + d['integrand']]:.3f} {res.units})")
        for f in d.get("flags", []):
            _emit(f"flag:     {f['code']}: {f['message']}")
    return EXIT_OK


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_bench(args) -> int:
    import signal
    import threading

    from .benchmark import run_grid, write_report
    from .dataio import parse_columns
    from .methods import method_trains
    from .tasks import list_task_ids

    if (args.suite is None) == (args.tasks is None):
        raise ValueError("give exactly one of --suite and --tasks")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps: expected a positive integer, got {args.steps}")
    if any(s < 0 for s in args.seeds):
        raise ValueError(f"--seeds: expected integers >= 0, got {args.seeds}")
    if args.jobs < 1:
        raise ValueError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    if args.n_samples < 20:
        raise ValueError(f"--n-samples: expected at least 20, got {args.n_samples}")
    tasks = list_task_ids(args.suite) if args.suite else parse_columns(args.tasks)
    methods = parse_columns(args.methods)
    params = {m: {"n_steps": args.steps} for m in methods
              if args.steps is not None and method_trains(m)}
    # `kill PID` stops the sweep like Ctrl-C: records so far are kept, workers are stopped
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt) if main_thread else None
    try:
        new = run_grid(tasks, methods, args.seeds, args.n_samples, args.out, jobs=args.jobs,
                       executor=args.executor, address=args.address, method_params=params,
                       retry_failed=args.retry_failed)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    failed = sum(not r["success"] for r in new)
    _emit(f"{len(new)} new runs ({failed} failed) stored in {args.out} "
          f"(results.sqlite; readable copy results.jsonl)")
    if args.report:
        _emit(f"report: {write_report(args.out)}")
    return EXIT_OK


def cmd_export(args) -> int:
    from .benchmark.store import DB_FILE, JSONL_FILE, SQLiteStore, export_jsonl

    d = Path(args.dir)
    if not (d / DB_FILE).exists() and not (d / JSONL_FILE).exists():
        raise ValueError(f"DIR: {args.dir!r} holds no benchmark results")
    with SQLiteStore(d) as store:
        n = export_jsonl(store, args.file)
    _emit(f"{n} records written to {args.file}")
    return EXIT_OK


def cmd_import(args) -> int:
    from .benchmark.store import SQLiteStore, export_jsonl, import_jsonl

    if not Path(args.file).is_file():
        raise ValueError(f"FILE: no such file {args.file!r}")
    with SQLiteStore(args.dir) as store:
        before = len(store.completed())
        skipped = import_jsonl(store, args.file)
        after = len(store.completed())
        export_jsonl(store, Path(args.dir) / "results.jsonl")
    _emit(f"{after - before} new keys imported into {args.dir} ({skipped} lines skipped)")
    return EXIT_OK


def cmd_report(args) -> int:
    from .benchmark import write_report

    _emit(f"wrote {write_report(args.dir, abs_tol=args.abs_tol, rel_tol=args.rel_tol)}")
    return EXIT_OK


def cmd_tasks(args) -> int:
    from .tasks import list_tasks

    tasks = list_tasks(args.suite)
    if args.json:
        _emit(json.dumps([{"id": t.id, "quantity": t.quantity, "dim_x": t.dim_x,
                           "dim_y": t.dim_y, "dim_z": t.dim_z,
                           "mutual_information": t.mutual_information, "truth": t.truth,
                           "mutual_information_stderr": t.mutual_information_stderr}
                          for t in tasks]))
    else:
        _emit(f"{'task id':52s} {'quantity':>8s} {'dim_x':>5s} {'dim_y':>5s} {'dim_z':>5s} "
              f"{'truth (nats)':>13s}")
        for t in tasks:
            _emit(f"{t.id:52s} {t.quantity:>8s} {t.dim_x:5d} {t.dim_y:5d} {t.dim_z:5d} "
                  f"{t.truth:13.6f}")
    return EXIT_OK


def cmd_methods(args) -> int:
    from .methods import list_methods, method_info

    infos = [method_info(m) for m in list_methods()]
    if args.json:
        _emit(json.dumps(infos))
    else:
        for i in infos:
            _emit(f"{i['name']:26s} {i['description']}\n{'':26s} ref: {i['reference']}")
    return EXIT_OK


def cmd_selfcheck(args) -> int:
    from .images import load_digits_images, load_mnist_images
    from .methods import MMG_METHODS, check_method, method_trains, run_method
    from .selfcheck import format_table, plot_selfcheck, run_selfcheck

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


def cmd_matrix(args) -> int:
    from .dataio import load_table, parse_columns
    from .matrix import mi_matrix, mutual_info_classif, mutual_info_regression

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"--out: expected a .csv file name, got {args.out!r}")
    if out.is_dir() or not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out: cannot write {args.out!r}")
    text: list = []
    arr, names = load_table(args.data, columns=parse_columns(args.cols), key=args.key, text=text)
    spec = args.discrete
    if isinstance(spec, list):
        bad = [c for c in spec if isinstance(c, str) and c not in names]
        if bad:
            raise ValueError(f"--discrete: no column {bad[0]!r}; columns are {', '.join(names[:20])}")
        spec = [names.index(c) if isinstance(c, str) else c for c in spec]
    if text:  # text columns are categories: always discrete
        from .validation import check_finite, resolve_discrete

        check_finite(arr, "data")
        if spec is not True:
            base = resolve_discrete(spec, arr, "data", "--discrete", names)
            spec = sorted(set(base) | set(text))
    kw = dict(n_steps=args.steps, k_draws=args.draws, test_size=args.test_size,
              device=args.device, verbose=not args.quiet)
    if args.target is None:
        res = mi_matrix(arr, discrete=spec, random_state=args.seed, units=args.units, **kw)
        res.names = list(names)
        tmp = out.with_name(out.name + ".part")
        res.to_csv(tmp)
        os.replace(tmp, out)
        if args.plot:
            from .plotting import plot_mi_matrix

            plot_mi_matrix(res, args.plot)
        if args.json:
            d = res.to_dict()
            d.update(out=str(out), plot=args.plot)
            _emit(json.dumps(d))
            return EXIT_OK
        top = res.pairs()[:10]
        _emit(f"{len(names)} columns, {len(names) * (len(names) - 1) // 2} pairs, "
              f"{res.seconds:.1f} s; matrix written to {out}")
        _emit("largest pairs:")
        for a, b, v, e in top:
            _emit(f"  {a} ~ {b}: {v:.3f} \u00b1 {e:.3f} {res.units}")
        if args.plot:
            _emit(f"plot: {args.plot}")
        return EXIT_OK
    if args.plot:
        raise ValueError("--plot: the heat map is drawn for the full matrix, not with --target")
    if args.target not in names:
        if args.target.lstrip("-").isdigit() and -len(names) <= int(args.target) < len(names):
            t = int(args.target) % len(names)
        else:
            raise ValueError(f"--target: no column {args.target!r}; columns are "
                             f"{', '.join(names[:20])}")
    else:
        t = names.index(args.target)
    from .validation import label_column

    rest = [j for j in range(len(names)) if j != t]
    y = arr[:, t]
    y_spec = True if spec is True else (t in spec if isinstance(spec, list) else spec)
    x_spec = (spec if not isinstance(spec, list)
              else [rest.index(j) for j in spec if j != t])
    labels = label_column(y_spec, y, "target", "--discrete")
    fn = mutual_info_classif if labels else mutual_info_regression
    scores = fn(arr[:, rest], y, discrete_features=x_spec, random_state=args.seed, **kw)
    scores = scores * (1.0 if args.units == "nats" else 1.0 / math.log(2))
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w") as fh:
        fh.write("column,mi\n")
        for j, v in zip(rest, scores):
            fh.write(f"{names[j]},{v:.6g}\n")
    os.replace(tmp, out)
    if args.json:
        _emit(json.dumps({"target": names[t], "discrete_target": bool(labels),
                          "units": args.units, "out": str(out),
                          "mi": {names[j]: float(v) for j, v in zip(rest, scores)}}))
        return EXIT_OK
    _emit(f"I(column; {names[t]}) for {len(rest)} columns ({args.units}); written to {out}")
    for j in np.argsort(-scores)[:10]:
        _emit(f"  {names[rest[j]]}: {scores[j]:.3f}")
    return EXIT_OK


COMMANDS = {"estimate": cmd_estimate, "matrix": cmd_matrix, "test": cmd_estimate, "pointwise": cmd_pointwise,
            "entropy": cmd_entropy, "demo": cmd_demo, "bench": cmd_bench,
            "report": cmd_report, "export": cmd_export, "import": cmd_import, "tasks": cmd_tasks, "methods": cmd_methods,
            "selfcheck": cmd_selfcheck}
# commands whose MMG fits train data-parallel under torchrun (rank 0 prints and writes)
DATA_PARALLEL = ("estimate", "test", "demo", "pointwise", "entropy")


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(getattr(args, "quiet", False) or not distributed.is_main())
    from .training import TrainingError

    try:
        if distributed.launched():  # torchrun with several processes: train data-parallel
            if args.command not in DATA_PARALLEL:
                raise ValueError(f"{args.command}: does not train data-parallel; run it without "
                                 f"torchrun (data-parallel: {', '.join(DATA_PARALLEL)})")
            distributed.init(device=getattr(args, "device", "auto"))
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # e.g. `mmgap ... | head -1`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except TrainingError as err:
        return _fail(str(err), EXIT_FAILURE)
    except (ValueError, ImportError, OSError) as err:
        return _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    finally:
        distributed.cleanup()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
