"""Named suites of tasks and lookup by id.

Suites:
    ``"bmi40"``   the 40 tasks of the Beyond-Normal benchmark (Czyz et al., NeurIPS 2023),
                  in that benchmark's order, with its ids.
    ``"high-mi"`` the high-MI family of the MMG paper: 2-pair sparse normals,
                  dim_x = dim_y = d in {3, 5, 10, 20, 50}, strength in
                  {200, 650, 1100, 1550, 2000} (9.90 ... 14.51 nats), plain, half-cube
                  and spiral (75 tasks), then (issue 16) the Student-t (df 3) with the
                  same sparse dispersion, plain and under asinh (50 tasks; 10.20 ... 14.81
                  nats).
    ``"extra"``   discrete-label and independent (I = 0) tasks.
    ``"cmi"``     conditional-MI tasks (``quantity == "cmi"``, ``sample`` returns
                  (x, y, z), truth I(X; Y | Z)): Gaussian with sparse and dense
                  interactions (blocks of 1 to 25 dims, one with a 50-dim Z), common
                  cause and chain (I(X; Y | Z) = 0), collider, Student-t, a discrete Z,
                  and transformed versions (25 tasks; :mod:`mmgap.tasks.conditional`).
    ``"entropy"`` differential-entropy tasks (``quantity == "entropy"``, ``sample``
                  returns (x,), truth h(X)): Gaussian, uniform box, Student-t and
                  half-cube / exp / normal-CDF maps of Gaussians, dims 1 to 50
                  (21 tasks; :mod:`mmgap.tasks.entropy`).
    ``"mixed"``   discrete and mixed MI tasks (``x_discrete`` / ``y_discrete`` set, or
                  columns with atoms): discrete channels, parity and sums of discrete
                  columns, class x uniform / Gaussian (and Gaussian x class label), the
                  zero-inflated Poisson and Gaussian/binary mixture of Gao et al. (2017),
                  zero-inflated and censored Gaussians, x with discrete and continuous
                  columns (25 tasks; :mod:`mmgap.tasks.mixed`).
    ``"fine"``    fine-structure Gaussian mixtures with a Monte Carlo truth (narrow
                  components: information at high SNR), 1+1 to 5+5 dims, plain, spiral
                  and asinh (13 tasks; :mod:`mmgap.tasks.fine`).
    ``"many-pairs"`` k coupled normal pairs out of d dims, d in {10, 20, 50, 100, 160},
                  k in {2, d/2, d}, total MI in {5, 20, 50, 80} nats (at most 10 per pair),
                  and half-cube / spiral versions at d in {10, 20, 50}, 20 nats.
    ``"images-known"`` blob images whose MI equals that of their Gaussian latents
                  (16x16 and 32x32, 2 or 4 latents, 1 to 10 nats; x and y are images,
                  ``task.x_shape``; :mod:`mmgap.tasks.blobs`).
    ``"all"``     all of the above, in the order of :data:`SUITES` (so the MI tasks of
                  ``"mixed"`` come after the CMI and entropy tasks); code that only
                  handles (x, y) should filter on ``task.quantity == "mi"``, and code that
                  only handles continuous data on ``task.x_discrete`` and
                  ``task.y_discrete``.

Tasks are built on request (cheap; the Monte Carlo truths of the discrete-label tasks are
computed once per process and cached).
"""

from __future__ import annotations

import difflib
import functools
from typing import Callable, Dict, List, Optional, Tuple

from mmgap.tasks import blobs
from mmgap.tasks import conditional as cond
from mmgap.tasks import entropy as ent
from mmgap.tasks import families as fam
from mmgap.tasks import fine
from mmgap.tasks import mixed as mix
from mmgap.tasks import transforms as tr
from mmgap.tasks.task import Task

HIGH_MI_DIMS = (3, 5, 10, 20, 50)
HIGH_MI_STRENGTHS = (200.0, 650.0, 1100.0, 1550.0, 2000.0)
HIGH_MI_STUDENT_DF = 3
MANY_PAIRS_DIMS = (10, 20, 50, 100, 160)
MANY_PAIRS_MI = (5.0, 20.0, 50.0, 80.0)

Factory = Callable[[], Task]


def _compose(*steps: Callable) -> Factory:
    """``_compose(t1, t2, base)`` -> a factory for ``t1(t2(base()))``."""
    *transforms, base = steps

    def build() -> Task:
        task = base()
        for transform in reversed(transforms):
            task = transform(task)
        return task

    return build


def _p(fn: Callable, *args, **kwargs) -> Factory:
    return functools.partial(fn, *args, **kwargs)


