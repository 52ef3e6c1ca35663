"""`mmgap matrix`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from .common import (EXIT_OK, _Formatter, _emit, _discrete_arg, _with_text)


def register(sub) -> None:
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
                    "as rows column,mi. Text columns of a table, or of a 2-D .npy/.npz array of "
                    "strings, are read as categories (always discrete; a column mixing numbers "
                    "and text only if --discrete names it).",
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
                         "list of names or 0-based positions among the columns used; text "
                         "columns are always discrete ('none' refuses them)")
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


def cmd_matrix(args) -> int:
    from ..dataio import load_table, parse_columns
    from ..matrix import mi_matrix, mutual_info_classif, mutual_info_regression

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"--out: expected a .csv file name, got {args.out!r}")
    if out.is_dir() or not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out: cannot write {args.out!r}")
    text: list = []
    arr, names = load_table(args.data, columns=parse_columns(args.cols), key=args.key, text=text,
                            declared=args.discrete)
    spec = args.discrete
    if isinstance(spec, list):
        bad = [c for c in spec if isinstance(c, str) and c not in names]
        if bad:
            raise ValueError(f"--discrete: no column {bad[0]!r}; columns are {', '.join(names[:20])}")
        spec = [names.index(c) if isinstance(c, str) else c for c in spec]
    if text:  # text columns are categories: always discrete
        from ..validation import check_finite, resolve_discrete

        check_finite(arr, "data")
        if isinstance(spec, list):
            spec = resolve_discrete(spec, arr, "data", "--discrete", names)
        spec = _with_text(spec, sorted(text), arr, "--discrete", names)
    kw = dict(n_steps=args.steps, k_draws=args.draws, test_size=args.test_size,
              device=args.device, verbose=not args.quiet)
    if args.target is None:
        res = mi_matrix(arr, discrete=spec, random_state=args.seed, units=args.units, **kw)
        res.names = list(names)
        tmp = out.with_name(out.name + ".part")
        res.to_csv(tmp)
        os.replace(tmp, out)
        if args.plot:
            from ..plotting import plot_mi_matrix

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
    from ..validation import label_column

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
