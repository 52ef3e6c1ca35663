"""Per-method summary of docs/benchmarks/bmi40/results.jsonl: passes, mean absolute error and
median seconds per task, (a) on seed 0 alone, where every method has all 40 tasks, and (b) on
the mean over the seeds each (task, method) has. Pass: |estimate - truth| <= 0.1 nats or
<= 10% of the truth (the report's criterion).

With --forms, every MMG record also stands for the variant that differs from it only in the
integrand form: the two forms are computed on the same draws of the same trained network
(the variant's form does not affect training), so `mmg` records give `mmg-direct` too and
`mmg-orthogonal-adaptive` records give `mmg-adaptive`. Those rows are marked "(other form)".

Usage: python benchmarks/bmi40_summary.py [--forms] [results.jsonl ...]
"""

import json
import statistics
import sys
from collections import defaultdict

ORDER = ["mmg", "mmg-direct (other form)", "mmg-orthogonal-adaptive",
         "mmg-adaptive (other form)", "minde", "infonce", "nwj", "dv", "mine", "ksg", "cca"]
# method -> (the method that differs only in the integrand form, the record field holding it)
OTHER_FORM = {"mmg": ("mmg-direct", "mi_direct"), "mmg-orthogonal": ("mmg-direct", "mi_direct"),
              "mmg-direct": ("mmg-orthogonal", "mi_orthogonal"),
              "mmg-orthogonal-adaptive": ("mmg-adaptive", "mi_direct"),
              "mmg-adaptive": ("mmg-orthogonal-adaptive", "mi_orthogonal")}


def other_form(rec):
    """The record the other-form variant would have written for the same run, or None."""
    if rec["method"] not in OTHER_FORM or rec.get(OTHER_FORM[rec["method"]][1]) is None:
        return None
    name, field = OTHER_FORM[rec["method"]]
    return dict(rec, method=f"{name} (other form)", estimate=rec[field])


def main(*args):
    forms = "--forms" in args
    paths = [a for a in args if a != "--forms"] or ["docs/benchmarks/bmi40/results.jsonl"]
    recs = [json.loads(line) for path in paths for line in open(path) if line.strip()]
    if forms:
        recs += [o for o in map(other_form, recs) if o is not None]
    by = defaultdict(list)
    for r in recs:
        if r["success"]:
            by[(r["method"], r["task"])].append(r)
    ok = lambda e, t: abs(e - t) <= max(0.1, 0.1 * abs(t))
    print("| method | seed 0: passed | seed 0: MAE | seeds run | all seeds: passed | all seeds: MAE | median s per run |")
    print("|---|---|---|---|---|---|---|")
    methods = sorted({m for m, _ in by}, key=lambda m: ORDER.index(m) if m in ORDER else 99)
    for m in methods:
        cells = {t: v for (mm, t), v in by.items() if mm == m}
        s0 = [(r["estimate"], r["truth"]) for v in cells.values() for r in v if r["seed"] == 0]
        means = [(statistics.mean(r["estimate"] for r in v), v[0]["truth"]) for v in cells.values()]
        nseeds = sorted({len(v) for v in cells.values()})
        secs = [r["seconds"] for v in cells.values() for r in v]
        print(f"| {m} | {sum(ok(*p) for p in s0)}/{len(s0)} | "
              f"{statistics.mean(abs(e - t) for e, t in s0):.3f} | {'-'.join(map(str, nseeds))} | "
              f"{sum(ok(*p) for p in means)}/{len(means)} | "
              f"{statistics.mean(abs(e - t) for e, t in means):.3f} | {statistics.median(secs):.1f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
