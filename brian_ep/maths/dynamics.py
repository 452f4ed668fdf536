"""The network dynamics, batched: input currents, one step, relaxation.

Every free layer ``l`` (all but the clamped input, and the output under a softmax readout)
has a state of shape ``(n_samples, n_l)`` whose meaning its neuron model defines
(:mod:`brian_ep.neurons`; for the rate model it is the membrane potential ``u_l``). The
model turns the state into the *signal* the layer sends (``r_l = rho_l(u_l)`` for rates) and
advances it by one step of length ``dt`` driven by the total current::

    I_l = b_l + sum_{p: a -> l} s_a W_p + sum_{p: l -> b} gamma_p s_b W_p^T + nudge_l

(a convolutional projection applies its operator ``A_W`` and its adjoint instead of ``W`` and
``W^T``, see :mod:`brian_ep.maths.projections`)

(for the rate model, the Euler step of ``tau_l du_l/dt = -u_l + I_l`` with
``eps_l = dt / tau_l``). All layers are updated synchronously from the signals at the start of
the step, which is what Brian2 does (summed variables are computed just before each group's
state update).

Spiking layers (a neuron model with ``stochastic = True``) draw one uniform number per
neuron and step from the ``noise`` callable; their signal is the spikes of the last step.
An input encoded as spikes (``model.input.encoding: spikes``) keeps its last spikes in the
state too (:class:`InputSpikes`, under the input layer's name) and drives the next step with
them instead of the constant ``x W``.

Functions take arrays of any array-API namespace (numpy, torch) and return the same kind.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import DIVERGENCE_ADVICE, DivergenceError
from .arrays import device_of, namespace, on_host
from .projections import add_bias, feedback, feedforward

__all__ = [
    "NUDGE_FORCES",
    "InputSpikes",
    "initial_state",
    "rates",
    "phase_rates",
    "signals",
    "spike_counts",
    "input_drive",
    "currents",
    "softmax",
    "readout_output",
    "output",
    "nudge_current",
    "step",
    "relax_step",
    "relax",
    "check_state",
    "divergence_summary",
    "raise_divergence",
]

#: The forms of the nudging current during a nudged phase (``ep.nudge_force``).
NUDGE_FORCES = ("recomputed", "constant", "accumulated")


class InputSpikes(NamedTuple):
    """The state of an input encoded as spikes: ``s`` the spikes of the last step (0 or 1)
    and ``total`` the spikes since the initial state, shape ``(n_samples, n_input)``."""

    s: object
    total: object


def initial_state(arch, like, n_samples: int | None = None) -> dict:
    """Every free layer's state before a sample is presented (zeros for the rate model), and
    the input's :class:`InputSpikes` when it is encoded as spikes.

    Parameters
    ----------
    like : array, shape (n_samples, ...)
        Gives the namespace, dtype, device and (unless ``n_samples`` is given) the batch size.
    """
    n = like.shape[0] if n_samples is None else n_samples
    state = {layer.name: layer.neuron.initial_state(layer, n, like) for layer in arch.free_layers}
    if arch.input.encoding == "spikes":
        zeros = namespace(like).zeros((n, arch.input.size), dtype=like.dtype, device=device_of(like))
        state[arch.input.name] = InputSpikes(zeros, zeros)
    return state


def rates(arch, state: dict) -> dict:
    """The rate of every free layer (``r_l = rho_l(u_l)`` for the rate model, the spike trace
    of a spiking layer): what the nudge, the output and the energy read."""
    return {layer.name: layer.neuron.rate(layer, state[layer.name]) for layer in arch.free_layers}


def phase_rates(arch, state: dict) -> dict:
    """The rate estimate of every free layer that the EP rule reads at the end of a phase
    (the rates, for the rate model; a spiking layer's trace or windowed spike count)."""
    return {layer.name: layer.neuron.phase_rate(layer, state[layer.name]) for layer in arch.free_layers}


def spike_counts(arch, state: dict) -> dict:
    """Spikes emitted since the initial state, summed over neurons, per sample: ``{layer:
    array of shape (n_samples,)}`` for every spiking layer (and a spike-encoded input)."""
    out = {}
    inp = arch.input
    if inp.encoding == "spikes":
        out[inp.name] = namespace(state[inp.name].total).sum(state[inp.name].total, axis=1)
    for layer in arch.free_layers:
        total = layer.neuron.spikes(layer, state[layer.name])
        if total is not None:
            out[layer.name] = namespace(total).sum(total, axis=1)
    return out


def signals(arch, state: dict) -> dict:
    """What every free layer sends through its projections (its rates, or its spikes)."""
    return {layer.name: layer.neuron.signal(layer, state[layer.name]) for layer in arch.free_layers}


def input_drive(arch, params, x) -> dict:
    """The constant part of every free layer's current, computed once per sample (the input is
    clamped): ``x W_p`` for each projection out of the clamped input, plus the layer's bias.

    Parameters
    ----------
    x : array, shape (n_samples, n_input)
    """
    name = arch.input.name
    drive = {}
    for p in arch.projections:
        if p.pre == name:
            term = feedforward(p, x, params.W[p.name])
            drive[p.post] = drive[p.post] + term if p.post in drive else term
    for layer in arch.free_layers:
        if layer.bias:
            base = drive.get(layer.name)
            if base is None:
                base = namespace(x).zeros((x.shape[0], layer.size), dtype=x.dtype, device=device_of(x))
            drive[layer.name] = add_bias(layer, base, params.b[layer.name])
    return drive


def currents(arch, params, r: dict, x_drive: dict) -> dict:
    """Total current ``I_l`` of every free layer (without the nudge), from the signals ``r``
    the layers send and the constant currents ``x_drive`` (:func:`input_drive`: input and
    bias)."""
    inp = arch.input.name
    out = {}
    for layer in arch.free_layers:
        name = layer.name
        total = x_drive.get(name)
        out[name] = namespace(r[name]).zeros_like(r[name]) if total is None else total
    for p in arch.projections:
        if p.pre == inp:
            continue
        W = params.W[p.name]
        out[p.post] = out[p.post] + feedforward(p, r[p.pre], W)
        out[p.pre] = out[p.pre] + p.gamma * feedback(p, r[p.post], W)
    return out


def softmax(z):
    """Softmax over the last axis (numerically stable)."""
    xp = namespace(z)
    z = z - xp.max(z, axis=-1, keepdims=True)
    e = xp.exp(z)
    return e / xp.sum(e, axis=-1, keepdims=True)


def readout_output(arch, params, r_top):
    """The network's output: ``softmax(r_top W_out)`` under a softmax readout, else the rates
    of the output layer (``r_top`` itself)."""
    if arch.readout is None:
        return r_top
    return softmax(r_top @ params.W[arch.readout.name])


def output(arch, params, state: dict):
    """The network's output at ``state``, shape ``(n_samples, n_output)``: the softmax
    readout of the top layer's rates, or the output layer's rate estimate at a phase end
    (``phase_rate``; for a spiking output layer the EP rule's estimate, which Brian2
    latches at the end of the free phase)."""
    top = arch.top
    if arch.readout is None:
        return top.neuron.phase_rate(top, state[top.name])
    return readout_output(arch, params, top.neuron.rate(top, state[top.name]))


def nudge_current(arch, params, r_top, y, beta):
    """The nudging current ``-beta dC/dr_top`` into the top layer (``c_top = 1``).

    MSE (no readout): ``beta (y - r_out)``. Softmax readout with cross-entropy:
    ``-beta (softmax(r_top W_out) - y) W_out^T``.

    Parameters
    ----------
    beta : float or array, shape (n_samples,)
        Nudging strength, per sample where signs differ.
    """
    beta = _nudge_strength(beta, r_top)
    if arch.readout is None:
        return beta * (y - r_top)
    W = params.W[arch.readout.name]
    return (-beta * (softmax(r_top @ W) - y)) @ W.T  # scaled before the product: n x n_output values


def _nudge_strength(beta, like):
    """``beta`` as an array of the dtype and device of ``like``, shaped to scale its rows
    (``(n, 1)`` for one strength per sample); an array that is so already is returned as it is."""
    beta = namespace(like).asarray(beta, dtype=like.dtype, device=device_of(like))
    return beta[:, None] if beta.ndim == 1 else beta


def step(arch, params, state: dict, x_drive: dict, nudge=None, noise=None, x=None) -> dict:
    """One synchronous step; returns the new state (inputs are not modified).

    The order is Brian2's: every layer integrates the currents of the signals at the start
    of the step (summed variables, or the spikes of the last step), then draws its spikes
    (thresholds), which become the signals of the next step.

    Parameters
    ----------
    x_drive : dict
        The constant input currents (:func:`input_drive`); ignored for a spike-encoded
        input, whose last spikes (in ``state``) drive the step.
    nudge : array, optional
        Extra current into the top layer (see :func:`nudge_current`).
    noise : callable, optional
        ``noise(layer, like) -> uniform array shaped like like``: the random numbers of this
        step for layers whose neuron model is stochastic (and a spike-encoded input).
    x : array, optional
        The clamped input (needed for a spike-encoded input: its spike probabilities).
    """
    inp = arch.input
    spiking_input = inp.encoding == "spikes"
    if spiking_input:
        x_drive = input_drive(arch, params, state[inp.name].s)
    I = currents(arch, params, signals(arch, state), x_drive)
    if nudge is not None:
        I[arch.top.name] = I[arch.top.name] + nudge
    new = {}
    for layer in arch.free_layers:
        s, current = state[layer.name], I[layer.name]
        if layer.neuron.stochastic and noise is None:
            raise ValueError(f"layer '{layer.name}' is stochastic: pass noise (e.g. brian_ep.maths.SeededNoise(seed))")
        draw = noise(layer, current) if layer.neuron.stochastic else None
        new[layer.name] = layer.neuron.advance(layer, s, current, draw)
    if spiking_input:
        spikes = namespace(x).astype(noise(inp, x) < x, x.dtype)
        new[inp.name] = InputSpikes(spikes, state[inp.name].total + spikes)
    return new


def relax_step(
    arch, params, u: dict, x_drive: dict, nudge=None, y=None, beta=0.0, nudge_force="recomputed", noise=None, nudged=False, x=None,
):
    """One step of :func:`relax`: the nudging current of this step (when ``nudged``: see
    ``nudge_force``), then :func:`step`. Returns ``(state, nudge)``.

    A pure function of its array arguments (``arch``, ``nudge_force`` and ``nudged`` are
    fixed within a phase), so an engine can replace it by a compiled version of itself
    (``relax(..., stepper=...)``).
    """
    if nudged and (nudge is None or nudge_force != "constant"):
        top = arch.top
        now = nudge_current(arch, params, top.neuron.rate(top, u[top.name]), y, beta)
        nudge = nudge + now if (nudge is not None and nudge_force == "accumulated") else now
    return step(arch, params, u, x_drive, nudge, noise, x), nudge


def relax(
    arch,
    params,
    x,
    n_steps: int,
    u0: dict | None = None,
    y=None,
    beta=0.0,
    nudge_force: str = "recomputed",
    x_drive: dict | None = None,
    trajectory: bool = False,
    noise=None,
    stepper=None,
    drives=None,
):
    """Run ``n_steps`` steps from the state ``u0`` (the initial state by default).

    Parameters
    ----------
    x : array, shape (n_samples, n_input)
        Clamped input.
    y : array, shape (n_samples, n_output), optional
        Targets (one-hot); needed when ``beta`` is nonzero.
    beta : float or array
        Nudging strength (0: free phase).
    nudge_force : {"recomputed", "constant", "accumulated"}
        The nudging current at each step (``ep.nudge_force``): recomputed from the current
        state; computed at the first step (from ``u0``, the free fixed point) and held, as in
        the FRE-RNN authors' shallow-network code; or the running sum of the recomputed
        currents, which grows while the output error persists (their deep-network code,
        ``models_LN_G.py``).
    trajectory : bool
        Also return the list of states after each step.
    noise : callable, optional
        Random numbers for stochastic neuron models (see :func:`step`); each layer's model
        is told where a phase begins (``begin_phase``), e.g. to restart a spike count.
    stepper : callable, optional
        A stand-in for :func:`relax_step` with its signature and result (e.g. compiled).
    drives : sequence of dict, optional
        A time-varying input: the constant currents of each step (``n_steps`` dicts like
        ``x_drive``, :mod:`brian_ep.maths.stream`), used instead of ``x_drive``.

    Returns
    -------
    u : dict
        Final state.
    traj : list of dict
        Only when ``trajectory`` is true.
    """
    if nudge_force not in NUDGE_FORCES:
        raise ValueError(f"unknown nudge_force {nudge_force!r}: use one of {', '.join(map(repr, NUDGE_FORCES))}")
    if x_drive is None:
        x_drive = input_drive(arch, params, x)
    u = initial_state(arch, x) if u0 is None else dict(u0)
    nudged = y is not None and _any_nonzero(beta)
    if nudged:  # once per phase rather than in every step (nudge_current would convert it)
        beta = _nudge_strength(beta, x)
    for layer in arch.free_layers:
        u[layer.name] = layer.neuron.begin_phase(layer, u[layer.name], n_steps, nudged)
    one_step = relax_step if stepper is None else stepper
    traj = []
    nudge = None
    if drives is not None and len(drives) != n_steps:
        raise ValueError(f"drives has {len(drives)} steps, the phase {n_steps}")
    for k in range(n_steps):
        drive = x_drive if drives is None else drives[k]
        u, nudge = one_step(arch, params, u, drive, nudge, y, beta, nudge_force, noise, nudged, x)
        if trajectory:
            traj.append(u)
    return (u, traj) if trajectory else u


def _any_nonzero(beta) -> bool:
    """Whether ``beta`` nudges at all. Only host values (numpy, scalars) are read: an array on
    a device counts as nonzero, since reading it would wait for the device, and a zero
    nudge adds exactly zero."""
    if on_host(beta):
        return bool(np.any(np.asarray(beta) != 0))
    return True


def check_state(arch, state: dict, threshold: float, where: str = "") -> None:
    """Raise :class:`~brian_ep.errors.DivergenceError` naming the layer and sample if a
    membrane potential is not finite or exceeds ``threshold`` in magnitude."""
    for layer in arch.free_layers:
        v = layer.neuron.potential(layer, state[layer.name])
        xp = namespace(v)
        bad = ~xp.isfinite(v) | (xp.abs(v) > threshold)
        if bool(xp.any(bad)):
            raise_divergence(arch, divergence_summary(arch, state, threshold), threshold, where)


def divergence_summary(arch, state: dict, threshold: float):
    """What :func:`check_state` checks, without reading it: for every free layer, whether a
    sample diverged, the first such sample and the largest ``|u|`` of that sample (``inf`` or
    ``nan`` when it is not finite), as an array of shape ``(n_free_layers, 3)`` in the
    namespace and on the device of the state. An engine on a device keeps these and reads
    them once per chunk (:func:`raise_divergence`) instead of waiting for the device after
    every mini-batch."""
    rows = []
    for layer in arch.free_layers:
        v = layer.neuron.potential(layer, state[layer.name])
        xp = namespace(v)
        axes = tuple(range(1, v.ndim))
        size = xp.maximum(xp.max(v, axis=axes), -xp.min(v, axis=axes))  # max |u| per sample; nan stays nan
        bad = ~(size <= threshold)
        first = xp.argmax(xp.astype(bad, xp.int8))
        # take, not size[first]: indexing with an array scalar reads it on the host, which would
        # wait for the device (and cannot be captured in a CUDA graph)
        size_first = xp.take(size, xp.reshape(first, (1,)), axis=0)[0]
        rows.append(xp.stack([xp.astype(xp.any(bad), v.dtype), xp.astype(first, v.dtype), size_first]))
    return namespace(rows[0]).stack(rows)


def raise_divergence(arch, summary, threshold: float, where: str = "") -> None:
    """Raise :class:`~brian_ep.errors.DivergenceError` for the first diverged layer of a
    :func:`divergence_summary` brought to the host (a numpy array or a CPU tensor), if any."""
    summary = np.asarray(summary, dtype=float)
    for layer, (bad, sample, size) in zip(arch.free_layers, summary):
        if not bad:
            continue
        what = f"|u| = {size:.3g}" if np.isfinite(size) else "non-finite"
        raise DivergenceError(
            f"the state of layer '{layer.name}' diverged ({what} > {threshold:g}) at sample {int(sample)}{where}. "
            f"{DIVERGENCE_ADVICE}"
        )
