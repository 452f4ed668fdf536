"""Event arrays: tonic's structured dtype, and a stream of samples stored as one array.

An event is ``(x, y, t, p)``: pixel column and row, time in microseconds, polarity (True: ON,
a rise of the log-intensity; False: OFF). The dtype is tonic's ``tonic.io.events_struct``,
so arrays pass to tonic's transforms unchanged and tonic's readers' output is accepted.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["EVENT_DTYPE", "make_events", "as_events", "split_samples"]

#: tonic's event dtype (``tonic.io.events_struct``): x, y (pixels), t (microseconds), p (polarity).
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


def make_events(x, y, t, p) -> np.ndarray:
    """A structured event array (:data:`EVENT_DTYPE`) from four equally long columns."""
    x = np.asarray(x)
    out = np.empty(x.shape[0], dtype=EVENT_DTYPE)
    out["x"], out["y"], out["t"], out["p"] = x, y, t, np.asarray(p) != 0
    return out


def as_events(events, where: str = "events") -> np.ndarray:
    """``events`` as :data:`EVENT_DTYPE`: any structured array with fields ``x``, ``y``, ``t``
    and ``p`` (tonic's datasets use several integer widths and orders) is converted; anything
    else raises :class:`~brian_ep.errors.DataError` naming ``where``."""
    events = np.asarray(events)
    names = events.dtype.names or ()
    missing = [f for f in EVENT_DTYPE.names if f not in names]
    if missing or events.ndim != 1:
        raise DataError(
            f"{where}: an event stream must be a 1-D structured array with fields x, y, t (microseconds) and p "
            f"(got dtype {events.dtype}, shape {events.shape}; missing {missing}); build one with "
            "brian_ep.events.make_events(x, y, t, p) or pass tonic's event arrays as they are."
        )
    if events.dtype == EVENT_DTYPE:
        return events
    return make_events(events["x"], events["y"], events["t"], events["p"])


def split_samples(events, offsets) -> list:
    """The samples of a stream stored as one array: ``events[offsets[i]:offsets[i + 1]]``."""
    return [events[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
