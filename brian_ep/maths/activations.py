"""Rate functions ``rho``: each is one record with its derivative, its primitive (for the
energy) and the Brian2 expression that computes it, so the equations and the mathematics
cannot drift apart. The functions take arrays of any array-API namespace (numpy, torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .arrays import namespace

__all__ = ["Activation", "ACTIVATIONS", "get_activation"]


@dataclass(frozen=True)
class Activation:
    """A rate function.

    Attributes
    ----------
    name : str
        Name used in specs.
    rho, rho_prime : callable
        ``r = rho(u)`` and ``d rho / du``, elementwise on arrays.
    primitive : callable
        ``P(u) = int_0^u rho``; the energy uses ``u rho(u) - P(u)`` (the Legendre
        transform ``G(r)`` of ``P`` with ``G' = rho^{-1}``).
    brian : str
        Brian2 expression of ``rho`` in the variable ``{u}``, e.g. ``"clip({u}, 0, 1)"``.
    low, high : float
        The range of ``rho`` (a spiking model that reads ``rho`` as a probability needs it
        inside [0, 1]).
    """

    name: str
    rho: Callable
    rho_prime: Callable
    primitive: Callable
    brian: str
    low: float = -math.inf
    high: float = math.inf

    def brian_expr(self, u: str = "u") -> str:
        return self.brian.format(u=u)


def _hs(u):
    return namespace(u).clip(u, 0.0, 1.0)


def _hs_prime(u):
    xp = namespace(u)
    return xp.astype((u > 0.0) & (u < 1.0), u.dtype if xp.isdtype(u.dtype, "real floating") else xp.float64)


def _hs_primitive(u):
    xp = namespace(u)
    return xp.where(u < 0.0, 0.0, xp.where(u > 1.0, u - 0.5, 0.5 * u * u))


def _sigmoid(u):
    return 0.5 * (1.0 + namespace(u).tanh(0.5 * u))


def _sigmoid_prime(u):
    s = _sigmoid(u)
    return s * (1.0 - s)


_LOG2 = math.log(2.0)


def _softplus(u):
    xp = namespace(u)
    return xp.logaddexp(xp.zeros_like(u), u) - _LOG2


def _tanh(u):
    return namespace(u).tanh(u)


def _tanh_prime(u):
    t = namespace(u).tanh(u)
    return 1.0 - t * t


def _logcosh(u):
    xp = namespace(u)
    a = xp.abs(u)
    return a + xp.log1p(xp.exp(-2.0 * a)) - _LOG2


ACTIVATIONS = {
    "hard_sigmoid": Activation("hard_sigmoid", _hs, _hs_prime, _hs_primitive, "clip({u}, 0, 1)", 0.0, 1.0),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_prime, _softplus, "0.5*(1 + tanh(0.5*{u}))", 0.0, 1.0),
    "tanh": Activation("tanh", _tanh, _tanh_prime, _logcosh, "tanh({u})", -1.0, 1.0),
}


def get_activation(name: str) -> Activation:
    """The :class:`Activation` called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}") from None
