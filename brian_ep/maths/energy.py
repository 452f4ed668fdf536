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

from .activations import get_activation
from .arrays import namespace
from .dynamics import currents, input_drive, nudge_current, output, rates
from .projections import bias_energy, feedforward

__all__ = ["energy", "cost", "output_loss", "total_energy", "fixed_point_residual"]


def energy(arch, params, u: dict, x):
    """Energy ``E`` of each sample, shape ``(n_samples,)`` (exact mode only)."""
    if arch.mode != "exact":
        raise ValueError("the vector-field mode has no energy function; use ep.mode: exact")
    xp = namespace(x)
    c = arch.energy_weights
    r = rates(arch, u)
    total = 0.0
    for layer in arch.free_layers:
        act = get_activation(layer.activation)
        ul = layer.neuron.potential(layer, u[layer.name])
        term = xp.sum(ul * r[layer.name] - act.primitive(ul), axis=1)
        if layer.bias:
            term = term - bias_energy(layer, r[layer.name], params.b[layer.name])
        total = total + c[layer.name] * term
    r_all = dict(r, **{arch.input.name: x})
    for p in arch.projections:
        total = total - c[p.post] * xp.sum(feedforward(p, r_all[p.pre], params.W[p.name]) * r_all[p.post], axis=1)
    return total


def output_loss(arch, outputs, y):
    """The loss of each sample from the network's outputs, shape ``(n_samples,)``: the
    cross-entropy ``-sum y log p`` of the softmax probabilities ``p`` under a softmax readout,
    else the squared error ``0.5 |r_out - y|^2`` of the output layer's rates.

    This is the one definition of the loss: the cost in the energy, the training metrics and
    the backprop baselines all use it.
    """
    xp = namespace(outputs)
    if arch.readout is None:
        return 0.5 * xp.sum((outputs - y) ** 2, axis=1)
    tiny = xp.finfo(outputs.dtype).tiny
    return -xp.sum(y * xp.log(xp.clip(outputs, tiny, 1.0)), axis=1)


def cost(arch, params, u: dict, y):
    """Cost ``C`` of each sample at the state ``u``: :func:`output_loss` of the output there."""
    return output_loss(arch, output(arch, params, u), y)


def total_energy(arch, params, u, x, y, beta):
    """``F = E + beta C`` per sample."""
    return energy(arch, params, u, x) + namespace(x).asarray(beta) * cost(arch, params, u, y)


def fixed_point_residual(arch, params, u: dict, x, y=None, beta=0.0):
    """``max_l |u_l - I_l(u)|`` per sample: zero exactly at a fixed point of the dynamics."""
    xp = namespace(x)
    r = rates(arch, u)
    I = currents(arch, params, r, input_drive(arch, params, x))
    if y is not None and bool(xp.any(xp.asarray(beta) != 0)):
        I[arch.top.name] = I[arch.top.name] + nudge_current(arch, params, r[arch.top.name], y, beta)
    res = xp.zeros(x.shape[0], dtype=x.dtype)
    for layer in arch.free_layers:
        ul = layer.neuron.potential(layer, u[layer.name])
        res = xp.maximum(res, xp.max(xp.abs(ul - I[layer.name]), axis=1))
    return res
