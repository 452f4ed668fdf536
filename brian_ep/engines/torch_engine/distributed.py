"""Data parallelism over processes with ``torch.distributed``: every process holds the whole
network and the whole chunk, computes the EP update of its share of each mini-batch, and the
shares are averaged with one all-reduce, so every process applies the same update and keeps
the same weights. Launched with ``torchrun`` (``docs/scale.md``); gloo on the CPU, NCCL on
CUDA.

With ``B`` samples in a mini-batch split into shares ``B_r``, the update of the mini-batch is
``sum_r (B_r / B) g_r`` with ``g_r`` the mean update of share ``r``: the mean over the whole
mini-batch, as one process computes it (up to rounding).
"""

from __future__ import annotations

import os

import numpy as np

from ...maths.params import Params

__all__ = ["DataParallel", "launched_by_torchrun"]


def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


class DataParallel:
    """This process's place in the process group, and the collectives the engine needs.

    Parameters
    ----------
    device : torch.device
        Where the tensors live; selects the backend (NCCL for CUDA, gloo otherwise) when the
        group is not initialised yet.
    """

    def __init__(self, device):
        import torch.distributed as dist

        self.dist = dist
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        self.device = device

    # -- who computes what ------------------------------------------------------------------
    def rows(self, n: int) -> slice:
        """This process's rows of ``n`` samples: contiguous shares whose sizes differ by at
        most one (the first ``n % world`` processes take one more)."""
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (1 if self.rank < extra else 0))

    def owned(self, starts, sizes) -> np.ndarray:
        """Indices (within a chunk) of the samples this process computes, for mini-batches
        at ``starts`` with ``sizes``."""
        parts = []
        for start, size in zip(starts, sizes):
            sl = self.rows(size)
            parts.append(np.arange(start + sl.start, start + sl.stop))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)

    # -- collectives ----------------------------------------------------------------------------
    def mean_update(self, grads: Params, n_local: int, n_global: int) -> Params:
        """The mini-batch's update from every process's mean update over its ``n_local``
        samples (one all-reduce of all weights and biases at once)."""
        import torch

        keys = [("W", k) for k in grads.W] + [("b", k) for k in grads.b]
        tensors = [getattr(grads, kind)[k] for kind, k in keys]
        flat = torch.cat([t.reshape(-1) for t in tensors]) * (n_local / n_global)
        self.dist.all_reduce(flat)
        out = Params({}, {})
        offset = 0
        for (kind, k), t in zip(keys, tensors):
            getattr(out, kind)[k] = flat[offset : offset + t.numel()].reshape(t.shape)
            offset += t.numel()
        return out

    def gather_rows(self, local, owned: np.ndarray, n: int):
        """The rows of all processes in chunk order: ``local[i]`` is row ``owned[i]`` of this
        process; returns a tensor of ``n`` rows."""
        import torch

        counts = torch.tensor([local.shape[0]], device=self.device)
        all_counts = [torch.zeros_like(counts) for _ in range(self.world)]
        self.dist.all_gather(all_counts, counts)
        longest = int(max(int(c) for c in all_counts))
        pad = torch.zeros((longest - local.shape[0],) + tuple(local.shape[1:]), dtype=local.dtype, device=local.device)
        padded = torch.cat([local, pad])
        index = torch.full((longest,), -1, dtype=torch.int64, device=self.device)
        index[: len(owned)] = torch.as_tensor(owned, device=self.device)
        blocks, indices = [torch.empty_like(padded) for _ in range(self.world)], [torch.empty_like(index) for _ in range(self.world)]
        self.dist.all_gather(blocks, padded)
        self.dist.all_gather(indices, index)
        out = torch.empty((n,) + tuple(local.shape[1:]), dtype=local.dtype, device=local.device)
        for block, idx in zip(blocks, indices):
            keep = idx >= 0
            out[idx[keep]] = block[keep]
        return out

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true in any process (so that all stop together)."""
        import torch

        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def close(self) -> None:
        """Destroy the process group (after the last collective), so that a process does not
        exit with gloo's threads still running (``terminate called without an active
        exception``, SIGABRT)."""
        if self.dist.is_initialized():
            self.dist.destroy_process_group()
