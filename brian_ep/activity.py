"""Checks of a network's activity that need no probe relaxation, for a network a user runs in
their own Brian2 script (:meth:`brian_ep.brian.network.EPNetwork.check_health`): layers whose
rates sit where the activation is flat, and an output that is the same for every sample. The
probe-based checks of ``brian-ep train`` are in :mod:`brian_ep.health`.
"""

from __future__ import annotations

import numpy as np

from .maths.activations import get_activation

__all__ = ["SATURATED", "saturated", "identical_outputs"]


#: A layer with at least this fraction of its neurons where the activation is flat is saturated.
SATURATED = 0.9
#: What to change in a network that saturates or does not tell samples apart.
_ADVICE = (
    "scale the input to the range the activation works in (rates and currents of order 1: e.g. divide spike "
    "counts or rates by their maximum), use smaller initial weights (model.chain.init: a smaller gain), or "
    "smaller learning rates"
)


def saturated(arch, potentials: dict) -> str | None:
    """A warning if, in some free layer, at least :data:`SATURATED` of the values in
    ``potentials`` (``{layer name: membrane potentials u}``, any shape) sit where the layer's
    activation is flat (``rho'(u) = 0``): there neither the input nor the nudge moves the rate,
    the EP update is zero, and the layer cannot learn; else ``None``."""
    found = []
    for layer in arch.free_layers:
        if layer.name not in potentials:
            continue
        u = np.asarray(potentials[layer.name], dtype=np.float64)
        fraction = float(np.mean(get_activation(layer.activation).rho_prime(u) == 0))
        if fraction >= SATURATED:
            high = float(np.mean(u > 0.5))
            where = "above" if high >= 0.5 else "below"
            found.append(f"'{layer.name}' ({100 * fraction:.0f}% of its neurons, most {where} the range of '{layer.activation}')")
    if not found:
        return None
    return (
        f"the rates of layer(s) {', '.join(found)} sit where the activation is flat, where neither the input nor the "
        f"nudge can move them: the EP update is zero there and this network cannot learn. Try: {_ADVICE}"
    )


def identical_outputs(outputs) -> str | None:
    """A warning if the free-phase outputs of every sample window (``(n_windows, n_output)``,
    at least two windows) are the same: the network does not tell its samples apart; else ``None``."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[0] < 2 or not np.all(np.isfinite(outputs)):
        return None
    if float(np.max(np.ptp(outputs, axis=0))) > 0:
        return None
    return (
        f"the output at the end of the free phase is the same for all {outputs.shape[0]} samples "
        f"({np.round(outputs[0], 4).tolist()[:5]}...), so the network does not tell them apart and no error signal "
        f"differs between them. Try: {_ADVICE}"
    )
