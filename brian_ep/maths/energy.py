"""The energy of an exact-mode network, the cost, and the residual of a fixed point.

With energy weights ``c_l`` (see :mod:`brian_ep.architecture`)::

    E(u) = sum_l c_l [ sum_i (u_li r_li - P(u_li)) - b_l . r_l ] - sum_p c_post(p) r_pre W_p r_post^T
    F(u) = E(u) + beta C(u)

with ``P`` the primitive of ``rho`` (``u r - P(u)`` is the Legendre transform ``G(r)``).
``dE/du_l = c_l rho'(u_l) (u_l - I_l)``, so the dynamics ``tau du/dt = -u + I`` descend
``E`` (``dE/dt = -sum_l (c_l/tau_l) rho'(u_l) (u_l - I_l)^2 <= 0``) and their fixed points are
the stationary points of ``F``.
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .dynamics import currents, input_drive, nudge_current, rates

__all__ = ["energy", "cost", "total_energy", "fixed_point_residual"]


def energy(arch, params, u: dict, x: np.ndarray) -> np.ndarray:
    """Energy ``E`` of each sample, shape ``(n_samples,)`` (exact mode only)."""
    if arch.mode != "exact":
        raise ValueError("the vector-field mode has no energy function; use ep.mode: exact")
    c = arch.energy_weights
    r = rates(arch, u)
    total = np.zeros(x.shape[0])
    for layer in arch.free_layers:
        act = get_activation(layer.activation)
        ul = u[layer.name]
        term = np.sum(ul * r[layer.name] - act.primitive(ul), axis=1)
        if layer.bias:
            term -= r[layer.name] @ params.b[layer.name]
        total += c[layer.name] * term
    r_all = dict(r, **{arch.input.name: x})
    for p in arch.projections:
        total -= c[p.post] * np.sum((r_all[p.pre] @ params.W[p.name]) * r_all[p.post], axis=1)
    return total


def cost(arch, params, u: dict, y: np.ndarray) -> np.ndarray:
    """Cost ``C`` of each sample: ``0.5 |r_out - y|^2`` or, under a softmax readout,
    the cross-entropy ``-sum y log softmax(r_top W_out)``."""
    r_top = get_activation(arch.top.activation).rho(u[arch.top.name])
    if arch.readout is None:
        return 0.5 * np.sum((r_top - y) ** 2, axis=1)
    z = r_top @ params.W[arch.readout.name]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(y * logp, axis=1)


def total_energy(arch, params, u, x, y, beta) -> np.ndarray:
    """``F = E + beta C`` per sample."""
    return energy(arch, params, u, x) + np.asarray(beta) * cost(arch, params, u, y)


def fixed_point_residual(arch, params, u: dict, x: np.ndarray, y=None, beta=0.0) -> np.ndarray:
    """``max_l |u_l - I_l(u)|`` per sample: zero exactly at a fixed point of the dynamics."""
    r = rates(arch, u)
    I = currents(arch, params, r, input_drive(arch, params, x))
    if y is not None and np.any(np.asarray(beta) != 0):
        I[arch.top.name] = I[arch.top.name] + nudge_current(arch, params, r[arch.top.name], y, beta)
    res = np.zeros(x.shape[0])
    for layer in arch.free_layers:
        res = np.maximum(res, np.max(np.abs(u[layer.name] - I[layer.name]), axis=1))
    return res
