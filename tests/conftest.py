import os

import pytest
import torch

# Small networks train faster on one thread, and the CI machine has 2 shared cores.
torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def gaussian_1d():
    """(x, y) with correlation 0.75, I = -1/2 log(1 - 0.75^2) = 0.413339 nats."""
    import numpy as np

    def make(n, seed, rho=0.75):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(n)
        y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        return x, y

    return make
