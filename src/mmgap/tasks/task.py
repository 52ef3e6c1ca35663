"""The :class:`Task` record: a named sampler of (x, y) that knows its true mutual information.

A task holds a *sampler*, a plain callable ``sampler(n_samples, rng) -> (x, y)`` taking a
``numpy.random.Generator``. Samplers are built from module-level functions and
``functools.partial`` so that tasks pickle (a benchmark runner may send them to worker
processes).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Tuple

import numpy as np

Sampler = Callable[[int, np.random.Generator], Tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Task:
    """A ground-truth task: a sampler of (x, y) with known I(X; Y) in nats.

    Attributes:
        id: unique name; for transformed tasks the transform name is prefixed
            (``"half_cube-" + base.id``).
        dim_x: dimension of x.
        dim_y: dimension of y (1 for a discrete label).
        mutual_information: true I(X; Y) in nats.
        sampler: ``sampler(n_samples, rng) -> (x, y)``; use :meth:`sample` instead.
        params: JSON-serialisable description of the construction.
        name: human-readable name.
        mutual_information_stderr: standard error of ``mutual_information``; 0.0 when the
            truth is analytic, positive when it was computed by Monte Carlo.
        y_discrete: True when y is an integer label of shape (n,).
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

    def sample(self, n_samples: int, seed: Any = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` i.i.d. pairs, reproducibly.

        Args:
            n_samples: number of pairs, a positive integer.
            seed: anything ``numpy.random.default_rng`` accepts (an int, a SeedSequence or a
                Generator); the same int always gives the same arrays.

        Returns:
            x: float64 array, shape (n_samples, dim_x).
            y: float64 array, shape (n_samples, dim_y); for ``y_discrete`` tasks an int64
               array of shape (n_samples,).
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"n_samples: expected a positive integer, got {n_samples}")
        rng = np.random.default_rng(seed)
        x, y = self.sampler(int(n_samples), rng)
        x = np.asarray(x, dtype=np.float64)
        if self.y_discrete:
            y = np.asarray(y, dtype=np.int64)
            expected_y = (n_samples,)
        else:
            y = np.asarray(y, dtype=np.float64)
            expected_y = (n_samples, self.dim_y)
        if x.shape != (n_samples, self.dim_x) or y.shape != expected_y:
            raise RuntimeError(  # a bug in a sampler, not a user error
                f"task {self.id!r}: sampler returned shapes {x.shape}, {y.shape}; "
                f"expected {(n_samples, self.dim_x)}, {expected_y}"
            )
        return x, y

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable metadata (everything but the sampler)."""
        return {
            "id": self.id,
            "name": self.name,
            "dim_x": self.dim_x,
            "dim_y": self.dim_y,
            "mutual_information": self.mutual_information,
            "mutual_information_stderr": self.mutual_information_stderr,
            "y_discrete": self.y_discrete,
            "params": self.params,
        }
