"""The leaky rate neuron, the model of every layer unless a spec says otherwise."""

from __future__ import annotations

from ..maths.activations import get_activation
from ..maths.arrays import device_of, lerp, namespace
from .base import NeuronModel

__all__ = ["RateNeuron"]


class RateNeuron(NeuronModel):
    r"""Leaky rate neuron (``neuron.model: rate``).

    .. math::

        \tau \frac{du}{dt} = -u + I, \qquad r = \rho(u)

    integrated with the Euler step :math:`u \leftarrow u + \epsilon (I - u)`,
    :math:`\epsilon = dt / \tau`.

    * :math:`u`: membrane potential (dimensionless, in units of the current scale);
    * :math:`I`: total input current (dimensionless): synaptic, input, bias and nudge;
    * :math:`\tau`: membrane time constant (``neuron.tau``, e.g. ``1 ms``); :math:`dt` is
      ``ep.dt``;
    * :math:`r = \rho(u)`: the rate, a fraction of the maximal rate (``neuron.activation``:
      ``hard_sigmoid`` = ``clip(u, 0, 1)``, ``sigmoid``, ``tanh``). It is both what the
      layer sends to other layers and what the EP rule reads.

    No options beyond the common ``activation``, ``tau`` and ``bias``.

    Examples
    --------
    >>> import numpy as np
    >>> from brian_ep.neurons import get_neuron_model
    >>> from brian_ep.architecture import Layer
    >>> rate = get_neuron_model("rate")
    >>> layer = Layer("h1", 1, 2, "hidden", activation="hard_sigmoid", tau=1e-3, eps=0.5)
    >>> u = rate.advance(layer, rate.initial_state(layer, 1, np.zeros(1)), np.array([[1.0, -1.0]]))
    >>> u, rate.rate(layer, u)
    (array([[ 0.5, -0.5]]), array([[0.5, 0. ]]))
    """

    name = "rate"

    def initial_state(self, layer, n_samples, like):
        xp = namespace(like)
        return xp.zeros((n_samples, layer.size), dtype=like.dtype, device=device_of(like))

    def signal(self, layer, state):
        return get_activation(layer.activation).rho(state)

    def rate(self, layer, state):
        return get_activation(layer.activation).rho(state)

    def advance(self, layer, state, current, noise=None):
        return lerp(state, current, layer.eps)

    def brian_equations(self, layer) -> str:
        rho = get_activation(layer.activation).brian_expr("u")
        return f"du/dt = (I - u) / tau : 1\nr = {rho} : 1\n"
