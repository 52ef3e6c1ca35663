"""Run a grid of (task, method, seed) and store one JSON record per run.

- Durable: records go to the directory's SQLite store (:mod:`mmgap.benchmark.store`), one
  transaction each, one record per (task, method, seed, n_samples, params); ``results.jsonl``
  is rewritten from the store when the sweep ends or is interrupted, as a readable copy.
- Resumable: keys already stored are skipped (failed ones too, unless ``retry_failed``).
- One failing run is recorded with success=False and its error; the sweep goes on.
- Executors: "local" (``jobs`` worker processes sharing the cores: each gets cores // jobs
  torch threads and, unless the caller set them, as many OpenMP/BLAS threads) and
  "ray" (the optional ``ray`` extra; a local Ray is started when no address is given).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from tqdm.auto import tqdm

from ..parallel import THREAD_VARS, die_with_parent, process_map  # noqa: F401 (re-exported)

__all__ = ["RunSpec", "run_one", "run_grid", "load_records", "RESULTS_FILE"]

RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class RunSpec:
    task: str
    method: str
    seed: int
    n_samples: int
    params: tuple = ()  # sorted (key, value) pairs of method parameters

    @property
    def key(self):
        from .store import run_key

        return run_key({"task": self.task, "method": self.method, "seed": self.seed,
                        "n_samples": self.n_samples, "params": dict(self.params)})


def run_one(spec: RunSpec) -> Dict[str, Any]:
    """Run one (task, method, seed); never raises: failures become success=False records."""
    from .. import __version__
    from ..methods import MMG_METHODS, method_trains, run_entropy_method, run_method
    from ..tasks import get_task

    params = dict(spec.params)
    rec: Dict[str, Any] = {
        "task": spec.task, "method": spec.method, "seed": int(spec.seed),
        "n_samples": int(spec.n_samples), "truth": None, "estimate": None, "stderr": None,
        "seconds": None, "success": False, "error": None, "params": dict(params),
        "mmgap_version": __version__,
    }
    t0 = time.perf_counter()
    try:
        task = get_task(spec.task)
        rec["truth"] = task.mutual_information
        rec["truth_stderr"] = task.mutual_information_stderr
        quantity = getattr(task, "quantity", "mi")
        rec["quantity"] = quantity
        sample = task.shaped(task.sample(spec.n_samples, seed=spec.seed))
        if spec.method in MMG_METHODS or method_trains(spec.method):
            params.setdefault("verbose", False)
        # the task declares which columns are discrete; MMG methods are told exactly that
        # (a tuple lists columns), the baselines only whether y (z) is one column of labels
        kinds = {k: getattr(task, k, False) for k in ("x_discrete", "y_discrete", "z_discrete")}
        if spec.method in MMG_METHODS:
            disc = {k: list(v) if isinstance(v, tuple) else bool(v) for k, v in kinds.items()}
        else:
            disc = {"y_discrete": kinds["y_discrete"] is True}
        if quantity == "entropy":
            res = run_entropy_method(spec.method, sample[0], random_state=spec.seed, **params)
        elif quantity == "cmi":
            x, y, z = sample
            if spec.method not in MMG_METHODS:
                disc["z_discrete"] = kinds["z_discrete"] is True
            res = run_method(spec.method, x, y, z=z, random_state=spec.seed, **disc, **params)
        else:
            x, y = sample
            disc.pop("z_discrete", None)
            res = run_method(spec.method, x, y, random_state=spec.seed, **disc, **params)
        d = res.diagnostics
        rec.update(estimate=res.mi, stderr=res.stderr, success=True,
                   n_train=res.n_train, n_test=res.n_test)
        lo, hi = res.ci95
        rec["ci95"] = [lo, hi if hi != float("inf") else None]
        if res.p_value is not None:
            rec["p_value"] = res.p_value
        for key in ("mi_direct", "mi_orthogonal", "stderr_mc", "variant_used",
                    "edge_mi_density", "mi_on_training_points", "knn_check", "gaussian_check",
                    "repair", "cross_fit", "control_variate", "direct_minus_orthogonal",
                    "learning_curve"):
            if key in d:
                rec[key] = d[key]
        if "flags" in d:
            rec["flags"] = [f["code"] for f in d["flags"]]
        if "training" in d:
            rec["steps"] = d["training"]["steps"]
            rec["best_step"] = d["training"]["best_step"]
            rec["train_seconds"] = d["training"].get("seconds")
        if "device" in d:
            rec["device"] = d["device"]
        if d.get("warnings"):
            rec["warnings"] = d["warnings"]
    except Exception as err:  # one failing run must not kill the sweep
        rec["error"] = f"{type(err).__name__}: {err}"
        rec["traceback"] = traceback.format_exc(limit=5)
    rec["seconds"] = time.perf_counter() - t0
    return rec


def load_records(out_dir: os.PathLike) -> List[Dict[str, Any]]:
    """Every record of a benchmark directory, one per run key (from its store; a directory
    with only a results.jsonl is imported into a new store, or read directly when the
    directory is not writable). Garbled lines are skipped."""
    import sqlite3

    from .store import JSONL_FILE, open_store, unique_records

    d = Path(out_dir)
    try:
        store = open_store(d, create=False)
    except (OSError, sqlite3.Error):
        store = None
        path = d / JSONL_FILE
        if path.exists():
            recs = []
            for line in path.read_text(errors="replace").splitlines():
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
            return unique_records(recs)
    if store is None:
        return []
    with store:
        return store.records()


def _local(specs: Sequence[RunSpec], jobs: int) -> Iterator[Dict[str, Any]]:
    if jobs <= 1:
        for spec in specs:
            yield run_one(spec)
        return
    for _, rec in process_map(run_one, [(s,) for s in specs], jobs):
        yield rec


def _ray(specs: Sequence[RunSpec], jobs: int, address: Optional[str]) -> Iterator[Dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ValueError("executor: 'ray' needs the ray extra (pip install 'mmgap[ray]')") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": max(jobs, 1)}
        ray.init(ignore_reinit_error=True, log_to_driver=False, include_dashboard=False, **kwargs)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(run_one)
        pending = [remote.remote(s) for s in specs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def run_grid(tasks: Iterable[str], methods: Iterable[str], seeds: Iterable[int],
             n_samples: int, out_dir: os.PathLike, *, jobs: int = 1, executor: str = "local",
             address: Optional[str] = None, method_params: Optional[Dict[str, Dict]] = None,
             progress: bool = True, retry_failed: bool = False) -> List[Dict[str, Any]]:
    """Run every (task, method, seed) whose key is not yet stored in ``out_dir`` (with
    ``retry_failed``, also those stored as failures); returns the records written.
    ``method_params`` maps a method name to constructor parameters."""
    from .store import SQLiteStore, export_jsonl
    from ..methods import check_method
    from ..tasks import get_task

    tasks, methods, seeds = list(tasks), list(methods), [int(s) for s in seeds]
    for t in tasks:
        get_task(t)
    for m in methods:
        check_method(m)
    if executor not in ("local", "ray"):
        raise ValueError(f"executor: expected 'local' or 'ray', got {executor!r}")
    if jobs < 1:
        raise ValueError(f"jobs: expected an integer >= 1, got {jobs}")
    if n_samples < 20:
        raise ValueError(f"n_samples: expected at least 20, got {n_samples}")
    method_params = method_params or {}
    out = Path(out_dir)
    store = SQLiteStore(out)
    done = store.completed(include_failed=not retry_failed)
    specs = [RunSpec(t, m, s, n_samples, tuple(sorted(method_params.get(m, {}).items())))
             for t in tasks for m in methods for s in seeds]
    todo = [s for s in specs if s.key not in done]
    new = []
    show = progress and sys.stderr.isatty()
    bar = tqdm(total=len(todo), desc="mmgap bench", unit="run", disable=not show)
    runs = _local(todo, jobs) if executor == "local" else _ray(todo, jobs, address)
    try:
        for rec in runs:
            if store.append(rec):  # False: another writer stored a success for this key
                new.append(rec)
            bar.update(1)
            bar.set_postfix_str(f"{rec['task'][:24]} {rec['method']}", refresh=False)
    finally:  # the readable copy, once per sweep (also when interrupted); the store is the truth
        bar.close()
        if new:
            export_jsonl(store, out / RESULTS_FILE)
        store.close()
    return new
