"""The :class:`Task` record: a named sampler that knows the true value of one information
quantity.

A task answers one of three questions (``Task.quantity``):

* ``"mi"``      -- mutual information I(X; Y); ``sample`` returns ``(x, y)``.
* ``"cmi"``     -- conditional mutual information I(X; Y | Z); ``sample`` returns ``(x, y, z)``.
* ``"entropy"`` -- differential entropy h(X); ``sample`` returns the 1-tuple ``(x,)``.

Discrete and mixed variables (``x_discrete``, ``y_discrete``, ``z_discrete``; each a bool or
a tuple of column indices):

* ``False`` (default): a float64 array of shape (n, dim) with continuous columns (which may
  still carry atoms, e.g. a zero-inflated or censored coordinate).
* ``True`` for y or z: a 1-D int64 label array of shape (n,) (``dim_y`` / ``dim_z`` is 1).
* ``True`` for x: an int64 array of shape (n, dim_x); every column holds integer-valued
  discrete values (each row is one joint symbol).
* a tuple such as ``(0, 2)``: a float64 array of shape (n, dim) whose listed columns hold
  integer-valued discrete values and whose other columns are continuous.

:meth:`Task.discrete_columns` turns any of these into the tuple of discrete column indices of
the 2-D array, and :meth:`Task.is_label` says whether a variable is a 1-D label array.

All values are in nats. The true value is stored in ``mutual_information`` (its historic
name, kept so that every MI task and every caller stays as it was) and is also available as
the read-only property :attr:`Task.truth`; for a ``"cmi"`` task it is I(X; Y | Z) and for an
``"entropy"`` task it is h(X) (which may be negative).

A task holds a *sampler*, a plain callable ``sampler(n_samples, rng)`` taking a
``numpy.random.Generator`` and returning the tuple described above. Samplers are built from
module-level functions and ``functools.partial`` so that tasks pickle (a benchmark runner
may send them to worker processes).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

Sampler = Callable[[int, np.random.Generator], Tuple[np.ndarray, ...]]

QUANTITIES = ("mi", "cmi", "entropy")

# A discreteness flag: a bool, or the sorted, unique indices of the discrete columns.
Discrete = Union[bool, Tuple[int, ...]]


def _normalise_discrete(value: Any, name: str, dim: int) -> Discrete:
    """A validated discreteness flag: a bool, or a tuple of sorted unique column indices in
    [0, dim) (a list is turned into a tuple; an empty one means False). ValueError naming
    ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if not isinstance(value, (tuple, list)):
        raise ValueError(
            f"{name}: expected True, False or a tuple of column indices, got {value!r}"
        )
    if len(value) == 0:
        return False
    for index in value:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral):
            raise ValueError(f"{name}: column indices must be integers, got {value!r}")
    indices = tuple(int(i) for i in value)
    bad = [i for i in indices if not 0 <= i < dim]
    if bad:
        raise ValueError(
            f"{name}: column index {bad[0]} is out of range for {dim} column(s) "
            f"(expected indices in [0, {dim - 1}]), got {value!r}"
        )
    if any(b <= a for a, b in zip(indices, indices[1:])):
        raise ValueError(
            f"{name}: expected sorted, unique column indices, got {value!r}"
        )
    return indices


