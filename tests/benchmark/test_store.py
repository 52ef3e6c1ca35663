"""The results store: one record per key, whatever happens to the writers."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mmgap.benchmark import load_records, write_report
from mmgap.benchmark.store import SQLiteStore, export_jsonl, run_key, unique_records
from mmgap.cli import main


def rec(task="t", seed=0, ok=True, est=1.0, method="m", params=None):
    return {"task": task, "method": method, "seed": seed, "n_samples": 100, "truth": 1.0,
            "estimate": est if ok else None, "stderr": 0.01, "seconds": 1.0, "success": ok,
            "error": None if ok else "boom", "params": params or {}}


def test_one_record_per_key_success_kept_failure_replaced(tmp_path):
    with SQLiteStore(tmp_path) as st:
        assert st.append(rec(seed=0, est=1.0))
        assert not st.append(rec(seed=0, est=2.0))  # a success is never replaced
        assert st.append(rec(seed=1, ok=False))
        assert st.append(rec(seed=1, est=3.0))      # a failure is replaced by a retry
        assert st.append(rec(seed=0, params={"n_steps": 5}))  # params are part of the key
        recs = st.records()
        assert [r["estimate"] for r in recs if r["params"] == {}] == [1.0, 3.0]
        assert len(recs) == 3 and len(st.completed(include_failed=False)) == 3
        assert [r["seed"] for r in st.records(seed=1)] == [1]
        with pytest.raises(ValueError, match="record"):
            st.append({"task": "t"})
        with pytest.raises(ValueError, match="where"):
            st.records(colour="red")


def test_old_jsonl_with_garbage_and_duplicates_is_imported_once(tmp_path):
    lines = [json.dumps(rec(seed=0)), json.dumps(rec(seed=0)), "[1, 2]", '{"a": 1}',
             json.dumps(rec(seed=1, ok=False)), json.dumps(rec(seed=1, est=0.9)),
             '{"task": "t", "meth']
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n")
    with SQLiteStore(tmp_path) as st:
        assert st.skipped_lines == 3
    recs = load_records(tmp_path)
    assert [(r["seed"], r["success"]) for r in recs] == [(0, True), (1, True)]
    text = write_report(tmp_path, heatmap=False).read_text()
    assert "Records: 2 " in text  # duplicates are not counted as extra seeds


WRITER = """
import sys, json
from mmgap.benchmark.store import SQLiteStore
d, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with SQLiteStore(d) as st:
    for i in range(n):
        st.append({"task": "t", "method": "m", "seed": i, "n_samples": 10, "success": True,
                   "estimate": float(i), "writer": who, "params": {}, "pad": "x" * 5000})
"""


def test_two_concurrent_writers_never_double_a_record(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), w, "200"])
             for w in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    recs = load_records(tmp_path)
    assert sorted(r["seed"] for r in recs) == list(range(200))


def test_sigkill_mid_write_loses_nothing_written_and_doubles_nothing(tmp_path):
    for attempt in range(3):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(attempt), "100000"])
        time.sleep(2.0 + attempt)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    with SQLiteStore(tmp_path) as st:
        assert st._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        recs = st.records()
    seeds = [r["seed"] for r in recs]
    assert len(seeds) == len(set(seeds)) and seeds == sorted(seeds)
    assert seeds == list(range(len(seeds))) and len(seeds) > 0


def test_export_import_cli_round_trip(tmp_path, capsys):
    src, dst = tmp_path / "a", tmp_path / "b"
    with SQLiteStore(src) as st:
        for s in range(3):
            st.append(rec(seed=s))
    assert main(["export", str(src), str(tmp_path / "all.jsonl")]) == 0
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 3
    with open(tmp_path / "all.jsonl", "a") as fh:
        fh.write("not json\n")
    assert main(["import", str(dst), str(tmp_path / "all.jsonl")]) == 0
    assert "3 new keys imported" in capsys.readouterr().out
    assert main(["import", str(dst), str(tmp_path / "all.jsonl")]) == 0
    assert "0 new keys imported" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "nothing"), str(tmp_path / "x.jsonl")]) == 2
    assert main(["import", str(dst), str(tmp_path / "missing.jsonl")]) == 2


def test_unique_records_and_key():
    a, b = rec(seed=0, ok=False), rec(seed=0, est=2.0)
    assert unique_records([a, b, rec(seed=0, est=5.0)]) == [b]
    assert run_key(rec(params={"b": 1, "a": 2})) == run_key(rec(params={"a": 2, "b": 1}))


@pytest.mark.parametrize("argv,message", [
    (["--steps", "0"], "--steps"), (["--steps", "-5"], "--steps"), (["--seeds", "-1"], "--seeds"),
    (["--jobs", "0"], "--jobs"), (["--n-samples", "5"], "--n-samples"),
])
def test_bench_arguments_are_checked_up_front(tmp_path, capsys, argv, message):
    code = main(["bench", "--tasks", "1v1-normal-0.75", "--methods", "cca", "--out",
                 str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert not (tmp_path / "o").exists()


def test_retry_failed(tmp_path, capsys):
    out = tmp_path / "o"
    with SQLiteStore(out) as st:
        st.append(dict(rec(task="1v1-normal-0.75", method="cca", seed=0, ok=False), n_samples=300))
    args = ["bench", "--tasks", "1v1-normal-0.75", "--methods", "cca", "--n-samples", "300",
            "--out", str(out)]
    assert main(args) == 0 and "0 new runs" in capsys.readouterr().out
    assert main(args + ["--retry-failed"]) == 0 and "1 new runs (0 failed)" in capsys.readouterr().out
    assert [r["success"] for r in load_records(out)] == [True]
