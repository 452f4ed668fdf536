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

__all__ = ["Phases", "run_phases", "ep_phase_gradient"]


@dataclass
class Phases:
    """States at the end of each phase and the nudging strengths that produced them."""

    u_free: dict
    u_a: dict
    u_b: dict
    beta_a: object  # array, shape (n_samples,)
    beta_b: object


def run_phases(arch, params, x, y, ep, signs=None, noise=None, stepper=None) -> Phases:
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
    """
    n = x.shape[0]
    xp, device = namespace(x), device_of(x)
    x_drive = input_drive(arch, params, x)
    u_free = relax(arch, params, x, ep.free_steps, x_drive=x_drive, noise=noise, stepper=stepper)
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


def ep_phase_gradient(arch, params, x, y, ep, signs=None, noise=None, stepper=None):
    """:func:`run_phases` then :func:`~brian_ep.maths.gradients.ep_gradient` (with
    ``ep.readout_error``); returns ``(grads, phases)``."""
    ph = run_phases(arch, params, x, y, ep, signs, noise, stepper)
    grads = ep_gradient(
        arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free, readout_error=ep.readout_error
    )
    return grads, ph
