"""Multi-process data-parallel training (``torchrun``), kept optional.

Launch any script or the CLI with ``torchrun --nproc_per_node N ...``: torchrun sets
WORLD_SIZE, RANK and LOCAL_RANK in each process. :func:`init` then joins the processes into
one group (gloo on CPU, NCCL on CUDA with device ``cuda:LOCAL_RANK``), and every
:class:`mmgap.MMGEstimator` fit trains data-parallel while the group has more than one
process; without a group (a plain ``python`` run) nothing here changes anything.

How a data-parallel fit relates to the one-process fit of the same settings:

- every process prepares the same data, builds the same network and holds the same
  validation points and draws; DistributedDataParallel averages the gradients, so the
  weights and their moving average (EMA) stay the same in every process;
- process r samples its minibatches from its own shard of the training rows (rows i with
  i % world == r) with its own generator (the training seed offset by r), with
  ceil(batch_size / world) rows, so the effective batch is batch_size (rounded up to a
  multiple of world): the statistics of training, and so of the estimate, are those of one
  process;
- the time budget, the validation scores and the chosen checkpoint are taken from rank 0 and
  broadcast, and the final weights are broadcast from rank 0, so every process stops at the
  same step and ends with identical weights (and computes the same estimate).

Every process must run the same fits, on the same data, in the same order: a fit that only
one process runs waits forever for the others.

Only rank 0 should write results; :func:`is_main` says whether this process is it. The CLI
prints and writes files on rank 0 only; :func:`init` silences mmgap's warnings and log
messages in the other processes.

torch is imported lazily: importing this module costs nothing, and a single-process run
never touches ``torch.distributed``.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import sys
import warnings
from typing import Any, Optional

__all__ = ["launched", "active", "init", "cleanup", "rank", "local_rank", "world_size",
           "is_main", "barrier", "local_device"]

logger = logging.getLogger(__name__)

_OWN_GROUP = False  # True when init() created the process group (cleanup() then ends it)
# multiplier that spreads the per-rank seeds (the 64-bit golden ratio)
_SEED_STEP = 0x9E3779B97F4A7C15


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: expected an integer in the environment, got {value!r}") from None


def _dist():
    """``torch.distributed`` when this torch build has it, else None."""
    import torch

    return torch.distributed if torch.distributed.is_available() else None


def _initialized() -> bool:
    if "torch" not in sys.modules:  # no group can exist yet; do not import torch to say so
        return False
    d = _dist()
    return d is not None and d.is_initialized()


def launched() -> bool:
    """True in a process started by torchrun (or similar) with WORLD_SIZE > 1."""
    return _env_int("WORLD_SIZE", 1) > 1


def world_size() -> int:
    """Processes in the group (the environment's WORLD_SIZE before :func:`init`; 1 alone)."""
    if _initialized():
        return _dist().get_world_size()
    return max(_env_int("WORLD_SIZE", 1), 1)


def rank() -> int:
    """This process's rank (the environment's RANK before :func:`init`; 0 alone)."""
    if _initialized():
        return _dist().get_rank()
    return _env_int("RANK", 0)


def local_rank() -> int:
    """This process's rank on its machine (LOCAL_RANK; 0 alone)."""
    return _env_int("LOCAL_RANK", 0)


def is_main() -> bool:
    """True in the process that should print and write results (rank 0)."""
    return rank() == 0


def active() -> bool:
    """True when a process group with more than one process is initialised: then
    :class:`mmgap.MMGEstimator` trains data-parallel."""
    return _initialized() and _dist().get_world_size() > 1


def init(backend: Optional[str] = None, device: Any = "auto", *, quiet_others: bool = True) -> bool:
    """Join the torchrun processes into one group; returns True when data-parallel
    training is on (a group with more than one process), False otherwise (not launched by
    torchrun, or a single process: nothing is done).

    backend : None (NCCL when ``device`` is CUDA, else gloo), "gloo" or "nccl".
    device : the device the estimators will use ("auto": CUDA when available). With CUDA
        each process uses ``cuda:LOCAL_RANK``.
    quiet_others : silence mmgap's warnings and log messages below ERROR in the processes
        other than rank 0 (their results are the same as rank 0's).

    Idempotent: a group that already exists (yours or an earlier call's) is kept.
    """
    if not launched():
        return False
    d = _dist()
    if d is None:
        raise RuntimeError("torch.distributed is not available in this torch build; run "
                           "without torchrun")
    global _OWN_GROUP
    if not d.is_initialized():
        import torch

        if backend is None:
            if device is None or device == "auto":
                cuda = torch.cuda.is_available()
            else:
                try:
                    cuda = torch.device(device).type == "cuda"
                except (RuntimeError, TypeError) as err:
                    raise ValueError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', "
                                     f"got {device!r}") from err
            backend = "nccl" if cuda else "gloo"
        if backend not in ("gloo", "nccl"):
            raise ValueError(f"backend: expected None, 'gloo' or 'nccl', got {backend!r}")
        if backend == "nccl":
            if not torch.cuda.is_available():
                raise ValueError("backend: 'nccl' needs CUDA, and no CUDA device is available; "
                                 "use 'gloo'")
            torch.cuda.set_device(local_rank())
        d.init_process_group(backend=backend)
        _OWN_GROUP = True
        logger.info("data-parallel: rank %d of %d (%s)", rank(), world_size(), backend)
    if quiet_others and not is_main():
        from .types import MMGWarning

        warnings.simplefilter("ignore", MMGWarning)
        logging.getLogger("mmgap").setLevel(logging.ERROR)
    return active()


