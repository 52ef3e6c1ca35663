"""Ground-truth tasks: samplers whose mutual information, conditional mutual information or
differential entropy is known.

numpy/scipy only. A :class:`Task` has an ``id``, a ``quantity`` (``"mi"``, ``"cmi"`` or
``"entropy"``), ``dim_x``, ``dim_y``, ``dim_z``, the true value of its quantity in nats in
``mutual_information`` (also :attr:`Task.truth`; I(X; Y), I(X; Y | Z) or h(X)) and its
``mutual_information_stderr`` (0.0 when analytic), JSON-serialisable ``params``, and
``sample(n_samples, seed)``:

* ``"mi"``:      ``(x, y)``     -- float64 (n, dim_x), (n, dim_y); for ``y_discrete`` tasks y
  is an int64 label of shape (n,).
* ``"cmi"``:     ``(x, y, z)``  -- z float64 (n, dim_z), or an int64 label (n,) when
  ``z_discrete``.
* ``"entropy"``: ``(x,)``       -- a 1-tuple (``dim_y == 0``).

Quick use::

    from mmgap.tasks import get_task, list_tasks
    task = get_task("spiral-multinormal-sparse-5-5-2-2.0")
    x, y = task.sample(10_000, seed=0)
    task.mutual_information            # 1.0216512...
    [t.id for t in list_tasks("bmi40")]
    x, y, z = get_task("cmi-collider-1-0.5").sample(1000, seed=0)
    (x,) = get_task("entropy-gauss-5-0.5-1.0-0.0").sample(1000, seed=0)

Public names
------------
Records and registry:
    ``Task``            the task record (:mod:`mmgap.tasks.task`).
    ``get_task(id)``    a registered task; ValueError with close matches for an unknown id.
    ``list_tasks(suite=None)``, ``list_task_ids(suite=None)``
                        tasks / ids of a suite in :data:`SUITES`
                        (``"bmi40"``, ``"high-mi"``, ``"extra"``, ``"cmi"``, ``"entropy"``,
                        ``"all"``; None = all). ``"all"`` holds every quantity: filter on
                        ``task.quantity`` where only (x, y) tasks make sense.
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
Conditional-MI tasks (:mod:`mmgap.tasks.conditional`), exact I(X; Y | Z):
    ``cmi_gaussian_sparse(dim_x, dim_y, dim_z, n_interacting, correlation, loading)``
                                                       ``cmi-gauss-sparse-3-3-3-2-0.6-1.0``
    ``cmi_gaussian_dense(dim_x, dim_y, dim_z, off_diag, loading)``
                                                       ``cmi-gauss-dense-2-2-50-0.5-1.0``
    ``cmi_common_cause(dim_x, dim_y, dim_z, loading)`` ``cmi-common-cause-1-1-1-1.5`` (0)
    ``cmi_collider(dim, noise)``                       ``cmi-collider-1-0.5``
    ``cmi_chain(dim, a, b)``                           ``cmi-chain-1-1.0-1.0`` (0)
    ``cmi_student(dim_x, dim_y, dim_z, df, n_interacting, correlation, loading)``
                                                       ``cmi-student-2-2-2-1-0.6-1.0-3``
    ``cmi_discrete_z(dim, n_classes, max_correlation, mean_shift)``
                                                       ``cmi-discrete-z-2-2-3-0.8-1.0``
    ``gaussian_task_cov(task)``: joint covariance of a plain Gaussian MI / CMI task.
Entropy tasks (:mod:`mmgap.tasks.entropy`), exact h(X):
    ``entropy_gaussian(dim, correlation, log_scale_range, mean)``
                                                       ``entropy-gauss-5-0.5-1.0-0.0``
    ``entropy_uniform(dim)``                           ``entropy-uniform-5``
    ``entropy_student(dim, df, correlation, log_scale_range)``
                                                       ``entropy-student-5-0.5-1.0-4``
    ``transform_entropy_task(task, name)``, name in half_cube / exp / normal_cdf:
                                                       ``exp-entropy-gauss-1-0.5-0.0-0.5``
Transforms, Task -> Task, id ``"{name}-" + base.id`` (:mod:`mmgap.tasks.transforms`):
    ``half_cube``, ``normal_cdf``, ``asinh``, ``wiggly``, ``spiral`` (on x, y and, for a CMI
    task, z), ``swissroll_x``, the generic ``transform_task``, and
    ``transform_variables(task, name, variables)`` for a chosen subset of x, y, z
    (``half_cube_z-cmi-collider-1-0.5``).
MI matrices and feature rankings (:mod:`mmgap.tasks.matrix`, issue 14), exact pairwise MI:
    ``MatrixTask``, ``gaussian_graphical_table(n_vars, n_discrete, transforms, density,
    n_components, seed)``                              ``ggm-table-20-3-0.05-1-0``
        (``sample(n, seed)`` -> (n, p) table, ``truth`` (p, p) with a NaN diagonal)
    ``FeatureTargetTask``, ``feature_target_task(n_features, n_informative, n_redundant,
    r_squared, n_classes, transforms, seed)``          ``feature-target-20-5-5-0.9-0``
        (``sample(n, seed)`` -> (x, y), ``truth[j]`` = I(X_j; y))
    ``latent_gaussian_mi``, ``bivariate_normal_cell_probabilities``: MI of monotone maps or
    threshold levels of a bivariate normal.
Harder ground truth (issue 16):
    ``coupled_pairs(dim, n_pairs, mi)``                ``coupled-pairs-50-25-50.0``
        (k coupled normal pairs out of d, exact truth; suite ``"many-pairs"``)
    ``student_sparse(dim_x, dim_y, n_interacting, strength, df)``
                                                       ``student-sparse-5-5-2-200.0-3``
    :mod:`mmgap.tasks.fine`: ``fine_x``, ``fine_permutation``, ``fine_ring``, ``fine_inliers``,
        ``fine_concentric``, ``fine_clusters`` (Gaussian mixtures, Monte Carlo truth; suite
        ``"fine"``)
    :mod:`mmgap.tasks.blobs`: ``blob_images(size, n_latent, mi)`` ``blobs-16-2-4.0`` (images
        with the MI of their latents; ``task.x_shape`` and ``task.shaped(sample)``; suite
        ``"images-known"``)
True values (:mod:`mmgap.tasks.truth`):
    ``gaussian_mi``, ``student_t_mi``, ``student_t_mi_correction``, ``additive_uniform_mi``,
    ``gaussian_pointwise_mi``, ``gaussian_cmi``, ``student_t_cmi``, ``gaussian_entropy``,
    ``student_t_entropy``, ``student_t_entropy_dispersion``, ``uniform_box_entropy``,
    ``gaussian_mixture_mi_monte_carlo``.

The array maps behind the transforms (``x * sqrt|x|``, the spiral rotation, the Swiss roll,
the normal-to-mixture map) are in :mod:`mmgap.tasks.maps`. The MI constructions follow the
Beyond-Normal benchmark (Czyz et al., NeurIPS 2023, package ``benchmark-mi``), re-implemented
here: same ids, same distributions, same true MI; the random streams differ.
"""

