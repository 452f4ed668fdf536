"""The event data kind of the spec (``data.dataset: event-mnist`` or ``events`` with a
``data.events`` section): the binned :class:`~brian_ep.data.Dataset` a spec trains on."""

from __future__ import annotations

from ..errors import DataError
from .dataset import binned_dataset, event_mnist
from .saccades import SaccadeConfig

__all__ = ["load_event_data", "bin_us_of", "DEFAULT_SIZES"]

#: Event-MNIST is generated for the first samples only: without data.n_train / data.n_test, these.
DEFAULT_SIZES = (10000, 2000)


def bin_us_of(events) -> int:
    """``data.events.bin_duration`` in whole microseconds."""
    return int(round(float(events.bin_duration) * 1e6))


def load_event_data(data):
    """The binned data set of a ``data`` section (:class:`~brian_ep.spec.schema.DataSpec`)
    whose ``events`` is set: Event-MNIST generated (or read from the cache) for the first
    ``n_train`` / ``n_test`` digits and binned as ``data.events`` says."""
    ev = data.events
    if data.dataset == "events":
        raise DataError(
            "data.dataset is 'events' (your own event streams) but no data set was passed; call "
            "brian_ep.train(spec, dataset=brian_ep.events.binned_dataset(...)) with your events (docs/events.md)"
        )
    n_train = data.n_train or DEFAULT_SIZES[0]
    n_test = data.n_test or DEFAULT_SIZES[1]
    events = event_mnist(n_train, n_test, SaccadeConfig(seed=ev.seed), data.directory)
    denoise = None if ev.denoise is None else int(round(float(ev.denoise) * 1e6))
    return binned_dataset(events, ev.bins, bin_us_of(ev), ev.downsample, denoise, ev.scale)
