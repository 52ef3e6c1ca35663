"""Merge `mmgap bench` result folders into one results.jsonl: a record of a later folder
replaces the record of an earlier one with the same (task, method, seed, n_samples). Used to
combine a replayed suite with the full reruns of the runs whose estimate changed.

With ``--as-repairs FIRST_DIR``, the records of the later folders are fits with
``gaussian_prior=True`` (e.g. ``variant_sweep.py --config 'prior=mmg:{"gaussian_prior": true}'``)
of runs whose first default fit is recorded in FIRST_DIR. The first fit is deterministic
(same seed, same split: the refit of ``fit_estimate`` is exactly such a fit), so only the
refit needs running. Each prior fit becomes the default ``mmg`` record that ``fit_estimate``
would have produced: its estimate, with ``repair`` holding the first fit and the trigger that
``mmgap.inference.repair_trigger`` gives for it. A prior fit whose first fit does not
trigger is left out (the default would not have refitted it; the first fit stands) and counted.

Usage:
    python benchmarks/merge_runs.py OUT_DIR DIR [DIR ...]
    python benchmarks/merge_runs.py OUT_DIR DIR [DIR ...] --as-repairs FIRST_DIR
"""

import json
import sys
from pathlib import Path

from mmgap.benchmark.runner import load_records
from mmgap.inference import repair_trigger


def _first_fit(rec):
    """(mi, ci95, flag codes, gaussian_check, seconds) of the first default fit in ``rec``."""
    rep = rec.get("repair")
    if rep:
        f = rep["first_fit"]
        return f["mi"], f["ci95"], f["flags"], rec.get("gaussian_check"), f.get("seconds")
    return rec["estimate"], rec["ci95"], rec["flags"], rec.get("gaussian_check"), rec.get("seconds")


def as_repair(prior_rec, first_rec):
    mi, ci, flags, gauss, seconds = _first_fit(first_rec)
    trigger = repair_trigger(mi, [{"code": c} for c in flags], gauss)
    if trigger is None:
        return None
    out = dict(prior_rec, method=first_rec["method"], params=first_rec["params"])
    out["repair"] = {"flag": trigger, "action": "refitted with gaussian_prior=True",
                     "first_fit": {"mi": mi, "ci95": ci, "flags": flags, "seconds": seconds}}
    out["seconds"] = prior_rec["seconds"] + (seconds or 0.0)
    out["merged_as_repair"] = True
    return out


def main(out, *dirs, first=None):
    merged = {}
    firsts = {}
    unused = []
    if first is not None:
        firsts = {(r["task"], r["method"], r["seed"], r["n_samples"]): r
                  for r in load_records(first)}
    for d in dirs:
        for r in load_records(d):
            if first is not None and r.get("params", {}).get("gaussian_prior") is True:
                key = (r["task"], "mmg", r["seed"], r["n_samples"])
                if key not in firsts:
                    raise SystemExit(f"{key}: no first fit in {first}")
                r = as_repair(r, firsts[key])
                if r is None:
                    unused.append(f"{key[0]} seed {key[2]}")
                    continue
            merged[(r["task"], r["method"], r["seed"], r["n_samples"])] = r
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / "results.jsonl", "w") as fh:
        for r in merged.values():
            fh.write(json.dumps(r) + "\n")
    print(f"{len(merged)} records -> {out}/results.jsonl")
    if unused:
        print(f"{len(unused)} prior fits left out (their first fit does not trigger a repair): "
              + ", ".join(unused))


if __name__ == "__main__":
    args = sys.argv[1:]
    first = None
    if "--as-repairs" in args:
        i = args.index("--as-repairs")
        first = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    main(*args, first=first)
