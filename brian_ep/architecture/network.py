"""The resolved network: layers, projections and the energy weights, as immutable objects.

Knows nothing of Brian2 objects or files: the engines and :mod:`brian_ep.maths` read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Layer", "Projection", "Architecture"]


@dataclass(frozen=True)
class Layer:
    """One layer.

    Attributes
    ----------
    name : str
    index : int
        Position from the input (0) up.
    size : int
        Number of neurons.
    role : {"input", "hidden", "output"}
    activation : str
        The rate function ``rho`` (``"identity"`` for the clamped input).
    tau : float
        Membrane time constant in seconds.
    eps : float
        ``dt / tau``, the Euler step of the layer's dynamics (dimensionless).
    bias : bool
        Whether the layer has a learned bias current.
    neuron : NeuronModel or None
        The layer's neuron model (:mod:`brian_ep.neurons`); ``None`` for the input, the rate
        model if not given for another layer.
    options : object or None
        The neuron model's own validated settings (``None`` if it has none).
    """

    name: str
    index: int
    size: int
    role: str
    activation: str = "identity"
    tau: float = 0.0
    eps: float = 1.0
    bias: bool = False
    neuron: object = None
    options: object = None

    def __post_init__(self):
        if self.neuron is None and self.role != "input":
            from ..neurons import get_neuron_model

            object.__setattr__(self, "neuron", get_neuron_model("rate"))

    @property
    def is_input(self) -> bool:
        return self.role == "input"


@dataclass(frozen=True)
class Projection:
    """A projection ``pre -> post`` with one weight matrix of shape ``(n_pre, n_post)``.

    ``kind`` says where it comes from: ``chain``, ``extra`` (``model.projections``),
    ``residual`` (a skip of ``model.residual``) or ``readout`` (the softmax readout).
    ``bounds``: ``(lower, upper)``, the interval its weights are kept in (from the spec's
    ``sign`` and ``bounds``; ``(-inf, inf)`` when unconstrained)."""

    name: str
    pre: str
    post: str
    gamma: float
    lr: float
    init: object = None
    kind: str = "chain"
    bounds: tuple = (-math.inf, math.inf)

    @property
    def constrained(self) -> bool:
        """Whether the weights are kept in a finite interval (a sign or bounds)."""
        return self.bounds != (-math.inf, math.inf)


@dataclass(frozen=True)
class Architecture:
    """The resolved network: what every engine builds.

    Attributes
    ----------
    layers : tuple of Layer
        Input first, then hidden layers, then the output layer.
    projections : tuple of Projection
        Recurrent (energy) projections; the softmax readout, if any, is ``readout``.
    readout : Projection or None
        The ``last hidden -> output`` projection read through a softmax outside the
        recurrent state (``model.readout: softmax``), else None.
    energy_weights : mapping
        ``c_l`` for every free layer (exact mode); all 1 in vector-field mode. Read-only.
    mode : str
        ``"exact"`` or ``"vector_field"``.
    """

    layers: tuple
    projections: tuple
    readout: Projection | None
    energy_weights: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    mode: str = "exact"

    def __post_init__(self):
        if not isinstance(self.energy_weights, MappingProxyType):
            object.__setattr__(self, "energy_weights", MappingProxyType(dict(self.energy_weights)))

    # -- lookup -------------------------------------------------------------------------
    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def input(self) -> Layer:
        return self.layers[0]

    @property
    def output(self) -> Layer:
        return self.layers[-1]

    @property
    def free_layers(self) -> tuple:
        """The layers with dynamics (all but the input, and the output under a softmax readout)."""
        return tuple(
            layer for layer in self.layers[1:] if not (self.readout is not None and layer.role == "output")
        )

    @property
    def top(self) -> Layer:
        """The free layer that receives the nudging force."""
        return self.free_layers[-1]

    def incoming(self, name: str) -> tuple:
        return tuple(p for p in self.projections if p.post == name)

    def outgoing(self, name: str) -> tuple:
        return tuple(p for p in self.projections if p.pre == name)

    def projection(self, name: str) -> Projection:
        for p in self.all_projections:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def all_projections(self) -> tuple:
        return self.projections + ((self.readout,) if self.readout is not None else ())

    def weight_scale(self, projection: Projection) -> float:
        """``c_post``: the factor of the EP update of ``projection`` (1 in vector-field mode)."""
        if projection.kind == "readout":
            return 1.0
        return self.energy_weights[projection.post]

    def weight_shape(self, projection: Projection) -> tuple:
        """``(n_pre, n_post)``: the shape of the projection's weight matrix."""
        return (self.layer(projection.pre).size, self.layer(projection.post).size)

    def n_params(self) -> int:
        n = sum(self.layer(p.pre).size * self.layer(p.post).size for p in self.all_projections)
        return n + sum(layer.size for layer in self.free_layers if layer.bias)
