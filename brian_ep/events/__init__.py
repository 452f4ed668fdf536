"""Event streams as input: an event camera, Event-MNIST (a stand-in for N-MNIST made from
MNIST), binning into (time bins x channels) arrays, and readers of N-MNIST and DVS128
Gesture files. See docs/events.md."""

from .arrays import EVENT_DTYPE, as_events, make_events, split_samples
from .camera import camera_events, log_intensity
from .saccades import SaccadeConfig, saccade_events

__all__ = [
    "EVENT_DTYPE", "as_events", "make_events", "split_samples", "camera_events", "log_intensity",
    "SaccadeConfig", "saccade_events",
]
