"""A third-party plug-in as a package would ship it, for tests/test_entry_points.py: a neuron
model and an engine, found by brian_ep through the entry point groups ``brian_ep.neurons`` and
``brian_ep.engines`` of the fake distribution ``toy_ep_plugin`` (its ``.dist-info`` is written
by the test). Nothing here is imported by the package itself."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from brian_ep.engines import ChunkResult, Engine
from brian_ep.maths.arrays import device_of, namespace
from brian_ep.maths.dynamics import output, relax
from brian_ep.maths.optim import apply_update, learning_rates
from brian_ep.maths.phases import ep_phase_gradient
from brian_ep.neurons import NeuronModel


class LeakOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    leak: float = Field(default=1.0, gt=0)


class ToyLeaky(NeuronModel):
    """``tau du/dt = -k u + I``, ``r = clip(u, 0, 1)`` (``k``: the ``leak`` option)."""

    name = "toy_plugin_leaky"
    options = LeakOptions

    def initial_state(self, layer, n_samples, like):
        return namespace(like).zeros((n_samples, layer.size), dtype=like.dtype, device=device_of(like))

    def rate(self, layer, u):
        return namespace(u).clip(u, 0.0, 1.0)

    signal = rate

    def advance(self, layer, u, current, noise=None):
        return u + layer.eps * (current - layer.options.leak * u)

    def brian_equations(self, layer):
        return f"du/dt = (I - {layer.options.leak!r} * u) / tau : 1\nr = clip(u, 0, 1) : 1\n"


class StepsOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    passes: int = Field(default=1, gt=0)


class OnlineEngine(Engine):
    """Online EP in plain Python loops (a plug-in's engine), ``passes`` times over each chunk."""

    options = StepsOptions

    def train_chunk(self, x, y, signs=None):
        lrs = learning_rates(self.arch)
        outputs = []
        for _ in range(self.spec.run.engine_options().passes):
            outputs = []
            for k in range(x.shape[0]):
                grads, ph = ep_phase_gradient(self.arch, self.params, x[k:k + 1], y[k:k + 1], self.spec.ep)
                outputs.append(output(self.arch, self.params, ph.u_free))
                apply_update(self.params, grads, lrs, self.spec.optim, self.optim_state)
        return ChunkResult(np.concatenate(outputs))

    def predict(self, x):
        return output(self.arch, self.params, relax(self.arch, self.params, x, self.spec.ep.free_steps))