@dataclass(frozen=True)
class Task:
    """A ground-truth task: a sampler with a known information quantity in nats.

    Attributes:
        id: unique name; for transformed tasks the transform name is prefixed
            (``"half_cube-" + base.id``).
        dim_x: dimension of x.
        dim_y: dimension of y (1 for a discrete label; 0 for an entropy task, which has
            no y).
        mutual_information: the true value of the task's ``quantity``, in nats:
            I(X; Y) for ``"mi"``, I(X; Y | Z) for ``"cmi"``, h(X) for ``"entropy"``.
            Same number as :attr:`truth`.
        sampler: ``sampler(n_samples, rng) -> tuple of arrays``; use :meth:`sample`.
        params: JSON-serialisable description of the construction.
        name: human-readable name.
        mutual_information_stderr: standard error of ``mutual_information``; 0.0 when the
            truth is analytic, positive when it was computed by Monte Carlo (or, for a
            numerical quadrature, an estimate of its error).
        y_discrete: True when y is an integer label of shape (n,) (then dim_y = 1); a
            tuple of column indices when y is a 2-D array with those columns discrete.
        dim_z: dimension of the conditioning variable z (0 unless ``quantity == "cmi"``;
            1 for a discrete label).
        z_discrete: as ``y_discrete``, for z.
        quantity: ``"mi"`` (default), ``"cmi"`` or ``"entropy"``.
        x_discrete: True when every column of x (shape (n, dim_x), int64) is discrete; a
            tuple of column indices when only those columns of x (float64) are discrete.
            Not allowed for entropy tasks (their truth is a differential entropy).
        x_shape, y_shape: None, or the image shape (H, W) or (C, H, W) of each row of x
            (y) when the task's variable is an image; ``sample`` still returns it
            flattened to (n, dim) and :meth:`shaped` turns the sample into images.
    """

    id: str
    dim_x: int
    dim_y: int
    mutual_information: float
    sampler: Sampler = field(repr=False, compare=False)
    params: Dict[str, Any] = field(default_factory=dict, compare=False)
    name: str = ""
    mutual_information_stderr: float = 0.0
    y_discrete: Discrete = False
    dim_z: int = 0
    z_discrete: Discrete = False
    quantity: str = "mi"
    x_discrete: Discrete = False
    x_shape: Optional[Tuple[int, ...]] = None
    y_shape: Optional[Tuple[int, ...]] = None

    def __post_init__(self) -> None:
        for var in ("x", "y"):
            shape = getattr(self, f"{var}_shape")
            if shape is None:
                continue
            dims = tuple(shape) if isinstance(shape, (tuple, list)) else None
            if (not dims or len(dims) not in (2, 3)
                    or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                           for d in dims)
                    or int(np.prod(dims)) != getattr(self, f"dim_{var}")):
                raise ValueError(
                    f"{var}_shape: expected None or (H, W) / (C, H, W) positive integers "
                    f"whose product is dim_{var} = {getattr(self, f'dim_{var}')}, got {shape!r}")
            object.__setattr__(self, f"{var}_shape", tuple(int(d) for d in dims))
        if self.quantity not in QUANTITIES:
            raise ValueError(
                f"quantity: expected one of {list(QUANTITIES)}, got {self.quantity!r}"
            )
        for name in ("dim_x", "dim_y", "dim_z"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
        if self.dim_x < 1:
            raise ValueError(f"dim_x: expected a positive integer, got {self.dim_x!r}")
        for var in ("x", "y", "z"):
            flag = f"{var}_discrete"
            value = _normalise_discrete(getattr(self, flag), flag, getattr(self, f"dim_{var}"))
            object.__setattr__(self, flag, value)  # frozen: normalise lists once, here
        if self.y_discrete is True and self.dim_y != 1:
            raise ValueError(f"dim_y: a discrete label y is one column (dim_y = 1), "
                             f"got {self.dim_y!r}")
        if self.quantity == "entropy":
            if self.x_discrete:
                raise ValueError(
                    "x_discrete: an entropy task has a differential entropy h(X) as truth; "
                    f"expected a continuous x (False), got {self.x_discrete!r}"
                )
            if self.dim_y != 0 or self.dim_z != 0 or self.y_discrete or self.z_discrete:
                raise ValueError(
                    "dim_y: an entropy task has only x: expected dim_y = dim_z = 0 and no "
                    f"discrete flags, got dim_y={self.dim_y}, dim_z={self.dim_z}"
                )
        elif self.dim_y < 1:
            raise ValueError(f"dim_y: expected a positive integer, got {self.dim_y!r}")
        if self.quantity == "cmi":
            if self.dim_z < 1:
                raise ValueError(f"dim_z: a cmi task needs dim_z >= 1, got {self.dim_z!r}")
            if self.z_discrete is True and self.dim_z != 1:
                raise ValueError(f"dim_z: a discrete z is one label column (dim_z = 1), "
                                 f"got {self.dim_z!r}")
        elif self.dim_z != 0 or self.z_discrete:
            raise ValueError(
                f"dim_z: only a cmi task has z; expected dim_z = 0 for quantity "
                f"{self.quantity!r}, got {self.dim_z!r}"
            )

    def is_label(self, var: str) -> bool:
        """True when ``var`` ("y" or "z") is sampled as a 1-D int64 label array of shape
        (n,) (its flag is ``True``). Always False for "x", which stays 2-D."""
        var = self._check_var(var)
        return var != "x" and getattr(self, f"{var}_discrete") is True

    def discrete_columns(self, var: str) -> Tuple[int, ...]:
        """The indices of the discrete columns of ``var`` ("x", "y" or "z") seen as a 2-D
        array of shape (n, dim): all of them for ``True`` (a label is one column), none for
        ``False``, the tuple itself otherwise."""
        var = self._check_var(var)
        flag = getattr(self, f"{var}_discrete")
        if flag is True:
            return tuple(range(getattr(self, f"dim_{var}")))
        return tuple(flag) if flag else ()

    @staticmethod
    def _check_var(var: Any) -> str:
        if var not in ("x", "y", "z"):
            raise ValueError(f"var: expected 'x', 'y' or 'z', got {var!r}")
        return var

    @property
    def truth(self) -> float:
        """The true value of ``quantity`` in nats (the same number as
        ``mutual_information``): I(X; Y), I(X; Y | Z) or h(X)."""
        return self.mutual_information

    def sample(self, n_samples: int, seed: Any = 0) -> Tuple[np.ndarray, ...]:
        """Draw ``n_samples`` i.i.d. rows, reproducibly.

        Args:
            n_samples: number of rows, a positive integer.
            seed: anything ``numpy.random.default_rng`` accepts (an int, a SeedSequence or a
                Generator); the same int always gives the same arrays.

        Returns:
            ``quantity == "mi"``: ``(x, y)``;
            ``quantity == "cmi"``: ``(x, y, z)``;
            ``quantity == "entropy"``: ``(x,)`` (a 1-tuple: unpack with ``x, = ...``).

            x: float64 array, shape (n_samples, dim_x); int64 when ``x_discrete`` is True.
            y: float64 array, shape (n_samples, dim_y); for ``y_discrete=True`` tasks an
               int64 array of shape (n_samples,).
            z: float64 array, shape (n_samples, dim_z); for ``z_discrete=True`` tasks an
               int64 array of shape (n_samples,).
            With a tuple flag the array is float64 (n_samples, dim) and the listed columns
            hold integer values.
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples}")
        n_samples = int(n_samples)
        rng = np.random.default_rng(seed)
        arrays = tuple(self.sampler(n_samples, rng))
        specs = [("x", self.dim_x, self.x_discrete)]
        if self.quantity in ("mi", "cmi"):
            specs.append(("y", self.dim_y, self.y_discrete))
        if self.quantity == "cmi":
            specs.append(("z", self.dim_z, self.z_discrete))
        if len(arrays) != len(specs):
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned {len(arrays)} arrays; expected "
                f"{len(specs)} ({', '.join(s[0] for s in specs)})"
            )
        out = []
        for array, (_, dim, discrete) in zip(arrays, specs):
            if discrete is True:
                out.append(np.asarray(array, dtype=np.int64))
            else:
                out.append(np.asarray(array, dtype=np.float64))
        expected = [
            (n_samples,) if (d is True and name != "x") else (n_samples, dim)
            for name, dim, d in specs
        ]
        if [a.shape for a in out] != expected:
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned shapes "
                f"{', '.join(str(a.shape) for a in out)}; expected "
                f"{', '.join(str(e) for e in expected)}"
            )
        for array, (name, _, discrete) in zip(out, specs):
            if isinstance(discrete, tuple):
                cols = array[:, list(discrete)]
                if not np.array_equal(cols, np.round(cols)):
                    raise RuntimeError(  # a bug in a sampler, not a user error
                        f"task {self.id!r}: sampler returned non-integer values in the "
                        f"discrete columns {discrete} of {name}"
                    )
        return tuple(out)

    def shaped(self, arrays: Tuple[np.ndarray, ...]) -> Tuple[np.ndarray, ...]:
        """A sample with x (and y) reshaped to (n, *x_shape) (``(n, *y_shape)``) where the
        task declares an image shape; other arrays unchanged (views, no copy)."""
        out = list(arrays)
        for i, var in enumerate(("x", "y")[: len(out)]):
            shape = getattr(self, f"{var}_shape")
            if shape is not None:
                out[i] = out[i].reshape((out[i].shape[0],) + shape)
        return tuple(out)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable metadata (everything but the sampler)."""
        return {
            "id": self.id,
            "name": self.name,
            "quantity": self.quantity,
            "dim_x": self.dim_x,
            "dim_y": self.dim_y,
            "dim_z": self.dim_z,
            "mutual_information": self.mutual_information,
            "mutual_information_stderr": self.mutual_information_stderr,
            "x_discrete": _flag_to_json(self.x_discrete),
            "y_discrete": _flag_to_json(self.y_discrete),
            "z_discrete": _flag_to_json(self.z_discrete),
            "x_shape": None if self.x_shape is None else list(self.x_shape),
            "y_shape": None if self.y_shape is None else list(self.y_shape),
            "params": self.params,
        }


def _flag_to_json(flag: Discrete):
    """A discreteness flag as JSON: a bool, or a list of column indices."""
    return list(flag) if isinstance(flag, tuple) else bool(flag)
