"""Summary of the mixed suite run (issue 14): per method, runs within |err| <= 0.1 nats or
10% of the truth, tasks passing on all 3 seeds, and MAE on the tasks with a block of
dimension >= 3. Usage: python benchmarks/mixed_summary.py docs/benchmarks/mixed_v2/results.jsonl"""
import collections
import json
import sys

from mmgap.tasks import get_task

runs = [json.loads(line) for line in open(sys.argv[1])]
by = collections.defaultdict(list)
for r in runs:
    by[(r["method"], r["task"])].append(r)
for method in sorted({r["method"] for r in runs}):
    ok = n = tasks_ok = tasks = 0
    big = []
    for (m, t), rs in by.items():
        if m != method:
            continue
        task = get_task(t)
        good = [r["success"] and abs(r["estimate"] - r["truth"]) <= max(0.1, 0.1 * abs(r["truth"])) for r in rs]
        ok, n = ok + sum(good), n + len(good)
        tasks, tasks_ok = tasks + 1, tasks_ok + all(good)
        if max(task.dim_x, task.dim_y) >= 3:
            big += [abs(r["estimate"] - r["truth"]) if r["success"] else float("nan") for r in rs]
    mae = sum(big) / len(big) if big else float("nan")
    print(f"{method:10s} runs within criterion {ok}/{n}, tasks passing all seeds {tasks_ok}/{tasks}, "
          f"MAE on tasks with a block >= 3 dims: {mae:.3f} ({len(big)} runs)")
