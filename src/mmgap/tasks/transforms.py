"""Transforms: functions Task -> Task that push X, Y (and Z) through injective maps.

The map of X, the map of Y and, for a conditional-MI task, the map of Z act separately, so
the true MI I(X; Y) and the true CMI I(X; Y | Z) are unchanged; only how hard the task is
for an estimator changes. The new id is ``"{prefix}-{base.id}"`` (Beyond-Normal style), and
``params["transforms"]`` lists the transforms applied, innermost first. Transforming ``t``
then sampling with a seed gives exactly the maps applied to ``t.sample(n, seed)``.

An entropy task cannot go through these: h(X) changes under a map (by E log|det f'|); see
:func:`mmgap.tasks.entropy.transform_entropy_task` for the maps whose change is known.

The named transforms (``half_cube``, ``normal_cdf``, ``asinh``, ``wiggly``, ``spiral``) map
every continuous variable of the task: x and y, and z for a CMI task.
:func:`transform_variables` maps only the variables you choose (``"z"``, ``"xy"``, ...).
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Dict, Optional

import numpy as np

from mmgap.tasks import maps
from mmgap.tasks.task import Task

ArrayMap = Callable[[np.ndarray], np.ndarray]


def _sample_transformed(n, rng, base_sampler, map_x, map_y, map_z=None):
    arrays = list(base_sampler(n, rng))
    for i, fn in enumerate((map_x, map_y, map_z)):
        if fn is not None:
            arrays[i] = fn(arrays[i])
    return tuple(arrays)


def transform_task(
    task: Task,
    prefix: str,
    map_x: Optional[ArrayMap] = None,
    map_y: Optional[ArrayMap] = None,
    *,
    map_z: Optional[ArrayMap] = None,
    dim_x: Optional[int] = None,
    dim_y: Optional[int] = None,
    dim_z: Optional[int] = None,
    description: Optional[Dict[str, Any]] = None,
) -> Task:
    """The task of (map_x(X), map_y(Y)) -- or (map_x(X), map_y(Y), map_z(Z)) for a
    conditional-MI task -- with id ``f"{prefix}-{task.id}"``.

    The maps must be injective (and picklable: module-level functions or
    ``functools.partial`` of them) so that the MI (or CMI) is that of ``task``; ``None``
    means the identity. ``dim_x``/``dim_y``/``dim_z`` give the output dimensions when a map
    changes them. ``description`` (JSON-serialisable, default ``{"name": prefix}``) is
    appended to ``params["transforms"]``.
    """
    if task.quantity == "entropy":
        raise ValueError(
            f"task: {task.id!r} is an entropy task; h(X) changes under a map, so use "
            "mmgap.tasks.entropy.transform_entropy_task"
        )
    if map_x is not None and task.x_discrete:
        raise ValueError(f"task: {task.id!r} has discrete x columns ({task.x_discrete!r}); "
                         "a map would change what is discrete, so only y can be transformed")
    if map_y is not None and task.y_discrete:
        raise ValueError(f"task: {task.id!r} has a discrete label y; only x can be transformed")
    if map_z is not None and task.quantity != "cmi":
        raise ValueError(f"map_z: task {task.id!r} has no z (quantity {task.quantity!r})")
    if map_z is not None and task.z_discrete:
        raise ValueError(f"map_z: task {task.id!r} has a discrete label z; it cannot be mapped")
    if (dim_z is not None) and task.quantity != "cmi":
        raise ValueError(f"dim_z: task {task.id!r} has no z (quantity {task.quantity!r})")
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
            _sample_transformed, base_sampler=task.sampler, map_x=map_x, map_y=map_y,
            map_z=map_z,
        ),
        params=params,
        name=f"{prefix} @ {task.name}",
        mutual_information_stderr=task.mutual_information_stderr,
        x_discrete=task.x_discrete,
        y_discrete=task.y_discrete,
        dim_z=task.dim_z if dim_z is None else dim_z,
        z_discrete=task.z_discrete,
        quantity=task.quantity,
        # an image stays an image when the map keeps its dimension
        x_shape=task.x_shape if dim_x in (None, task.dim_x) else None,
        y_shape=task.y_shape if dim_y in (None, task.dim_y) else None,
    )


def _y_map(task: Task, fn: ArrayMap) -> Optional[ArrayMap]:
    """Labels stay labels: continuous y only."""
    return None if task.y_discrete else fn


def _z_map(task: Task, fn: ArrayMap) -> Optional[ArrayMap]:
    """A continuous z of a conditional-MI task only."""
    return fn if task.quantity == "cmi" and not task.z_discrete else None


def half_cube(task: Task) -> Task:
    """``half_cube-{id}``: x -> x sqrt|x| on every coordinate of X and Y (and Z)."""
    return transform_task(task, "half_cube", maps.half_cube, _y_map(task, maps.half_cube),
                          map_z=_z_map(task, maps.half_cube))


def normal_cdf(task: Task) -> Task:
    """``normal_cdf-{id}``: the standard normal CDF on every coordinate of X, Y (and Z)
    (values in (0, 1))."""
    return transform_task(task, "normal_cdf", maps.normal_cdf, _y_map(task, maps.normal_cdf),
                          map_z=_z_map(task, maps.normal_cdf))


def asinh(task: Task) -> Task:
    """``asinh-{id}``: arcsinh on every coordinate of X, Y (and Z) (thins heavy tails)."""
    return transform_task(task, "asinh", maps.asinh, _y_map(task, maps.asinh),
                          map_z=_z_map(task, maps.asinh))


def wiggly(task: Task) -> Task:
    """``wiggly-{id}``: the increasing maps :func:`~mmgap.tasks.maps.wiggly_x` on X and
    :func:`~mmgap.tasks.maps.wiggly_y` on Y, coordinatewise (and ``wiggly_x`` on Z)."""
    return transform_task(task, "wiggly", maps.wiggly_x, _y_map(task, maps.wiggly_y),
                          map_z=_z_map(task, maps.wiggly_x))


def spiral(task: Task, speed: float = 1.0, normalize_speed: bool = True) -> Task:
    """``spiral-{id}``: the Beyond-Normal spiral on X and on Y.

    X is rotated in its (0, 1) coordinate plane and Y in its (1, 2) plane, by the angle
    ``speed_v * ||v||^2`` where ``speed_v = speed / dim_v`` when ``normalize_speed`` (the
    default) and ``speed`` otherwise (:func:`~mmgap.tasks.maps.spiral`). Needs dim_x >= 2
    and dim_y >= 3. For a conditional-MI task with a continuous z of dimension >= 2, Z is
    rotated in its (0, 1) plane too (``speed_z = speed / dim_z``). Non-default parameters
    appear in the id (``spiral_2.0-...``, ``spiral_1.0_raw-...``).
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
    map_z = None
    if task.quantity == "cmi" and not task.z_discrete and task.dim_z >= 2:
        speed_z = speed / task.dim_z if normalize_speed else speed
        map_z = functools.partial(maps.spiral, i=0, j=1, speed=speed_z)
    return transform_task(
        task,
        prefix,
        functools.partial(maps.spiral, i=0, j=1, speed=speed_x),
        functools.partial(maps.spiral, i=1, j=2, speed=speed_y),
        map_z=map_z,
        description={"name": "spiral", "speed": speed, "normalize_speed": bool(normalize_speed)},
    )


