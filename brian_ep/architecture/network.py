"""The resolved network: layers, projections and the energy weights, as immutable objects.

Knows nothing of Brian2 objects or files: the engines and :mod:`brian_ep.maths` read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Layer", "Conv", "Projection", "Architecture"]


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
    shape : tuple of int
        ``(channels, height, width)`` of an image layer (its state is stored flat, in this
        order, so ``size = channels * height * width``); ``()`` for a flat layer. An image
        layer has one bias per channel.
    encoding : {"current", "spikes"}
        Input layer only: its values drive constant currents, or Bernoulli spike trains with
        those probabilities per step (``model.input.encoding``).
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
    shape: tuple = ()
    encoding: str = "current"

    def __post_init__(self):
        if self.neuron is None and self.role != "input":
            from ..neurons import get_neuron_model

            object.__setattr__(self, "neuron", get_neuron_model("rate"))

    @property
    def is_input(self) -> bool:
        return self.role == "input"

    @property
    def bias_size(self) -> int:
        """Number of bias currents: one per channel of an image layer, else one per neuron."""
        return self.shape[0] if self.shape else self.size


@dataclass(frozen=True)
class Conv:
    """The geometry of a convolutional projection: a ``kernel x kernel`` convolution (stride
    1, zero ``padding`` on each side) followed by average pooling over ``pool x pool``
    windows (stride ``pool``; 1: none).

    The projection's operator is ``A_W = pool o conv_W``, a linear map from the flat
    pre-synaptic rates to the flat post-synaptic current; its feedback is the adjoint
    ``A_W^T = conv_W^T o pool^T`` (the transposed convolution of the upsampled signal).

    Attributes
    ----------
    pre_shape, post_shape : tuple of int
        ``(channels, height, width)`` of the two layers.
    kernel, padding, pool : int
    """

    pre_shape: tuple
    post_shape: tuple
    kernel: int
    padding: int = 0
    pool: int = 1

    @property
    def weight_shape(self) -> tuple:
        """``(C_post, C_pre, kernel, kernel)``, the layout of ``torch.nn.functional.conv2d``."""
        return (self.post_shape[0], self.pre_shape[0], self.kernel, self.kernel)

    @property
    def fan_in(self) -> int:
        return self.pre_shape[0] * self.kernel * self.kernel

    @property
    def fan_out(self) -> int:
        return self.post_shape[0] * self.kernel * self.kernel


@dataclass(frozen=True)
class Projection:
    """A projection ``pre -> post``: one weight matrix of shape ``(n_pre, n_post)``, or, when
    ``conv`` is set, one convolution kernel of shape ``conv.weight_shape`` shared by all
    positions (the same weights carry the feedforward and, transposed, the feedback signal).

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
    conv: Conv | None = None
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
    free_layers : tuple of Layer
        The layers with dynamics: all but the input, and the output under a softmax readout
        (derived; looked up at every step of the dynamics, so stored rather than recomputed).
    top : Layer
        The free layer that receives the nudging force (the last free layer; derived).
    """

    layers: tuple
    projections: tuple
    readout: Projection | None
    energy_weights: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    mode: str = "exact"
    free_layers: tuple = field(init=False, repr=False, compare=False)
    top: Layer = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.energy_weights, MappingProxyType):
            object.__setattr__(self, "energy_weights", MappingProxyType(dict(self.energy_weights)))
        free = tuple(layer for layer in self.layers[1:] if not (self.readout is not None and layer.role == "output"))
        object.__setattr__(self, "free_layers", free)
        object.__setattr__(self, "top", free[-1] if free else None)

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
        """``(n_pre, n_post)``: the shape of the projection's weight matrix (of its kernel,
        ``(C_post, C_pre, k, k)``, for a convolution)."""
        if projection.conv is not None:
            return projection.conv.weight_shape
        return (self.layer(projection.pre).size, self.layer(projection.post).size)

    @property
    def has_conv(self) -> bool:
        """Whether any projection is a convolution."""
        return any(p.conv is not None for p in self.all_projections)

    def n_params(self) -> int:
        n = sum(math.prod(self.weight_shape(p)) for p in self.all_projections)
        return n + sum(layer.bias_size for layer in self.free_layers if layer.bias)
