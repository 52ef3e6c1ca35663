"""`mmgap bench`, `export`, `import`, `report`, `tasks` and `methods`."""

from __future__ import annotations

import json
from pathlib import Path


from .common import (EXIT_OK, _Formatter, _emit)


def register(sub) -> None:
    bench = sub.add_parser(
        "bench", formatter_class=_Formatter, help="run estimators on ground-truth tasks",
        description="Run every (task, method, seed) and append one JSON record per run to "
                    "OUT/results.jsonl. Records already there are skipped, so an interrupted "
                    "run resumes; a failing run is recorded, not raised. Then `mmgap report OUT`.",
    )
    bench.add_argument("--suite", default=None,
                       help="bmi40, high-mi, extra, cmi (I(X;Y|Z) tasks), entropy (h(X) tasks), mixed, "
                            "fine, many-pairs, images-known or all")
    bench.add_argument("--tasks", default=None, metavar="ID,ID", help="task ids (see `mmgap tasks`)")
    bench.add_argument("--methods", default="mmg", metavar="M,M", help="method names (see `mmgap methods`)")
    bench.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds")
    bench.add_argument("--n-samples", type=int, default=10_000, help="samples per run")
    bench.add_argument("--folds", type=int, default=None, metavar="K",
                       help="MMG methods: cross-fit each run over K folds (K fits; records "
                            "keep every fold's result under cross_fit). Default: one split")
    bench.add_argument("--steps", type=int, default=None, help="training steps for MMG methods and the trained baselines (default: each method's own)")
    bench.add_argument("--out", default="bench-out", help="output directory")
    bench.add_argument("--jobs", type=int, default=1, help="worker processes (local executor)")
    bench.add_argument("--executor", choices=("local", "ray"), default="local")
    bench.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    bench.add_argument("--report", action="store_true", help="write the report when done")
    bench.add_argument("--retry-failed", action="store_true",
                       help="run again the keys stored as failed runs (a success replaces them)")

    exp = sub.add_parser("export", formatter_class=_Formatter,
                         help="write every record of a bench directory to a JSONL file",
                         description="Write every record of DIR's results store to FILE, one "
                                     "JSON object a line, each run key once.")
    exp.add_argument("dir", metavar="DIR")
    exp.add_argument("file", metavar="FILE")
    imp = sub.add_parser("import", formatter_class=_Formatter,
                         help="add the records of a JSONL file to a bench directory",
                         description="Add the records of FILE (one JSON object a line, as "
                                     "written by `mmgap export`) to DIR's results store. A key "
                                     "that already holds a successful record keeps it; lines "
                                     "that are not records are skipped and counted.")
    imp.add_argument("dir", metavar="DIR")
    imp.add_argument("file", metavar="FILE")

    rep = sub.add_parser("report", formatter_class=_Formatter, help="summarise a bench directory",
                         description="Write DIR/report.md (task x method table, per-method "
                                     "totals) and DIR/heatmap.png from DIR/results.jsonl.")
    rep.add_argument("dir", metavar="DIR")
    rep.add_argument("--abs-tol", type=float, default=0.1, help="pass if |error| <= this (nats) ...")
    rep.add_argument("--rel-tol", type=float, default=0.1, help="... or <= this fraction of the truth")

    tasks = sub.add_parser("tasks", formatter_class=_Formatter, help="list ground-truth tasks")
    tasks.add_argument("--suite", default="all", help="bmi40, high-mi, extra, cmi, entropy, mixed, fine, many-pairs, "
                       "images-known or all")
    tasks.add_argument("--json", action="store_true")


