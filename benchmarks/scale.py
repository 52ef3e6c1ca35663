"""Time and peak memory of one MMG estimate against the sample size N and the dimension, from
memory-mapped .npy input (issue 15, "Speed and scale").

Data: a Gaussian (X, Y) with dim_x = dim_y = d, X ~ N(0, I_d), and Y_i = rho_i X_i +
sqrt(1 - rho_i^2) E_i on the first five coordinates (rho = 0.9, 0.8, 0.7, 0.6, 0.5), Y_i = E_i
on the others. Exact truth: I(X;Y) = -1/2 sum_i log(1 - rho_i^2) = 2.0448 nats, whatever d.
The arrays are written once (float32, in blocks) to ``--data-dir`` as x.npy and y.npy.

Each point runs in a fresh subprocess (so that peak memory is that of one estimate) through the
command line, ``mmgap estimate --x x.npy --y y.npy --steps S --json`` (the .npy files are
memory-mapped), with a fixed training budget, so that differences in time between points come
from the work that grows with N or d, not from training longer. The child records:

- seconds per phase: ``load_check`` (reading the files and the CLI's checks), ``split``
  (fit_estimate's checks and the train/test split), ``prepare`` (checks and preprocessing
  inside fit and estimate: rank maps, float32 tensors), ``train`` (Trainer.run, including
  ``validation``: scoring the validation set at each checkpoint), ``fit_other`` (variant choice,
  Gaussian fit, network), ``estimate`` (Monte Carlo draws, window-edge and over-fitting checks)
  and ``test`` (the permutation test), and ``total``;
- peak memory: ``peak_rss_mb`` (VmHWM: every resident page, including the file-backed pages
  of the memory map, which the kernel can drop at any time), and the peaks of ``RssAnon``
  (memory the process itself allocated) and ``RssFile`` sampled every 10 ms;
- the estimate, its standard error, the truth, and what was used (validation rows,
  permutation-test rows, draws, threads, load average).

Usage:
    python benchmarks/scale.py --out docs/benchmarks/scale/results.jsonl \\
        --n 10000 100000 1000000 --dims 100 --n-steps 2000 --threads 2
    python benchmarks/scale.py --out docs/benchmarks/scale/results.jsonl \\
        --n 100000 --dims 10 50 100 200 --n-steps 2000 --threads 2
    python benchmarks/scale.py --plot docs/benchmarks/scale/results.jsonl \\
        --png docs/benchmarks/scale.png

Points already in ``--out`` (same N, d, steps, threads and ``--tag``) are skipped. ``--tag``
labels a run (e.g. "before" with PYTHONPATH pointing at an older checkout).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RHO = (0.9, 0.8, 0.7, 0.6, 0.5)
TRUTH = float(-0.5 * np.sum(np.log(1.0 - np.square(RHO))))
BLOCK_ROWS = 50_000


# --------------------------------------------------------------------------- data

def data_paths(data_dir: Path, n: int, d: int) -> tuple:
    base = Path(data_dir) / f"n{n}_d{d}"
    return base / "x.npy", base / "y.npy"


def make_data(data_dir: Path, n: int, d: int, seed: int = 0) -> tuple:
    """Write x.npy and y.npy (float32, (n, d) each) block by block; returns their paths."""
    from numpy.lib.format import open_memmap

    xp, yp = data_paths(data_dir, n, d)
    if xp.exists() and yp.exists():
        return xp, yp
    xp.parent.mkdir(parents=True, exist_ok=True)
    rho = np.zeros(d)
    rho[:min(d, len(RHO))] = RHO[:d]
    rng = np.random.default_rng(seed)
    tmp_x, tmp_y = xp.with_suffix(".tmp.npy"), yp.with_suffix(".tmp.npy")
    xm = open_memmap(tmp_x, mode="w+", dtype=np.float32, shape=(n, d))
    ym = open_memmap(tmp_y, mode="w+", dtype=np.float32, shape=(n, d))
    for s in range(0, n, BLOCK_ROWS):
        m = min(BLOCK_ROWS, n - s)
        x = rng.standard_normal((m, d))
        e = rng.standard_normal((m, d))
        xm[s:s + m] = x
        ym[s:s + m] = rho * x + np.sqrt(1.0 - rho ** 2) * e
    xm.flush(), ym.flush()
    del xm, ym
    os.replace(tmp_x, xp), os.replace(tmp_y, yp)
    return xp, yp


def truth(d: int) -> float:
    return float(-0.5 * np.sum(np.log(1.0 - np.square(RHO[:d]))))


# --------------------------------------------------------------------------- child

class MemorySampler(threading.Thread):
    """Peaks of RssAnon and RssFile (MiB) from /proc/self/status, every ``interval`` s."""

    def __init__(self, interval: float = 0.01):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = {"RssAnon": 0.0, "RssFile": 0.0, "VmRSS": 0.0}
        self.phase_peak = {}  # phase -> peak RssAnon (MiB) while it ran
        self.phase = None
        self._halt = threading.Event()

    def enter(self, phase):
        """Attribute the RssAnon samples from now on to ``phase`` (None: to no phase)."""
        self.sample()
        self.phase = phase
        self.sample()

    def sample(self):
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    key = line.split(":", 1)[0]
                    if key in self.peak:
                        v = int(line.split()[1]) / 1024
                        self.peak[key] = max(self.peak[key], v)
                        if key == "RssAnon" and self.phase is not None:
                            self.phase_peak[self.phase] = max(self.phase_peak.get(self.phase, 0.0), v)
        except OSError:
            pass

    def run(self):
        while not self._halt.is_set():
            self.sample()
            time.sleep(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        self.sample()


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(args) -> None:
    """One measured estimate (run in a fresh process); prints one JSON record."""
    import torch

    torch.set_num_threads(args.threads)
    sampler = MemorySampler()
    sampler.start()
    import mmgap
    import mmgap.cli as cli
    import mmgap.estimator as estimator
    import mmgap.training as training

    acc = {}

    def timed(owner, attr, key_fn, phase=None):
        fn = getattr(owner, attr)

        def wrapper(*a, **kw):
            if phase:
                sampler.enter(phase)
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                key = key_fn(a, kw)
                acc[key] = acc.get(key, 0.0) + time.perf_counter() - t
                if phase:
                    sampler.enter(None)
        setattr(owner, attr, wrapper)

    timed(estimator.MMGEstimator, "_prepare",
          lambda a, kw: "prepare_fit" if kw.get("fitting") else "prepare_estimate")
    timed(estimator.MMGEstimator, "fit", lambda a, kw: "fit_total", phase="fit")
    timed(estimator.MMGEstimator, "estimate", lambda a, kw: "estimate_total", phase="estimate")
    timed(estimator, "fit_estimate", lambda a, kw: "fit_estimate_total")
    timed(estimator, "permutation_test", lambda a, kw: "test")
    timed(training.Trainer, "run", lambda a, kw: "train")
    timed(training.ValidationLoss, "__call__", lambda a, kw: "validation")

    argv = ["estimate", "--x", args.x, "--y", args.y, "--steps", str(args.n_steps),
            "--seed", str(args.seed), "--json", "--quiet"]
    load0 = os.getloadavg()
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(argv)
    total = time.perf_counter() - t0
    sampler.stop()
    out = json.loads(buf.getvalue().strip().splitlines()[-1]) if rc == 0 else {}
    g = acc.get
    phases = {
        "load_check": total - g("fit_estimate_total", 0.0),
        "split": g("fit_estimate_total", 0.0) - g("fit_total", 0.0) - g("estimate_total", 0.0),
        "prepare": g("prepare_fit", 0.0) + g("prepare_estimate", 0.0),
        "train": g("train", 0.0),
        "validation": g("validation", 0.0),
        "fit_other": g("fit_total", 0.0) - g("prepare_fit", 0.0) - g("train", 0.0),
        "estimate": g("estimate_total", 0.0) - g("prepare_estimate", 0.0) - g("test", 0.0),
        "test": g("test", 0.0),
        "total": total,
    }
    diag = out.get("diagnostics", {})
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec = {
        "tag": args.tag, "n": args.n, "dim_x": args.d, "dim_y": args.d, "n_steps": args.n_steps,
        "dtype": "float32", "rc": rc,
        "estimate": out.get("mi"), "stderr": out.get("stderr"), "truth": truth(args.d),
        "p_value": out.get("p_value"), "n_train": out.get("n_train"), "n_test": out.get("n_test"),
        "n_validation": diag.get("n_validation"), "k_draws": diag.get("k_draws"),
        "permutation_rows": (diag.get("permutation_test") or {}).get("n_points"),
        "variant": out.get("variant"),
        "steps_per_second": (diag.get("training") or {}).get("steps_per_second"),
        "seconds": {k: round(v, 3) for k, v in phases.items()},
        "peak_rss_mb": round(_vm_hwm_mb(), 1), "ru_maxrss_mb": round(ru, 1),
        "peak_anon_mb": round(sampler.peak["RssAnon"], 1),
        "peak_file_mb": round(sampler.peak["RssFile"], 1),
        "peak_anon_fit_mb": round(sampler.phase_peak.get("fit", float("nan")), 1),
        "peak_anon_estimate_mb": round(sampler.phase_peak.get("estimate", float("nan")), 1),
        "threads": torch.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_start": [round(v, 2) for v in load0],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "torch": torch.__version__, "mmgap": getattr(mmgap, "__version__", None),
        "mmgap_path": str(Path(mmgap.__file__).parent), "machine": _machine(),
    }
    sys.stdout.write(json.dumps(rec) + "\n")


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


# --------------------------------------------------------------------------- parent

def _done(path: Path) -> set:
    keys = set()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                keys.add((r.get("tag"), r["n"], r["dim_x"], r["n_steps"], r["threads"]))
    return keys


def measure(args) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    for d in args.dims:
        for n in args.n:
            if (args.tag, n, d, args.n_steps, args.threads) in done:
                print(f"skip n={n} d={d} (in {out})", flush=True)
                continue
            xp, yp = make_data(Path(args.data_dir), n, d)
            cmd = [sys.executable, __file__, "--child", "--x", str(xp), "--y", str(yp),
                   "--n", str(n), "--d", str(d), "--n-steps", str(args.n_steps),
                   "--threads", str(args.threads), "--seed", str(args.seed), "--tag", args.tag]
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0 or not proc.stdout.strip():
                print(f"n={n} d={d}: failed (rc {proc.returncode})\n{proc.stderr[-3000:]}",
                      flush=True)
                continue
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            with open(out, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            s = rec["seconds"]
            print(f"n={n} d={d}: {s['total']:.1f} s (train {s['train']:.1f}, prepare "
                  f"{s['prepare']:.1f}, test {s['test']:.1f}), peak anon {rec['peak_anon_mb']:.0f}"
                  f" MB, rss {rec['peak_rss_mb']:.0f} MB, estimate {rec['estimate']} (truth "
                  f"{rec['truth']:.4f}) [{time.perf_counter() - t:.0f} s]", flush=True)


# --------------------------------------------------------------------------- plot

PHASES = ("load_check", "split", "prepare", "train", "fit_other", "estimate", "test")


def plot(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    every = [json.loads(line) for line in Path(args.plot).read_text().splitlines() if line.strip()]
    every = [r for r in every if r.get("rc") == 0 and r["n_steps"] == args.plot_steps]
    recs = [r for r in every if r.get("tag") == args.tag]
    before = [r for r in every if r.get("tag") == args.before_tag]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    sweeps = [
        ("N", "n", lambda r: r["dim_x"] == args.plot_dim, f"{args.plot_dim}+{args.plot_dim} dims"),
        ("dimension (dim_x = dim_y)", "dim_x", lambda r: r["n"] == args.plot_n,
         f"N = {args.plot_n:,}"),
    ]
    for col, (label, key, keep, title) in enumerate(sweeps):
        rows = sorted((r for r in recs if keep(r)), key=lambda r: r[key])
        if not rows:
            continue
        xs = np.array([r[key] for r in rows], dtype=float)
        ax = axes[0, col]
        bottom = np.zeros(len(rows))
        for ph in PHASES:
            v = np.array([max(r["seconds"].get(ph, 0.0), 0.0) for r in rows])
            ax.bar(range(len(rows)), v, bottom=bottom, label=ph)
            bottom += v
        old = {r[key]: r["seconds"]["total"] for r in before if keep(r)}
        pos = [i for i, r in enumerate(rows) if r[key] in old]
        if pos:
            ax.plot(pos, [old[rows[i][key]] for i in pos], "kx", ms=9,
                    label=f"total, {args.before_tag}")
        ax.set_xticks(range(len(rows)), [f"{int(x):,}" for x in xs])
        ax.set_xlabel(label)
        ax.set_ylabel("seconds (stacked by phase)")
        ax.set_title(f"time, {title}, {rows[0]['n_steps']} steps")
        ax.legend(fontsize=7)
        ax = axes[1, col]
        for name, field in (("peak RSS (incl. mapped file pages)", "peak_rss_mb"),
                            ("peak anonymous (allocated)", "peak_anon_mb")):
            ax.plot(xs, [r[field] / 1024 for r in rows], "o-", label=f"{name}, {args.tag}")
            b = sorted((r for r in before if keep(r)), key=lambda r: r[key])
            if b:
                ax.plot([r[key] for r in b], [r[field] / 1024 for r in b], "s--",
                        label=f"{name}, {args.before_tag}")
        copy = [0.8 * r["n"] * (r["dim_x"] + r["dim_y"]) * 4 / 2 ** 30 for r in rows]
        ax.plot(xs, copy, ":", color="gray", label="one float32 copy of the training rows")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("GiB")
        ax.set_title(f"peak memory, {title}")
        ax.legend(fontsize=7)
    threads = sorted({r["threads"] for r in recs})
    fig.suptitle(f"mmgap estimate from memory-mapped .npy (float32), torch threads {threads}, "
                 "shared 2-core machine")
    fig.tight_layout()
    Path(args.png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=110)
    print(f"wrote {args.png}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="docs/benchmarks/scale/results.jsonl")
    p.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--dims", type=int, nargs="+", default=[100])
    p.add_argument("--n-steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="now")
    p.add_argument("--data-dir", default="/tmp/mmgap_scale_data")
    p.add_argument("--plot", metavar="JSONL")
    p.add_argument("--png", default="docs/benchmarks/scale.png")
    p.add_argument("--plot-dim", type=int, default=100)
    p.add_argument("--plot-n", type=int, default=100_000)
    p.add_argument("--plot-steps", type=int, default=2000)
    p.add_argument("--before-tag", default="before")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--x", help=argparse.SUPPRESS)
    p.add_argument("--y", help=argparse.SUPPRESS)
    p.add_argument("--d", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.n = args.n[0]
        child(args)
    elif args.plot:
        plot(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
