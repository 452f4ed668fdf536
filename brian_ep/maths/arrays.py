"""The array namespace of the maths: numpy for numpy arrays, the array-API namespace of
anything else (torch tensors through ``array_api_compat``), so that an engine on another
array library runs the same functions without copying them.

The maths uses only functions of the array API standard (``xp.sum(x, axis=1)``,
``xp.clip``, ``xp.where``, ``xp.asarray(..., copy=True)``, ``xp.astype``...), which numpy
(>= 2.1) provides in its own namespace; numpy arrays therefore take no wrapper at all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["namespace", "device_of"]


def namespace(*arrays):
    """The array namespace of ``arrays`` (``numpy`` if the first array is a numpy array or a
    Python scalar)."""
    for a in arrays:
        if isinstance(a, np.ndarray) or np.isscalar(a) or a is None:
            continue
        import array_api_compat

        return array_api_compat.array_namespace(a)
    return np


def device_of(x):
    """The device of ``x`` (``"cpu"`` for numpy arrays), for ``xp.zeros(..., device=...)``."""
    if isinstance(x, np.ndarray):
        return "cpu"
    import array_api_compat

    return array_api_compat.device(x)
