"""The field's k-NN packages on the CMI and entropy suites, on the same samples as
`mmgap bench` (same task, seed and n): benchmark-only dependencies, never runtime ones.

- ennemi (``ennemi.estimate_mi(y, x, cond=z, k=3)``): KSG-type conditional MI; it treats the
  columns of a 2-D x as separate variables, so it is run only where dim_x = dim_y = 1.
- infomeasure (``infomeasure.conditional_mutual_information(x, y, cond=z, approach="ksg")``
  and ``infomeasure.entropy(x, approach="kl")``), base e.

One JSON line per (task, seed, package), in the record format of `mmgap bench` (task,
method, seed, n_samples, truth, estimate, seconds, success, error), so that
``mmgap report`` and the tables in docs/benchmarks/cmi.md can read them.

Usage:
    pip install ennemi infomeasure
    python benchmarks/cmi_side_by_side.py --suite cmi --seeds 0 1 2 --out docs/benchmarks/cmi_v1/side_by_side.jsonl
    python benchmarks/cmi_side_by_side.py --suite entropy --seeds 0 1 2 --out docs/benchmarks/entropy_v1/side_by_side.jsonl
"""

import argparse
import json
import time
import traceback
from pathlib import Path

import numpy as np


def _ennemi(task, x, y, z):
    import ennemi

    if task.dim_x != 1 or task.dim_y != 1:
        return None
    cond = z if z.ndim == 2 else z[:, None]
    return float(np.asarray(ennemi.estimate_mi(y[:, 0], x[:, 0], cond=cond, k=3,
                                               discrete_y=False)).ravel()[0])


def _infomeasure_cmi(task, x, y, z):
    import infomeasure as im

    if task.z_discrete:
        return None  # its KSG takes continuous conditions
    return float(im.conditional_mutual_information(x, y, cond=z, approach="ksg", base="e"))


def _infomeasure_entropy(task, x):
    import infomeasure as im

    return float(im.entropy(x, approach="kl", base="e"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=("cmi", "entropy"), required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    from mmgap.tasks import list_tasks

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    packages = ({"ennemi": _ennemi, "infomeasure-ksg": _infomeasure_cmi} if a.suite == "cmi"
                else {"infomeasure-kl": _infomeasure_entropy})
    for seed in a.seeds:
        for task in list_tasks(a.suite):
            sample = task.sample(a.n_samples, seed=seed)
            for name, fn in packages.items():
                rec = {"task": task.id, "method": name, "seed": seed, "n_samples": a.n_samples,
                       "truth": task.truth, "estimate": None, "success": False, "error": None,
                       "quantity": task.quantity}
                t0 = time.perf_counter()
                try:
                    value = fn(task, *sample)
                    if value is None:
                        continue  # not applicable to this task (see the docstring)
                    rec.update(estimate=value, success=True)
                except Exception as err:  # a failing package run is recorded, not raised
                    rec["error"] = f"{type(err).__name__}: {err}"
                    rec["traceback"] = traceback.format_exc(limit=3)
                rec["seconds"] = time.perf_counter() - t0
                with open(out, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                est = "failed" if rec["estimate"] is None else f"{rec['estimate']:.4f}"
                print(f"{task.id:45s} {name:16s} seed {seed}: {est} (truth {task.truth:.4f}, "
                      f"{rec['seconds']:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
