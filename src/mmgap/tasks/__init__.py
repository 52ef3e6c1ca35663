"""Ground-truth tasks: samplers of (x, y) whose mutual information is known.

numpy/scipy only. A :class:`Task` has an ``id``, ``dim_x``, ``dim_y``, the true
``mutual_information`` (nats) and its ``mutual_information_stderr`` (0.0 when analytic),
JSON-serialisable ``params``, and ``sample(n_samples, seed) -> (x, y)`` (float64 arrays of
shape (n, dim_x), (n, dim_y); for ``y_discrete`` tasks y is an int64 label of shape (n,)).

Quick use::

    from mmgap.tasks import get_task, list_tasks
    task = get_task("spiral-multinormal-sparse-5-5-2-2.0")
    x, y = task.sample(10_000, seed=0)
    task.mutual_information            # 1.0216512...
    [t.id for t in list_tasks("bmi40")]

Public names
------------
Records and registry:
    ``Task``            the task record (:mod:`mmgap.tasks.task`).
    ``get_task(id)``    a registered task; ValueError with close matches for an unknown id.
    ``list_tasks(suite=None)``, ``list_task_ids(suite=None)``
                        tasks / ids of a suite in :data:`SUITES`
                        (``"bmi40"``, ``"high-mi"``, ``"extra"``, ``"all"``; None = all).
    ``SUITES``, ``HIGH_MI_DIMS``, ``HIGH_MI_STRENGTHS``
Base tasks (:mod:`mmgap.tasks.families`):
    ``bivariate_normal(correlation)``                  ``1v1-normal-0.75``
    ``additive_uniform(epsilon)``                      ``1v1-additive-0.1``
    ``bimodal(correlation)``                           ``1v1-bimodal-0.75``
    ``multinormal_dense(dim_x, dim_y, off_diag)``      ``multinormal-dense-5-5-0.5``
    ``multinormal_sparse(dim_x, dim_y, n_interacting, strength)``
                                                       ``multinormal-sparse-5-5-2-2.0``;
        the high-MI tasks are ``multinormal-sparse-{d}-{d}-2-{s}`` with s in
        {200.0, 650.0, 1100.0, 1550.0, 2000.0}: pair correlation s^2 / (1 + s^2).
    ``student_identity(dim_x, dim_y, df)``             ``student-identity-2-2-1``
    ``independent_normal(dim_x, dim_y)``               ``independent-normal-2-2`` (I = 0)
    ``discrete_normal(dim_x, n_classes, scale)``       ``discrete-normal-4-4-2.0``
        (label y; Monte Carlo truth with a stored standard error)
Transforms, Task -> Task, id ``"{name}-" + base.id`` (:mod:`mmgap.tasks.transforms`):
    ``half_cube``, ``normal_cdf``, ``asinh``, ``wiggly``, ``spiral``, ``swissroll_x``,
    and the generic ``transform_task``.
True-MI formulas (:mod:`mmgap.tasks.truth`):
    ``gaussian_mi``, ``student_t_mi``, ``student_t_mi_correction``, ``additive_uniform_mi``.

The array maps behind the transforms (``x * sqrt|x|``, the spiral rotation, the Swiss roll,
the normal-to-mixture map) are in :mod:`mmgap.tasks.maps`. The constructions follow the
Beyond-Normal benchmark (Czyz et al., NeurIPS 2023, package ``benchmark-mi``), re-implemented
here: same ids, same distributions, same true MI; the random streams differ.
"""

from mmgap.tasks.families import (
    additive_uniform,
    bimodal,
    bivariate_normal,
    discrete_normal,
    independent_normal,
    multinormal_dense,
    multinormal_sparse,
    student_identity,
)
from mmgap.tasks.registry import (
    HIGH_MI_DIMS,
    HIGH_MI_STRENGTHS,
    SUITES,
    get_task,
    list_task_ids,
    list_tasks,
)
from mmgap.tasks.task import Task
from mmgap.tasks.transforms import (
    asinh,
    half_cube,
    normal_cdf,
    spiral,
    swissroll_x,
    transform_task,
    wiggly,
)
from mmgap.tasks.truth import (
    additive_uniform_mi,
    gaussian_mi,
    student_t_mi,
    student_t_mi_correction,
)

__all__ = [
    "Task",
    "get_task",
    "list_tasks",
    "list_task_ids",
    "SUITES",
    "HIGH_MI_DIMS",
    "HIGH_MI_STRENGTHS",
    "bivariate_normal",
    "additive_uniform",
    "bimodal",
    "multinormal_dense",
    "multinormal_sparse",
    "student_identity",
    "independent_normal",
    "discrete_normal",
    "half_cube",
    "normal_cdf",
    "asinh",
    "wiggly",
    "spiral",
    "swissroll_x",
    "transform_task",
    "gaussian_mi",
    "student_t_mi",
    "student_t_mi_correction",
    "additive_uniform_mi",
]
