"""Reading ``.npz`` archives that a user hands us (weights, checkpoints) without trusting them.

:func:`read_npz` turns every way such a file can be broken (missing, empty, truncated, random
bytes, a single ``.npy`` array, pickled objects, arrays that are not numbers) into a
:class:`~brian_ep.errors.DataError` that names the file and what to do; no other exception
leaves it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import BrianEPError, DataError

__all__ = ["read_npz"]

#: dtype kinds accepted as numbers: float, signed and unsigned integers
_NUMERIC_KINDS = "fiu"


def read_npz(path, what: str = "weights file", numeric: bool = True) -> dict:
    """All arrays of the ``.npz`` archive ``path``, read eagerly.

    Parameters
    ----------
    path : str or path-like
        The archive (as written by :func:`numpy.savez`).
    what : str
        What the file is, for error messages (``"weights file"``, ``"checkpoint"``).
    numeric : bool
        Refuse arrays whose dtype is not a real number (strings, booleans, complex, records).

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    DataError
        If the file is missing or unreadable, is not an ``.npz`` archive, holds pickled
        objects, or (``numeric``) holds an array that is not made of real numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} '{path}' not found" + (" (it is a directory)" if path.is_dir() else ""))
    fix = (
        "The checkpoint is damaged; start the run again with --overwrite, or restore a copy of the run directory"
        if what == "checkpoint"
        else f"The file is damaged or not a {what} written by brian_ep; use another one (or train again)"
    )
    try:
        loaded = np.load(path, allow_pickle=False)
    except BrianEPError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure of untrusted bytes is a DataError
        raise DataError(f"{what} '{path}' cannot be read as a .npz archive ({_reason(exc)}). {fix}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{what} '{path}' holds a single array, not a .npz archive of named arrays. {fix}")
    try:
        with loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    except BrianEPError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{what} '{path}' is damaged: an array cannot be read ({_reason(exc)}). {fix}") from None
    if numeric:
        for name, value in arrays.items():
            if value.dtype.kind not in _NUMERIC_KINDS:
                raise DataError(
                    f"{what} '{path}': array '{name}' has dtype {value.dtype}, not numbers. {fix}"
                )
    return arrays


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
