"""Transforms: functions Task -> Task that push X and Y through injective maps.

The map of X and the map of Y act separately, so the true MI is unchanged; only how hard
the task is for an estimator changes. The new id is ``"{prefix}-{base.id}"`` (Beyond-Normal
style), and ``params["transforms"]`` lists the transforms applied, innermost first.
Transforming ``t`` then sampling with a seed gives exactly the maps applied to
``t.sample(n, seed)``.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Dict, Optional

import numpy as np

from mmgap.tasks import maps
from mmgap.tasks.task import Task

ArrayMap = Callable[[np.ndarray], np.ndarray]


def _sample_transformed(n, rng, base_sampler, map_x, map_y):
    x, y = base_sampler(n, rng)
    if map_x is not None:
        x = map_x(x)
    if map_y is not None:
        y = map_y(y)
    return x, y


def transform_task(
    task: Task,
    prefix: str,
    map_x: Optional[ArrayMap] = None,
    map_y: Optional[ArrayMap] = None,
    *,
    dim_x: Optional[int] = None,
    dim_y: Optional[int] = None,
    description: Optional[Dict[str, Any]] = None,
) -> Task:
    """The task of (map_x(X), map_y(Y)), with id ``f"{prefix}-{task.id}"``.

    The maps must be injective (and picklable: module-level functions or
    ``functools.partial`` of them) so that the MI is that of ``task``; ``None`` means the
    identity. ``dim_x``/``dim_y`` give the output dimensions when a map changes them.
    ``description`` (JSON-serialisable, default ``{"name": prefix}``) is appended to
    ``params["transforms"]``.
    """
    if map_y is not None and task.y_discrete:
        raise ValueError(f"task: {task.id!r} has a discrete label y; only x can be transformed")
    params = copy.deepcopy(task.params)
    params["transforms"] = list(params.get("transforms", [])) + [
        description if description is not None else {"name": prefix}
    ]
    return Task(
        id=f"{prefix}-{task.id}",
        dim_x=task.dim_x if dim_x is None else dim_x,
        dim_y=task.dim_y if dim_y is None else dim_y,
        mutual_information=task.mutual_information,
        sampler=functools.partial(
            _sample_transformed, base_sampler=task.sampler, map_x=map_x, map_y=map_y
        ),
        params=params,
        name=f"{prefix} @ {task.name}",
        mutual_information_stderr=task.mutual_information_stderr,
        y_discrete=task.y_discrete,
    )


def _y_map(task: Task, fn: ArrayMap) -> Optional[ArrayMap]:
    """Labels stay labels: continuous y only."""
    return None if task.y_discrete else fn


def half_cube(task: Task) -> Task:
    """``half_cube-{id}``: x -> x sqrt|x| on every coordinate of X and Y."""
    return transform_task(task, "half_cube", maps.half_cube, _y_map(task, maps.half_cube))


def normal_cdf(task: Task) -> Task:
    """``normal_cdf-{id}``: the standard normal CDF on every coordinate (values in (0, 1))."""
    return transform_task(task, "normal_cdf", maps.normal_cdf, _y_map(task, maps.normal_cdf))


def asinh(task: Task) -> Task:
    """``asinh-{id}``: arcsinh on every coordinate (thins heavy tails)."""
    return transform_task(task, "asinh", maps.asinh, _y_map(task, maps.asinh))


def wiggly(task: Task) -> Task:
    """``wiggly-{id}``: the increasing maps :func:`~mmgap.tasks.maps.wiggly_x` on X and
    :func:`~mmgap.tasks.maps.wiggly_y` on Y, coordinatewise."""
    return transform_task(task, "wiggly", maps.wiggly_x, _y_map(task, maps.wiggly_y))


def spiral(task: Task, speed: float = 1.0, normalize_speed: bool = True) -> Task:
    """``spiral-{id}``: the Beyond-Normal spiral on X and on Y.

    X is rotated in its (0, 1) coordinate plane and Y in its (1, 2) plane, by the angle
    ``speed_v * ||v||^2`` where ``speed_v = speed / dim_v`` when ``normalize_speed`` (the
    default) and ``speed`` otherwise (:func:`~mmgap.tasks.maps.spiral`). Needs dim_x >= 2
    and dim_y >= 3. Non-default parameters appear in the id (``spiral_2.0-...``,
    ``spiral_1.0_raw-...``).
    """
    if task.dim_x < 2 or task.dim_y < 3 or task.y_discrete:
        raise ValueError(
            f"task: spiral needs continuous x and y with dim_x >= 2 and dim_y >= 3; "
            f"{task.id!r} has dim_x={task.dim_x}, dim_y={task.dim_y}"
        )
    speed = float(speed)
    speed_x = speed / task.dim_x if normalize_speed else speed
    speed_y = speed / task.dim_y if normalize_speed else speed
    if speed == 1.0 and normalize_speed:
        prefix = "spiral"
    else:
        prefix = f"spiral_{speed}" + ("" if normalize_speed else "_raw")
    return transform_task(
        task,
        prefix,
        functools.partial(maps.spiral, i=0, j=1, speed=speed_x),
        functools.partial(maps.spiral, i=1, j=2, speed=speed_y),
        description={"name": "spiral", "speed": speed, "normalize_speed": bool(normalize_speed)},
    )


def swissroll_x(task: Task) -> Task:
    """``swissroll_x-{id}``: embed a 1-D X (meant to lie in [0, 1], e.g. after
    :func:`normal_cdf`) as a 2-D Swiss roll (:func:`~mmgap.tasks.maps.swissroll2d`);
    Y is unchanged. dim_x goes from 1 to 2."""
    if task.dim_x != 1:
        raise ValueError(f"task: swissroll_x needs dim_x == 1; {task.id!r} has dim_x={task.dim_x}")
    return transform_task(task, "swissroll_x", maps.swissroll2d, None, dim_x=2)
