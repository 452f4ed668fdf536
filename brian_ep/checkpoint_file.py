"""The contents of ``checkpoint.npz``, checked field by field.

A checkpoint holds ``params.W:<projection>``/``params.b:<layer>``, the optimiser's
``optim.m.*``, ``optim.v.*`` and ``optim.t``, the ``position`` (JSON as bytes: epoch,
sample, running sums, metrics so far) and the ``spec`` it belongs to (JSON: the spec and the
package version; absent in checkpoints written before resumes were checked). :func:`parse_checkpoint`
turns any damage into a :class:`~brian_ep.errors.DataError` naming the field.
"""

from __future__ import annotations

import json

import numpy as np

from .errors import DataError
from .maths.optim import OptimState
from .maths.params import Params
from .weights import check_params, params_from_arrays

__all__ = ["POSITION_FIELDS", "parse_checkpoint"]

#: Fields of ``position`` and the types they must have.
POSITION_FIELDS = {"epoch": int, "sample": int, "correct": int, "loss": (int, float), "seconds": (int, float)}


def parse_checkpoint(arrays: dict, source: str, arch=None):
    """``(params, optim_state, position, spec dict or None, version or None)`` from the arrays
    of a checkpoint; with ``arch``, the weights and the optimiser's moments are checked against
    the network."""
    position = _json(arrays, "position", source)
    if not isinstance(position, dict):
        raise DataError(f"{source}: 'position' is not a mapping; the checkpoint is damaged")
    for key, kind in POSITION_FIELDS.items():
        value = position.get(key)
        if isinstance(value, bool) or not isinstance(value, kind) or value < 0:
            raise DataError(f"{source}: position field '{key}' is {value!r}, not a number >= 0; the checkpoint is damaged")
    if "metrics" in position and not (isinstance(position["metrics"], dict) and isinstance(position["metrics"].get("epochs"), list)):
        raise DataError(f"{source}: position field 'metrics' has no list of epochs; the checkpoint is damaged")
    record = _json(arrays, "spec", source) if "spec" in arrays else {}
    if not isinstance(record, dict) or not isinstance(record.get("spec", {}), dict):
        raise DataError(f"{source}: the recorded spec is not a mapping; the checkpoint is damaged")
    params = params_from_arrays(_prefixed(arrays, "params."), source)
    optim = _optim_state(arrays, source)
    if arch is not None:
        check_params(params, arch, source)
        for name, moments in (("m", optim.m), ("v", optim.v)):
            if moments.W or moments.b:
                check_params(moments, arch, f"{source} (optimiser moments '{name}')")
    return params, optim, position, record.get("spec"), record.get("brian_ep")


def _prefixed(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _json(arrays: dict, key: str, source: str):
    if key not in arrays:
        raise DataError(f"{source} has no '{key}' record; it is not a brian-ep checkpoint or it is damaged")
    value = arrays[key]
    if value.dtype != np.uint8:
        raise DataError(f"{source}: the '{key}' record has dtype {value.dtype}, not bytes; the checkpoint is damaged")
    try:
        return json.loads(value.tobytes().decode("utf-8"))
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise DataError(f"{source}: the '{key}' record is not valid JSON text; the checkpoint is damaged") from None


def _optim_state(arrays: dict, source: str) -> OptimState:
    flat = _prefixed(arrays, "optim.")
    t = flat.pop("t", np.array(0))
    if np.ndim(t) != 0 or not np.isfinite(t) or float(t) < 0 or float(t) != int(t):
        raise DataError(f"{source}: optimiser step count 'optim.t' is {t!r}, not a whole number >= 0")
    unknown = sorted(k for k in flat if not (k.startswith("m.") or k.startswith("v.")))
    if unknown:
        raise DataError(f"{source}: unknown optimiser array(s) {', '.join(map(repr, unknown))}")
    m = params_from_arrays(_prefixed(flat, "m."), source) if any(k.startswith("m.") for k in flat) else Params()
    v = params_from_arrays(_prefixed(flat, "v."), source) if any(k.startswith("v.") for k in flat) else Params()
    return OptimState(m, v, int(t))
