# Reference figures from benchmark-mi (bmi) estimators on 1-D Beyond-Normal tasks.
# Run as: taskset -c 0 env OMP_NUM_THREADS=1 ... /tmp/bmi-venv/bin/python /tmp/bmi_reference.py
import os
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1 --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(v, "1")
import json, sys, time
from importlib.metadata import version
import jax
import bmi
from bmi.benchmark import BENCHMARK_TASKS

TASKS = ["1v1-normal-0.75", "1v1-additive-0.1", "1v1-additive-0.75", "1v1-bimodal-0.75",
         "wiggly-1v1-normal-0.75", "half_cube-1v1-normal-0.75", "normal_cdf-1v1-normal-0.75",
         "student-identity-1-1-1", "asinh-student-identity-1-1-1"]
N, SEED = 10000, 0
PKG, JAXV = version("benchmark-mi"), jax.__version__
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bmi_reference.jsonl"

ESTIMATORS = {
    "KSG(k=5)": lambda: bmi.estimators.KSGEnsembleFirstEstimator(neighborhoods=(5,)),
    # package defaults (batch 256, 10k steps, lr 0.1, MLP (16,8), 50% test split, seed 42); verbose off only
    "InfoNCE": lambda: bmi.estimators.InfoNCEEstimator(verbose=False),
    "NWJ": lambda: bmi.estimators.NWJEstimator(verbose=False),
    "MINE": lambda: bmi.estimators.MINEEstimator(verbose=False),
    "DV": lambda: bmi.estimators.DonskerVaradhanEstimator(verbose=False),
}

with open(OUT, "w") as f:
    for tid in TASKS:
        task = BENCHMARK_TASKS[tid]
        x, y = task.sample(N, seed=SEED)
        truth = float(task.mutual_information)
        for name, make in ESTIMATORS.items():
            est = make()
            t0 = time.perf_counter()
            mi = float(est.estimate(x, y))
            dt = time.perf_counter() - t0
            rec = dict(task=tid, estimator=name, truth=truth, estimate=mi, seconds=dt,
                       n=N, seed=SEED, package_version=PKG, jax_version=JAXV)
            f.write(json.dumps(rec) + "\n"); f.flush()
            print(json.dumps(rec), flush=True)
