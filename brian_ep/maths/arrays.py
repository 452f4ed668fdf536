"""The array namespace of the maths: numpy for numpy arrays, the array-API namespace of
anything else (torch tensors through ``array_api_compat``), so that an engine on another
array library runs the same functions without copying them.

The maths uses only functions of the array API standard (``xp.sum(x, axis=1)``,
``xp.clip``, ``xp.where``, ``xp.asarray(..., copy=True)``, ``xp.astype``...), which numpy
(>= 2.1) provides in its own namespace; numpy arrays therefore take no wrapper at all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["namespace", "device_of", "on_host", "lerp"]


#: Array namespaces found so far, by array type (a dictionary lookup is cheap, and
#: ``torch.compile`` traces it without a graph break).
_BY_TYPE: dict = {}

#: What :func:`namespace` skips: numpy arrays and scalars, Python numbers, ``None``.
_HOST = (np.ndarray, np.generic, bool, int, float, complex, type(None))


def namespace(*arrays):
    """The array namespace of the first of ``arrays`` that is not a numpy array, a scalar or
    ``None`` (``numpy`` if there is none)."""
    for a in arrays:
        if isinstance(a, _HOST):
            continue
        xp = _BY_TYPE.get(type(a))
        if xp is None:
            import array_api_compat

            xp = _BY_TYPE[type(a)] = array_api_compat.array_namespace(a)
        return xp
    return np


def on_host(x) -> bool:
    """Whether ``x`` is a numpy array, a scalar or ``None``: a value that can be read without
    synchronising a device (and without a graph break under ``torch.compile``)."""
    return isinstance(x, _HOST)


def device_of(x):
    """The device of ``x`` (``"cpu"`` for numpy arrays), for ``xp.zeros(..., device=...)``:
    the ``device`` attribute the array API gives every array."""
    if isinstance(x, np.ndarray):
        return "cpu"
    return x.device


def lerp(a, b, weight: float):
    """``a + weight * (b - a)`` elementwise (the Euler step ``u + eps (I - u)`` of a leaky
    neuron), in one pass over memory where the array library has it (``torch.lerp``); numpy
    evaluates the formula (it reuses the temporaries of an expression in place).

    Parameters
    ----------
    a, b : arrays of the same namespace, dtype and shape
    weight : float
    """
    fused = None if isinstance(a, np.ndarray) else getattr(namespace(a), "lerp", None)
    return a + weight * (b - a) if fused is None else fused(a, b, weight)
