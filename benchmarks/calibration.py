"""Calibration of mmgap's answers: interval coverage, the independence test's false-positive
rate and power, and how well the reliability flags pick out the runs that miss.

Usage:
    # coverage, width, accuracy and flags from `mmgap bench` folders; seeds split into the
    # selection seeds (where constants were chosen) and the reported seeds
    python benchmarks/calibration.py coverage docs/benchmarks/calibration/bmi40 --select-seeds 0
    # today's interval rules on recorded runs (no retraining: the forms are recomputed
    # digit for digit by the same seed; the cross-checks are fitted on the same split)
    python benchmarks/calibration.py replay docs/benchmarks/calibration/bmi40 \
        --out docs/benchmarks/calibration/bmi40_replay
    python benchmarks/calibration.py replay-tests docs/benchmarks/calibration/null.jsonl \
        --out docs/benchmarks/calibration/null_replay.jsonl
    # the repair's hull rule (design note 27) on runs recorded before it (no retraining: the
    # first fit's interval is in each repaired record)
    python benchmarks/calibration.py hull docs/benchmarks/fine_r5 --out /tmp/fine_r5_hull
    # the stopped_overfitting flag (design note 28) on runs recorded before it
    python benchmarks/calibration.py stopflag docs/benchmarks/calibration/bmi40_round5 --out /tmp/bmi40_stop
    # the null suite: 100 independent data sets (dims 1-50; Gaussian, Student-t, uniform and
    # image-shaped x; n 1,000-10,000), `mmg` p-values
    python benchmarks/calibration.py null --out docs/benchmarks/calibration/null.jsonl --jobs 2
    # the power suite: weak and non-monotone dependence, mmg against hyppo's HSIC and
    # distance-correlation tests and a KSG permutation test on the same data
    python benchmarks/calibration.py power --out docs/benchmarks/calibration/power.jsonl --jobs 2
    python benchmarks/calibration.py summary docs/benchmarks/calibration/null.jsonl \
        docs/benchmarks/calibration/power.jsonl

hyppo is a benchmark-only dependency (`pip install hyppo`); without it the power suite runs
mmg and KSG only. Both suites are resumable: records already in --out are skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

PASS_ABS, PASS_REL = 0.1, 0.1  # the bmi40 criterion of `mmgap report`

# ----------------------------------------------------------------------------- data sets

NULL_KINDS = ("gaussian", "student", "uniform", "image")
NULL_DIMS = (1, 2, 5, 10, 25, 50)
NULL_NS = (1000, 2000, 5000, 10000)


def null_spec(i: int) -> dict:
    """Data set i of the null suite: every (kind, dim) pair at every n, seeds 0, 1, ..."""
    return {"suite": "null", "id": i, "kind": NULL_KINDS[i % 4],
            "dim": NULL_DIMS[(i // 4) % len(NULL_DIMS)], "n": NULL_NS[(i // 24) % len(NULL_NS)]}


def null_data(spec: dict):
    rng = np.random.default_rng(1000 + spec["id"])
    n, d, kind = spec["n"], spec["dim"], spec["kind"]
    if kind == "gaussian":
        x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    elif kind == "student":
        x, y = rng.standard_t(3, size=(n, d)), rng.standard_t(3, size=(n, d))
    elif kind == "uniform":
        x, y = rng.uniform(size=(n, d)), rng.uniform(size=(n, d))
    else:  # 8x8 images of one Gaussian blob at a random place, y independent of them
        g = np.arange(8.0)
        cx, cy = rng.uniform(1, 6, size=(2, n))
        x = np.exp(-((g[None, :, None] - cx[:, None, None]) ** 2 +
                     (g[None, None, :] - cy[:, None, None]) ** 2) / 4.0)
        x = x + 0.1 * rng.normal(size=x.shape)
        y = rng.normal(size=(n, d))
    return x, y


# power suite: name -> (kind, dim, strength); strength is the true MI for the Gaussian kinds
POWER_CONFIGS = {
    "gauss-1d-0.01": ("gauss", 1, 0.01), "gauss-1d-0.03": ("gauss", 1, 0.03),
    "gauss-1d-0.1": ("gauss", 1, 0.1), "gauss-5d-0.01": ("gauss", 5, 0.01),
    "gauss-5d-0.03": ("gauss", 5, 0.03), "gauss-5d-0.1": ("gauss", 5, 0.1),
    "gauss-25d-0.03": ("gauss", 25, 0.03), "gauss-25d-0.1": ("gauss", 25, 0.1),
    "sparse-50d-0.05": ("sparse", 50, 0.05),
    "square-1d": ("square", 1, 0.0), "sine-1d": ("sine", 1, 0.0), "circle-2d": ("circle", 2, 0.0),
}
POWER_N = 2000
POWER_REPS = 4


def power_spec(name: str, rep: int) -> dict:
    kind, dim, mi = POWER_CONFIGS[name]
    return {"suite": "power", "id": f"{name}#{rep}", "config": name, "rep": rep,
            "kind": kind, "dim": dim, "mi": mi, "n": POWER_N}


def power_data(spec: dict):
    rng = np.random.default_rng(_stable_seed(spec["id"]))
    n, d, kind = spec["n"], spec["dim"], spec["kind"]
    if kind == "gauss":  # d independent pairs with correlation rho, total MI = mi
        rho = math.sqrt(1 - math.exp(-2 * spec["mi"] / d))
        x = rng.normal(size=(n, d))
        y = rho * x + math.sqrt(1 - rho ** 2) * rng.normal(size=(n, d))
    elif kind == "sparse":  # 50+50 dims, dependence in one coordinate pair only
        rho = math.sqrt(1 - math.exp(-2 * spec["mi"]))
        x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        y[:, 0] = rho * x[:, 0] + math.sqrt(1 - rho ** 2) * y[:, 0]
    elif kind == "square":  # non-monotone: zero correlation
        x = rng.normal(size=(n, 1))
        y = x ** 2 + 3.0 * rng.normal(size=(n, 1))
    elif kind == "sine":
        x = rng.uniform(-3, 3, size=(n, 1))
        y = np.sin(3 * x) + 1.5 * rng.normal(size=(n, 1))
    else:  # circle
        t = rng.uniform(0, 2 * np.pi, size=n)
        x = np.c_[np.cos(t), rng.normal(size=n)] + 0.6 * rng.normal(size=(n, 2))
        y = np.c_[np.sin(t), rng.normal(size=n)] + 0.6 * rng.normal(size=(n, 2))
    return x, y


def _stable_seed(text: str) -> int:
    return int.from_bytes(text.encode(), "little") % (2**32)


# ----------------------------------------------------------------------------- tests

def mmg_test(x, y, seed, n_steps):
    import mmgap

    t0 = time.perf_counter()
    res = mmgap.estimate_mi(x, y, random_state=seed, n_steps=n_steps, verbose=False)
    return {"p_value": res.p_value, "mi": res.mi, "stderr": res.stderr,
            "flags": [f["code"] for f in res.flags], "seconds": time.perf_counter() - t0}


def ksg_perm_test(x, y, seed, n_permutations=49):
    from mmgap.baselines.ksg import _standardise_columns, ksg_mi

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    xs, ys = _standardise_columns(np.asarray(x, float)), _standardise_columns(np.asarray(y, float))
    obs = ksg_mi(xs, ys, 5)[0]
    null = np.array([ksg_mi(xs, ys[rng.permutation(len(ys))], 5)[0] for _ in range(n_permutations)])
    return {"p_value": float((1 + np.sum(null >= obs)) / (1 + n_permutations)), "mi": obs,
            "seconds": time.perf_counter() - t0}


def hyppo_test(name, x, y, seed):
    from hyppo.independence import Dcorr, Hsic

    t0 = time.perf_counter()
    np.random.seed(seed)
    test = Hsic() if name == "hsic" else Dcorr()
    stat, p = test.test(np.asarray(x, float), np.asarray(y, float), reps=1000, workers=1, auto=True)
    return {"p_value": float(p), "statistic": float(stat), "seconds": time.perf_counter() - t0}


def run_spec(args):
    spec, n_steps, methods = args
    import torch

    torch.set_num_threads(1)
    x, y = (null_data if spec["suite"] == "null" else power_data)(spec)
    seed = spec["id"] if isinstance(spec["id"], int) else _stable_seed(spec["id"]) % 10000
    out = dict(spec, n_steps=n_steps, results={})
    for m in methods:
        try:
            if m == "mmg":
                out["results"][m] = mmg_test(x, y, seed, n_steps)
            elif m == "ksg-perm":
                out["results"][m] = ksg_perm_test(x.reshape(len(x), -1), y, seed)
            else:
                out["results"][m] = hyppo_test(m, x.reshape(len(x), -1), y, seed)
        except Exception as err:  # recorded, the suite goes on
            out["results"][m] = {"error": f"{type(err).__name__}: {err}"}
    return out


def run_suite(specs, out_path, n_steps, methods, jobs):
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out_path.exists():
        done = {json.loads(l)["id"] for l in out_path.read_text().splitlines() if l.strip()}
    todo = [(s, n_steps, methods) for s in specs if s["id"] not in done]
    print(f"{len(todo)} data sets to run ({len(done)} already in {out_path})", flush=True)
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    t0 = time.time()
    from mmgap.benchmark.runner import die_with_parent

    with open(out_path, "a") as fh, ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"),
                                                        initializer=die_with_parent) as pool:
        for i, rec in enumerate(pool.map(run_spec, todo), 1):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(f"{i}/{len(todo)} {rec['id']} {time.time() - t0:.0f} s", flush=True)


# ----------------------------------------------------------------------------- summaries

def clopper_pearson(k: int, n: int, level: float = 0.95):
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def summary(paths, alpha=0.05):
    lines = []
    for path in paths:
        recs = [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]
        if not recs:
            continue
        suite = recs[0]["suite"]
        methods = sorted({m for r in recs for m in r["results"]})
        if suite == "null":
            lines.append(f"### Null suite ({len(recs)} independent data sets, alpha = {alpha})\n")
            lines.append("| method | rejections | false-positive rate | 95% CI (Clopper-Pearson) |")
            lines.append("|---|---|---|---|")
            for m in methods:
                ps = [r["results"][m].get("p_value") for r in recs]
                ps = [p for p in ps if p is not None]
                k = sum(p <= alpha for p in ps)
                lo, hi = clopper_pearson(k, len(ps))
                lines.append(f"| {m} | {k}/{len(ps)} | {k / len(ps):.3f} | {lo:.3f}-{hi:.3f} |")
            by_kind = {}
            for r in recs:
                p = r["results"].get("mmg", {}).get("p_value")
                if p is not None:
                    by_kind.setdefault(r["kind"], []).append(p <= alpha)
            lines.append("\nmmg rejections by kind: " + ", ".join(
                f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())))
            cov = [r["results"]["mmg"] for r in recs if "mi" in r["results"].get("mmg", {})]
            lines.append(f"\nmmg estimate on null data: median {np.median([c['mi'] for c in cov]):.4f} "
                         f"nats; flags fired on {sum(bool(c['flags']) for c in cov)}/{len(cov)}\n")
        else:
            lines.append(f"### Power suite (n = {recs[0]['n']}, alpha = {alpha}; rejections / data sets)\n")
            lines.append("| config | " + " | ".join(methods) + " |")
            lines.append("|---|" + "---|" * len(methods))
            for cfg in POWER_CONFIGS:
                rows = [r for r in recs if r["config"] == cfg]
                if not rows:
                    continue
                cells = []
                for m in methods:
                    ps = [r["results"].get(m, {}).get("p_value") for r in rows]
                    ps = [p for p in ps if p is not None]
                    cells.append(f"{sum(p <= alpha for p in ps)}/{len(ps)}" if ps else "-")
                lines.append(f"| {cfg} | " + " | ".join(cells) + " |")
            secs = {m: np.median([r["results"][m]["seconds"] for r in recs
                                  if "seconds" in r["results"].get(m, {})]) for m in methods}
            lines.append("\nmedian seconds per data set: " +
                         ", ".join(f"{m} {s:.1f}" for m, s in secs.items()) + "\n")
    return "\n".join(lines)


def _disagree(r):
    """The forms_disagree flag from a record's two forms (records written before the flag
    existed do not list it; the 3-standard-error part of the rule is not recorded, so this
    can only fire more often than the library's flag)."""
    from mmgap.inference import DISAGREE_REL

    if "mi_direct" not in r or "mi_orthogonal" not in r:
        return False
    delta = r["mi_direct"] - r["mi_orthogonal"]
    return abs(delta) > max(DISAGREE_REL * abs(r["estimate"]), 0.05)


