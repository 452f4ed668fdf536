"""Event streams as input (docs/events.md): an event camera, Event-MNIST (a stand-in for
N-MNIST made from MNIST on this machine), binning into (time bins x channels) arrays through
tonic or numpy, and readers of N-MNIST and DVS128 Gesture (AEDAT 3.1) files.

Events are tonic's structured arrays (``x``, ``y``, ``t`` in microseconds, ``p``); a data set
of streams is an :class:`EventSet`, binned by :func:`binned_dataset` into the rows of
``bins * channels`` values that a spec with ``data.events`` trains on."""

from .arrays import EVENT_DTYPE, as_events, make_events, split_samples
from .binning import bin_events, bin_samples, binned_size, has_tonic
from .camera import camera_events, log_intensity
from .dataset import EventSet, binned_dataset, event_mnist, event_set
from .readers import read_aedat31, read_gesture_samples, read_nmnist
from .saccades import SaccadeConfig, saccade_events

__all__ = [
    "EVENT_DTYPE", "as_events", "make_events", "split_samples", "bin_events", "bin_samples", "binned_size", "has_tonic",
    "camera_events", "log_intensity", "EventSet", "binned_dataset", "event_mnist", "event_set", "read_aedat31",
    "read_gesture_samples", "read_nmnist", "SaccadeConfig", "saccade_events",
]
