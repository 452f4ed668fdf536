"""Network parameters (weights and biases) as plain arrays, their initialisation and
their ``.npz`` form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..seeds import stream
from .arrays import namespace

__all__ = ["Params", "init_params", "initial_params", "constrain"]


@dataclass
class Params:
    """Weights ``W[name]`` of shape ``(n_pre, n_post)`` per projection (a convolution's kernel
    ``(C_post, C_pre, k, k)``) and biases ``b[name]`` of shape ``(n,)`` per free layer with a
    bias (``(channels,)`` for an image layer) (dimensionless)."""

    W: dict = field(default_factory=dict)
    b: dict = field(default_factory=dict)

    def copy(self) -> "Params":
        """A copy (of numpy arrays or of arrays of another namespace, on their device)."""
        def one(v):
            return namespace(v).asarray(v, copy=True)

        return Params({k: one(v) for k, v in self.W.items()}, {k: one(v) for k, v in self.b.items()})

    def astype(self, dtype) -> "Params":
        """A copy with every array converted to ``dtype`` (numpy arrays)."""
        return Params({k: v.astype(dtype) for k, v in self.W.items()}, {k: v.astype(dtype) for k, v in self.b.items()})

    def to_flat(self) -> dict:
        """``{"W:<projection>": array, "b:<layer>": array}``, the layout of ``weights.npz``."""
        flat = {f"W:{k}": v for k, v in self.W.items()}
        flat.update({f"b:{k}": v for k, v in self.b.items()})
        return flat

    @classmethod
    def from_flat(cls, flat) -> "Params":
        """The inverse of :meth:`to_flat`: weights and biases from ``{"W:<projection>": array,
        "b:<layer>": array}`` (other keys are ignored)."""
        W = {k[2:]: np.asarray(v) for k, v in flat.items() if k.startswith("W:")}
        b = {k[2:]: np.asarray(v) for k, v in flat.items() if k.startswith("b:")}
        return cls(W, b)

    def save(self, path) -> None:
        """Write the arrays to the ``.npz`` file ``path`` in the layout of :meth:`to_flat`."""
        np.savez(path, **self.to_flat())

    @classmethod
    def load(cls, path) -> "Params":
        """Read a weights file as written by :meth:`save` (a broken file raises
        :class:`~brian_ep.errors.DataError`; to check the weights against a network too, use
        :func:`brian_ep.load_weights`)."""
        from ..npzfile import read_npz

        return cls.from_flat(read_npz(path))

    def max_abs_diff(self, other: "Params") -> float:
        """The largest absolute difference between the arrays of ``self`` and ``other``
        (same names and shapes; 0.0 if there are no arrays)."""
        d = [np.max(np.abs(self.W[k] - other.W[k])) for k in self.W]
        d += [np.max(np.abs(self.b[k] - other.b[k])) for k in self.b if self.b[k].size]
        return float(max(d)) if d else 0.0

    def is_finite(self) -> bool:
        """Whether every weight and bias is finite (no NaN or infinity)."""
        return all(np.all(np.isfinite(v)) for v in list(self.W.values()) + list(self.b.values()))


def init_params(arch, rng: np.random.Generator, dtype=np.float64) -> Params:
    """Draw initial weights for every projection from its ``init`` scheme; biases start at 0.

    A dense projection has ``fan_in = n_pre`` and ``fan_out = n_post``; a convolution
    ``fan_in = C_pre k^2`` and ``fan_out = C_post k^2`` (the convention of
    ``torch.nn.init``), and its kernel has shape ``(C_post, C_pre, k, k)``.

    Parameters
    ----------
    arch : Architecture
        The network.
    rng : numpy.random.Generator
        Source of randomness; the same generator state gives the same weights.
    """
    W = {}
    for p in arch.all_projections:
        shape = arch.weight_shape(p)
        if p.conv is None:
            fan_in, fan_out = shape
        else:
            fan_in, fan_out = p.conv.fan_in, p.conv.fan_out
        scheme, gain = p.init.scheme, p.init.gain
        if scheme == "zeros":
            w = np.zeros(shape)
        else:
            bound = gain * (np.sqrt(6.0 / (fan_in + fan_out)) if scheme == "glorot_uniform" else 1.0 / np.sqrt(fan_in))
            w = rng.uniform(-bound, bound, size=shape)
        W[p.name] = (_take_sign(w, p.bounds) if p.constrained else w).astype(dtype)
    b = {layer.name: np.zeros(layer.bias_size, dtype=dtype) for layer in arch.free_layers if layer.bias}
    return Params(W, b)


def _take_sign(w, bounds):
    """Initial weights of a constrained projection: drawn magnitudes with the sign the bounds
    allow (Dale's law), clipped to the bounds."""
    lower, upper = bounds
    if lower >= 0.0:
        w = np.abs(w)
    elif upper <= 0.0:
        w = -np.abs(w)
    return np.clip(w, lower, upper)


def constrain(arch, params: Params) -> None:
    """Clip every constrained projection's weights to its bounds, in place (the projection
    step after an update; see ``Projection.bounds``). Works on any array namespace."""
    for p in arch.all_projections:
        if p.constrained:
            w = params.W[p.name]
            lower, upper = (b if math.isfinite(b) else None for b in p.bounds)
            if hasattr(w, "clamp_"):  # torch: in place (compiled steps and CUDA graphs read these tensors)
                w.clamp_(min=lower, max=upper)
            else:
                params.W[p.name] = namespace(w).clip(w, lower, upper)


def initial_params(arch, seed: int, dtype=np.float64) -> Params:
    """The initial weights of a run with ``seed`` (stream ``init`` of ``brian_ep.seeds``):
    every engine and baseline starts from these."""
    return init_params(arch, stream(seed, "init"), dtype)
