"""Run the task tests with single-threaded BLAS.

The plug-in checks multiply 200,000 x 100 arrays; on a small machine shared with other
processes, multi-threaded OpenBLAS oversubscribes the cores and the same product runs
~50x slower. Limiting threads changes no result, only the time. ``threadpoolctl`` comes
with scikit-learn (the ``test`` extra); without it the tests simply run unlimited.
"""

import pytest

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional
    threadpool_limits = None


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
