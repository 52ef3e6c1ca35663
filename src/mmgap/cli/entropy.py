"""`mmgap entropy`."""

from __future__ import annotations

import json
from pathlib import Path


from .common import (EXIT_OK, _Formatter, _emit, _add_run_args)


def register(sub) -> None:
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
                     help="Y holds integer class labels (text columns of a table are labels "
                          "without it)")
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


def cmd_entropy(args) -> int:
    from ..dataio import DataError, load_array, parse_columns
    from ..entropy import estimate_entropy

    p = Path(args.data)
    suffix = p.suffix.lower()
    if suffix in (".npy", ".npz"):
        if args.x_cols:
            raise DataError(f"{p}: --x-cols applies to tables; use --x-key for .npz")
        x = load_array(args.data, key=args.x_key if suffix == ".npz" else None, name="x")
    else:
        x = load_array(args.data, columns=parse_columns(args.x_cols), name="x")
    y = None
    y_text: list = []  # text columns of Y: class labels
    tk = dict(text=y_text, declared=True if args.given_discrete else None)
    if args.given is not None:
        y = load_array(args.given, columns=parse_columns(args.given_cols),
                       key=args.given_key or "y", name="y", **tk)
    elif args.given_cols is not None or args.given_key is not None:
        if suffix == ".npz":
            if args.given_cols:
                raise DataError(f"{p}: --given-cols applies to tables; use --given-key for .npz")
            y = load_array(args.data, key=args.given_key, name="y")
        else:
            if args.given_key:
                raise DataError(f"{p}: --given-key applies to .npz files")
            y = load_array(args.data, columns=parse_columns(args.given_cols), name="y", **tk)
            if args.x_cols is None:
                raise DataError(f"{p}: with --given-cols, say which columns are X (--x-cols)")
    elif args.given_discrete:
        raise ValueError("--given-discrete: no Y given; add --given FILE, --given-cols or --given-key")
    if args.method == "kl":
        from ..methods import run_entropy_method

        if y is not None:
            raise ValueError("--given: the kl baseline estimates h(X) only; use --method mmg")
        res = run_entropy_method("kl", x, units=args.units)
    else:
        params = dict(variant=args.variant, max_seconds=args.max_seconds, device=args.device,
                      units=args.units, preprocess=args.preprocess, verbose=not args.quiet,
                      y_discrete=True if args.given_discrete or (
                          y_text and len(y_text) == y.shape[1]) else sorted(y_text) or "auto")
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
