"""Compare two `mmgap bench` folders on the runs they share (same task, seed and sample size,
so the same data): interval coverage and width, accuracy, time, paired run by run.

Usage:
    python benchmarks/paired_compare.py docs/benchmarks/calibration/bmi40_seeds3to5_r8 \
        docs/benchmarks/crossfit/bmi40_cf5 --names default cf5 [--method mmg] [--markdown]

Pass = within 0.1 nats or 10% of the truth (the bmi40 criterion of `mmgap report`), per run.
A folder is read with the runner's loader (results.sqlite or results.jsonl).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from mmgap.benchmark.runner import load_records


def passes(rec) -> bool:
    err = abs(rec["estimate"] - rec["truth"])
    return err <= 0.1 or err <= 0.1 * abs(rec["truth"])


def covered(rec) -> bool:
    lo, hi = rec["ci95"]
    return lo <= rec["truth"] <= (np.inf if hi is None else hi)


def width(rec) -> float:
    lo, hi = rec["ci95"]
    return np.inf if hi is None else hi - lo


def keyed(folder, method=None):
    out = {}
    for r in load_records(folder):
        if not r.get("success") or (method and r.get("method") != method):
            continue
        out[(r["task"], r["seed"], r["n_samples"])] = r
    return out


def summary(recs):
    ws = [width(r) for r in recs]
    rel = [width(r) / r["truth"] for r in recs if r["truth"] > 0]
    return {"runs": len(recs), "covered": sum(covered(r) for r in recs),
            "median width": statistics.median(ws),
            "median width / truth": statistics.median(rel) if rel else float("nan"),
            "pass": sum(passes(r) for r in recs),
            "MAE": float(np.mean([abs(r["estimate"] - r["truth"]) for r in recs])),
            "median s": statistics.median(r["seconds"] for r in recs)}


def task_level(recs):
    """Tasks whose mean estimate over the shared seeds passes, and the MAE of those means."""
    by = {}
    for r in recs:
        by.setdefault(r["task"], []).append(r)
    means = {t: (np.mean([r["estimate"] for r in rs]), rs[0]["truth"]) for t, rs in by.items()}
    ok = sum(abs(m - t) <= 0.1 or abs(m - t) <= 0.1 * abs(t) for m, t in means.values())
    return ok, len(means), float(np.mean([abs(m - t) for m, t in means.values()]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--names", nargs=2, default=["A", "B"])
    ap.add_argument("--method", default=None, help="only records of this method")
    a = ap.parse_args()
    ka, kb = keyed(a.a, a.method), keyed(a.b, a.method)
    shared = sorted(set(ka) & set(kb))
    if not shared:
        raise SystemExit("no shared (task, seed, n_samples) runs")
    ra, rb = [ka[k] for k in shared], [kb[k] for k in shared]
    sa, sb = summary(ra), summary(rb)
    print(f"{len(shared)} shared runs, {len({k[0] for k in shared})} tasks, seeds "
          f"{sorted({k[1] for k in shared})}\n")
    print(f"| measure | {a.names[0]} | {a.names[1]} |")
    print("|---|---|---|")
    for key in sa:
        va, vb = sa[key], sb[key]
        fmt = (lambda v: f"{v}") if isinstance(va, int) else (lambda v: f"{v:.4g}")
        print(f"| {key} | {fmt(va)} | {fmt(vb)} |")
    for name, recs in ((a.names[0], ra), (a.names[1], rb)):
        ok, n, mae = task_level(recs)
        print(f"| task level ({name}) | {ok}/{n} pass, MAE {mae:.4f} | |")
    ratio = [width(y) / width(x) for x, y in zip(ra, rb) if np.isfinite(width(x)) and width(x) > 0]
    print(f"\nmedian per-run width ratio {a.names[1]}/{a.names[0]}: {statistics.median(ratio):.3f}; "
          f"median per-run time ratio: "
          f"{statistics.median(y['seconds'] / x['seconds'] for x, y in zip(ra, rb)):.2f}")
    print(f"\nruns that miss the truth (interval) or the criterion in either:")
    print(f"| task | seed | truth | {a.names[0]} | {a.names[1]} |")
    print("|---|---|---|---|---|")
    for x, y in zip(ra, rb):
        if not (covered(x) and covered(y) and passes(x) and passes(y)):
            def cell(r):
                lo, hi = r["ci95"]
                mark = ("" if covered(r) else " †") + ("" if passes(r) else " **x**")
                return f"{r['estimate']:.3f} [{lo:.3f}, {'inf' if hi is None else f'{hi:.3f}'}]{mark}"
            print(f"| {x['task']} | {x['seed']} | {x['truth']:.3f} | {cell(x)} | {cell(y)} |")


if __name__ == "__main__":
    main()
