"""Optimisers as pure functions on arrays: plain SGD and Adam (Kingma & Ba 2015).

The Brian2 engine writes the same arithmetic into synaptic equations
(:mod:`brian_ep.brian.equations`), so both must stay elementwise and local.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arrays import namespace
from .params import Params

__all__ = ["OptimState", "init_optim_state", "apply_update", "learning_rates", "scale_learning_rates"]


@dataclass
class OptimState:
    """Adam moments ``m``, ``v`` (same layout as :class:`~brian_ep.Params`) and step count ``t``."""

    m: Params = field(default_factory=Params)
    v: Params = field(default_factory=Params)
    t: int = 0

    def to_flat(self) -> dict:
        flat = {f"m.{k}": v for k, v in self.m.to_flat().items()}
        flat.update({f"v.{k}": v for k, v in self.v.to_flat().items()})
        flat["t"] = np.array(self.t)
        return flat

    @classmethod
    def from_flat(cls, flat) -> "OptimState":
        m = Params.from_flat({k[2:]: v for k, v in flat.items() if k.startswith("m.")})
        v = Params.from_flat({k[2:]: v for k, v in flat.items() if k.startswith("v.")})
        return cls(m, v, int(flat.get("t", 0)))


def init_optim_state(params: Params) -> OptimState:
    def zeros(v):
        return namespace(v).zeros_like(v)

    zeros = Params({k: zeros(v) for k, v in params.W.items()}, {k: zeros(v) for k, v in params.b.items()})
    return OptimState(zeros, zeros.copy(), 0)


def apply_update(params: Params, grads: Params, lrs: dict, optim, state: OptimState | None = None) -> None:
    """Update ``params`` in place: ``p -= lr * g`` (SGD) or the Adam step.

    Parameters
    ----------
    lrs : Params
        Learning rate (a float) per weight and per bias; see :func:`learning_rates`.
    optim : OptimSpec
        ``algorithm``, ``adam_betas``, ``adam_eps``.
    state : OptimState
        Adam moments, updated in place (ignored for SGD).
    """
    if optim.algorithm == "sgd":
        for k, g in grads.W.items():
            params.W[k] -= lrs.W[k] * g
        for k, g in grads.b.items():
            params.b[k] -= lrs.b[k] * g
        return
    b1, b2 = optim.adam_betas
    state.t += 1
    c1, c2 = 1.0 - b1**state.t, 1.0 - b2**state.t
    for store, mstore, vstore, source, rates in (
        (params.W, state.m.W, state.v.W, grads.W, lrs.W),
        (params.b, state.m.b, state.v.b, grads.b, lrs.b),
    ):
        for k, g in source.items():
            m, v = mstore[k], vstore[k]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            store[k] -= rates[k] * (m / c1) / (namespace(v).sqrt(v / c2) + optim.adam_eps)


def learning_rates(arch) -> Params:
    """Learning rate of every weight (its projection's ``lr``) and bias (the ``lr`` of the
    chain projection into the layer)."""
    W = {p.name: p.lr for p in arch.all_projections}
    b = {}
    for layer in arch.free_layers:
        if layer.bias:
            into = [p for p in arch.incoming(layer.name) if p.kind == "chain"] or list(arch.incoming(layer.name))
            b[layer.name] = into[0].lr
    return Params(W, b)


def scale_learning_rates(lrs: Params, factor: float) -> Params:
    """``lrs`` multiplied by ``factor`` (the learning-rate schedule of the epoch)."""
    return Params({k: v * factor for k, v in lrs.W.items()}, {k: v * factor for k, v in lrs.b.items()})
