"""The checks of the Python API's arguments: one place, the same refusals as the command line.

``brian_ep.build``, ``train`` and ``evaluate`` call these before anything is built, so that a
wrong type or value is one paragraph naming the argument and the fix, raised as a type of
:mod:`brian_ep.errors` (:class:`~brian_ep.errors.ArgumentError` for an argument of the wrong
kind, :class:`~brian_ep.errors.DataError` for arrays that do not fit the network,
:class:`~brian_ep.errors.SpecError` for a spec), never a raw ``TypeError`` or ``AttributeError``
from deep inside. Where a file is a natural thing to pass (a spec, a weights file) its path
is accepted and read with the loaders the command line uses (:func:`~brian_ep.spec.load_spec`,
:func:`~brian_ep.weights.load_weights`), so the messages are the command line's.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping

import numpy as np
from brian2.units.fundamentalunits import DimensionMismatchError

from .errors import ArgumentError, DataError
from .maths.params import Params
from .spec import Spec, load_spec
from .weights import check_params, load_weights, params_from_arrays

__all__ = ["UnitError", "SPLITS", "spec_argument", "params_argument", "samples_argument", "array_argument", "split_argument",
           "keys_argument"]

class UnitError(ArgumentError, DimensionMismatchError):
    """A Python API argument has the wrong physical dimension (a bare number where a time such
    as ``0.5*ms`` is expected, or units on a dimensionless value): an
    :class:`~brian_ep.errors.ArgumentError` that is also Brian2's ``DimensionMismatchError``,
    so code that catches Brian2's error catches it."""

    def __init__(self, message):
        DimensionMismatchError.__init__(self, message)
        self.message = message

    def __str__(self):
        return self.message


#: The splits ``evaluate`` scores: ``validation`` exists only where ``data.validation`` > 0.
SPLITS = ("train", "validation", "test")


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 50 else text[:47] + '...'}"


def spec_argument(spec, where: str) -> Spec:
    """``spec`` as a :class:`Spec`: a spec, a mapping, or a YAML file's path.

    Raises
    ------
    ArgumentError
        For anything else (``None``, a number, a list), naming ``where``.
    SpecError
        If the mapping or file is not a valid spec.
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, (Mapping, str, os.PathLike)):
        return load_spec(spec)
    raise ArgumentError(
        f"{where}: 'spec' must be a Spec (brian_ep.load_spec or make_spec), a spec file's path or a mapping "
        f"with the sections model, ep, optim, data, run (got {_kind(spec)})"
    )


def params_argument(params, arch, where: str) -> Params | None:
    """Weights for ``arch`` from ``params`` (``None`` stays ``None``), checked against the network
    (names, shapes with the transposed/flattened hints, finite values).

    ``params`` may be a :class:`Params`, a weights file's path (read like ``--weights``), a
    mapping in the file's layout (``{"W:<projection>": array, "b:<layer>": array}``) or
    ``{"W": {projection: array}, "b": {layer: array}}``.

    Raises
    ------
    ArgumentError
        For another kind of value.
    DataError
        If the weights do not fit the network, or a file cannot be read.
    """
    source = f"{where}: params"
    if params is None:
        return None
    if isinstance(params, (str, os.PathLike)):
        return load_weights(params, arch)
    if isinstance(params, Mapping):
        params = _params_from_mapping(params, source)
    if not isinstance(params, Params):
        raise ArgumentError(
            f"{source} must be brian_ep.Params, a weights file's path, or a mapping of arrays "
            f"{{'W:<projection>': ..., 'b:<layer>': ...}} (got {_kind(params)})"
        )
    try:
        flat = {k: np.asarray(v, dtype=np.float64) for k, v in params.to_flat().items()}
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: an array is not a real-valued array ({exc}); pass numeric arrays") from None
    return check_params(Params.from_flat(flat), arch, source)


def _params_from_mapping(mapping, source) -> Params:
    if set(mapping) <= {"W", "b"} and all(isinstance(v, Mapping) for v in mapping.values()):
        return Params(dict(mapping.get("W", {})), dict(mapping.get("b", {})))
    if not all(isinstance(k, str) for k in mapping):
        raise ArgumentError(f"{source}: the keys of a weights mapping are names such as 'W:input_h1' (got {_kind(list(mapping))})")
    try:
        return params_from_arrays(dict(mapping), source)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: an array is not a real-valued array ({exc}); pass numeric arrays") from None


def samples_argument(n, where: str, name: str = "n_samples") -> int:
    """``n`` as a positive int (an integral number; ``True`` and ``2.5`` are refused).

    Raises
    ------
    ArgumentError
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise ArgumentError(f"{where}: '{name}' must be a whole number >= 1 (got {_kind(n)})")
    return int(n)


def array_argument(value, shape: tuple, name: str, where: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape`` (zeros if ``None``).

    Raises
    ------
    DataError
        For non-numeric values, another shape (with a hint where it is transposed) or
        NaN/inf entries, naming ``name`` and the shape the network needs.
    """
    if value is None:
        return np.zeros(shape)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: '{name}' is not a numeric array ({exc}); pass an array of shape {shape}") from None
    if array.shape != tuple(shape):
        hint = " It looks transposed: rows are samples." if array.shape == tuple(shape)[::-1] else ""
        raise DataError(
            f"{where}: '{name}' has shape {array.shape}, but this network and n_samples need {tuple(shape)} "
            f"(n_samples, {'n_input' if name == 'x' else 'n_output'}).{hint}"
        )
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise DataError(
            f"{where}: '{name}' has {bad} non-finite value(s) (NaN or inf), the first at index {first}; the network "
            "would compute nothing but NaN. Replace or drop those samples"
        )
    return array


def split_argument(split, spec) -> str:
    """``split`` if the spec's data has it: ``train``, ``test``, and ``validation`` where
    ``data.validation`` > 0.

    Raises
    ------
    ArgumentError
        Naming the split and the ones that exist.
    """
    have = ["train", "validation", "test"] if spec.data.validation else ["train", "test"]
    if not isinstance(split, str) or split not in have:
        why = (" (this spec has no validation split: set data.validation to the number of training samples to "
               "hold out)") if split == "validation" else ""
        raise ArgumentError(f"evaluate: split {split!r} does not exist{why}; the splits are {', '.join(have)}")
    return split


def keys_argument(value, name: str, where: str) -> tuple:
    """A key or a sequence of keys (``allow_changes``) as a tuple of str; one string is one key,
    never its characters.

    Raises
    ------
    ArgumentError
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        keys = tuple(value)
    except TypeError:
        keys = None
    if keys is None or not all(isinstance(k, str) for k in keys):
        raise ArgumentError(f"{where}: '{name}' must be a spec key or a list of keys, e.g. ['run.epochs'] (got {_kind(value)})")
    return keys
