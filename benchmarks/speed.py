"""Side-by-side speed of MMG configurations: the same tasks, seeds and data, run one at a time
in one process and interleaved (A, B, B, A, A, B, ...), so that a slow spell of a shared
machine hits both configurations alike. The figure that counts is the ratio measured here,
not the seconds of two different runs.

Each configuration is ``NAME=METHOD`` or ``NAME=METHOD:JSON`` (constructor parameters), as in
``variant_sweep.py``. Records go to ``OUT/<name>/`` (the benchmark store, resumable; one
``results.jsonl`` each), so ``bmi40_summary.py OUT/<name>/results.jsonl`` gives accuracy.

Usage:
    python benchmarks/speed.py --out docs/benchmarks/speed/bmi40_seed0 --suite bmi40 --seeds 0 \
        --config 'before=mmg:{"n_steps": 6000, "width": 128}' --config now=mmg
    python benchmarks/speed.py --out DIR --table --config ... (only print the table)

``--threads`` (default 2) sets torch's thread count for the whole run.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from mmgap.benchmark.runner import RESULTS_FILE, RunSpec, run_one
from mmgap.benchmark.store import SQLiteStore, export_jsonl, unique_records
from mmgap.tasks import list_task_ids


def parse_config(text):
    name, _, rest = text.partition("=")
    method, _, params = rest.partition(":")
    if not name or not method:
        raise SystemExit(f"--config: expected NAME=METHOD or NAME=METHOD:JSON, got {text!r}")
    return name, method, json.loads(params) if params else {}


def passes(rec):
    """The bmi40 report's criterion: within 0.1 nats or 10% of the truth."""
    err = abs(rec["estimate"] - rec["truth"])
    return err <= 0.1 or err <= 0.1 * abs(rec["truth"])


def run(out, configs, tasks, seeds, n_samples):
    stores = {name: SQLiteStore(Path(out) / name) for name, _, _ in configs}
    try:
        flip = False
        total = len(tasks) * len(seeds)
        for i, (seed, task) in enumerate(((s, t) for s in seeds for t in tasks), 1):
            order = list(reversed(configs)) if flip else list(configs)
            flip = not flip
            for name, method, params in order:
                spec = RunSpec(task, method, seed, n_samples, tuple(sorted(params.items())))
                if spec.key in stores[name].completed():
                    continue
                rec = run_one(spec)
                stores[name].append(rec)
                print(f"[{i}/{total}] {name:>12} {task} seed {seed}: "
                      f"{rec['estimate'] if rec['success'] else rec['error']} "
                      f"({rec['seconds']:.1f} s)", flush=True)
    finally:
        for name, st in stores.items():
            export_jsonl(st, Path(out) / name / RESULTS_FILE)
            st.close()


def table(out, configs):
    recs = {}
    for name, _, _ in configs:
        path = Path(out) / name / RESULTS_FILE
        rows = [json.loads(line) for line in open(path)] if path.exists() else []
        recs[name] = {(r["task"], r["seed"]): r for r in unique_records(rows) if r["success"]}
    common = set.intersection(*(set(v) for v in recs.values())) if recs else set()
    if not common:
        print("no run common to all configurations yet")
        return
    ref = configs[0][0]
    print(f"{len(common)} runs common to all configurations\n")
    print("| configuration | median s/run | ratio of medians vs " + ref + " | median per-run ratio "
          "| runs passing | MAE | median steps |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in configs:
        r = [recs[name][k] for k in sorted(common)]
        med = statistics.median(x["seconds"] for x in r)
        ref_med = statistics.median(recs[ref][k]["seconds"] for k in common)
        per = statistics.median(recs[ref][k]["seconds"] / recs[name][k]["seconds"] for k in common)
        mae = statistics.fmean(abs(x["estimate"] - x["truth"]) for x in r)
        steps = statistics.median(x.get("steps", 0) for x in r)
        print(f"| {name} | {med:.2f} | {ref_med / med:.2f}x | {per:.2f}x | "
              f"{sum(map(passes, r))}/{len(r)} | {mae:.4f} | {steps:.0f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", action="append", required=True,
                    help="NAME=METHOD or NAME=METHOD:JSON; the first is the reference")
    ap.add_argument("--suite", default="bmi40")
    ap.add_argument("--tasks", default=None, help="comma-separated task ids (default: the suite)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-samples", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only print the table")
    a = ap.parse_args(argv)
    configs = [parse_config(c) for c in a.config]
    if not a.table:
        import torch

        torch.set_num_threads(a.threads)
        tasks = a.tasks.split(",") if a.tasks else list_task_ids(a.suite)
        t0 = time.time()
        run(a.out, configs, tasks, a.seeds, a.n_samples)
        print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
    table(a.out, configs)


if __name__ == "__main__":
    main()
