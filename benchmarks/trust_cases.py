"""The cases of issue 11 where the old default was wrong and sure of it, run with the current
default: estimate, 95% interval, p-value and the flags that fired, one JSON line per case.

Usage:
    python benchmarks/trust_cases.py --out docs/benchmarks/calibration/trust_cases.jsonl [--cases a,b]

Cases (seed 0, default `mmgap.estimate_mi`):
- high-mi-5d:     multinormal-sparse-5-5-2-650.0, N = 10,000, true MI 12.26 nats
- high-mi-spiral: spiral-multinormal-sparse-5-5-2-1100.0, N = 10,000, true MI 13.31 nats
- wide-null:      300 rows of 2000 independent standard-normal columns each (x and y 1000)
- digits-labels:  scikit-learn's digits (1,797 8x8 images) against their labels; I <= log 10
- null-5d:        10,000 independent 5+5 Gaussian samples, true MI 0
- weak-5d:        5+5 Gaussian, 5 pairs with correlation rho, true MI 0.0251 nats
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np


def case_data(name):
    from mmgap.tasks import get_task

    if name in ("high-mi-5d", "high-mi-spiral"):
        tid = {"high-mi-5d": "multinormal-sparse-5-5-2-650.0",
               "high-mi-spiral": "spiral-multinormal-sparse-5-5-2-1100.0"}[name]
        t = get_task(tid)
        x, y = t.sample(10_000, seed=0)
        return x, y, t.mutual_information, {}
    rng = np.random.default_rng(0)
    if name == "wide-null":
        return rng.normal(size=(300, 1000)), rng.normal(size=(300, 1000)), 0.0, {}
    if name == "digits-labels":
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.images.astype(float), d.target, None, {"y_discrete": True}
    if name == "null-5d":
        return rng.normal(size=(10_000, 5)), rng.normal(size=(10_000, 5)), 0.0, {}
    if name == "weak-5d":
        mi = 0.0251
        rho = math.sqrt(1 - math.exp(-2 * mi / 5))
        x = rng.normal(size=(10_000, 5))
        return x, rho * x + math.sqrt(1 - rho ** 2) * rng.normal(size=(10_000, 5)), mi, {}
    raise ValueError(f"--cases: unknown case {name!r}")


CASES = ("high-mi-5d", "high-mi-spiral", "wide-null", "digits-labels", "null-5d", "weak-5d")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default=",".join(CASES))
    a = ap.parse_args()
    import warnings

    import mmgap

    warnings.simplefilter("ignore", mmgap.MMGWarning)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "a") as fh:
        for name in a.cases.split(","):
            x, y, truth, kw = case_data(name)
            t0 = time.perf_counter()
            res = mmgap.estimate_mi(x, y, random_state=0, verbose=False, **kw)
            lo, hi = res.ci95
            rec = {"case": name, "truth": truth, "estimate": res.mi, "stderr": res.stderr,
                   "ci95": [lo, hi if math.isfinite(hi) else None], "p_value": res.p_value,
                   "variant_used": res.diagnostics.get("variant_used"),
                   "mi_direct": res.diagnostics.get("mi_direct"),
                   "mi_orthogonal": res.diagnostics.get("mi_orthogonal"),
                   "flags": [f["code"] for f in res.flags],
                   "covered": None if truth is None else bool(lo <= truth <= hi),
                   "seconds": time.perf_counter() - t0}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
