"""Multi-process training with DistributedDataParallel, launched by ``torchrun``.

``torchrun --nproc_per_node N -m audiorestore.cli.main train CONFIG`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_from_env` reads them and joins the
process group (gloo on CPU, nccl on GPU). A plain ``python`` run is a world of one and needs nothing.

Example:
    >>> info = init_from_env("cpu")     # doctest: +SKIP
    >>> info.rank, info.world_size      # doctest: +SKIP
    (0, 2)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import AudioRestoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Rank, world size and local rank from the torchrun environment (a world of one without it)."""
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                    int(os.environ.get("LOCAL_RANK", 0)))


def backend_for(device: torch.device | str) -> str:
    """nccl for CUDA devices, gloo otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_from_env(device: torch.device | str = "cpu") -> DistInfo:
    """Join the process group described by the torchrun environment; a no-op for a world of one."""
    info = env_info()
    if not info.enabled or dist.is_initialized():
        return info
    if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
        raise AudioRestoreError("WORLD_SIZE > 1 but MASTER_ADDR/MASTER_PORT are not set; launch with torchrun")
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group(backend=backend_for(dev), rank=info.rank, world_size=info.world_size)
    log.info("process %d of %d joined (%s)", info.rank, info.world_size, backend_for(dev))
    return info


def current() -> DistInfo:
    """This process's rank and world size (from the process group when one exists)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group (call once at the end of a run)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: dict[str, float], device: torch.device | str = "cpu") -> dict[str, float]:
    """Average scalar values over all processes (every process must pass the same keys).

    Example:
        >>> all_reduce_mean({"loss": 1.0})      # a world of one: unchanged
        {'loss': 1.0}
    """
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= dist.get_world_size()
    return {k: float(v) for k, v in zip(keys, t.tolist())}


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """Wrap a model in DistributedDataParallel when running distributed; return it unchanged otherwise."""
    if not (dist.is_available() and dist.is_initialized()) or not any(p.requires_grad for p in model.parameters()):
        return model
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def broadcast_buffers(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (e.g. BatchNorm running statistics) to every process.

    DDP broadcasts buffers at the start of each forward pass, so after the last step each replica
    holds statistics updated by its own batch; this makes them identical before a checkpoint.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    for b in unwrap(model).buffers():
        dist.broadcast(b.data, src)


def parameter_digest(model: nn.Module) -> torch.Tensor:
    """Sum and sum of squares of every parameter and buffer, in float64: equal replicas give equal digests.

    Shape:
        -> ``(2,)`` float64 on the CPU.
    """
    s = torch.zeros(2, dtype=torch.float64)
    for t in list(model.parameters()) + list(model.buffers()):
        d = t.detach().double().cpu()
        s[0] += d.sum()
        s[1] += d.pow(2).sum()
    return s


def assert_in_sync(model: nn.Module) -> None:
    """Raise if the replicas' weights differ across processes (a no-op for a world of one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    d = parameter_digest(unwrap(model))
    if dist.get_backend() == "nccl":
        d = d.cuda()
    gathered = [torch.zeros_like(d) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, d)
    if any(not torch.equal(g, gathered[0]) for g in gathered):
        raise AudioRestoreError(f"model replicas diverged across processes: digests {[g.tolist() for g in gathered]}")
