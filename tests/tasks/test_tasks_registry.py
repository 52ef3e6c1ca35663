"""Registry, ids and the literal table of true MIs (Beyond-Normal benchmark, nats)."""

import json
import subprocess
import sys

import numpy as np
import pytest

import mmgap.tasks as tasks
from mmgap.tasks import SUITES, get_task, list_task_ids, list_tasks

# Czyz et al. (NeurIPS 2023), the 40 tasks in the benchmark's order: id -> true MI (nats).
BMI40 = {
    "1v1-normal-0.75": 0.413339,
    "normal_cdf-1v1-normal-0.75": 0.413339,
    "1v1-additive-0.1": 1.709438,
    "1v1-additive-0.75": 0.333333,
    "1v1-bimodal-0.75": 0.413339,
    "wiggly-1v1-normal-0.75": 0.413339,
    "half_cube-1v1-normal-0.75": 0.413339,
    "student-identity-1-1-1": 0.224171,
    "asinh-student-identity-1-1-1": 0.224171,
    "swissroll_x-normal_cdf-1v1-normal-0.75": 0.413339,
    "multinormal-dense-2-2-0.5": 0.293893,
    "multinormal-dense-3-3-0.5": 0.413339,
    "multinormal-dense-5-5-0.5": 0.592812,
    "multinormal-dense-25-25-0.5": 1.292184,
    "multinormal-dense-50-50-0.5": 1.624265,
    "multinormal-sparse-2-2-2-2.0": 1.021651,
    "multinormal-sparse-3-3-2-2.0": 1.021651,
    "multinormal-sparse-5-5-2-2.0": 1.021651,
    "multinormal-sparse-25-25-2-2.0": 1.021651,
    "student-identity-2-2-1": 0.431946,
    "student-identity-2-2-2": 0.193147,
    "student-identity-3-3-2": 0.290922,
    "student-identity-3-3-3": 0.178712,
    "student-identity-5-5-2": 0.448151,
    "student-identity-5-5-3": 0.298544,
    "normal_cdf-multinormal-sparse-3-3-2-2.0": 1.021651,
    "normal_cdf-multinormal-sparse-5-5-2-2.0": 1.021651,
    "normal_cdf-multinormal-sparse-25-25-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-3-3-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-5-5-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-25-25-2-2.0": 1.021651,
    "spiral-multinormal-sparse-3-3-2-2.0": 1.021651,
    "spiral-multinormal-sparse-5-5-2-2.0": 1.021651,
    "spiral-multinormal-sparse-25-25-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0": 1.021651,
    "asinh-student-identity-2-2-1": 0.431946,
    "asinh-student-identity-3-3-2": 0.290922,
    "asinh-student-identity-5-5-2": 0.448151,
}

# MMG paper, high-MI family: strength -> true MI (nats), the same for every dimension.
HIGH_MI = {200.0: 9.9035, 650.0: 12.2608, 1100.0: 13.3130, 1550.0: 13.9989, 2000.0: 14.5087}


def test_bmi40_ids_exactly_in_benchmark_order():
    assert list_task_ids("bmi40") == list(BMI40)


@pytest.mark.parametrize("task_id", list(BMI40))
def test_bmi40_true_mi_matches_table(task_id):
    task = get_task(task_id)
    assert task.id == task_id
    assert task.mutual_information == pytest.approx(BMI40[task_id], abs=1e-6)
    assert task.mutual_information_stderr == 0.0
    assert not task.y_discrete


def test_bmi40_dims():
    dims = {t.id: (t.dim_x, t.dim_y) for t in list_tasks("bmi40")}
    assert dims["swissroll_x-normal_cdf-1v1-normal-0.75"] == (2, 1)
    assert dims["1v1-bimodal-0.75"] == (1, 1)
    assert dims["multinormal-dense-50-50-0.5"] == (50, 50)
    assert dims["spiral-normal_cdf-multinormal-sparse-25-25-2-2.0"] == (25, 25)
    assert dims["asinh-student-identity-5-5-2"] == (5, 5)


def test_high_mi_suite_ids_and_truth():
    expected = [
        f"{prefix}multinormal-sparse-{d}-{d}-2-{s}"
        for prefix in ("", "half_cube-", "spiral-")
        for d in (3, 5, 10, 20, 50)
        for s in HIGH_MI
    ]
    expected += [
        f"{prefix}student-sparse-{d}-{d}-2-{s}-3"
        for prefix in ("", "asinh-")
        for d in (3, 5, 10, 20, 50)
        for s in HIGH_MI
    ]
    assert list_task_ids("high-mi") == expected
    for task in list_tasks("high-mi"):
        strength = task.params["strength"]
        assert task.dim_x == task.dim_y == task.params["dim_x"]
        if task.params["family"] == "student-sparse":
            # the Gaussian part plus the Student-t (df 3) correction, above the Gaussian
            assert task.mutual_information > HIGH_MI[strength] + 0.1
            continue
        assert task.mutual_information == pytest.approx(HIGH_MI[strength], abs=5e-5)


def test_extra_suite_has_discrete_and_independent_tasks():
    extra = {t.id: t for t in list_tasks("extra")}
    assert extra["independent-normal-2-2"].mutual_information == 0.0
    discrete = [t for t in extra.values() if t.y_discrete]
    assert discrete and all(t.mutual_information_stderr > 0 for t in discrete)


def test_all_is_the_union_without_duplicates():
    union = [i for s in SUITES[:-1] for i in list_task_ids(s)]
    assert list_task_ids("all") == union
    assert list_task_ids(None) == union
    assert len(set(union)) == len(union)
    assert SUITES == ("bmi40", "high-mi", "extra", "cmi", "entropy", "mixed", "fine", "many-pairs",
                      "images-known", "all")


def test_unknown_id_raises_with_suggestion():
    with pytest.raises(ValueError, match="did you mean.*multinormal-sparse-5-5-2-2.0"):
        get_task("multinormal-sparse-5-5-2-2")
    with pytest.raises(ValueError, match="unknown task"):
        get_task("no-such-task")


def test_unknown_suite_raises():
    with pytest.raises(ValueError, match="suite.*bmi40"):
        list_tasks("bmi41")
    with pytest.raises(ValueError, match="suite"):
        list_task_ids("everything")


def test_get_task_returns_fresh_equal_tasks():
    a, b = get_task("1v1-normal-0.75"), get_task("1v1-normal-0.75")
    assert a == b
    a.params["correlation"] = -1.0  # mutating one copy must not leak into the registry
    assert get_task("1v1-normal-0.75").params["correlation"] == 0.75


def test_metadata_is_json_serialisable():
    for task in list_tasks("all"):
        record = json.loads(json.dumps(task.to_dict()))
        assert record["id"] == task.id
        assert np.isfinite(record["mutual_information"])


def test_public_names():
    assert set(tasks.__all__) <= set(dir(tasks))
    assert tasks.__doc__ and "get_task" in tasks.__doc__


def test_tasks_import_neither_torch_nor_other_mmgap_modules():
    code = (
        "import sys, mmgap.tasks; "
        "bad = [m for m in sys.modules if m == 'torch' or (m.startswith('mmgap.') "
        "and not m.startswith('mmgap.tasks'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
