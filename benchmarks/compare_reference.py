"""Side-by-side table: the Beyond-Normal package's own estimators (benchmark-mi 0.1.3, run by
docs/benchmarks/reference/bmi_reference.py) against mmgap's on the same 1-D tasks, N = 10,000,
seed 0. Both samplers draw from the same distributions but not the same numbers.

Usage: python benchmarks/compare_reference.py > docs/benchmarks/reference/comparison.md
"""

import json
import statistics
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
NAMES = {"KSG(k=5)": "ksg", "InfoNCE": "infonce", "NWJ": "nwj", "MINE": "mine",
         "DV": "dv"}


def main():
    ref = [json.loads(l) for l in open(ROOT / "reference" / "bmi_reference.jsonl")]
    ours = [json.loads(l) for l in open(ROOT / "bmi40" / "results.jsonl")]
    tasks = sorted({r["task"] for r in ref})
    mine = {(r["task"], r["method"]): r for r in ours if r["seed"] == 0 and r["success"]}
    rows, agg = [], defaultdict(lambda: defaultdict(list))
    for r in ref:
        m = NAMES.get(r["estimator"], r["estimator"])
        o = mine.get((r["task"], m))
        if o is None:
            continue
        e_ref, e_our = abs(r["estimate"] - r["truth"]), abs(o["estimate"] - o["truth"])
        rows.append((r["task"], m, r["truth"], r["estimate"], o["estimate"], e_ref, e_our,
                     r["seconds"], o["seconds"]))
        for key, v in (("err_ref", e_ref), ("err_our", e_our), ("s_ref", r["seconds"]),
                       ("s_our", o["seconds"])):
            agg[m][key].append(v)
    for t in tasks:  # mmg on the same tasks, for scale
        o = mine.get((t, "mmg"))
        if o:
            agg["mmg"]["err_our"].append(abs(o["estimate"] - o["truth"]))
            agg["mmg"]["s_our"].append(o["seconds"])
    print("| estimator | tasks | MAE benchmark-mi | MAE mmgap | median s benchmark-mi | median s mmgap |")
    print("|---|---|---|---|---|---|")
    for m, a in agg.items():
        ref_mae = f"{statistics.mean(a['err_ref']):.3f}" if a["err_ref"] else "—"
        ref_s = f"{statistics.median(a['s_ref']):.1f}" if a["s_ref"] else "—"
        print(f"| {m} | {len(a['err_our'])} | {ref_mae} | {statistics.mean(a['err_our']):.3f} | "
              f"{ref_s} | {statistics.median(a['s_our']):.1f} |")
    print()
    print("| task | estimator | truth | benchmark-mi | mmgap | s (bmi) | s (mmgap) |")
    print("|---|---|---|---|---|---|---|")
    for t, m, tr, er, eo, _, _, sr, so in sorted(rows):
        print(f"| {t} | {m} | {tr:.3f} | {er:.3f} | {eo:.3f} | {sr:.1f} | {so:.1f} |")


if __name__ == "__main__":
    main()
