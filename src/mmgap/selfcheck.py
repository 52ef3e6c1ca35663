"""Self-consistency tests on real images (Song & Ermon, "Understanding the limitations of
variational mutual information estimators", ICLR 2020), with variables defined so that
every quantity is finite and every identity holds exactly.

Construction (one sample):
- pick an image uniformly at random from the data set (with replacement) and dequantise it:
  ``A = (level + U) / n_levels`` with U ~ U[0, 1)^(H x W), so A is continuous in [0, 1);
- observe it once through Gaussian noise: ``B = A + sigma * eps``, ONE noise draw;
- ``B_r`` keeps the top r rows of B and sets the others to 0.

Then ``B_r`` is a function of ``B_{r+k}``, and for continuous A every I(A; B_r) is finite
(the noise bounds it). The three tests:

- baseline: ``I(A; B_r) / I(A; B_H)`` rises with r and reaches 1 at r = H (B_r is a function
  of B_H, so the ratio can never exceed 1);
- data processing: ``I(A; [B_{r+k}, B_r]) / I(A; B_{r+k}) = 1`` exactly (the extra channel
  is a function of the first);
- additivity: for two independent samples, ``I([A1, A2]; [B1_r, B2_r]) / I(A; B_r) = 2``
  exactly.

Images enter the estimator image-shaped: (n, H, W) for one view, (n, 2, H, W) for two
views stacked as channels. Ratios carry delta-method error bars from the estimators'
standard errors (which cover evaluation noise only, not training randomness).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .types import MIResult

__all__ = ["SelfCheckPlan", "make_pairs", "mask_rows", "run_selfcheck", "ratio_with_stderr",
           "TOLERANCES"]

logger = logging.getLogger(__name__)

#: pass criteria: data processing |ratio - 1| <= 0.1, additivity |ratio - 2| <= 0.2;
#: baseline: non-decreasing and <= 1 within ``baseline_z`` combined standard errors.
TOLERANCES = {"data_processing": 0.1, "additivity": 0.2, "baseline_z": 2.0}


@dataclass
class SelfCheckPlan:
    """Which rows r each test uses (r = number of top rows kept, 1..H)."""

    baseline_rows: Sequence[int]
    dp_rows: Sequence[int]
    dp_k: int
    additivity_rows: Sequence[int]

    @classmethod
    def default(cls, height: int, quick: bool = False) -> "SelfCheckPlan":
        h = int(height)
        if quick:
            base = sorted({max(1, h // 4), h // 2, (3 * h) // 4, h})
            return cls(base, [max(1, h // 4), h // 2], max(1, h // 4), [h // 2, h])
        step = max(1, h // 8)
        base = list(range(step, h + 1, step))
        if base[-1] != h:
            base.append(h)
        k = max(1, h // 4)
        dp = [r for r in base if r + k <= h][::2] or [max(1, h - k)]
        add = sorted({max(1, h // 4), h // 2, (3 * h) // 4, h})
        return cls(base, dp, k, add)

    def check(self, height: int) -> None:
        for name in ("baseline_rows", "dp_rows", "additivity_rows"):
            rows = list(getattr(self, name))
            if not rows or any(not (1 <= int(r) <= height) for r in rows):
                raise ValueError(f"{name}: expected rows in 1..{height}, got {rows}")
        if height not in self.baseline_rows:
            raise ValueError(f"baseline_rows: must include the full image (r = {height})")
        if any(r + self.dp_k > height for r in self.dp_rows):
            raise ValueError(f"dp_rows: r + k must be at most {height}")


def mask_rows(b: np.ndarray, r: int) -> np.ndarray:
    """Copy of images ``b`` (n, H, W) with rows r.. set to 0 (the top r rows kept)."""
    out = np.array(b, copy=True)
    out[:, r:, :] = 0.0
    return out


def make_pairs(images: np.ndarray, n_levels: int, n: int, sigma: float,
               rng: np.random.Generator):
    """n samples (A, B): images drawn with replacement, dequantised, one noisy look each."""
    idx = rng.integers(0, images.shape[0], size=n)
    a = (images[idx] + rng.random((n,) + images.shape[1:])) / n_levels
    b = a + sigma * rng.standard_normal(a.shape)
    return a, b


def ratio_with_stderr(num: MIResult, den: MIResult):
    """num/den and its delta-method standard error (independent estimates)."""
    ratio = num.mi / den.mi
    rel = math.hypot(num.stderr / num.mi if num.mi else math.inf,
                     den.stderr / den.mi if den.mi else math.inf)
    return ratio, abs(ratio) * rel


@dataclass
class _Record:
    test: str
    r: int
    numerator: Dict[str, float]
    denominator: Dict[str, float]
    ratio: float
    ratio_stderr: float
    ideal: float
    passed: bool


def _summ(res: MIResult) -> Dict[str, float]:
    return {"mi": res.mi, "stderr": res.stderr, "seconds": res.seconds}


@dataclass
class SelfCheckResult:
    dataset: str
    image_shape: tuple
    n_samples: int
    sigma: float
    seed: int
    method: str
    plan: SelfCheckPlan
    tests: Dict[str, dict] = field(default_factory=dict)
    estimates: Dict[str, Dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(t["passed"] for t in self.tests.values())

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "image_shape": list(self.image_shape),
                "n_samples": self.n_samples, "sigma": self.sigma, "seed": self.seed,
                "method": self.method, "tolerances": dict(TOLERANCES),
                "plan": {"baseline_rows": list(self.plan.baseline_rows),
                         "dp_rows": list(self.plan.dp_rows), "dp_k": self.plan.dp_k,
                         "additivity_rows": list(self.plan.additivity_rows)},
                "tests": self.tests, "estimates": self.estimates, "passed": self.passed,
                "seconds": self.seconds}


def run_selfcheck(images: np.ndarray, n_levels: int, estimate: Callable[[Any, Any, int], MIResult],
                  *, dataset: str = "digits", method: str = "mmg", n_samples: int = 10_000,
                  sigma: float = 1.0, seed: int = 0, plan: Optional[SelfCheckPlan] = None,
                  quick: bool = False, progress: bool = True) -> SelfCheckResult:
    """Run the three tests. ``estimate(x, y, seed) -> MIResult`` is called once per
    quantity on freshly drawn samples (x, y image-shaped). Returns a SelfCheckResult."""
    t0 = time.perf_counter()
    if images.ndim != 3:
        raise ValueError(f"images: expected shape (n, H, W), got {images.shape}")
    if not (isinstance(sigma, (int, float)) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma: expected a positive number, got {sigma!r}")
    if n_samples < 100:
        raise ValueError(f"n_samples: expected at least 100, got {n_samples}")
    height = images.shape[1]
    plan = plan or SelfCheckPlan.default(height, quick)
    plan.check(height)
    base_rows = sorted(set(int(r) for r in plan.baseline_rows) |
                       {int(r) + plan.dp_k for r in plan.dp_rows} |
                       set(int(r) for r in plan.additivity_rows))
    jobs: List[tuple] = [("single", r) for r in base_rows]
    jobs += [("dp", int(r)) for r in plan.dp_rows]
    jobs += [("additivity", int(r)) for r in plan.additivity_rows]
    rng = np.random.default_rng(seed)
    est: Dict[tuple, MIResult] = {}
    bar = tqdm(jobs, desc="mmgap selfcheck", unit="fit", disable=not progress, leave=False)
    for i, (kind, r) in enumerate(bar):
        bar.set_postfix_str(f"{kind} r={r}")
        job_rng = np.random.default_rng(rng.integers(0, 2**62))
        if kind == "single":
            a, b = make_pairs(images, n_levels, n_samples, sigma, job_rng)
            x, y = a, mask_rows(b, r)
        elif kind == "dp":
            a, b = make_pairs(images, n_levels, n_samples, sigma, job_rng)
            x, y = a, np.stack([mask_rows(b, r + plan.dp_k), mask_rows(b, r)], axis=1)
        else:
            a1, b1 = make_pairs(images, n_levels, n_samples, sigma, job_rng)
            a2, b2 = make_pairs(images, n_levels, n_samples, sigma, job_rng)
            x = np.stack([a1, a2], axis=1)
            y = np.stack([mask_rows(b1, r), mask_rows(b2, r)], axis=1)
        est[(kind, r)] = estimate(x, y, seed + i)
        logger.info("selfcheck %s r=%d: %.4f +- %.4f", kind, r, est[(kind, r)].mi,
                    est[(kind, r)].stderr)
    bar.close()
    out = SelfCheckResult(dataset, tuple(images.shape[1:]), n_samples, float(sigma), seed,
                          method, plan)
    out.estimates = {f"{k}-r{r}": _summ(v) for (k, r), v in est.items()}
    z = TOLERANCES["baseline_z"]
    # baseline
    full = est[("single", height)]
    recs = []
    for r in sorted(int(v) for v in plan.baseline_rows):
        ratio, se = (1.0, 0.0) if r == height else ratio_with_stderr(est[("single", r)], full)
        recs.append(_Record("baseline", r, _summ(est[("single", r)]), _summ(full), ratio, se,
                            1.0, ratio <= 1.0 + z * se))
    for prev, cur in zip(recs, recs[1:]):
        if cur.ratio < prev.ratio - z * math.hypot(prev.ratio_stderr, cur.ratio_stderr):
            cur.passed = False
    out.tests["baseline"] = _test_dict(
        recs, f"I(A;B_r)/I(A;B_{height}) non-decreasing in r and <= 1, within {z:g} standard errors")
    # data processing
    recs = []
    for r in sorted(int(v) for v in plan.dp_rows):
        num, den = est[("dp", r)], est[("single", r + plan.dp_k)]
        ratio, se = ratio_with_stderr(num, den)
        recs.append(_Record("data_processing", r, _summ(num), _summ(den), ratio, se, 1.0,
                            abs(ratio - 1.0) <= TOLERANCES["data_processing"]))
    out.tests["data_processing"] = _test_dict(
        recs, f"I(A;[B_(r+{plan.dp_k}),B_r])/I(A;B_(r+{plan.dp_k})) within "
              f"{TOLERANCES['data_processing']:g} of 1")
    # additivity
    recs = []
    for r in sorted(int(v) for v in plan.additivity_rows):
        num, den = est[("additivity", r)], est[("single", r)]
        ratio, se = ratio_with_stderr(num, den)
        recs.append(_Record("additivity", r, _summ(num), _summ(den), ratio, se, 2.0,
                            abs(ratio - 2.0) <= TOLERANCES["additivity"]))
    out.tests["additivity"] = _test_dict(
        recs, f"I([A1,A2];[B1_r,B2_r])/I(A;B_r) within {TOLERANCES['additivity']:g} of 2")
    out.seconds = time.perf_counter() - t0
    return out


def _test_dict(records: List[_Record], criterion: str) -> dict:
    return {"criterion": criterion, "passed": all(r.passed for r in records),
            "rows": [r.r for r in records], "ratios": [r.ratio for r in records],
            "ratio_stderrs": [r.ratio_stderr for r in records], "ideal": records[0].ideal,
            "points": [vars(r) for r in records]}


def format_table(res: SelfCheckResult) -> str:
    """Human-readable report of a SelfCheckResult."""
    h = res.image_shape[0]
    lines = [f"self-consistency on {res.dataset} ({res.image_shape[0]}x{res.image_shape[1]} images), "
             f"method {res.method}, {res.n_samples} samples per estimate, sigma {res.sigma:g}, "
             f"seed {res.seed}, {res.seconds:.0f} s"]
    names = {"baseline": f"baseline: I(A;B_r) / I(A;B_{h})",
             "data_processing": f"data processing: I(A;[B_(r+{res.plan.dp_k}),B_r]) / I(A;B_(r+{res.plan.dp_k}))",
             "additivity": "additivity: I([A1,A2];[B1_r,B2_r]) / I(A;B_r)"}
    for key, test in res.tests.items():
        lines.append("")
        lines.append(f"{names[key]}   ideal {test['ideal']:g}   "
                     f"{'PASS' if test['passed'] else 'FAIL'}")
        lines.append(f"  ({test['criterion']})")
        lines.append(f"  {'r':>3}  {'numerator (nats)':>18}  {'denominator':>16}  {'ratio':>15}")
        for p in test["points"]:
            lines.append(f"  {p['r']:>3}  {p['numerator']['mi']:>9.3f} ± {p['numerator']['stderr']:<6.3f}"
                         f"  {p['denominator']['mi']:>8.3f} ± {p['denominator']['stderr']:<5.3f}"
                         f"  {p['ratio']:>7.3f} ± {p['ratio_stderr']:<5.3f}"
                         f"{'' if p['passed'] else '  <- fails'}")
    lines.append("")
    lines.append(f"verdict: {'all three tests pass' if res.passed else 'FAIL'}")
    return "\n".join(lines)


def plot_selfcheck(res: SelfCheckResult, path: str) -> None:
    """Three panels (ratio vs r with error bars and the ideal line), like the papers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    titles = {"baseline": "baseline", "data_processing": "data processing",
              "additivity": "additivity"}
    for ax, (key, test) in zip(axes, res.tests.items()):
        ax.errorbar(test["rows"], test["ratios"], yerr=[1.96 * s for s in test["ratio_stderrs"]],
                    marker="o", capsize=3, label=res.method)
        h = res.image_shape[0]
        if key == "baseline":
            ax.plot([0, h], [0, 1], ls=":", color="grey", lw=1)
        ax.axhline(test["ideal"], color="k", ls="--", lw=1, label="ideal")
        if key != "baseline":
            tol = TOLERANCES[key]
            ax.axhspan(test["ideal"] - tol, test["ideal"] + tol, color="green", alpha=0.1)
        ax.set_xlabel("rows kept r")
        ax.set_ylabel("ratio")
        ax.set_title(f"{titles[key]}: {'pass' if test['passed'] else 'FAIL'}")
        ax.set_xlim(0, h + 0.5)
        ax.legend(fontsize=8)
    fig.suptitle(f"self-consistency, {res.dataset}, {res.method}, n={res.n_samples}, sigma={res.sigma:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
