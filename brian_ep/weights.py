"""Weights checked against the network before they are used.

One loader, :func:`load_weights`, serves ``--resume`` (through the run directory's
checkpoint), ``evaluate``, ``analyze`` and the Python API; :func:`check_params` is the check
itself (names, shapes and finiteness, against the architecture), also applied to weights
passed in Python. Every problem is a :class:`~brian_ep.errors.DataError` that names the file
and the array.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError
from .maths.params import Params
from .npzfile import read_npz

__all__ = ["params_from_arrays", "check_params", "expected_shapes", "load_weights"]


def params_from_arrays(arrays: dict, source: str) -> Params:
    """:class:`Params` from the arrays of a weights file (``W:<projection>``, ``b:<layer>``);
    any other name is an error naming it."""
    other = sorted(k for k in arrays if not (k.startswith("W:") or k.startswith("b:")))
    if other:
        raise DataError(
            f"{source}: array(s) {_names(other)} are not weights; a weights file holds 'W:<projection>' and "
            "'b:<layer>' arrays (as brian_ep writes them)"
        )
    as_float = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    return Params.from_flat(as_float)


def expected_shapes(arch) -> dict:
    """``{"W:<projection>": (n_pre, n_post), "b:<layer>": (n,)}`` of every array the network needs."""
    shapes = {f"W:{p.name}": arch.weight_shape(p) for p in arch.all_projections}
    shapes.update({f"b:{layer.name}": (layer.bias_size,) for layer in arch.free_layers if layer.bias})
    return shapes


def check_params(params: Params, arch, source: str = "weights") -> Params:
    """Refuse weights that do not fit ``arch``: missing or extra arrays, wrong shapes,
    non-finite values. Returns ``params`` unchanged.

    Raises
    ------
    DataError
        Naming ``source`` and the first offending array, with what the network needs.
    """
    flat = params.to_flat()
    expected = expected_shapes(arch)
    missing = sorted(set(expected) - set(flat))
    extra = sorted(set(flat) - set(expected))
    if missing or extra:
        raise DataError(_mismatch(source, missing, extra, expected))
    for name, shape in expected.items():
        got = tuple(np.shape(flat[name]))
        if got != tuple(shape):
            raise DataError(_wrong_shape(source, name, got, tuple(shape)))
    for name in expected:
        value = np.asarray(flat[name])
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        if bad:
            raise DataError(
                f"{source}: array '{name}' has {bad} non-finite value(s) (NaN or inf) of {value.size}; weights "
                "like these come from a run that diverged and cannot be used. Use the weights of an earlier "
                "checkpoint, or train again with smaller learning rates"
            )
    return params


def load_weights(path, arch, what: str = "weights file") -> Params:
    """Read a weights file (``weights.npz``) and check it against ``arch`` (see
    ``check_params`` in this module).

    Parameters
    ----------
    path : str or path-like
    arch : Architecture or Spec
        The network the weights are for (a spec is resolved with
        :func:`~brian_ep.build_architecture`).
    """
    if hasattr(arch, "model"):
        from .architecture import build_architecture

        arch = build_architecture(arch)
    source = f"{what} '{path}'"
    params = params_from_arrays(read_npz(path, what), source)
    return check_params(params, arch, source)


def _names(names) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _mismatch(source, missing, extra, expected) -> str:
    parts = []
    if missing:
        parts.append(f"has no array(s) {_names(missing)}")
    if extra:
        parts.append(f"has array(s) {_names(extra)} that this network does not have")
    return (
        f"{source} does not fit the network: it {' and '.join(parts)}. The network needs "
        f"{_names(sorted(expected))}; were these weights trained with another spec (other layer sizes, "
        "names or projections)?"
    )


def _wrong_shape(source, name, got, shape) -> str:
    layout = "(n_pre, n_post)" if len(shape) == 2 else "(out channels, in channels, kernel, kernel)"
    what = f"projection {name[2:]} {layout}" if name.startswith("W:") else f"layer {name[2:]}"
    hint = ""
    if got == shape[::-1] and len(shape) == 2:
        hint = " It looks transposed: brian_ep stores W as (n_pre, n_post); transpose it before saving."
    elif len(got) == 1 and len(shape) == 2 and got[0] == shape[0] * shape[1]:
        hint = " It is flattened: reshape it to (n_pre, n_post)."
    return f"{source}: array '{name}' has shape {got}, but {what} needs {shape}.{hint}"
