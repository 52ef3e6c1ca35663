"""Compare named MMG configurations on chosen benchmark tasks, one results folder each.

Each configuration is a method name plus constructor parameters, given as JSON on the command
line. Every configuration writes its own ``OUT/<name>/results.jsonl`` through the benchmark
runner (resumable, one record per run), and a side-by-side table of mean errors is printed.

Usage:
    python benchmarks/variant_sweep.py --out /tmp/sweep --tasks spiral-multinormal-sparse-3-3-2-2.0 \
        --seeds 0 --config default=mmg --config wide='mmg:{"width": 256}' --jobs 2
    python benchmarks/variant_sweep.py --out DIR --suite bmi40 --seeds 0 1 2 --config ... --jobs 16

A configuration is ``NAME=METHOD`` or ``NAME=METHOD:JSON``. ``--jobs N`` > 1 runs N worker
processes with an equal share of the CPU threads; ``--jobs 1`` runs in this process with
torch's default thread count (set ``OMP_NUM_THREADS`` to fix it). ``--table`` only prints the table
of what is already in OUT.
"""

import argparse
import collections
import json
import os
import time
from pathlib import Path

import numpy as np

from mmgap.benchmark.runner import RESULTS_FILE, RunSpec, _local, load_records
from mmgap.benchmark.store import SQLiteStore, export_jsonl
from mmgap.tasks import list_task_ids


def sweep(out, configs, tasks, seeds, n_samples, jobs):
    """Run every (config, task, seed) not yet recorded, seed-major so that a sweep cut short
    has whole seeds for every configuration; one pool for all configurations (the runner's,
    which stops its workers when the sweep is interrupted)."""
    todo = []
    for seed in seeds:
        for name, method, params in configs:
            folder = Path(out) / name
            folder.mkdir(parents=True, exist_ok=True)
            done = {(r["task"], int(r["seed"]), int(r["n_samples"])) for r in load_records(folder)}
            todo += [(name, RunSpec(t, method, seed, n_samples, tuple(sorted(params.items()))))
                     for t in tasks if (t, seed, n_samples) not in done]
    # a record names its method and parameters; map them back to the configuration
    key = lambda method, params: (method, json.dumps(dict(params), sort_keys=True))
    names = {key(spec.method, spec.params): name for name, spec in todo}
    stores = {name: SQLiteStore(Path(out) / name) for name, _, _ in configs}
    t0 = time.time()
    try:
        for i, rec in enumerate(_local([spec for _, spec in todo], jobs), 1):
            name = names[key(rec["method"], rec["params"])]
            stores[name].append(rec)
            if i % 10 == 0 or i == len(todo):
                print(f"{i}/{len(todo)} runs, {time.time() - t0:.0f} s", flush=True)
    finally:
        for name, st in stores.items():
            export_jsonl(st, Path(out) / name / RESULTS_FILE)
            st.close()


def parse_config(text):
    name, _, spec = text.partition("=")
    method, _, params = spec.partition(":")
    if not name or not method:
        raise SystemExit(f"--config: expected NAME=METHOD or NAME=METHOD:JSON, got {text!r}")
    return name, method, (json.loads(params) if params else {})


def table(out, names):
    by = {}
    for name in names:
        recs = load_records(Path(out) / name)
        d = collections.defaultdict(list)
        for r in recs:
            if r["success"]:
                d[r["task"]].append((r["estimate"] - r["truth"], r["truth"], r["seconds"]))
        by[name] = d
    tasks = sorted(set().union(*(d.keys() for d in by.values())))
    print("| task | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    summary = {n: [0, 0, 0.0, []] for n in names}
    for t in tasks:
        cells = []
        for n in names:
            v = by[n].get(t)
            if not v:
                cells.append("")
                continue
            err = float(np.mean([e for e, _, _ in v]))
            truth = v[0][1]
            ok = abs(err) <= max(0.1, 0.1 * abs(truth))
            s = summary[n]
            s[0] += ok
            s[1] += 1
            s[2] += abs(err)
            s[3] += [sec for _, _, sec in v]
            cells.append(f"{err:+.3f}{'' if ok else ' x'} ({len(v)})")
        print(f"| {t} | " + " | ".join(cells) + " |")
    for n in names:
        p, k, ae, secs = summary[n]
        if k:
            print(f"{n}: passed {p}/{k}, MAE {ae / k:.4f}, median s {np.median(secs):.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--suite", default=None)
    ap.add_argument("--tasks", default=None, help="comma-separated task ids")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--config", action="append", default=[], help="NAME=METHOD[:JSON]")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="only print the table")
    args = ap.parse_args()
    configs = [parse_config(c) for c in args.config]
    names = [c[0] for c in configs] or sorted(p.name for p in Path(args.out).iterdir() if p.is_dir())
    if not args.table:
        tasks = (args.tasks.split(",") if args.tasks else list_task_ids(args.suite or "bmi40"))
        t0 = time.time()
        sweep(args.out, configs, tasks, args.seeds, args.n_samples, args.jobs)
        print(f"{time.time() - t0:.0f} s wall, {args.jobs} workers, {os.cpu_count()} CPUs")
    table(args.out, names)


if __name__ == "__main__":
    main()
