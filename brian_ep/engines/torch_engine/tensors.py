"""Weights and optimiser state between numpy (run directories, other engines) and torch (the
torch engine and the backprop baseline): the same :class:`~brian_ep.maths.params.Params`
layout with torch tensors in it."""

from __future__ import annotations

import numpy as np

from ...maths.optim import OptimState
from ...maths.params import Params

__all__ = ["torch_dtype", "params_to_torch", "params_to_numpy", "optim_to_torch", "optim_to_numpy", "clone_params"]


def torch_dtype(name: str):
    """The torch dtype of ``run.dtype`` (``"float32"`` or ``"float64"``)."""
    import torch

    return {"float32": torch.float32, "float64": torch.float64}[name]


def params_to_torch(params: Params, dtype, device="cpu") -> Params:
    """A copy of ``params`` (numpy arrays or tensors) as tensors of ``dtype`` on ``device``."""
    import torch

    def one(a):
        if isinstance(a, torch.Tensor):
            return a.detach().to(dtype=dtype, device=device, copy=True)
        return torch.tensor(np.asarray(a), dtype=dtype, device=device)

    return Params({k: one(v) for k, v in params.W.items()}, {k: one(v) for k, v in params.b.items()})


def params_to_numpy(params: Params) -> Params:
    """A float64 numpy copy of ``params`` held as tensors (the run-directory format)."""
    def one(t):
        return t.detach().to("cpu").double().numpy().copy()

    return Params({k: one(v) for k, v in params.W.items()}, {k: one(v) for k, v in params.b.items()})


def clone_params(params: Params) -> Params:
    """A copy of tensor ``params`` on the same device."""
    return Params({k: v.clone() for k, v in params.W.items()}, {k: v.clone() for k, v in params.b.items()})


def optim_to_torch(state: OptimState, dtype, device="cpu") -> OptimState:
    """The optimiser state (Adam moments, step count) as tensors."""
    return OptimState(params_to_torch(state.m, dtype, device), params_to_torch(state.v, dtype, device), int(state.t))


def optim_to_numpy(state: OptimState) -> OptimState:
    """The optimiser state as float64 numpy arrays (checkpoints)."""
    return OptimState(params_to_numpy(state.m), params_to_numpy(state.v), int(state.t))
