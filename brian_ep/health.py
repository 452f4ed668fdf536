"""Training that cannot learn says so: checks of a run's progress on a few probe samples.

The checks run the mathematics (:mod:`brian_ep.maths`, numpy) with the engine's current
weights, whatever the engine, so they cost a few small relaxations per chunk:

* :func:`settling` -- whether the free phase has settled after ``ep.free_steps``: the state
  change of one more step (the residual). If 90% of the probe samples change by more than
  :data:`SETTLE_TOL`, the warning gives the residual and the free-phase length that lets them
  settle (as ``brian-ep analyze`` computes it).
* :func:`stalled` -- whether the loss on the probe moved during the first chunk; if not, it
  names the layers whose rates are the same for every probe sample (a silent network: the
  rates sit where the activation is flat, so nothing can learn).
* :func:`at_chance` -- whether the training accuracy of the first epoch is still at chance;
  it reports how much of the output layer sits where its activation is flat (a saturated
  output cannot be moved by the nudge, so it cannot learn).
* ``activity.saturated`` and ``activity.identical_outputs`` (in
  :mod:`brian_ep.activity`) -- the checks of a network a user runs in their own Brian2 script
  (:meth:`brian_ep.brian.network.EPNetwork.check_health`), from the state of its groups.

Warnings go to the ``brian_ep.train`` logger and into the run's metrics.
"""

from __future__ import annotations

import numpy as np

from .analysis import free_steps_for
from .maths.activations import get_activation
from .maths.convergence import settling_steps
from .maths.dynamics import input_drive, output, rates, relax, step
from .maths.noise import SeededNoise, noise_layers
from .maths.energy import output_loss

__all__ = ["PROBE_SAMPLES", "SETTLE_TOL", "UNSETTLED", "probe_loss", "settling", "stalled", "at_chance"]

#: Samples of the training set the checks use (the first ones of the data set).
PROBE_SAMPLES = 32
#: Euclidean norm of one step's state change (per sample, over all free neurons) below which
#: the free phase counts as settled for the warning (``analyze`` reports 1e-6 by default).
SETTLE_TOL = 1e-3
#: How the settling warning starts.
UNSETTLED = "the free phase has not settled"
#: Steps the suggestion may go up to.
MAX_SUGGESTED_STEPS = 2000
#: seed of the noise of stochastic models in the probes
PROBE_NOISE_SEED = 0


def _deterministic(arch) -> bool:
    return not any(layer.neuron.stochastic for layer in arch.free_layers)


def _free_phase(arch, params, x, free_steps: int):
    """The free phase of the probe; stochastic models (and a spike-encoded input) draw from a
    fixed seed, so that two probes of the same weights see the same noise."""
    return relax(arch, params, x, free_steps, noise=SeededNoise(PROBE_NOISE_SEED) if noise_layers(arch) else None)


def probe_loss(arch, params, x, y, free_steps: int) -> float:
    """Mean loss of the probe samples at the end of the free phase."""
    p = params.astype(np.float64)
    u = _free_phase(arch, p, x, free_steps)
    return float(np.mean(output_loss(arch, output(arch, p, u), y)))


def settling(spec, arch, params, x) -> str | None:
    """A warning if the free phase has not settled after ``ep.free_steps`` on the probe ``x``,
    else ``None`` (also ``None`` for stochastic neuron models, whose state never settles)."""
    if not _deterministic(arch):
        return None
    p = params.astype(np.float64)
    drive = input_drive(arch, p, x)
    u = relax(arch, p, x, spec.ep.free_steps, x_drive=drive)
    nxt = step(arch, p, u, drive)
    residual = np.sqrt(sum(np.sum((nxt[k] - u[k]) ** 2, axis=1) for k in u))
    p90 = float(np.percentile(residual, 90))
    if not np.isfinite(p90) or p90 <= SETTLE_TOL:
        return None
    steps, _, _ = settling_steps(arch, p, x, tol=SETTLE_TOL, max_steps=MAX_SUGGESTED_STEPS)
    done = steps <= MAX_SUGGESTED_STEPS
    suggestion = free_steps_for(float(np.mean(done)), float(np.percentile(steps, 90)))
    advice = (
        f"ep.free_steps: {suggestion} lets 90% of them settle"
        if suggestion is not None
        else f"fewer than 90% settle within {MAX_SUGGESTED_STEPS} steps: lower gamma or the learning rates"
    )
    return (
        f"{UNSETTLED} after ep.free_steps = {spec.ep.free_steps}: the last step still changes the "
        f"state by {p90:.3g} (90th percentile over {x.shape[0]} training samples; settled means < {SETTLE_TOL:g}), so "
        f"the EP update is not the gradient. {advice} ('brian-ep analyze' shows the convergence in detail)"
    )


def stalled(spec, arch, before: float, params, x, y) -> str | None:
    """A warning if the probe loss did not move from ``before`` (the initial weights) to
    ``params`` (after the first chunk), naming the silent layers; else ``None``."""
    after = probe_loss(arch, params, x, y, spec.ep.free_steps)
    if not (np.isfinite(before) and np.isfinite(after)) or abs(after - before) > 1e-7 * max(1.0, abs(before)):
        return None
    p = params.astype(np.float64)
    r = rates(arch, _free_phase(arch, p, x, spec.ep.free_steps))
    silent = [
        f"'{layer.name}' (every rate {float(r[layer.name].flat[0]):.3g})"
        for layer in arch.free_layers
        if np.ptp(r[layer.name]) == 0
    ]
    why = f"the rates of layer(s) {', '.join(silent)} are the same for every sample, so no error reaches the weights" if silent else "the weights did not change the outputs"
    return (
        f"the loss has not moved after the first chunk ({before:.4f} -> {after:.4f} on {x.shape[0]} training samples): "
        f"{why}. This network is not learning; try model.chain.init: {{scheme: fan_in_uniform}}, another init gain, or "
        "larger learning rates"
    )


#: Training accuracy up to this multiple of chance (1 / number of classes) counts as chance.
CHANCE_FACTOR = 1.5
#: Fewer optimiser steps than this in the first epoch are too few to judge.
MIN_STEPS = 100


def at_chance(spec, arch, train_accuracy: float, params, x, n_samples: int) -> str | None:
    """A warning if the first epoch (of ``n_samples`` samples) ended with the training accuracy
    at chance, with the fraction of the top layer's rates that sit where its activation is
    flat; else ``None`` (also when the epoch made fewer than :data:`MIN_STEPS` optimiser steps)."""
    chance = 1.0 / arch.output.size
    if train_accuracy > CHANCE_FACTOR * chance or -(-n_samples // spec.optim.batch_size) < MIN_STEPS:
        return None
    top = arch.top
    flat = ""
    if _deterministic(arch):
        u = top.neuron.potential(top, _free_phase(arch, params.astype(np.float64), x, spec.ep.free_steps)[top.name])
        fraction = float(np.mean(get_activation(top.activation).rho_prime(u) == 0))
        if fraction > 0:
            flat = (
                f"; {100 * fraction:.0f}% of the rates of layer '{top.name}' sit where '{top.activation}' is flat, "
                "where the nudge cannot move them"
            )
    init = spec.model.chain.init
    other = "a smaller init gain" if init.scheme == "fan_in_uniform" else "model.chain.init: {scheme: fan_in_uniform}"
    return (
        f"after the first epoch the training accuracy is {100 * train_accuracy:.1f}% (chance: {100 * chance:.0f}%){flat}. "
        f"This network may not be learning; try {other}, or other learning rates"
    )


