"""Transforms: ids, dims, truth unchanged, and each array map checked against an
independent formulation (matrix exponential, root finding, explicit inverses)."""

import json

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import brentq
from scipy.special import ndtr

from mmgap.tasks import (
    asinh,
    discrete_normal,
    get_task,
    half_cube,
    multinormal_sparse,
    normal_cdf,
    spiral,
    student_identity,
    swissroll_x,
    transform_task,
    wiggly,
)
from mmgap.tasks import maps
from mmgap.tasks.families import BIMODAL_X

RNG = np.random.default_rng(0)


def _spiral_maps(task):
    return (
        lambda a: maps.spiral(a, 0, 1, 1.0 / task.dim_x),
        lambda b: maps.spiral(b, 1, 2, 1.0 / task.dim_y),
    )


CASES = [
    (half_cube, "half_cube", lambda t: (maps.half_cube, maps.half_cube)),
    (normal_cdf, "normal_cdf", lambda t: (maps.normal_cdf, maps.normal_cdf)),
    (asinh, "asinh", lambda t: (np.arcsinh, np.arcsinh)),
    (wiggly, "wiggly", lambda t: (maps.wiggly_x, maps.wiggly_y)),
    (spiral, "spiral", _spiral_maps),
]


@pytest.mark.parametrize("transform,prefix,arrays", CASES, ids=[c[1] for c in CASES])
def test_transform_is_the_maps_applied_to_the_base_samples(transform, prefix, arrays):
    base = student_identity(3, 3, 2) if prefix == "asinh" else multinormal_sparse(3, 4, 2, 2.0)
    task = transform(base)
    assert task.id == f"{prefix}-{base.id}"
    assert (task.dim_x, task.dim_y) == (base.dim_x, base.dim_y)
    assert task.mutual_information == base.mutual_information
    assert task.mutual_information_stderr == base.mutual_information_stderr
    assert task.params["transforms"][-1]["name"] == prefix
    json.dumps(task.params)
    fx, fy = arrays(base)
    x, y = task.sample(500, seed=12)
    bx, by = base.sample(500, seed=12)
    np.testing.assert_allclose(x, fx(bx), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, fy(by), rtol=1e-12, atol=1e-12)
    assert not np.allclose(x, bx)


def test_transforms_compose_and_record_order():
    task = spiral(normal_cdf(multinormal_sparse(5, 5)))
    assert task.id == "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0"
    assert [t["name"] for t in task.params["transforms"]] == ["normal_cdf", "spiral"]
    base = multinormal_sparse(5, 5)
    assert "transforms" not in base.params  # the base task is not mutated


def test_swissroll_dims_and_inverse():
    base = get_task("normal_cdf-1v1-normal-0.75")
    task = swissroll_x(base)
    assert task.id == "swissroll_x-normal_cdf-1v1-normal-0.75"
    assert (task.dim_x, task.dim_y) == (2, 1)
    x, y = task.sample(1000, seed=1)
    u, v = base.sample(1000, seed=1)
    # radius t / 21 with t = 1.5 pi (1 + 2u) recovers u; the angle is t
    t = 21.0 * np.linalg.norm(x, axis=1)
    np.testing.assert_allclose((t / (1.5 * np.pi) - 1) / 2, u[:, 0], atol=1e-12)
    np.testing.assert_allclose(np.arctan2(x[:, 1], x[:, 0]), np.angle(np.exp(1j * t)), atol=1e-9)
    np.testing.assert_array_equal(y, v)
    with pytest.raises(ValueError, match="dim_x == 1"):
        swissroll_x(multinormal_sparse(2, 2))


def test_spiral_matches_matrix_exponential_and_inverts():
    x = RNG.standard_normal((20, 4))
    generator = np.zeros((4, 4))
    generator[1, 3], generator[3, 1] = -1.0, 1.0
    speed = 0.37
    expected = np.stack([expm(generator * speed * (row @ row)) @ row for row in x])
    out = maps.spiral(x, 1, 3, speed)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(x, axis=1))
    np.testing.assert_allclose(maps.spiral(out, 1, 3, -speed), x, atol=1e-12)


def test_spiral_ids_and_requirements():
    base = multinormal_sparse(3, 3)
    assert spiral(base, speed=2.0).id == "spiral_2.0-" + base.id
    assert spiral(base, normalize_speed=False).id == "spiral_1.0_raw-" + base.id
    assert spiral(base, speed=2.0).params["transforms"][-1]["speed"] == 2.0
    with pytest.raises(ValueError, match="dim_y >= 3"):
        spiral(multinormal_sparse(2, 2))


def test_half_cube_inverse_and_monotone_maps():
    z = np.linspace(-6, 6, 2001)
    cubed = maps.half_cube(z)
    np.testing.assert_allclose(np.sign(cubed) * np.abs(cubed) ** (2 / 3), z, atol=1e-12)
    for fn in (maps.half_cube, maps.normal_cdf, maps.asinh, maps.wiggly_x, maps.wiggly_y):
        assert np.all(np.diff(fn(z)) > 0), fn.__name__
    at_zero = 0.2 * np.sin(1.0) + 0.03 * np.sin(-2.5)
    np.testing.assert_allclose(maps.wiggly_x(np.array([0.0])), at_zero)


def test_normal_to_mixture_matches_root_finding_and_tails():
    weights, means = BIMODAL_X
    z = np.array([-8.0, -3.0, -0.5, 0.0, 0.4, 2.0, 5.0, 8.0])
    got = maps.normal_to_mixture(z, weights, means)
    for zi, xi in zip(z, got):
        if abs(zi) <= 3:  # where the plain CDF equation is well conditioned
            def gap(v, zi=zi):
                return maps.normal_mixture_cdf(v, weights, means) - ndtr(zi)

            root = brentq(gap, -30, 30, xtol=1e-14)
            assert xi == pytest.approx(root, abs=1e-9)
    # tails: survival / lower-tail equations hold to relative precision
    upper = sum(w * ndtr(m - got[-1]) for w, m in zip(weights, means))
    lower = sum(w * ndtr(got[0] - m) for w, m in zip(weights, means))
    assert upper == pytest.approx(ndtr(-8.0), rel=1e-9)
    assert lower == pytest.approx(ndtr(-8.0), rel=1e-9)
    assert np.all(np.diff(got) > 0)


def test_discrete_tasks_keep_their_labels():
    base = discrete_normal(2, 2, 1.0)
    task = half_cube(base)
    assert task.y_discrete and task.mutual_information == base.mutual_information
    assert task.mutual_information_stderr == base.mutual_information_stderr
    x, y = task.sample(100, seed=0)
    bx, by = base.sample(100, seed=0)
    np.testing.assert_array_equal(y, by)
    np.testing.assert_allclose(x, maps.half_cube(bx))
    with pytest.raises(ValueError, match="discrete"):
        transform_task(base, "neg", np.negative, np.negative)


def test_transform_task_keeps_discrete_x_and_refuses_to_map_it():
    from mmgap.tasks.mixed import mixed_blocks

    base = mixed_blocks(2, 3, 5, 0.75)
    assert base.x_discrete == (0, 2)
    kept = transform_task(base, "neg", None, np.negative)
    assert kept.x_discrete == base.x_discrete
    with pytest.raises(ValueError, match="discrete x"):
        transform_task(base, "neg", np.negative, None)
