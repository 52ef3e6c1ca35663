"""The durable results store of a benchmark directory: one record per run key, never lost,
never doubled.

A run's key is (task, method, seed, n_samples, params) with params as canonical JSON. The store
is an SQLite database ``DIR/results.sqlite`` (standard library; write-ahead log, so several
processes, or a Ray driver and a reader, can use one directory at once). Writing a record is one
transaction: a run killed at any point either left its record or did not. For one key, a
successful record is never replaced; a failed one is replaced by a later attempt (``--retry-
failed``).

``DIR/results.jsonl`` (the format before the store, and the readable export that is committed
with benchmark results, rewritten by the runner when a sweep ends) is imported on opening,
line by line: blank or garbled lines, and lines
that are not records, are skipped and counted. :func:`export_jsonl` writes every record once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Protocol, Set, Tuple

__all__ = ["ResultStore", "SQLiteStore", "run_key", "export_jsonl", "import_jsonl",
           "DB_FILE", "JSONL_FILE", "REQUIRED_FIELDS"]

DB_FILE = "results.sqlite"
JSONL_FILE = "results.jsonl"
REQUIRED_FIELDS = ("task", "method", "seed", "n_samples", "success")

Key = Tuple[str, str, int, int, str]


def run_key(rec: Dict[str, Any]) -> Key:
    """(task, method, seed, n_samples, params as canonical JSON) of a record or spec dict."""
    params = json.dumps(rec.get("params") or {}, sort_keys=True)
    return (str(rec["task"]), str(rec["method"]), int(rec["seed"]), int(rec["n_samples"]), params)


def _is_record(obj: Any) -> bool:
    if not isinstance(obj, dict) or any(k not in obj for k in REQUIRED_FIELDS):
        return False
    try:
        run_key(obj)
    except (TypeError, ValueError):
        return False
    return isinstance(obj.get("params", {}) or {}, dict)


class ResultStore(Protocol):
    """What the runner and the report need from a store."""

    def completed(self, *, include_failed: bool = True) -> Set[Key]:  # pragma: no cover
        ...

    def append(self, rec: Dict[str, Any]) -> bool:  # pragma: no cover
        ...

    def records(self, **where: Any) -> List[Dict[str, Any]]:  # pragma: no cover
        ...


class SQLiteStore:
    """The store of one benchmark directory (created on first use)."""

    def __init__(self, out_dir: os.PathLike, *, create: bool = True):
        self.dir = Path(out_dir)
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
        elif not self.dir.is_dir():
            raise ValueError(f"dir: {str(self.dir)!r} is not a directory")
        self.path = self.dir / DB_FILE
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS runs (task TEXT, method TEXT, seed INTEGER, "
            "n_samples INTEGER, params TEXT, success INTEGER, record TEXT, written REAL, "
            "PRIMARY KEY (task, method, seed, n_samples, params))")
        self.skipped_lines = 0
        jsonl = self.dir / JSONL_FILE
        if jsonl.exists():
            self.skipped_lines = import_jsonl(self, jsonl)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "SQLiteStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def append(self, rec: Dict[str, Any]) -> bool:
        """Store ``rec`` in one transaction. Returns False when the key already holds a
        successful record (which is kept), True when ``rec`` was written."""
        if not _is_record(rec):
            raise ValueError(f"record: expected the fields {list(REQUIRED_FIELDS)}, got {sorted(rec)[:8]}")
        key = run_key(rec)
        cur = self._db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task, method, seed, "
            "n_samples, params) DO UPDATE SET success = excluded.success, record = excluded.record, "
            "written = excluded.written WHERE runs.success = 0",
            (*key, int(bool(rec["success"])), json.dumps(rec), time.time()))
        return cur.rowcount > 0

    def completed(self, *, include_failed: bool = True) -> Set[Key]:
        """Keys that hold a record (only successful ones with ``include_failed=False``)."""
        sql = "SELECT task, method, seed, n_samples, params FROM runs"
        if not include_failed:
            sql += " WHERE success = 1"
        return {tuple(row) for row in self._db.execute(sql)}

    def records(self, **where: Any) -> List[Dict[str, Any]]:
        """Every record (one per key), in the order written; ``where`` filters on task,
        method, seed, n_samples or success."""
        allowed = {"task", "method", "seed", "n_samples", "success"}
        bad = set(where) - allowed
        if bad:
            raise ValueError(f"where: unknown fields {sorted(bad)}; expected some of {sorted(allowed)}")
        sql = "SELECT record FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
        sql += " ORDER BY written, rowid"
        vals = [int(v) if k in ("seed", "n_samples", "success") else v for k, v in where.items()]
        return [json.loads(row[0]) for row in self._db.execute(sql, vals)]


def import_jsonl(store: SQLiteStore, path: os.PathLike) -> int:
    """Add every record of a JSONL file to ``store`` (keys already successful are kept).
    Returns the number of lines skipped (blank, garbled, or not a record)."""
    skipped = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    store._db.execute("BEGIN IMMEDIATE")
    try:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if not _is_record(rec):
                skipped += 1
                continue
            store.append(rec)
        store._db.execute("COMMIT")
    except BaseException:
        store._db.execute("ROLLBACK")
        raise
    return skipped


def export_jsonl(store: SQLiteStore, path: os.PathLike) -> int:
    """Write every record once, one JSON object a line, atomically; returns the count."""
    recs = store.records()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        for rec in recs:
            fh.write(json.dumps(rec) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return len(recs)


def open_store(out_dir: os.PathLike, *, create: bool = True) -> Optional[SQLiteStore]:
    """The store of ``out_dir``, or None when ``create`` is False and it has neither a
    database nor a results.jsonl."""
    d = Path(out_dir)
    if not create and not (d / DB_FILE).exists() and not (d / JSONL_FILE).exists():
        return None
    return SQLiteStore(d, create=create)


def unique_records(records: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One record per key from a list (first success wins, else the last failure)."""
    out: Dict[Key, Dict[str, Any]] = {}
    for rec in records:
        if not _is_record(rec):
            continue
        key = run_key(rec)
        if key not in out or (not out[key]["success"]):
            out[key] = rec
    return list(out.values())