def register_methods(sub) -> None:
    methods = sub.add_parser("methods", formatter_class=_Formatter, help="list estimators")
    methods.add_argument("--json", action="store_true")


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_bench(args) -> int:
    import signal
    import threading

    from ..benchmark import run_grid, write_report
    from ..dataio import parse_columns
    from ..methods import method_trains
    from ..tasks import list_task_ids

    if (args.suite is None) == (args.tasks is None):
        raise ValueError("give exactly one of --suite and --tasks")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps: expected a positive integer, got {args.steps}")
    if any(s < 0 for s in args.seeds):
        raise ValueError(f"--seeds: expected integers >= 0, got {args.seeds}")
    if args.jobs < 1:
        raise ValueError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    if args.n_samples < 20:
        raise ValueError(f"--n-samples: expected at least 20, got {args.n_samples}")
    tasks = list_task_ids(args.suite) if args.suite else parse_columns(args.tasks)
    methods = parse_columns(args.methods)
    params = {m: {"n_steps": args.steps} for m in methods
              if args.steps is not None and method_trains(m)}
    if args.folds is not None:
        from ..crossfit import check_n_folds
        from ..methods import MMG_METHODS, check_method

        check_n_folds(args.folds)
        others = [m for m in methods if check_method(m) not in MMG_METHODS]
        if others:
            raise ValueError(f"--folds: cross-fitting is for the MMG methods, not "
                             f"{', '.join(others)}")
        for m in methods:
            params.setdefault(m, {})["n_folds"] = args.folds
    # `kill PID` stops the sweep like Ctrl-C: records so far are kept, workers are stopped
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt) if main_thread else None
    try:
        new = run_grid(tasks, methods, args.seeds, args.n_samples, args.out, jobs=args.jobs,
                       executor=args.executor, address=args.address, method_params=params,
                       retry_failed=args.retry_failed)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    failed = sum(not r["success"] for r in new)
    _emit(f"{len(new)} new runs ({failed} failed) stored in {args.out} "
          f"(results.sqlite; readable copy results.jsonl)")
    if args.report:
        _emit(f"report: {write_report(args.out)}")
    return EXIT_OK


def cmd_export(args) -> int:
    from ..benchmark.store import DB_FILE, JSONL_FILE, SQLiteStore, export_jsonl

    d = Path(args.dir)
    if not (d / DB_FILE).exists() and not (d / JSONL_FILE).exists():
        raise ValueError(f"DIR: {args.dir!r} holds no benchmark results")
    with SQLiteStore(d) as store:
        n = export_jsonl(store, args.file)
    _emit(f"{n} records written to {args.file}")
    return EXIT_OK


def cmd_import(args) -> int:
    from ..benchmark.store import SQLiteStore, export_jsonl, import_jsonl

    if not Path(args.file).is_file():
        raise ValueError(f"FILE: no such file {args.file!r}")
    with SQLiteStore(args.dir) as store:
        before = len(store.completed())
        skipped = import_jsonl(store, args.file)
        after = len(store.completed())
        export_jsonl(store, Path(args.dir) / "results.jsonl")
    _emit(f"{after - before} new keys imported into {args.dir} ({skipped} lines skipped)")
    return EXIT_OK


def cmd_report(args) -> int:
    from ..benchmark import write_report

    _emit(f"wrote {write_report(args.dir, abs_tol=args.abs_tol, rel_tol=args.rel_tol)}")
    return EXIT_OK


def cmd_tasks(args) -> int:
    from ..tasks import list_tasks

    tasks = list_tasks(args.suite)
    if args.json:
        _emit(json.dumps([{"id": t.id, "quantity": t.quantity, "dim_x": t.dim_x,
                           "dim_y": t.dim_y, "dim_z": t.dim_z,
                           "mutual_information": t.mutual_information, "truth": t.truth,
                           "mutual_information_stderr": t.mutual_information_stderr}
                          for t in tasks]))
    else:
        _emit(f"{'task id':52s} {'quantity':>8s} {'dim_x':>5s} {'dim_y':>5s} {'dim_z':>5s} "
              f"{'truth (nats)':>13s}")
        for t in tasks:
            _emit(f"{t.id:52s} {t.quantity:>8s} {t.dim_x:5d} {t.dim_y:5d} {t.dim_z:5d} "
                  f"{t.truth:13.6f}")
    return EXIT_OK


def cmd_methods(args) -> int:
    from ..methods import list_methods, method_info

    infos = [method_info(m) for m in list_methods()]
    if args.json:
        _emit(json.dumps(infos))
    else:
        for i in infos:
            _emit(f"{i['name']:26s} {i['description']}\n{'':26s} ref: {i['reference']}")
    return EXIT_OK
