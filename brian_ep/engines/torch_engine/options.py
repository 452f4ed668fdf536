"""The settings of the torch engine, the spec section ``run.torch`` (validated by the spec
through the engine registry, so an error names e.g. ``run.torch.device``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["TorchOptions"]

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


class TorchOptions(BaseModel):
    """``run.torch: {device, compile, cuda_graphs, threads, distributed}``.

    Attributes
    ----------
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``. Under ``torchrun`` with ``cuda``, each process takes
        the GPU of its local rank.
    compile : bool
        ``torch.compile`` the relaxation step (``brian_ep.maths.dynamics.relax_step``:
        currents, nudge and neuron update become a few fused kernels); the first mini-batch
        compiles it (about a minute on a CPU, once per run).
    cuda_graphs : bool
        Replay the mini-batch's EP phases and update as one CUDA graph (``device: cuda``
        only; captured once per batch shape).
    threads : int
        CPU threads of torch's intra-op pool (``torch.set_num_threads``); 0 leaves torch's
        default.
    distributed : {"auto", "off"}
        ``auto``: join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1)
        and split every mini-batch over the processes (gloo on the CPU, NCCL on CUDA).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str = "cpu"
    compile: bool = False
    cuda_graphs: bool = False
    threads: int = Field(default=0, ge=0)
    distributed: Literal["auto", "off"] = "auto"

    @field_validator("device")
    @classmethod
    def _known_device(cls, v):
        if not _DEVICE.match(v):
            raise ValueError(f"must be 'cpu', 'cuda' or 'cuda:N' (got {v!r})")
        return v

    @model_validator(mode="after")
    def _graphs_need_cuda(self):
        if self.cuda_graphs and not self.device.startswith("cuda"):
            raise ValueError(f"cuda_graphs needs device 'cuda' (this spec has device '{self.device}'); set cuda_graphs: false")
        return self
