"""Merge `mmgap bench` result folders into one results.jsonl: a record of a later folder
replaces the record of an earlier one with the same (task, method, seed, n_samples). Used to
combine a replayed suite with the full reruns of the runs whose estimate changed.

Usage:
    python benchmarks/merge_runs.py OUT_DIR DIR [DIR ...]
"""

import json
import sys
from pathlib import Path

from mmgap.benchmark.runner import load_records


def main(out, *dirs):
    merged = {}
    for d in dirs:
        for r in load_records(d):
            merged[(r["task"], r["method"], r["seed"], r["n_samples"])] = r
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / "results.jsonl", "w") as fh:
        for r in merged.values():
            fh.write(json.dumps(r) + "\n")
    print(f"{len(merged)} records -> {out}/results.jsonl")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
