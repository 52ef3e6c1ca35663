"""The :class:`Task` record: a named sampler that knows the true value of one information
quantity.

A task answers one of three questions (``Task.quantity``):

* ``"mi"``      -- mutual information I(X; Y); ``sample`` returns ``(x, y)``.
* ``"cmi"``     -- conditional mutual information I(X; Y | Z); ``sample`` returns ``(x, y, z)``.
* ``"entropy"`` -- differential entropy h(X); ``sample`` returns the 1-tuple ``(x,)``.

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
from typing import Any, Callable, Dict, Tuple

import numpy as np

Sampler = Callable[[int, np.random.Generator], Tuple[np.ndarray, ...]]

QUANTITIES = ("mi", "cmi", "entropy")


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
            truth is analytic, positive when it was computed by Monte Carlo.
        y_discrete: True when y is an integer label of shape (n,).
        dim_z: dimension of the conditioning variable z (0 unless ``quantity == "cmi"``;
            1 for a discrete label).
        z_discrete: True when z is an integer label of shape (n,).
        quantity: ``"mi"`` (default), ``"cmi"`` or ``"entropy"``.
    """

    id: str
    dim_x: int
    dim_y: int
    mutual_information: float
    sampler: Sampler = field(repr=False, compare=False)
    params: Dict[str, Any] = field(default_factory=dict, compare=False)
    name: str = ""
    mutual_information_stderr: float = 0.0
    y_discrete: bool = False
    dim_z: int = 0
    z_discrete: bool = False
    quantity: str = "mi"

    def __post_init__(self) -> None:
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
        if self.quantity == "entropy":
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
            if self.z_discrete and self.dim_z != 1:
                raise ValueError(f"dim_z: a discrete z is one label column (dim_z = 1), "
                                 f"got {self.dim_z!r}")
        elif self.dim_z != 0 or self.z_discrete:
            raise ValueError(
                f"dim_z: only a cmi task has z; expected dim_z = 0 for quantity "
                f"{self.quantity!r}, got {self.dim_z!r}"
            )

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

            x: float64 array, shape (n_samples, dim_x).
            y: float64 array, shape (n_samples, dim_y); for ``y_discrete`` tasks an int64
               array of shape (n_samples,).
            z: float64 array, shape (n_samples, dim_z); for ``z_discrete`` tasks an int64
               array of shape (n_samples,).
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples}")
        n_samples = int(n_samples)
        rng = np.random.default_rng(seed)
        arrays = tuple(self.sampler(n_samples, rng))
        specs = [("x", self.dim_x, False)]
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
            if discrete:
                out.append(np.asarray(array, dtype=np.int64))
            else:
                out.append(np.asarray(array, dtype=np.float64))
        expected = [(n_samples,) if d else (n_samples, dim) for _, dim, d in specs]
        if [a.shape for a in out] != expected:
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned shapes "
                f"{', '.join(str(a.shape) for a in out)}; expected "
                f"{', '.join(str(e) for e in expected)}"
            )
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
            "y_discrete": self.y_discrete,
            "z_discrete": self.z_discrete,
            "params": self.params,
        }
