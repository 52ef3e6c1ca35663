"""Per-method summary of docs/benchmarks/bmi40/results.jsonl: passes, mean absolute error and
median seconds per task, (a) on seed 0 alone, where every method has all 40 tasks, and (b) on
the mean over the seeds each (task, method) has. Pass: |estimate - truth| <= 0.1 nats or
<= 10% of the truth (the report's criterion).

Usage: python benchmarks/bmi40_summary.py [results.jsonl]
"""

import json
import statistics
import sys
from collections import defaultdict

ORDER = ["mmg", "minde", "infonce", "nwj", "dv", "mine", "ksg", "cca"]


def main(path="docs/benchmarks/bmi40/results.jsonl"):
    recs = [json.loads(line) for line in open(path)]
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