def _rule_ci(r):
    """The interval today's rule gives a record written before intervals were recorded: the
    calibrated stderr from its Monte Carlo stderr and its two forms, clipped at 0. (The
    p-value and edge rules need quantities such records lack; they can only widen it.)"""
    from mmgap.inference import calibrated_stderr
    from mmgap.types import Z95

    se = calibrated_stderr(r["estimate"], r["stderr"], r["mi_direct"] - r["mi_orthogonal"])
    return [max(0.0, r["estimate"] - Z95 * se), r["estimate"] + Z95 * se]


def replay_record(r):
    """A record of an MMG run with today's interval rules applied, without retraining.

    The estimate, its two forms and their Monte Carlo error do not depend on the interval
    rules, and the same seed reproduces them digit for digit; the cross-checks do not depend
    on training. So the task's sample is regenerated, the same method is fitted for one step
    on the same split (to obtain the Gaussian-copula check on the exact training rows and the
    k-NN check on the exact held-out rows), and the recorded numbers are put through the
    library's stderr, flag and floor functions."""
    from mmgap.inference import (DELTA_WEIGHT_CHECKED, GAUSS_CHECK_Z, KNN_CHECK_MARGIN,
                                 calibrated_stderr, combined_p_value, upper_end_floor)
    from mmgap.methods import run_method
    from mmgap.tasks import get_task
    from mmgap.types import MIResult, Z95

    task = get_task(r["task"])
    x, y = task.shaped(task.sample(int(r["n_samples"]), seed=int(r["seed"])))[:2]
    params = dict(r.get("params") or {}, n_steps=1, verbose=False)
    d = run_method(r["method"], x, y, random_state=int(r["seed"]), **params).diagnostics
    gauss, knn = d.get("gaussian_check"), d.get("knn_check")
    lin = d.get("linear_test")  # the training rows' test: the same rows and seed as the run
    p_value = combined_p_value(r.get("p_value"),
                               None if lin is None or r.get("p_value") is None else lin["p_value"])
    est = r["estimate"]
    se_mc = r.get("stderr_mc", r["stderr"])  # older records: stderr was the Monte Carlo part
    se = calibrated_stderr(est, se_mc, r["mi_direct"] - r["mi_orthogonal"],
                           delta_weight=1.0 if gauss is None else DELTA_WEIGHT_CHECKED)
    ci_high = est + Z95 * se
    flags = [f for f in (r.get("flags") or []) if f not in ("knn_above", "gaussian_above")]
    knn_fired = knn is not None and knn > ci_high + KNN_CHECK_MARGIN
    if knn_fired:
        flags.append("knn_above")
    if gauss is not None and gauss["mi"] - GAUSS_CHECK_Z * gauss["stderr"] > ci_high:
        flags.append("gaussian_above")
    floor = upper_end_floor(ci_high, knn_mi=knn, gauss=gauss)
    res = MIResult(mi=est, stderr=se, p_value=p_value, ci_high_floor=floor,
                   lower_bound_only=any(f in ("gap_open_upper", "infinite_mi") for f in flags))
    lo, hi = res.ci95
    out = dict(r, stderr=se, stderr_mc=se_mc, ci95=[lo, hi if math.isfinite(hi) else None],
               flags=flags, gaussian_check=gauss, knn_check=knn, linear_test=lin, replayed=True)
    if r.get("p_value") is not None:
        out.update(p_value=p_value, p_denoiser=r["p_value"])
    return out


