import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mmgap.benchmark import load_records, run_grid, summarise
from mmgap.cli import main
from mmgap.methods import check_method, list_methods, method_info, run_method

FAST_MMG = {"mmg": {"n_steps": 60}}


def test_methods_registry():
    names = list_methods()
    for n in ("mmg", "mmg-direct", "mmg-orthogonal", "mmg-adaptive", "mmg-orthogonal-adaptive",
              "ksg", "cca"):
        assert n in names
        info = method_info(n)
        assert info["description"] and info["reference"]
    with pytest.raises(ValueError, match="did you mean ksg"):
        check_method("ksgg")


def test_run_method_mmg_and_baseline(gaussian_1d):
    x, y = gaussian_1d(500, 0)
    r = run_method("mmg-direct", x, y, n_steps=60, verbose=False)
    assert r.variant == "direct" and r.n_test == 100 and r.diagnostics["method"] == "mmg-direct"
    r = run_method("cca", x, y)
    assert r.n_test == 500 and r.mi == pytest.approx(-0.5 * np.log(1 - np.corrcoef(x, y)[0, 1] ** 2))
    with pytest.raises(ValueError, match="fixes variant"):
        run_method("mmg-direct", x, y, variant="orthogonal", n_steps=10, verbose=False)
    with pytest.raises(ValueError, match="discrete"):
        run_method("ksg", x, (y > 0).astype(int), y_discrete=True)


def test_grid_records_resume_and_failures(tmp_path):
    out = tmp_path / "b"
    tasks = ["1v1-normal-0.75", "discrete-normal-2-2-1.0"]
    new = run_grid(tasks, ["cca", "mmg"], [0, 1], 300, out, method_params=FAST_MMG, progress=False)
    assert len(new) == 8
    recs = load_records(out)
    assert len(recs) == 8
    for key in ("task", "method", "seed", "n_samples", "truth", "estimate", "stderr", "seconds",
                "success", "error", "params"):
        assert key in recs[0]
    # cca cannot take discrete labels: recorded as failures, the sweep went on
    fails = [r for r in recs if not r["success"]]
    assert {(r["task"], r["method"]) for r in fails} == {("discrete-normal-2-2-1.0", "cca")}
    assert "discrete" in fails[0]["error"]
    mmg = [r for r in recs if r["method"] == "mmg"]
    assert all(r["success"] and r["params"] == {"n_steps": 60} for r in mmg)
    # a second run skips everything already present, also after a truncated last line
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"task": "1v1-normal-0.75", "meth')
    assert run_grid(tasks, ["cca", "mmg"], [0, 1], 300, out, method_params=FAST_MMG,
                    progress=False) == []
    assert len(run_grid(tasks[:1], ["cca"], [2], 300, out, progress=False)) == 1


def test_grid_rejects_bad_names(tmp_path):
    with pytest.raises(ValueError, match="task"):
        run_grid(["no-such-task"], ["cca"], [0], 100, tmp_path)
    with pytest.raises(ValueError, match="method"):
        run_grid(["1v1-normal-0.75"], ["nope"], [0], 100, tmp_path)


def test_local_worker_processes(tmp_path):
    new = run_grid(["1v1-normal-0.75", "multinormal-dense-2-2-0.5"], ["cca"], [0, 1], 500,
                   tmp_path, jobs=2, progress=False)
    assert len(new) == 4 and all(r["success"] for r in new)
    serial = run_grid(["1v1-normal-0.75", "multinormal-dense-2-2-0.5"], ["cca"], [0, 1], 500,
                      tmp_path / "serial", progress=False)
    key = lambda r: (r["task"], r["seed"])
    assert [r["estimate"] for r in sorted(new, key=key)] == pytest.approx(
        [r["estimate"] for r in sorted(serial, key=key)])