def cleanup() -> None:
    """End the process group if :func:`init` created it (a no-op otherwise)."""
    global _OWN_GROUP
    if _OWN_GROUP and _initialized():
        _dist().destroy_process_group()
    _OWN_GROUP = False


def barrier() -> None:
    """Wait for every process of the group (a no-op without one)."""
    if _initialized():
        _dist().barrier()


def local_device(device):
    """``device`` (a torch.device) for this process: a bare "cuda" becomes
    ``cuda:LOCAL_RANK`` while data-parallel; anything else is returned unchanged."""
    import torch

    if active() and device.type == "cuda" and device.index is None:
        return torch.device("cuda", local_rank())
    return device


# ---------------------------------------------------------------- helpers of the training loop

def _comm_device():
    import torch

    if _dist().get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def broadcast_float(value: float) -> float:
    """Rank 0's ``value`` in every process."""
    import torch

    t = torch.tensor([float(value)], dtype=torch.float64, device=_comm_device())
    _dist().broadcast(t, src=0)
    return float(t.item())


def all_reduce_mean(t):
    """The mean over processes of the tensor ``t`` (a new tensor on ``t``'s device)."""
    buf = t.detach().to(_comm_device(), copy=True)
    _dist().all_reduce(buf)
    return (buf / world_size()).to(t.device)


def broadcast_module(module) -> None:
    """Copy rank 0's parameters and buffers into ``module`` in every process."""
    import torch

    dev = _comm_device()
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            buf = t.detach().to(dev, copy=True)
            _dist().broadcast(buf, src=0)
            t.copy_(buf.to(t.device))


def data_parallel(model):
    """``model`` wrapped in DistributedDataParallel (gradients averaged over processes).
    Buffers (the fixed Gaussian or discrete base) are not re-broadcast at every step."""
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    if _dist().get_backend() == "nccl" and device.type != "cuda":
        raise ValueError(f"device: the process group uses NCCL, which needs a CUDA model, but "
                         f"the model is on {device}; use device='cuda' or init(backend='gloo')")
    ids = [device] if device.type == "cuda" else None
    # DDP broadcasts rank 0's parameters and buffers here, once; newer torch renamed the
    # switch that turns off the broadcast of buffers at every forward
    sig = inspect.signature(DistributedDataParallel.__init__).parameters
    sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in sig
            else {"broadcast_buffers": False})
    return DistributedDataParallel(model, device_ids=ids, **sync)


def rank_generator(generator, device):
    """A generator for this process's training draws: ``generator``'s seed offset by the
    rank (so every process draws differently and reproducibly)."""
    import torch

    base = generator.initial_seed() if generator is not None else torch.initial_seed()
    seed = (int(base) + rank() * _SEED_STEP) % (2 ** 63)
    return torch.Generator(device=device).manual_seed(seed)


def shard_rows(n: int, device):
    """Indices of this process's training rows: i with i % world == rank, shape (n_local,)."""
    import torch

    world = world_size()
    if n < world:
        raise ValueError(f"x: expected at least {world} training rows for {world} "
                         f"data-parallel processes, got {n}")
    return torch.arange(rank(), n, world, device=device)


def local_batch_size(batch_size: int) -> int:
    """Rows per process and step: ceil(batch_size / world), so that the effective batch
    (over all processes) is batch_size rounded up to a multiple of world."""
    return max(1, math.ceil(int(batch_size) / world_size()))