def rule_interval(r, delta_weight, rel):
    """A record's 95% interval under the library's interval rule with the form weight
    ``delta_weight`` (where the Gaussian-copula check applies; 1 elsewhere) and the relative
    floor ``rel``, from what the record holds: the estimate, its Monte Carlo error, the form
    difference (``direct_minus_orthogonal``), the cross-checks, the p-value, the flags and a
    repair's first fit (whose interval is kept as recorded). No retraining."""
    from mmgap.inference import calibrated_stderr, upper_end_floor
    from mmgap.types import MIResult, Z95

    est, gauss = r["estimate"], r.get("gaussian_check")
    se = calibrated_stderr(est, r["stderr_mc"], r["direct_minus_orthogonal"], rel=rel,
                           delta_weight=1.0 if gauss is None else delta_weight)
    floor = upper_end_floor(est + Z95 * se, knn_mi=r.get("knn_check"), gauss=gauss)
    res = MIResult(mi=est, stderr=se, p_value=r.get("p_value"), ci_high_floor=floor,
                   lower_bound_only=any(f in ("gap_open_upper", "infinite_mi")
                                        for f in r.get("flags") or []))
    rep = r.get("repair") or {}
    if str(rep.get("interval", "")).startswith("hull"):
        lo, hi = rep["first_fit"]["ci95"]
        res.ci_low_ceiling = lo
        hi = math.inf if hi is None else hi
        res.ci_high_floor = hi if res.ci_high_floor is None else max(hi, res.ci_high_floor)
    return res.ci95


