"""One local parallel layer (DESIGN.md §7): worker processes that share the cores, used by
the bench runner (one run per task) and by cross-fitting (one fit per fold).

Workers are spawned (not forked: torch and its thread pools do not survive a fork), each
with ``cores // jobs`` torch threads and, unless the caller set them, as many OpenMP/BLAS
threads; they die with their parent (Linux), and an interrupted map stops them at once.
Imports nothing from mmgap.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterator, Sequence, Tuple

__all__ = ["THREAD_VARS", "die_with_parent", "process_map", "worker_threads"]

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, whatever killed the parent
    (``kill -9`` included); exit now if the parent is already gone. No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def worker_threads(jobs: int) -> int:
    """Torch threads of each of ``jobs`` workers: an equal share of the cores, at least 1."""
    return max(1, (os.cpu_count() or 1) // max(1, int(jobs)))


def _init_worker(threads: int) -> None:
    die_with_parent()
    import torch

    torch.set_num_threads(threads)


def process_map(fn: Callable[..., Any], args: Sequence[Tuple], jobs: int
                ) -> Iterator[Tuple[int, Any]]:
    """``(i, fn(*args[i]))`` for every i, in the order the work finishes, from ``jobs``
    spawned worker processes (``fn`` and the arguments must pickle). An exception in ``fn``
    is raised here; stopping the iteration early (an error, Ctrl-C, a closed generator)
    cancels the queued work and terminates the workers."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = worker_threads(jobs)
    # numpy's BLAS starts one (spinning) thread per core in every worker unless told
    # otherwise: with many workers that oversubscribes the cores many times over. The
    # workers, spawned on demand, read these at start; a value the caller set is left alone
    set_here = {k: str(threads) for k in THREAD_VARS if k not in os.environ}
    os.environ.update(set_here)
    pool = ProcessPoolExecutor(max_workers=max(1, int(jobs)), mp_context=mp.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))
    finished = False
    try:
        futures = {pool.submit(fn, *a): i for i, a in enumerate(args)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
        finished = True
    finally:
        # interrupted (Ctrl-C, SIGTERM via the CLI, an error): drop the queued work and stop
        # the workers now, instead of waiting for all of it or leaving orphans behind
        workers = [] if finished else list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=finished, cancel_futures=not finished)
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
        for k in set_here:
            os.environ.pop(k, None)
