"""Shared pieces of the command line: output, errors, the common options and their mapping
to library parameters, data loading helpers."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Optional


from .. import distributed

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


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
                "n_permutations": "--permutations", "width": "--width", "n_folds": "--folds",
                "n_jobs": "--jobs"}


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


def _add_folds_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", type=int, default=None, metavar="K",
                   help="MMG: cross-fit over K folds instead of one 80/20 split: K networks, "
                        "each trained on the other folds and evaluated on its own, so every "
                        "row is held out once (a smaller held-out error, and the spread "
                        "between the networks in the error bar) at K times the cost; 5 trains "
                        "each on 80%% of the rows. Default: the single split")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="with --folds: fit J folds at once in worker processes, each with "
                        "an equal share of the cores")


def _add_training_args(p: argparse.ArgumentParser) -> None:
    from ..estimator import DEFAULT_VARIANT, VARIANTS
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
    p.add_argument("--preprocess", choices=("rank", "rank-knots", "standardize",
                                              "gaussianize", "none"),
                   default=None,
                   help="per-column monotone map fitted on the training part (MI is unchanged "
                        "by it); rank = normal quantile of a smoothed empirical CDF, rank-knots = "
                        "the older map interpolated between 256 quantiles, gaussianize = "
                        "Gaussian-mixture CDF then normal quantile. "
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
                  "a comma list of 0-based positions within {v} or of names from its --*-cols. "
                  "Text columns of a table are categories, always discrete ('none' refuses them)")


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


def _setup_logging(quiet: bool) -> None:
    import warnings

    from ..types import MMGWarning

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
    from ..plotting import plot_mmse_curve

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


def _load_z(args, text: Optional[list] = None):
    """The Z of I(X;Y|Z) named by --z / --z-cols / --z-key, or None. ``text``: see
    :func:`_load_data`."""
    from ..dataio import DataError, load_array, parse_columns

    tz = {"text": text, "declared": getattr(args, "z_discrete", None)}

    z_file, z_cols, z_key = getattr(args, "z", None), getattr(args, "z_cols", None), getattr(args, "z_key", None)
    if z_file is None and z_cols is None and z_key is None:
        if getattr(args, "z_discrete", "auto") != "auto":
            raise ValueError("--z-discrete: no Z given; add --z FILE, --z-cols or --z-key")
        return None
    if z_file is not None:
        return load_array(z_file, columns=parse_columns(z_cols), key=z_key or "z", name="z", **tz)
    if args.data is None:
        raise DataError("--z-cols/--z-key pick Z from DATA; with --x/--y files give --z FILE")
    if Path(args.data).suffix.lower() == ".npz":
        if z_cols:
            raise DataError(f"{args.data}: --z-cols applies to tables; use --z-key for .npz")
        return load_array(args.data, key=z_key, name="z")
    if z_key:
        raise DataError(f"{args.data}: --z-key applies to .npz files; use --z-cols for tables")
    return load_array(args.data, columns=parse_columns(z_cols), name="z", **tz)


def _load_data(args):
    """(x, y, z) from the data options (z None without one). Text columns of a table, and an
    array of strings in a .npy/.npz, are categories: they are read as codes and added to the
    --x/--y/--z-discrete specs on ``args`` (a CSV column mixing numbers and text must be
    declared discrete; with 'none' a text column is an error)."""
    from ..dataio import load_xy, parse_columns

    specs = _discrete_specs(args)  # names checked against --*-cols before anything is read
    text = {"x": [], "y": [], "z": []}
    declared = {v: getattr(args, f"{v}_discrete", "auto") for v in ("x", "y", "z")}
    x, y = load_xy(args.data, x=args.x, y=args.y, x_cols=parse_columns(args.x_cols),
                   y_cols=parse_columns(args.y_cols), x_key=args.x_key, y_key=args.y_key,
                   text=text, declared=declared)
    z = _load_z(args, text=text["z"])
    from ..validation import is_text_labels, label_codes

    arrays = {"x": x, "y": y, "z": z}
    for v, arr in arrays.items():  # one array of strings in a .npy/.npz: labels
        if is_text_labels(arr):
            arrays[v] = label_codes(arr, v).reshape(-1, 1)
            text[v] = [0]
    x, y, z = arrays["x"], arrays["y"], arrays["z"]
    for v, arr in (("x", x), ("y", y), ("z", z)):
        if text[v]:
            names = parse_columns(getattr(args, f"{v}_cols", None))
            setattr(args, f"{v}_discrete", _with_text(specs[f"{v}_discrete"], sorted(text[v]), arr,
                                                      f"--{v}-discrete", names, f" of {v.upper()}"))
    return x, y, z


def _with_text(spec, cols: list, arr, flag: str, names: Optional[list], where: str = ""):
    """A discrete spec (resolved to positions) with the text columns ``cols`` added."""
    if spec is True:
        return True
    label = names[cols[0]] if names and cols[0] < len(names) else cols[0]
    if spec is False:
        raise ValueError(f"{flag}: 'none', but column {label!r}{where} holds text, which can be "
                         "read only as categories; drop the option or that column")
    if isinstance(spec, str):  # "auto": the integer columns it would pick, and the text ones
        from ..validation import resolve_discrete

        spec = resolve_discrete("auto", arr, "data", flag)
    return sorted(set(spec) | set(cols))


def _discrete_specs(args) -> dict:
    """x_discrete / y_discrete / z_discrete from the flags, names resolved to positions within
    each variable's --*-cols."""
    from ..dataio import parse_columns

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