WEIGHTS = (0.25, 0.5, 0.75, 1.0)
FLOORS = (0.01, 0.0125, 0.015, 0.0175, 0.02)


def choose(select_dirs, width_dir, target=0.95, seeds=None):
    """The rule of design note 21 on records that carry ``direct_minus_orthogonal``: over
    WEIGHTS x FLOORS, the narrowest median interval on ``width_dir`` (bmi40) among the
    pairs whose pooled coverage of ``select_dirs`` is at least ``target``. ``seeds``, if
    given, keeps only the records of those seeds (in every folder). Prints the grid;
    returns the chosen (weight, floor) or None."""
    from mmgap.benchmark.runner import load_records

    def keep(r):
        return r.get("success") and (seeds is None or int(r["seed"]) in seeds)

    pooled = [r for d in select_dirs for r in load_records(d) if keep(r)]
    bmi = [r for r in load_records(width_dir) if keep(r)]
    if not pooled or not bmi:
        raise SystemExit("choose: no successful records of the selected seeds")
    best, rows = None, []
    for w in WEIGHTS:
        for f in FLOORS:
            cis = [rule_interval(r, w, f) for r in pooled]
            cover = np.mean([lo <= r["truth"] <= hi for r, (lo, hi) in zip(pooled, cis)])
            width = float(np.median([hi - lo for lo, hi in (rule_interval(r, w, f) for r in bmi)]))
            rows.append(f"| {w} | {f:.4f} | {cover:.3f} ({len(pooled)} runs) | {width:.4f} |")
            if cover >= target and (best is None or width < best[2]):
                best = (w, f, width)
    print("| weight | floor | pooled coverage | median bmi40 width |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"chosen: {best}")
    return None if best is None else best[:2]


def apply_rule(src, out_dir, delta_weight, rel):
    """Records of ``src`` with their ``ci95`` (and stderr) under the given rule."""
    from mmgap.inference import calibrated_stderr

    def fn(r):
        if "direct_minus_orthogonal" not in r or not r.get("success"):
            return r
        lo, hi = rule_interval(r, delta_weight, rel)
        gauss = r.get("gaussian_check")
        se = calibrated_stderr(r["estimate"], r["stderr_mc"], r["direct_minus_orthogonal"],
                               rel=rel, delta_weight=1.0 if gauss is None else delta_weight)
        return dict(r, stderr=se, ci95=[lo, hi if math.isfinite(hi) else None],
                    rule={"delta_weight": delta_weight, "floor": rel})
    return rewrite(src, out_dir, fn)


def replay(src, out_dir, methods=None):
    from mmgap.benchmark.runner import load_records

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    done = set()
    if path.exists():
        done = {(r["task"], r["method"], r["seed"]) for r in map(json.loads, path.open())}
    with path.open("a") as fh:
        for r in load_records(src):
            if not r.get("success") or (methods and r["method"] not in methods):
                continue
            if (r["task"], r["method"], r["seed"]) in done:
                continue
            fh.write(json.dumps(replay_record(r)) + "\n")
            fh.flush()


def hull_record(r):
    """A record written before the repair's hull rule (design note 27) with that rule applied:
    after a refit triggered by the k-NN check (``inference.REPAIR_HULL``) the interval is the
    hull of the first fit's interval (recorded in ``repair["first_fit"]``) and the refit's. The
    estimate is the refit's either way. Other records are returned unchanged."""
    from mmgap.inference import REPAIR_HULL

    rep = r.get("repair") or {}
    first = rep.get("first_fit") or {}
    if rep.get("flag") not in REPAIR_HULL or not first.get("ci95") or "interval" in rep:
        return r
    (lo1, hi1), (lo2, hi2) = first["ci95"], r["ci95"]
    hi = None if hi1 is None or hi2 is None else max(hi1, hi2)
    return dict(r, ci95=[min(lo1, lo2), hi],
                repair=dict(rep, interval="hull of both fits' intervals (applied afterwards)"))


def stop_flag_record(r, default_steps=6000):
    """A record written before the ``stopped_overfitting`` flag (design note 28) with that flag
    added where it would have fired: training ended before its step budget (early stopping;
    bench runs have no time budget) with the chosen checkpoint at least
    ``STOP_OVERFIT_EVALS`` validation scores (``validation_interval`` steps each) before the
    last step.
    Other records are returned unchanged."""
    from mmgap.estimator import validation_interval
    from mmgap.inference import STOP_OVERFIT_EVALS

    budget = (r.get("params") or {}).get("n_steps") or default_steps
    steps, best = r.get("steps"), r.get("best_step")
    flags = list(r.get("flags") or [])
    if steps is None or best is None or "stopped_overfitting" in flags or steps >= budget:
        return r
    if steps - best < STOP_OVERFIT_EVALS * validation_interval(budget):
        return r
    return dict(r, flags=flags + ["stopped_overfitting"])


def learn_flag_record(r):
    """A record written before the ``still_learning`` flag (design note 32) but with its
    ``learning_curve``, with the flag added where the rule of today's constants fires and the
    interval's upper end then open (None). Other records are returned unchanged."""
    from mmgap.inference import still_learning

    lc = r.get("learning_curve") or {}
    g, se, est = lc.get("growth"), lc.get("growth_stderr"), r.get("estimate")
    flags = list(r.get("flags") or [])
    if se is None or est is None or "still_learning" in flags:
        return r
    if not still_learning(est, g, se):
        return r
    return dict(r, flags=flags + ["still_learning"], ci95=[r["ci95"][0], None])


def rewrite(src, out_dir, fn):
    """Every record of the `mmgap bench` folder ``src`` through ``fn`` (a record in, the same
    record or a changed copy out), into ``out_dir``/results.jsonl; returns (records changed,
    records). ``fn``: :func:`hull_record`, :func:`stop_flag_record` or
    :func:`learn_flag_record`."""
    from mmgap.benchmark.runner import load_records

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    changed = total = 0
    with (out / "results.jsonl").open("w") as fh:
        for r in load_records(src):
            h = fn(r)
            changed += h is not r
            total += 1
            fh.write(json.dumps(h) + "\n")
    return changed, total


def replay_tests(src, out_path):
    """The null or power suite file ``src`` with today's MMG p-value: the recorded denoiser
    p-value (the same seed reproduces it) combined with the linear test of the same training
    rows, obtained from a one-step fit on the same split (the linear test does not depend on
    training). Other methods' results are copied unchanged."""
    import mmgap
    from mmgap.inference import combined_p_value

    out = Path(out_path)
    done = set()
    if out.exists():
        done = {r["id"] for r in map(json.loads, out.open())}
    with out.open("a") as fh:
        for line in open(src):
            r = json.loads(line)
            m = r["results"].get("mmg", {})
            if r["id"] in done or "p_value" not in m:
                continue
            x, y = (null_data if r["suite"] == "null" else power_data)(r)
            seed = r["id"] if isinstance(r["id"], int) else _stable_seed(r["id"]) % 10000
            d = mmgap.estimate_mi(x, y, random_state=seed, n_steps=1, verbose=False).diagnostics
            lin = d.get("linear_test")
            r["results"]["mmg"] = dict(m, p_denoiser=m["p_value"],
                                       p_linear=None if lin is None else lin["p_value"],
                                       p_value=combined_p_value(
                                           m["p_value"], None if lin is None else lin["p_value"]))
            fh.write(json.dumps(r) + "\n")
            fh.flush()


def coverage(dirs, select_seeds=(0,), abs_tol=PASS_ABS, rel_tol=PASS_REL, exclude=None):
    from mmgap.benchmark.runner import load_records

    lines = []
    for d in dirs:
        recs = [r for r in load_records(d) if r.get("success")
                and not (exclude and exclude in r["task"])]
        for part, keep in (("selection seeds", lambda s: s in select_seeds),
                           ("reported seeds", lambda s: s not in select_seeds),
                           ("all seeds", lambda s: True)):
            rs = [r for r in recs if keep(int(r["seed"]))]
            if not rs:
                continue
            t = np.array([r["truth"] for r in rs])
            e = np.array([r["estimate"] for r in rs])
            ci = [r["ci95"] if r.get("ci95") else _rule_ci(r) for r in rs]
            lo = np.array([c[0] for c in ci])
            hi = np.array([np.inf if c[1] is None else c[1] for c in ci])
            covered = (t >= lo) & (t <= hi)
            width = hi - lo
            miss = np.abs(e - t) > np.maximum(abs_tol, rel_tol * t)
            flagged = np.array([bool(r.get("flags")) or _disagree(r) for r in rs])
            seeds = sorted({int(r["seed"]) for r in rs})
            lines.append(
                f"- `{d}` {part} {seeds}: {len(rs)} runs; coverage {covered.mean():.3f} "
                f"({covered.sum()}/{len(rs)}); median width {np.median(width):.4f} nats "
                f"(median relative width {np.median(width / np.maximum(t, 1e-12)):.3f}); "
                f"MAE {np.mean(np.abs(e - t)):.4f}; misses {miss.sum()}; flags fire on "
                f"{(flagged & miss).sum()}/{miss.sum()} misses and {(flagged & ~miss).sum()}/"
                f"{(~miss).sum()} passes; median seconds {np.median([r['seconds'] for r in rs]):.1f}")
            if rs and "p_value" in rs[0]:
                ps = np.array([r["p_value"] for r in rs])
                lines.append(f"  - p <= 0.05 on {(ps <= 0.05).sum()}/{len(ps)} runs")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("coverage")
    c.add_argument("dirs", nargs="+")
    c.add_argument("--select-seeds", type=int, nargs="*", default=[0])
    c.add_argument("--exclude", default=None, help="skip tasks whose id contains this text")
    for name in ("null", "power"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)))
        p.add_argument("--steps", type=int, default=2000, help="MMG training steps")
        p.add_argument("--count", type=int, default=100 if name == "null" else POWER_REPS,
                       help="data sets (null) or repetitions per configuration (power)")
        p.add_argument("--methods", default="mmg" if name == "null" else "mmg,hsic,dcorr,ksg-perm")
    rp = sub.add_parser("replay", help="today's interval rules applied to recorded MMG runs")
    rp.add_argument("src", help="a `mmgap bench` folder")
    rp.add_argument("--out", required=True, help="folder for the replayed results.jsonl")
    rp.add_argument("--methods", default=None, help="comma-separated; default: every method")
    hp = sub.add_parser("hull", help="the repair's hull rule (design note 27) applied to "
                        "recorded runs that predate it")
    hp.add_argument("src", help="a `mmgap bench` folder")
    hp.add_argument("--out", required=True, help="folder for the results.jsonl with the rule")
    sp = sub.add_parser("stopflag", help="the stopped_overfitting flag (design note 28) added "
                        "to recorded runs that predate it")
    sp.add_argument("src", help="a `mmgap bench` folder")
    sp.add_argument("--out", required=True, help="folder for the results.jsonl with the flag")
    lp = sub.add_parser("learnflag", help="the still_learning flag (design note 32) added to "
                        "recorded runs with a learning curve that predate it")
    lp.add_argument("src", help="a `mmgap bench` folder")
    lp.add_argument("--out", required=True, help="folder for the results.jsonl with the flag")
    ch = sub.add_parser("choose", help="re-choose the interval's form weight and floor on "
                        "selection runs (design note 21's rule; records with the form difference)")
    ch.add_argument("select_dirs", nargs="+", help="selection-seed bench folders, pooled")
    ch.add_argument("--width-dir", required=True, help="the bmi40 selection folder")
    ch.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="use only the records of these seeds (the selection seeds)")
    ap_ = sub.add_parser("apply-rule", help="records with their interval under a given rule")
    ap_.add_argument("src")
    ap_.add_argument("--out", required=True)
    ap_.add_argument("--weight", type=float, required=True)
    ap_.add_argument("--floor", type=float, required=True)
    tr = sub.add_parser("replay-tests", help="today's MMG p-value on a recorded null/power file")
    tr.add_argument("src")
    tr.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("files", nargs="+")
    s.add_argument("--alpha", type=float, default=0.05)
    a = ap.parse_args()
    if a.cmd == "coverage":
        print(coverage(a.dirs, tuple(a.select_seeds), exclude=a.exclude))
    elif a.cmd == "replay":
        replay(a.src, a.out, None if a.methods is None else a.methods.split(","))
    elif a.cmd == "choose":
        choose(a.select_dirs, a.width_dir, seeds=None if a.seeds is None else set(a.seeds))
    elif a.cmd == "apply-rule":
        changed, total = apply_rule(a.src, a.out, a.weight, a.floor)
        print(f"{changed} of {total} records rewritten to {a.out}/results.jsonl")
    elif a.cmd == "replay-tests":
        replay_tests(a.src, a.out)
    elif a.cmd == "hull":
        changed, total = rewrite(a.src, a.out, hull_record)
        print(f"{changed} of {total} records changed (repaired by the k-NN check before the "
              f"hull rule); written to {a.out}/results.jsonl")
    elif a.cmd == "stopflag":
        changed, total = rewrite(a.src, a.out, stop_flag_record)
        print(f"stopped_overfitting added to {changed} of {total} records; written to "
              f"{a.out}/results.jsonl")
    elif a.cmd == "learnflag":
        changed, total = rewrite(a.src, a.out, learn_flag_record)
        print(f"still_learning added to {changed} of {total} records (upper end opened); "
              f"written to {a.out}/results.jsonl")
    elif a.cmd == "summary":
        print(summary(a.files, a.alpha))
    else:
        methods = a.methods.split(",")
        if a.cmd == "null":
            specs = [null_spec(i) for i in range(a.count)]
        else:
            specs = [power_spec(name, r) for r in range(a.count) for name in POWER_CONFIGS]
        run_suite(specs, a.out, a.steps, methods, a.jobs)


if __name__ == "__main__":
    main()