def _bmi40_factories() -> Dict[str, Factory]:
    binormal = _p(fam.bivariate_normal, 0.75)
    student_1 = _p(fam.student_identity, 1, 1, 1)
    pair = {d: _p(fam.multinormal_sparse, d, d, 2, 2.0) for d in (2, 3, 5, 25)}
    steps = [
        (binormal,),
        (tr.normal_cdf, binormal),
        (_p(fam.additive_uniform, 0.1),),
        (_p(fam.additive_uniform, 0.75),),
        (_p(fam.bimodal, 0.75),),
        (tr.wiggly, binormal),
        (tr.half_cube, binormal),
        (student_1,),
        (tr.asinh, student_1),
        (tr.swissroll_x, tr.normal_cdf, binormal),
        *[(_p(fam.multinormal_dense, d, d, 0.5),) for d in (2, 3, 5, 25, 50)],
        *[(pair[d],) for d in (2, 3, 5, 25)],
        *[
            (_p(fam.student_identity, d, d, df),)
            for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))
        ],
        *[(tr.normal_cdf, pair[d]) for d in (3, 5, 25)],
        *[(tr.half_cube, pair[d]) for d in (3, 5, 25)],
        *[(tr.spiral, pair[d]) for d in (3, 5, 25)],
        *[(tr.spiral, tr.normal_cdf, pair[d]) for d in (3, 5, 25)],
        *[(tr.asinh, _p(fam.student_identity, d, d, df)) for d, df in ((2, 1), (3, 2), (5, 2))],
    ]
    return _by_id(_compose(*s) for s in steps)


def _high_mi_factories() -> Dict[str, Factory]:
    factories = []
    for transform in (None, tr.half_cube, tr.spiral):
        for d in HIGH_MI_DIMS:
            for s in HIGH_MI_STRENGTHS:
                base = _p(fam.multinormal_sparse, d, d, 2, s)
                factories.append(base if transform is None else _compose(transform, base))
    # the non-Gaussian versions of issue 16: a Student-t with the same sparse dispersion,
    # plain and under asinh (the plain asinh of the Gaussian is left out: the rank map
    # undoes any coordinatewise increasing map, so it repeats half_cube)
    for transform in (None, tr.asinh):
        for d in HIGH_MI_DIMS:
            for s in HIGH_MI_STRENGTHS:
                base = _p(fam.student_sparse, d, d, 2, s, HIGH_MI_STUDENT_DF)
                factories.append(base if transform is None else _compose(transform, base))
    return _by_id(factories)


def _fine_factories() -> Dict[str, Factory]:
    clusters = _p(fine.fine_clusters, 5, 8, 0.2)
    return _by_id(
        [
            _p(fine.fine_x, 0.9),
            _p(fine.fine_x, 0.99),
            _p(fine.fine_permutation, 4, 0.1),
            _p(fine.fine_permutation, 8, 0.3),
            _p(fine.fine_ring, 12, 0.1),
            _p(fine.fine_ring, 24, 0.05),
            _p(fine.fine_inliers, 5, 0.2),
            _p(fine.fine_concentric, 3),
            _p(fine.fine_clusters, 2, 6, 0.1),
            clusters,
            _p(fine.fine_clusters, 5, 16, 0.1),
            _compose(tr.spiral, clusters),
            _compose(tr.asinh, _p(fine.fine_concentric, 3)),
        ]
    )


