"""The data a spec trains and tests on: its data set loaded (event streams binned, one row of
``bins * channels`` values per sample), cut to ``data.n_train``, ``data.n_test`` and
``data.validation``, and checked against the network's sizes."""

from __future__ import annotations

from .cifar import load_cifar10
from .data import load_dataset
from .errors import DataError
from .events.data_kind import load_event_data

__all__ = ["prepare_data"]


def prepare_data(spec, dataset=None):
    """Load (or take) the data set, apply ``n_train``/``n_test``/``validation`` and check that it
    fits the network. Returns ``(train, validation or None, test)`` as ``(x, labels)`` pairs.

    Raises
    ------
    DataError
        If the data set's input or class count does not match ``model.input.size`` or
        ``model.output.size`` (the message names the key to set).
    """
    ds = dataset if dataset is not None else _load(spec.data)
    ds = ds.subset(spec.data.n_train, spec.data.n_test)
    val = None
    if spec.data.validation:
        ds, val = ds.split_validation(spec.data.validation)
    bins = 1 if spec.data.events is None else spec.data.events.bins
    features = ds.x_train.shape[1]
    if features != bins * spec.model.input.size:
        per_bin = "" if bins == 1 else f" ({bins} time bins of {features / bins:g} channels, data.events.bins)"
        raise DataError(
            f"the data set '{ds.name}' has {features} input features per sample{per_bin} but "
            f"model.input.size is {spec.model.input.size}; set model.input.size: {features // bins}"
            + ("" if features % bins == 0 else f" and data.events.bins to a divisor of {features}")
        )
    if ds.n_classes != spec.model.output.size:
        raise DataError(
            f"the data set '{ds.name}' has {ds.n_classes} classes but model.output.size is "
            f"{spec.model.output.size}; set model.output.size: {ds.n_classes}"
        )
    return (ds.x_train, ds.y_train), val, (ds.x_test, ds.y_test)


def _load(data):
    """The data set ``data.dataset`` (``DataSpec``) from ``data.directory`` or the search path."""
    if data.events is not None:
        return load_event_data(data)
    if data.dataset == "cifar10":
        return load_cifar10(data.directory)
    return load_dataset(data.dataset, data.directory)