from mmgap.tasks.conditional import (
    cmi_chain,
    cmi_collider,
    cmi_common_cause,
    cmi_discrete_z,
    cmi_gaussian_dense,
    cmi_gaussian_sparse,
    cmi_student,
    gaussian_task_cov,
)
from mmgap.tasks.entropy import (
    entropy_gaussian,
    entropy_student,
    entropy_uniform,
    transform_entropy_task,
)
from mmgap.tasks.families import (
    additive_uniform,
    bimodal,
    bivariate_normal,
    coupled_pairs,
    discrete_normal,
    independent_normal,
    multinormal_dense,
    multinormal_sparse,
    student_identity,
    student_sparse,
)
from mmgap.tasks.matrix import (
    FeatureTargetTask,
    MatrixTask,
    bivariate_normal_cell_probabilities,
    feature_target_task,
    gaussian_graphical_table,
    latent_gaussian_mi,
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
    transform_variables,
    wiggly,
)
from mmgap.tasks.truth import (
    additive_uniform_mi,
    gaussian_cmi,
    gaussian_entropy,
    gaussian_mi,
    gaussian_pointwise_mi,
    student_t_cmi,
    student_t_entropy,
    student_t_entropy_dispersion,
    student_t_mi,
    student_t_mi_correction,
    uniform_box_entropy,
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
    "student_sparse",
    "coupled_pairs",
    "independent_normal",
    "discrete_normal",
    "half_cube",
    "normal_cdf",
    "asinh",
    "wiggly",
    "spiral",
    "swissroll_x",
    "transform_task",
    "transform_variables",
    "cmi_gaussian_sparse",
    "cmi_gaussian_dense",
    "cmi_common_cause",
    "cmi_collider",
    "cmi_chain",
    "cmi_student",
    "cmi_discrete_z",
    "gaussian_task_cov",
    "entropy_gaussian",
    "entropy_uniform",
    "entropy_student",
    "transform_entropy_task",
    "MatrixTask",
    "FeatureTargetTask",
    "gaussian_graphical_table",
    "feature_target_task",
    "latent_gaussian_mi",
    "bivariate_normal_cell_probabilities",
    "gaussian_mi",
    "student_t_mi",
    "student_t_mi_correction",
    "additive_uniform_mi",
    "gaussian_pointwise_mi",
    "gaussian_cmi",
    "student_t_cmi",
    "gaussian_entropy",
    "student_t_entropy",
    "student_t_entropy_dispersion",
    "uniform_box_entropy",
]
