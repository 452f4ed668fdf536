"""One EP presentation of a batch: the free phase and the nudged phase(s), as a pure function
of the parameters (the schedule that the Brian2 engine plays out in time).

Schedule per sample window (``free_steps + nudged_steps`` or, centered,
``free_steps + 2 nudged_steps`` Euler steps):

1. free phase from ``u = 0``;
2. nudged with ``beta_a`` (``+beta``, or ``s beta`` with a random sign ``s``) from the free state;
3. centered only: nudged with ``beta_b = -beta``, again from the free state.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arrays import device_of, namespace
from .dynamics import input_drive, relax
from .gradients import ep_gradient
from .noise import RecordedNoise

__all__ = ["Phases", "free_phase_input", "run_phases", "ep_phase_gradient"]


@dataclass
class Phases:
    """States at the end of each phase and the nudging strengths that produced them."""

    u_free: dict
    u_a: dict
    u_b: dict
    beta_a: object  # array, shape (n_samples,)
    beta_b: object


def free_phase_input(arch, params, x, n_steps, stream=None):
    """The clamped input of a free phase of ``n_steps`` steps: ``(x_held, x_drive, drives)``.

    Static input (``stream`` ``None``): ``x`` itself, its currents, no per-step currents.
    A stream (:class:`~brian_ep.maths.stream.Stream`, ``x`` of shape ``(n, bins * channels)``):
    the held input (what the nudged phases and the EP rule see), its currents, and the
    currents of each free step (one :func:`~brian_ep.maths.dynamics.input_drive` per bin)."""
    if stream is None:
        return x, input_drive(arch, params, x), None
    frames = stream.frames(x)
    held = stream.held(frames)
    n, xp = frames.shape[0], namespace(x)
    every = input_drive(arch, params, xp.reshape(frames, (n * stream.bins, frames.shape[2])))  # one product for all bins
    per_bin = [{k: xp.reshape(v, (n, stream.bins, *v.shape[1:]))[:, b, ...] for k, v in every.items()} for b in range(stream.bins)]
    held_drive = per_bin[-1] if stream.hold == "last" else input_drive(arch, params, held)
    drives = [held_drive if b is None else per_bin[b] for b in stream.step_bins(n_steps)]
    return held, held_drive, drives


def run_phases(arch, params, x, y, ep, signs=None, noise=None, stepper=None, stream=None) -> Phases:
    """Run the free and nudged phases for a batch.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_input)
    y : ndarray, shape (n_samples, n_output)
        One-hot targets.
    ep : EPSpec
        ``free_steps``, ``nudged_steps``, ``beta``, ``nudging``, ``nudge_force``.
    signs : ndarray of +-1, shape (n_samples,), optional
        Nudging signs for ``nudging: random_sign`` (drawn by the caller from the run's
        generator, so that every engine uses the same ones).
    noise : callable, optional
        Random numbers for stochastic neuron models (see :func:`~brian_ep.maths.dynamics.step`);
        with ``ep.common_noise`` the -beta phase reuses the numbers of the +beta phase.
    stepper : callable, optional
        Stand-in for :func:`~brian_ep.maths.dynamics.relax_step` (e.g. compiled).
    stream : Stream, optional
        ``x`` is a stream of time bins (:mod:`brian_ep.maths.stream`): the free phase presents
        them in order, the nudged phases hold ``stream.held``.
    """
    n = x.shape[0]
    xp, device = namespace(x), device_of(x)
    x, x_drive, drives = free_phase_input(arch, params, x, ep.free_steps, stream)
    u_free = relax(arch, params, x, ep.free_steps, x_drive=x_drive, noise=noise, stepper=stepper, drives=drives)
    if ep.nudging == "random_sign":
        if signs is None:
            raise ValueError("nudging 'random_sign' needs the per-sample signs")
        beta_a = ep.beta * xp.asarray(signs, dtype=xp.float64, device=device)
    else:
        beta_a = xp.full((n,), ep.beta, dtype=xp.float64, device=device)

    def nudged_phase(beta, source):
        return relax(
            arch, params, x, ep.nudged_steps, u0=u_free, y=y, beta=beta, nudge_force=ep.nudge_force, x_drive=x_drive,
            noise=source, stepper=stepper,
        )

    common = getattr(ep, "common_noise", False) and noise is not None
    source_a = RecordedNoise(noise) if common else noise
    u_a = nudged_phase(beta_a, source_a)
    if ep.nudging == "centered":
        beta_b = -beta_a
        u_b = nudged_phase(beta_b, source_a.replay() if common else noise)
    else:
        beta_b = xp.zeros((n,), dtype=xp.float64, device=device)
        u_b = u_free
    return Phases(u_free, u_a, u_b, beta_a, beta_b)


def ep_phase_gradient(arch, params, x, y, ep, signs=None, noise=None, stepper=None, stream=None):
    """:func:`run_phases` then :func:`~brian_ep.maths.gradients.ep_gradient` (with
    ``ep.readout_error``); returns ``(grads, phases)``. With a ``stream`` the input
    projections' EP products read the held input (what the nudged phases see)."""
    ph = run_phases(arch, params, x, y, ep, signs, noise, stepper, stream)
    if stream is not None:
        x = stream.held(stream.frames(x))
    grads = ep_gradient(
        arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free, readout_error=ep.readout_error
    )
    return grads, ph