def swissroll_x(task: Task) -> Task:
    """``swissroll_x-{id}``: embed a 1-D X (meant to lie in [0, 1], e.g. after
    :func:`normal_cdf`) as a 2-D Swiss roll (:func:`~mmgap.tasks.maps.swissroll2d`);
    Y is unchanged. dim_x goes from 1 to 2."""
    if task.dim_x != 1:
        raise ValueError(f"task: swissroll_x needs dim_x == 1; {task.id!r} has dim_x={task.dim_x}")
    return transform_task(task, "swissroll_x", maps.swissroll2d, None, dim_x=2)


_ELEMENTWISE = {
    "half_cube": maps.half_cube,
    "normal_cdf": maps.normal_cdf,
    "asinh": maps.asinh,
    "wiggly": maps.wiggly_x,
}
VARIABLE_MAPS = tuple(_ELEMENTWISE) + ("spiral",)


def transform_variables(task: Task, name: str, variables: str = "xyz") -> Task:
    """Map only the chosen variables of an MI or CMI task; the MI / CMI is unchanged.

    Args:
        task: an ``"mi"`` or ``"cmi"`` task.
        name: one of :data:`VARIABLE_MAPS`: ``"half_cube"``, ``"normal_cdf"``, ``"asinh"``,
            ``"wiggly"`` (:func:`~mmgap.tasks.maps.wiggly_x` on each chosen variable) act on
            every coordinate; ``"spiral"`` rotates each chosen variable in its (0, 1)
            coordinate plane by ``||v||^2 / dim_v`` (needs dim >= 2).
        variables: the letters of the variables to map, a non-empty subset of ``"xyz"``
            (``"xy"`` for an MI task), in any order; discrete labels cannot be mapped.

    Returns:
        A task with id ``f"{name}-{task.id}"`` when every continuous variable of the task is
        mapped (the same task as the named transform, e.g. :func:`half_cube`), and
        ``f"{name}_{letters}-{task.id}"`` otherwise (letters in x, y, z order), e.g.
        ``asinh_z-cmi-collider-1-0.5``. ``"spiral"`` always carries its letters
        (``spiral_xyz-...``), since its rotation planes differ from :func:`spiral`'s.
    """
    if name not in VARIABLE_MAPS:
        raise ValueError(f"name: expected one of {list(VARIABLE_MAPS)}, got {name!r}")
    if not isinstance(variables, str) or not variables or set(variables) - set("xyz") \
            or len(set(variables)) != len(variables):
        raise ValueError(
            f"variables: expected distinct letters among 'x', 'y', 'z', got {variables!r}"
        )
    if task.quantity not in ("mi", "cmi"):
        raise ValueError(
            f"task: {task.id!r} is an {task.quantity} task; use "
            "mmgap.tasks.entropy.transform_entropy_task"
        )
    present = "xyz" if task.quantity == "cmi" else "xy"
    continuous = "".join(
        v for v in present if not {"y": task.y_discrete, "z": task.z_discrete}.get(v, False)
    )
    letters = "".join(v for v in "xyz" if v in variables)
    dims = {"x": task.dim_x, "y": task.dim_y, "z": task.dim_z}
    discrete = {"x": False, "y": task.y_discrete, "z": task.z_discrete}
    chosen = {}
    for v in letters:
        if v not in present:
            raise ValueError(f"variables: task {task.id!r} has no {v}")
        if discrete[v]:
            raise ValueError(f"variables: {v} of task {task.id!r} is a discrete label")
        if name == "spiral":
            if dims[v] < 2:
                raise ValueError(
                    f"variables: spiral needs dimension >= 2; {v} of {task.id!r} has "
                    f"dimension {dims[v]}"
                )
            chosen[v] = functools.partial(maps.spiral, i=0, j=1, speed=1.0 / dims[v])
        else:
            chosen[v] = _ELEMENTWISE[name]
    # spiral always names its letters: its planes differ from those of spiral()
    prefix = name if letters == continuous and name != "spiral" else f"{name}_{letters}"
    return transform_task(
        task,
        prefix,
        chosen.get("x"),
        chosen.get("y"),
        map_z=chosen.get("z"),
        description={"name": name, "variables": letters},
    )