def test_local_workers_get_a_share_of_the_blas_threads(monkeypatch):
    """Spawned workers read OMP/BLAS thread counts from the environment: the sweep sets them
    to the workers' share of the cores while it runs, leaves a caller's value alone, and
    restores the environment afterwards."""
    import os

    from mmgap.benchmark.runner import THREAD_VARS, RunSpec, _local

    for k in THREAD_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    specs = [RunSpec("1v1-normal-0.75", "cca", s, 300, ()) for s in (0, 1)]
    share = str(max(1, (os.cpu_count() or 1) // 2))
    seen = []
    for rec in _local(specs, 2):
        assert rec["success"]
        seen.append({k: os.environ.get(k) for k in THREAD_VARS})
    assert seen[0] == {"OMP_NUM_THREADS": share, "OPENBLAS_NUM_THREADS": share,
                       "MKL_NUM_THREADS": "7"}
    assert "OMP_NUM_THREADS" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "7"


def test_ray_executor(tmp_path):
    pytest.importorskip("ray")
    new = run_grid(["1v1-normal-0.75"], ["cca"], [0, 1], 500, tmp_path, jobs=2, executor="ray",
                   progress=False)
    assert len(new) == 2 and all(r["success"] for r in new)


def _fake(task, method, seed, est, truth=1.0, ok=True):
    return {"task": task, "method": method, "seed": seed, "n_samples": 100, "truth": truth,
            "estimate": est if ok else None, "stderr": 0.01, "seconds": 2.0, "success": ok,
            "error": None if ok else "boom", "params": {}}


def test_summary_criterion():
    recs = [_fake("a", "m", 0, 1.04), _fake("a", "m", 1, 1.14),     # mean 1.09: |err| 0.09 -> pass
            _fake("b", "m", 0, 3.3, truth=3.0), _fake("b", "m", 1, 3.3, truth=3.0),  # 10% -> pass
            _fake("c", "m", 0, 1.2), _fake("c", "m", 1, 1.3),       # err 0.25 -> fail
            _fake("d", "m", 0, 1.0), _fake("d", "m", 1, 0, ok=False)]  # a failed seed -> fail
    cells = {c.task: c for c in summarise(recs)}
    assert cells["a"].passed and cells["b"].passed
    assert not cells["c"].passed and not cells["d"].passed
    assert cells["a"].mean == pytest.approx(1.09) and cells["a"].sem == pytest.approx(0.05)
    assert not {c.task: c for c in summarise(recs, abs_tol=0.05, rel_tol=0.0)}["a"].passed


def test_report_and_cli(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r"
    code = main(["bench", "--tasks", "1v1-normal-0.75,multinormal-dense-2-2-0.5", "--methods",
                 "cca,ksg", "--seeds", "0", "1", "--n-samples", "400", "--out", str(out), "--report"])
    assert code == 0
    text = (out / "report.md").read_text()
    assert "| cca | 2/2 |" in text and "| ksg |" in text and "1v1-normal-0.75" in text
    assert (out / "heatmap.png").stat().st_size > 1000
    assert main(["report", str(out)]) == 0
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert main(["bench", "--out", str(out)]) == 2  # neither --suite nor --tasks
    capsys.readouterr()
    assert main(["tasks", "--suite", "bmi40", "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)
    assert len(tasks) == 40 and tasks[0]["id"] == "1v1-normal-0.75"
    assert main(["methods"]) == 0
    assert "ksg" in capsys.readouterr().out


def test_estimate_with_baseline_method(tmp_path, gaussian_1d, capsys):
    x, y = gaussian_1d(400, 3)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert main(["estimate", str(tmp_path / "d.npz"), "--method", "ksg", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["variant"] == "ksg" and obj["n_test"] == 400
    assert main(["estimate", str(tmp_path / "d.npz"), "--method", "cca", "--save", str(tmp_path / "m")]) == 2


def test_estimate_mi_method_argument(gaussian_1d):
    from mmgap import estimate_mi

    x, y = gaussian_1d(500, 4)
    assert estimate_mi(x, y, method="cca").mi == pytest.approx(run_method("cca", x, y).mi)
    r = estimate_mi(x, y, method="mmg-direct", n_steps=50, verbose=False)
    assert r.variant == "direct" and r.n_test == 100
    with pytest.raises(ValueError, match="unknown method"):
        estimate_mi(x, y, method="mien")


def _children(pid):
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def _sweep_with_two_workers(tmp_path):
    """Start a sweep that runs far too long to finish (the only way out is a signal) and
    return (process, its two worker pids) once both workers are training."""
    code = ("import sys; from mmgap.cli import main; sys.exit(main(['bench', '--tasks', "
            "'1v1-normal-0.75', '--methods', 'mmg', '--seeds', '0', '1', '2', '--steps', "
            f"'1000000', '--n-samples', '500', '--jobs', '2', '--out', {str(tmp_path)!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and proc.poll() is None:
        workers = [p for p in _children(proc.pid)
                   if "spawn_main" in open(f"/proc/{p}/cmdline").read()]
        if len(workers) == 2:
            break
        time.sleep(0.5)
    if len(workers) != 2:
        proc.kill()
        raise AssertionError("the two worker processes never started")
    time.sleep(3)  # let them import and start training
    return proc, workers


def _wait_until_dead(pids, seconds=20.0):
    deadline = time.time() + seconds
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)


def test_sigterm_stops_a_local_sweep_and_its_workers(tmp_path):
    proc, workers = _sweep_with_two_workers(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and b"interrupted" in err, err
        _wait_until_dead(workers)
        assert not any(_alive(p) for p in workers), "workers outlived the sweep"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_report_interval_section(tmp_path):
    from mmgap.benchmark.report import write_report

    recs = []
    for seed, (ci, p, flags) in enumerate([([0.9, 1.1], 0.01, []), ([1.05, None], 0.01, ["gap_open_upper"]),
                                           ([0.0, 0.5], 0.4, []), ([1.2, 1.4], 0.01, [])]):
        r = _fake("a", "mmg", seed, 1.0)
        r.update(ci95=ci, p_value=p, flags=flags)
        recs.append(r)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    text = write_report(tmp_path, heatmap=False).read_text()
    # truth 1.0: covered by [0.9, 1.1] only; widths 0.2, inf, 0.5, 0.2 -> median 0.35
    assert "| mmg | 4 | 1/4 (25%) | 0.3500 | 1/4 | 3/4 |" in text


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_kill_9_of_a_sweep_takes_its_workers_down(tmp_path):
    proc, workers = _sweep_with_two_workers(tmp_path)
    try:
        proc.kill()  # SIGKILL: no handler runs in the parent
        proc.wait(timeout=30)
        _wait_until_dead(workers)
        assert not any(_alive(p) for p in workers), "workers outlived a kill -9 of the sweep"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