def _many_pairs_factories() -> Dict[str, Factory]:
    factories = []
    for d in MANY_PAIRS_DIMS:
        for k in sorted({2, d // 2, d}):
            for mi in MANY_PAIRS_MI:
                if mi / k <= fam.MAX_PAIR_MI:
                    factories.append(_p(fam.coupled_pairs, d, k, mi))
    for d in (10, 20, 50):  # the transformed versions at 20 nats
        for transform in (tr.half_cube, tr.spiral):
            factories.append(_compose(transform, _p(fam.coupled_pairs, d, d // 2, 20.0)))
    return _by_id(factories)


def _images_known_factories() -> Dict[str, Factory]:
    return _by_id(
        _p(blobs.blob_images, size, m, mi)
        for size in (16, 32)
        for m, mi in ((2, 1.0), (2, 4.0), (2, 10.0), (4, 2.0), (4, 5.0), (4, 10.0))
    )


def _extra_factories() -> Dict[str, Factory]:
    return _by_id(
        [
            _p(fam.discrete_normal, 2, 2, 1.0),
            _p(fam.discrete_normal, 4, 4, 2.0),
            _p(fam.discrete_normal, 10, 10, 3.0),
            _p(fam.independent_normal, 1, 1),
            _p(fam.independent_normal, 2, 2),
            _p(fam.independent_normal, 10, 10),
        ]
    )


def _cmi_factories() -> Dict[str, Factory]:
    sparse_3 = _p(cond.cmi_gaussian_sparse, 3, 3, 3, 2, 0.6, 1.0)
    sparse_5 = _p(cond.cmi_gaussian_sparse, 5, 5, 5, 2, 0.75, 1.0)
    student_2 = _p(cond.cmi_student, 2, 2, 2, 3, 1, 0.6, 1.0)
    collider_1 = _p(cond.cmi_collider, 1, 0.5)
    steps = [
        (_p(cond.cmi_gaussian_sparse, 1, 1, 1, 1, 0.6, 1.0),),
        (sparse_3,),
        (sparse_5,),
        (_p(cond.cmi_gaussian_sparse, 10, 10, 10, 3, 0.6, 1.0),),
        (_p(cond.cmi_gaussian_sparse, 25, 25, 25, 2, 0.8, 1.0),),
        (_p(cond.cmi_gaussian_dense, 2, 2, 2, 0.5, 1.0),),
        (_p(cond.cmi_gaussian_dense, 5, 5, 5, 0.5, 1.0),),
        (_p(cond.cmi_gaussian_dense, 10, 10, 5, 0.3, 1.0),),
        (_p(cond.cmi_gaussian_dense, 2, 2, 50, 0.5, 1.0),),
        (_p(cond.cmi_common_cause, 1, 1, 1, 1.5),),
        (_p(cond.cmi_common_cause, 5, 5, 5, 1.0),),
        (collider_1,),
        (_p(cond.cmi_collider, 3, 1.0),),
        (_p(cond.cmi_chain, 1, 1.0, 1.0),),
        (_p(cond.cmi_chain, 3, 1.0, 0.8),),
        (_p(cond.cmi_student, 1, 1, 1, 3, 1, 0.6, 1.0),),
        (student_2,),
        (_p(cond.cmi_student, 5, 5, 5, 5, 2, 0.6, 1.0),),
        (_p(cond.cmi_discrete_z, 2, 3, 0.8, 1.0),),
        (_p(cond.cmi_discrete_z, 5, 4, 0.8, 1.0),),
        (tr.half_cube, sparse_3),
        (tr.normal_cdf, sparse_5),
        (tr.spiral, sparse_5),
        (tr.asinh, student_2),
        (_p(tr.transform_variables, name="half_cube", variables="z"), collider_1),
    ]
    return _by_id(_compose(*s) for s in steps)


def _entropy_factories() -> Dict[str, Factory]:
    def mapped(name, *args):
        return _compose(_p(ent.transform_entropy_task, name=name),
                        _p(ent.entropy_gaussian, *args))

    return _by_id(
        [
            _p(ent.entropy_gaussian, 1, 0.5, 0.0, 0.0),
            _p(ent.entropy_gaussian, 2, 0.5, 1.0, 0.0),
            _p(ent.entropy_gaussian, 5, 0.5, 1.0, 0.0),
            _p(ent.entropy_gaussian, 10, 0.7, 1.0, 0.0),
            _p(ent.entropy_gaussian, 20, 0.5, 2.0, 0.0),
            _p(ent.entropy_gaussian, 50, 0.5, 1.0, 0.0),
            *[_p(ent.entropy_uniform, d) for d in (1, 2, 5, 10, 20)],
            _p(ent.entropy_student, 1, 3),
            _p(ent.entropy_student, 2, 3),
            _p(ent.entropy_student, 5, 4),
            _p(ent.entropy_student, 10, 5),
            mapped("half_cube", 2, 0.5, 1.0, 0.0),
            mapped("half_cube", 10, 0.7, 1.0, 0.0),
            mapped("exp", 1, 0.5, 0.0, 0.5),
            mapped("exp", 5, 0.5, 1.0, 0.5),
            mapped("normal_cdf", 2, 0.5, 0.0, 0.0),
            mapped("normal_cdf", 10, 0.5, 0.0, 0.0),
        ]
    )


def _mixed_factories() -> Dict[str, Factory]:
    return _by_id(
        [
            # discrete x, discrete y
            _p(mix.discrete_symmetric, 2, 0.1),
            _p(mix.discrete_symmetric, 10, 0.3),
            _p(mix.discrete_thinning, 20, 0.5, 0.7),
            _p(mix.discrete_parity, 3, 0.1),
            _p(mix.discrete_sum, 4, 3, 3),
            # discrete x, continuous y (and a continuous x with a label y)
            *[_p(mix.class_uniform, m) for m in (2, 5, 10, 50)],
            _p(mix.class_gaussian, 2, 1, 2.0, 1.0),
            _p(mix.class_gaussian, 5, 3, 2.0, 0.6),
            _p(mix.class_gaussian, 10, 5, 1.5, 1.0),
            _p(mix.gaussian_class, 3, 4, 2.0, 1.0),
            _p(mix.gaussian_class, 1, 20, 1.0, 0.9),
            # zero-inflated, censored, point masses plus densities
            _p(mix.zero_inflated_poisson, 0.15),
            _p(mix.gauss_bsc_mixture, 1, 0.9, 0.9, 0.5),
            _p(mix.gauss_bsc_mixture, 3, 0.9, 0.9, 0.5),
            _p(mix.dropout_gaussian, 1, 0.5, 0.5),
            _p(mix.dropout_gaussian, 5, 0.7, 1.0),
            _p(mix.censored_gaussian, 1, 0.0, 0.5),
            _p(mix.censored_gaussian, 3, 0.5, 1.0),
            # x with discrete and continuous columns
            _p(mix.mixed_blocks, 1, 1, 4, 0.8),
            _p(mix.mixed_blocks, 2, 3, 5, 0.75),
            _p(mix.mixed_sign, 1, 0.5),
            _p(mix.mixed_sign, 3, 1.0),
        ]
    )


def _task_id_of(factory: Factory) -> str:
    """The id a factory produces. Builds the task, except for constructors with a
    ``task_id`` attribute (Monte Carlo truths), whose id is known without the integral."""
    id_of = getattr(getattr(factory, "func", None), "task_id", None)
    if isinstance(factory, functools.partial) and id_of is not None:
        return id_of(*factory.args, **factory.keywords)
    return factory().id


def _by_id(factories) -> Dict[str, Factory]:
    out: Dict[str, Factory] = {}
    for factory in factories:
        task_id = _task_id_of(factory)
        if task_id in out:
            raise RuntimeError(f"duplicate task id {task_id!r}")
        out[task_id] = factory
    return out


@functools.lru_cache(maxsize=None)
def _suites() -> Dict[str, Tuple[Tuple[str, Factory], ...]]:
    suites = {
        "bmi40": _bmi40_factories(),
        "high-mi": _high_mi_factories(),
        "extra": _extra_factories(),
        "cmi": _cmi_factories(),
        "entropy": _entropy_factories(),
        "mixed": _mixed_factories(),
        "fine": _fine_factories(),
        "many-pairs": _many_pairs_factories(),
        "images-known": _images_known_factories(),
    }
    everything: Dict[str, Factory] = {}
    for members in suites.values():
        for task_id, factory in members.items():
            if task_id in everything:
                raise RuntimeError(f"task id {task_id!r} is in two suites")
            everything[task_id] = factory
    suites["all"] = everything
    return {name: tuple(members.items()) for name, members in suites.items()}


SUITES: Tuple[str, ...] = ("bmi40", "high-mi", "extra", "cmi", "entropy", "mixed", "fine",
                           "many-pairs", "images-known", "all")


def _suite(suite: Optional[str]) -> Tuple[Tuple[str, Factory], ...]:
    name = "all" if suite is None else suite
    suites = _suites()
    if name not in suites:
        close = difflib.get_close_matches(str(name), SUITES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"suite: unknown suite {suite!r}; expected one of {list(SUITES)}{hint}")
    return suites[name]


def list_task_ids(suite: Optional[str] = None) -> List[str]:
    """The ids in ``suite`` (one of :data:`SUITES`; ``None`` means ``"all"``), in order."""
    return [task_id for task_id, _ in _suite(suite)]


def list_tasks(suite: Optional[str] = None) -> List[Task]:
    """The tasks in ``suite`` (one of :data:`SUITES`; ``None`` means ``"all"``), in order."""
    return [factory() for _, factory in _suite(suite)]


def get_task(task_id: str) -> Task:
    """The registered task with this id; ValueError (with close matches) if there is none."""
    factories = dict(_suite("all"))
    factory = factories.get(task_id)
    if factory is None:
        ids = list(factories)
        close = difflib.get_close_matches(str(task_id), ids, n=5, cutoff=0.6)
        if close:
            hint = f"did you mean one of {close}?"
        else:
            hint = f"valid ids include {ids[:3] + ids[-2:]}; see list_task_ids() or `mmgap tasks`"
        raise ValueError(f"task_id: unknown task {task_id!r}; {hint}")
    return factory()
