"""A third neuron model is one file plus one registration (issue 29, part B).

The model below, a deterministic adaptive leaky integrate-and-fire neuron with a refractory
period, lives in this file only: its maths for the numpy engine, and its Brian2 side
(equations, threshold, reset, Brian2's ``refractory``, what the phase schedule latches,
restores and resets, its own schedule event) declared through the :class:`NeuronModel`
hooks. Registered with :func:`register_neuron_model`, it trains a few digits on the numpy
engine and in Brian2 (runtime numpy target) to the same weights, outputs and spike counts.
Nothing under ``brian_ep/brian/`` names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

import brian_ep
from brian_ep.data import load_digits, one_hot
from brian_ep.engines.brian import BrianEngine
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import init_optim_state, initial_params
from brian_ep.maths.arrays import device_of, namespace
from brian_ep.neurons import NeuronModel, register_neuron_model, unregister_neuron_model
from brian_ep.spec import load_spec

DIGITS = Path(__file__).resolve().parents[2] / "network_specs" / "digits.yaml"


class AdaptiveOptions(BaseModel):
    """``theta``: threshold; ``jump``: adaptation added per spike; ``tau_a_steps``: decay of
    the adaptation in steps; ``refractory``: steps (Brian2's ``refractory / dt``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    theta: float = Field(default=0.3, gt=0)
    jump: float = Field(default=0.2, ge=0)
    tau_a_steps: float = Field(default=5.0, ge=1)
    refractory: int = Field(default=2, ge=1)


class AdaptiveState(NamedTuple):
    u: object  # membrane potential
    a: object  # adaptation (raises the threshold)
    x: object  # trace of the spikes (the rate estimate; dt / trace_tau = 1/2)
    s: object  # spikes of the last step
    total: object  # spikes since the initial state
    ref: object  # steps the neuron still cannot spike


class AdaptiveLIF(NeuronModel):
    r"""Per step: ``u <- u + eps (I - u)``, ``a <- a (1 - 1/tau_a)``, ``x <- x / 2``; a spike
    where ``u > theta + a`` and not refractory, then ``u <- 0``, ``a <- a + jump``,
    ``x <- x + 1/2``. The rate estimate is ``x`` (scaled by 1/eps_x: ``E[x] = rate``)."""

    name = "toy_adaptive_lif"
    options = AdaptiveOptions
    brian_spikes = True
    brian_rate = "x"
    brian_signal = "x"
    brian_state = ("u", "a", "x")

    def initial_state(self, layer, n_samples, like):
        zeros = namespace(like).zeros((n_samples, layer.size), dtype=like.dtype, device=device_of(like))
        return AdaptiveState(zeros, zeros, zeros, zeros, zeros, zeros)

    def signal(self, layer, state):
        return state.s

    def rate(self, layer, state):
        return state.x

    def potential(self, layer, state):
        return state.u

    def spikes(self, layer, state):
        return state.total

    def advance(self, layer, state, current, noise=None):
        xp, o = namespace(current), layer.options
        u = state.u + layer.eps * (current - state.u)
        a = state.a - state.a / o.tau_a_steps
        s = xp.astype(u > o.theta + a, u.dtype) * xp.astype(state.ref < 0.5, u.dtype)
        ref = xp.clip(state.ref - 1.0, 0.0, None) + (o.refractory - 1) * s
        x = state.x - 0.5 * state.x + 0.5 * s
        return AdaptiveState(u * (1.0 - s), a + o.jump * s, x, s, state.total + s, ref)

    # -- Brian2 ----------------------------------------------------------------------------
    def brian_equations(self, layer):
        o = layer.options
        return (
            "du/dt = (I - u) / tau : 1\n"
            f"da/dt = -a / ({o.tau_a_steps!r} * dt) : 1\n"
            "dx/dt = -x / (2 * dt) : 1\n"
        )

    def brian_group_options(self, layer, noise="rand()"):
        o = layer.options
        return {
            "method": "euler", "threshold": f"u > {o.theta!r} + a", "reset": f"u = 0\na += {o.jump!r}\nx += 0.5\n",
            "refractory": f"{o.refractory} * dt",
        }

    def brian_phase_code(self, layer):
        code = dict(super().brian_phase_code(layer))  # latch, restore and reset u, a, x
        code["free_end"] += "since_free = t - lastspike\n"
        code["nudge_end"] += "lastspike = t - since_free\n"
        code["window_start"] += "lastspike = -1e4 * second\n"
        return code

    def brian_phase_variables(self, layer):
        return super().brian_phase_variables(layer) + ["since_free : second"]


@pytest.fixture
def toy_model():
    model = register_neuron_model(AdaptiveLIF())
    yield model
    unregister_neuron_model(model.name)


def _spec(**over):
    base = {
        "model.hidden": [{"size": 16}], "model.readout": {"kind": "none"},
        "model.neuron": {"model": "toy_adaptive_lif", "tau": "1 ms", "refractory": 3},
        "ep.dt": "0.5 ms", "ep.free_steps": 12, "ep.nudged_steps": 4, "ep.beta": 1.0, "optim.lr_schedule": "constant",
        "run.chunk_size": 30, "run.brian2.target": "numpy", "run.brian2.device": "runtime",
    }
    return load_spec(DIGITS, overrides={**base, **over})


def _train(engine, x, y):
    try:
        results = [engine.train_chunk(x[:15], y[:15]), engine.train_chunk(x[15:], y[15:])]
        spikes = {k: sum(r.spikes[k] for r in results) for k in results[0].spikes}
        return engine.get_params(), np.concatenate([r.outputs for r in results]), spikes
    finally:
        engine.close()


@pytest.mark.parametrize("over", [{}, {"ep.nudging": "positive"}], ids=["centered", "positive"])
def test_a_third_spiking_model_trains_alike_in_numpy_and_brian2(toy_model, over):
    """30 digits, two chunks: the same weights (to 1e-9 of the largest), outputs and spike
    counts; and each of its pieces matters (no refractory period, no adaptation: other spikes)."""
    spec = _spec(**over)
    arch = brian_ep.build_architecture(spec)
    assert all(layer.neuron is toy_model for layer in arch.free_layers)
    ds = load_digits()
    x, y = ds.x_train[:30], one_hot(ds.y_train[:30], 10)
    params = initial_params(arch, 0)
    ref, ref_out, ref_spikes = _train(NumpyEngine(spec, arch, params, init_optim_state(params)), x, y)
    got, out, spikes = _train(BrianEngine(spec, arch, params, init_optim_state(params)), x, y)
    assert ref.max_abs_diff(params) > 1e-3, "the network did not learn: the comparison would be vacuous"
    assert ref.max_abs_diff(got) < 1e-9 * max(1.0, max(np.abs(w).max() for w in ref.W.values()))
    np.testing.assert_allclose(out, ref_out, atol=1e-9)
    assert spikes == ref_spikes and all(v > 0 for v in spikes.values())
    for change in ({"refractory": 1}, {"jump": 0.0}):
        other = _spec(**over, **{"model.neuron": {"model": "toy_adaptive_lif", "tau": "1 ms", **change}})
        _, _, other_spikes = _train(NumpyEngine(other, brian_ep.build_architecture(other), params, init_optim_state(params)), x, y)
        assert other_spikes != ref_spikes, change


def test_the_third_model_predicts_alike_in_numpy_and_brian2(toy_model):
    """The prediction network (free phase only; each window starts from the model's reset
    state, ``lastspike`` included) gives the numpy engine's outputs: the model is deterministic."""
    spec = _spec()
    arch = brian_ep.build_architecture(spec)
    params = initial_params(arch, 1)
    x = load_digits().x_train[:20]
    ref = NumpyEngine(spec, arch, params, init_optim_state(params)).predict(x)
    engine = BrianEngine(spec, arch, params, init_optim_state(params))
    try:
        got = engine.predict(x)
    finally:
        engine.close()
    assert np.ptp(ref) > 0
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_the_third_model_is_ordinary_brian2(toy_model, monkeypatch):
    """``brian_ep.build`` gives its layers the model's threshold, reset and ``refractory``
    (reachable through ``modify_equations``, shown in ``net.listing()``), and the phase
    schedule runs the model's latching code."""
    from brian2 import prefs

    monkeypatch.setitem(prefs, "codegen.target", "numpy")
    spec = _spec()
    ds = load_digits()
    net = brian_ep.build(spec, 2, ds.x_train[:2], one_hot(ds.y_train[:2], 10))
    assert net.code["h1.threshold"] == "u > 0.3 + a" and net.code["h1.refractory"] == "3 * dt"
    assert "a += 0.2" in net.code["h1.reset"]
    assert "a_free += a - a_free" in net.code["h1.free_end"] and "since_free = t - lastspike" in net.code["h1.free_end"]
    assert "a += a_free - a" in net.code["h1.nudge_end"] and "lastspike = t - since_free" in net.code["h1.nudge_end"]
    assert "a = 0" in net.code["h1.window_start"]
    assert "not_refractory" in net.listing() and "da/dt = -a / (5.0 * dt)" in net.equations["h1"]
