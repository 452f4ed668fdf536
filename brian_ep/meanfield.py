"""Mean-field tools for spiking (stochastic) networks: how far the time-averaged spike rates
are from the rate network's fixed point, and the stochastic EP update from the deterministic
one, for the same weights and inputs.

The mean field of a network of Bernoulli neurons (:mod:`brian_ep.neurons.bernoulli`) is the
rate network with the same layers, activations, time constants and weights
(:func:`mean_field_architecture`): a spike is emitted with probability ``rho(u)`` and carries
its weight, so the expected current is the rate network's. Where ``rho`` is linear over the
fluctuations of ``u`` (inside (0, 1) for ``hard_sigmoid``) the time-averaged rates converge
to the rate fixed point with error ``~ 1/sqrt(T)``; near the kinks a bias of the order of the
fluctuations remains (``docs/stochep.md``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .maths.dynamics import input_drive, relax
from .maths.gradients import ep_gradient
from .maths.noise import SeededNoise
from .maths.phases import run_phases

__all__ = ["mean_field_architecture", "rate_errors", "UpdateAgreement", "update_agreement", "flat_update"]


def mean_field_architecture(arch):
    """``arch`` with every stochastic layer's neuron model replaced by the rate model (same
    activation, time constant and bias) and a spike-encoded input by currents.

    Raises
    ------
    ArgumentError
        If a layer has a refractory period: its mean field is the rate network with
        ``rho / (1 + (n_ref - 1) q rho)``, not ``rho`` (``docs/stochep.md``,
        "Refractoriness"), so the rate model would be the wrong reference.
    """
    from .errors import ArgumentError
    from .neurons import get_neuron_model

    for layer in arch.free_layers:
        if "refractory" in layer.neuron.features(layer):
            raise ArgumentError(
                f"layer '{layer.name}' has a refractory period: its mean field is the rate network with "
                "rho / (1 + (n_ref - 1) q rho), not the rate model with rho that this comparison uses as its reference; "
                "compare a spec without neuron.refractory"
            )
    rate = get_neuron_model("rate")
    layers = tuple(
        dataclasses.replace(layer, neuron=rate, options=None)
        if layer.neuron is not None and layer.neuron.stochastic
        else dataclasses.replace(layer, encoding="current") if layer.is_input else layer
        for layer in arch.layers
    )
    return dataclasses.replace(arch, layers=layers)


def rate_errors(arch, params, x, windows, burn_in: int = 100, settle: int = 2000, seed=0) -> dict:
    """RMS error of the time-averaged spike rates against the mean-field fixed point.

    Parameters
    ----------
    arch : Architecture
        A network with stochastic layers.
    x : ndarray, shape (n, n_input)
        Inputs; each row is one independent run (repeat rows for replicas).
    windows : sequence of int
        Averaging windows ``T`` (steps, increasing), all counted from the end of ``burn_in``.
    settle : int
        Steps of the rate network towards its fixed point.

    Returns
    -------
    dict
        ``{layer: ndarray of shape (len(windows),)}``: RMS over samples and neurons of
        ``(spikes in T steps) / (T q) - r*``.
    """
    mf = mean_field_architecture(arch)
    r_star = {layer.name: layer.neuron.rate(layer, u) for layer, u in _items(mf, relax(mf, params, x, settle))}
    noise = SeededNoise(seed)
    drive = input_drive(arch, params, x)
    state = relax(arch, params, x, burn_in, x_drive=drive, noise=noise)
    start = {name: _spikes(arch, name, state) for name in r_star}
    errors = {name: [] for name in r_star}
    done = 0
    for T in windows:
        state = relax(arch, params, x, T - done, u0=state, x_drive=drive, noise=noise)
        done = T
        for name, r in r_star.items():
            layer = arch.layer(name)
            mean = (_spikes(arch, name, state) - start[name]) / (T * layer.neuron.q(layer))
            errors[name].append(float(np.sqrt(np.mean((mean - r) ** 2))))
    return {name: np.array(v) for name, v in errors.items()}


def _items(arch, state):
    return [(layer, state[layer.name]) for layer in arch.free_layers]


def _spikes(arch, name, state):
    layer = arch.layer(name)
    return layer.neuron.spikes(layer, state[name])


@dataclass
class UpdateAgreement:
    """The stochastic EP update against the deterministic one: ``cosine`` and ``norm_ratio``
    (``|stochastic| / |deterministic|``) over all weights and biases, per noise seed."""

    cosine: np.ndarray
    norm_ratio: np.ndarray


def flat_update(arch, grads) -> np.ndarray:
    """All weights' and biases' entries of a :class:`~brian_ep.maths.params.Params` in one
    vector (projections, then biases, in the architecture's order)."""
    parts = [np.ravel(grads.W[p.name]) for p in arch.all_projections]
    parts += [np.ravel(grads.b[layer.name]) for layer in arch.free_layers if layer.bias]
    return np.concatenate(parts)


def update_agreement(arch, params, x, y, ep, seeds=(0,)) -> UpdateAgreement:
    """Compare the EP update of the stochastic network (``arch``, one noise draw per seed,
    averaged over the batch ``x``) with the deterministic update of its mean field, for the
    same weights, inputs, phases and ``beta`` (``ep``: an ``EPSpec``)."""
    mf = mean_field_architecture(arch)
    reference = flat_update(arch, _ep_update(mf, params, x, y, ep, None))
    cosines, ratios = [], []
    for s in seeds:
        got = flat_update(arch, _ep_update(arch, params, x, y, ep, SeededNoise(s)))
        cosines.append(float(got @ reference / (np.linalg.norm(got) * np.linalg.norm(reference))))
        ratios.append(float(np.linalg.norm(got) / np.linalg.norm(reference)))
    return UpdateAgreement(np.array(cosines), np.array(ratios))


def _ep_update(arch, params, x, y, ep, noise):
    ph = run_phases(arch, params, x, y, ep, signs=np.ones(x.shape[0]), noise=noise)
    return ep_gradient(arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free, readout_error=ep.readout_error)
