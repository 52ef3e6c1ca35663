"""`mmgap estimate`, `test`, `pointwise` and `demo`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from .. import distributed
from .common import (EXIT_OK, _Formatter, _emit, _add_folds_arg, _add_repair_arg,
                     _add_training_args,
                     _add_data_args, _params, _plot, _emit_truth, _check_outputs, _load_data,
                     _discrete_specs)

DEMO_TASK = "multinormal-dense-5-5-0.5"


def register(sub) -> None:
    est = sub.add_parser(
        "estimate", formatter_class=_Formatter,
        help="estimate I(X;Y) from data files",
        description="Estimate I(X;Y) from samples in files. Rows are samples. Either one file "
                    "DATA (.npz with arrays x and y, or a .csv/.parquet table with --x-cols and "
                    "--y-cols) or two files --x and --y (.npy, .npz, .csv, .parquet). A held-out "
                    "part (--test-size) is used for the estimate; with --folds K, every row in "
                    "turn.",
    )
    _add_data_args(est)
    est.add_argument("--save", metavar="DIR", default=None,
                     help="save the fitted estimator (config.json + weights.pt) to DIR (MMG only)")
    est.add_argument("--overwrite", action="store_true",
                     help="let --save replace an existing, non-empty DIR")
    _add_training_args(est)
    _add_repair_arg(est)
    _add_folds_arg(est)

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
    _add_folds_arg(tst)

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


def register_demo(sub) -> None:
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
    _add_folds_arg(demo)
    demo.set_defaults(plot="mmgap-demo.png")


def _run_estimate(args, x, y, *, extra: Optional[dict] = None, z=None) -> int:
    from ..estimator import fit_estimate
    from ..methods import MMG_METHODS, check_method, run_method

    method = check_method(getattr(args, "method", "mmg"))
    _check_outputs(args)
    specs = _discrete_specs(args)
    z_kw = {} if z is None else {"z": z, "z_discrete": specs["z_discrete"]}
    folds = getattr(args, "folds", None)
    if folds is None and getattr(args, "jobs", 1) != 1:
        raise ValueError("--jobs: parallel fits are for a cross-fit; give --folds too")
    if folds is not None:
        if method not in MMG_METHODS:
            raise ValueError(f"--folds: cross-fitting is for the MMG methods, not {method!r}")
        if args.test_size != 0.2:
            raise ValueError("--test-size: a cross-fit (--folds) holds out each fold in turn; "
                             "give --folds or --test-size, not both")
        for flag, value in (("--plot", args.plot if extra is None else None),
                            ("--save", getattr(args, "save", None))):
            if value:
                raise ValueError(f"{flag}: a cross-fit trains {folds} networks; {flag} needs "
                                 "the single split (leave out --folds)")
    if method not in MMG_METHODS:
        if args.plot and extra is None:
            raise ValueError(f"--plot: the MMSE-gap plot needs an MMG method, not {method!r}")
        if getattr(args, "save", None):
            raise ValueError(f"--save: only MMG methods are saved, not {method!r}")
        from ..baselines import BASELINES

        accepted = set(BASELINES[method]._param_names())
        params = {k: v for k, v in _params(args).items() if k in accepted and k != "variant"}
        if getattr(args, "command", None) == "test" and "n_permutations" not in accepted:
            raise ValueError(f"--method: {method!r} has no independence test; use an MMG "
                             "method or minde")
        from ..validation import label_column

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
    if folds is not None:
        from ..crossfit import cross_fit_estimate

        if args.plot:  # the demo's default plot: not for a cross-fit
            args.plot = None
        est = held = None
        res = cross_fit_estimate(x, y, z_kw.pop("z", None), n_folds=folds,
                                 random_state=args.seed, n_jobs=args.jobs,
                                 repair=not getattr(args, "no_repair", False),
                                 x_discrete=specs["x_discrete"],
                                 y_discrete=specs["y_discrete"], **params, **z_kw)
    else:
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
        cf = d.get("cross_fit")
        if cf:
            _emit_cross_fit(d, other)
        else:
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
        cv = d.get("control_variate")
        if cv and cv.get("applied") and cv.get(d["integrand"]):
            c = cv[d["integrand"]]
            _emit(f"control:  held-out error {c['stderr_without']:.4f} -> {d['stderr_mc']:.4f} "
                  f"with a Gaussian-copula control on all {cv['n_all']} rows (correlation "
                  f"{c['correlation']:.2f}; without it {c['mi_without']:.3f}; design note 30)")
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


def _emit_cross_fit(d: dict, other: str) -> None:
    """The lines of a cross-fitted estimate: the other form, every fold, the error split."""
    cf = d["cross_fit"]
    k = cf["n_folds"]
    _emit(f"          ({other} integrand: {d['mi_' + other]:.3f}; cross-fitted over {k} folds: "
          f"held-out error {cf['stderr_held_out']:.3f}, spread between folds "
          f"{cf['stderr_between_folds']:.3f})")
    for f in cf["folds"]:
        hi = "inf" if f["ci95"][1] is None else f"{f['ci95'][1]:.3f}"
        p = "" if f["p_value"] is None else f", p = {f['p_value']:.3g}"
        extra = "".join(f"; {c}" for c in f["flags"])
        if f.get("repair"):
            extra += f"; repaired ({f['repair']['flag']}: {f['repair']['action']})"
        _emit(f"fold {f['fold']}:   {f['mi']:.3f} (95% CI {f['ci95'][0]:.3f}\u2013{hi}{p}), "
              f"{f['n_train']}/{f['n_test']} samples, {f['seconds']:.1f} s{extra}")


def _decision(res, alpha: float) -> str:
    t = res.diagnostics.get("permutation_test") or {}
    verdict = ("dependent (independence rejected)" if res.p_value <= alpha
               else "no evidence of dependence (independence not rejected)")
    lin = res.diagnostics.get("linear_test")
    n = t.get("n_permutations", "?")
    how = (f"denoiser {t['p_value']:.4g}, canonical correlations {lin['p_value']:.4g}, "
           f"Bonferroni over {n} and {lin['n_permutations']} permutations"
           if lin and t.get("p_value") is not None else f"{n} permutations")
    cf = res.diagnostics.get("cross_fit")
    if cf:
        how = (f"twice the mean of the {cf['n_folds']} folds' p-values, each from its own "
               "permutation test")
    return f"p = {res.p_value:.4g} ({how}): {verdict} at alpha = {alpha}"


def cmd_estimate(args) -> int:
    from ..validation import check_xy

    x, y, z = _load_data(args)

    if np.ndim(x) <= 2 and np.ndim(y) <= 2:
        check_xy(x, y, y_discrete=args.y_discrete is True and np.ndim(y) == 1, min_samples=20,
                 check_constant=True, dtype=None)  # .npy input is memory-mapped: no copy
    # image-shaped arrays ((n, H, W) or (n, C, H, W) in .npy/.npz) are checked by the estimator
    return _run_estimate(args, x, y, z=z)


def cmd_demo(args) -> int:
    from ..tasks import get_task
    from ..types import nats_to

    task = get_task(DEMO_TASK)
    if args.n_samples < 20:
        raise ValueError(f"--n-samples: expected at least 20, got {args.n_samples}")
    x, y = task.sample(args.n_samples, seed=args.seed)
    truth = nats_to(task.mutual_information, args.units)
    return _run_estimate(args, x, y,
                         extra={"task": task.id, "truth": truth})


def cmd_pointwise(args) -> int:
    from ..methods import MMG_METHODS
    from ..pointwise import pointwise_mi

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
    x, y, z = _load_data(args)
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
            from ..plotting import plot_pointwise

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
