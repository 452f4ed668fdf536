"""Events -> (time bins x channels) arrays, the form every engine presents bin by bin.

Bin ``b`` (``0 <= b < bins``) holds the events with ``b * bin_us <= t < (b + 1) * bin_us``
(later events are dropped). Channel ``c = p * H' * W' + (y // k) * W' + (x // k)`` for polarity
``p`` (0: OFF, 1: ON) and spatial downsampling ``k`` (``W' = ceil(W / k)``): tonic's
``ToFrame`` layout ``(T, P, H, W)`` flattened. Values are event counts.

Where tonic is installed, :func:`bin_events` goes through ``tonic.transforms.Downsample``
and ``ToFrame`` (``Denoise`` for ``denoise_us``); :func:`bin_events_numpy` is the project's
own implementation of the same definition, used without tonic (the tests hold the two equal).
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .arrays import EVENT_DTYPE, as_events

__all__ = ["bin_events", "bin_events_numpy", "bin_events_tonic", "bin_samples", "denoise_numpy", "binned_size", "has_tonic"]


def has_tonic() -> bool:
    """Whether the optional dependency tonic (``pip install brian_ep[events]``) is importable."""
    return importlib.util.find_spec("tonic") is not None


def binned_size(sensor_size, downsample: int = 1) -> tuple:
    """``(W', H', P)`` after downsampling ``sensor_size = (W, H, P)`` by ``downsample``."""
    w, h, p = sensor_size
    return (-(-w // downsample), -(-h // downsample), p)


def bin_events_numpy(events, sensor_size, bins: int, bin_us: int, downsample: int = 1, denoise_us=None) -> np.ndarray:
    """Event counts per (time bin, channel), shape ``(bins, P * H' * W')`` (see the module).

    Parameters
    ----------
    events : structured array
        Fields ``x``, ``y``, ``t`` (microseconds), ``p``.
    sensor_size : tuple
        ``(W, H, P)``, tonic's order (``P`` = 2 for two polarities, 1 for one).
    bins : int
        Number of time bins, from ``t = 0``.
    bin_us : int
        Bin length (microseconds).
    downsample : int
        Spatial factor ``k``: pixel ``(x, y)`` goes to ``(x // k, y // k)``.
    denoise_us : int, optional
        Drop events with no event at a 4-neighbour pixel within the last ``denoise_us``
        microseconds (tonic's ``Denoise`` with ``filter_time``), before downsampling.
    """
    events = as_events(events)
    if denoise_us is not None:
        events = denoise_numpy(events, denoise_us)
    w, h, n_pol = binned_size(sensor_size, downsample)
    frames = np.zeros((bins, n_pol, h, w))
    b = events["t"] // int(bin_us)
    keep = (b >= 0) & (b < bins)
    ev = events[keep]
    p = ev["p"].astype(np.intp) if n_pol > 1 else np.zeros(len(ev), dtype=np.intp)
    np.add.at(frames, (b[keep], p, ev["y"] // downsample, ev["x"] // downsample), 1.0)
    return frames.reshape(bins, -1)


def bin_events_tonic(events, sensor_size, bins: int, bin_us: int, downsample: int = 1, denoise_us=None) -> np.ndarray:
    """:func:`bin_events_numpy` through tonic's transforms (``Denoise``, ``Downsample``, ``ToFrame``)."""
    from tonic import transforms

    events = as_events(events)
    if denoise_us is not None and len(events):
        events = transforms.Denoise(filter_time=denoise_us)(events)
    size = binned_size(sensor_size, downsample)
    if len(events) == 0:
        return np.zeros((bins, size[2] * size[1] * size[0]))
    if downsample != 1:
        events = transforms.Downsample(spatial_factor=1.0 / downsample)(events)
    frames = transforms.ToFrame(sensor_size=size, time_window=bin_us, start_time=0, end_time=bins * bin_us)(events)
    out = np.zeros((bins, size[2] * size[1] * size[0]))
    flat = np.asarray(frames, dtype=np.float64).reshape(len(frames), -1)
    out[: len(flat)] = flat[:bins]
    return out


def bin_events(events, sensor_size, bins: int, bin_us: int, downsample: int = 1, denoise_us=None) -> np.ndarray:
    """:func:`bin_events_tonic` where tonic is installed and the factor is a power of two (tonic
    downsamples by multiplying with ``1 / k``, exact only then), else :func:`bin_events_numpy`."""
    exact = downsample & (downsample - 1) == 0
    use = bin_events_tonic if has_tonic() and exact else bin_events_numpy
    return use(events, sensor_size, bins, bin_us, downsample, denoise_us)


def bin_samples(samples, sensor_size, bins: int, bin_us: int, downsample: int = 1, denoise_us=None, scale: float = 1.0):
    """Every sample's bins, flattened bin after bin: ``(n, bins * channels)`` float64, the
    counts times ``scale`` (the input value of one event)."""
    w, h, p = binned_size(sensor_size, downsample)
    out = np.zeros((len(samples), bins * w * h * p))
    for i, events in enumerate(samples):
        out[i] = bin_events(events, sensor_size, bins, bin_us, downsample, denoise_us).reshape(-1)
    return out * scale


def denoise_numpy(events, filter_us: int) -> np.ndarray:
    """tonic's ``Denoise`` (``filter_time = filter_us``) without tonic: an event is kept when
    one of its 4 neighbours had an event less than ``filter_us`` before it (events in time order)."""
    events = as_events(events)
    if len(events) == 0:
        return events
    width, height = int(events["x"].max()) + 1, int(events["y"].max()) + 1
    memory = np.zeros((width + 2, height + 2)) + filter_us  # padded: borders never count as neighbours
    memory[0, :] = memory[-1, :] = memory[:, 0] = memory[:, -1] = -np.inf
    keep = np.zeros(len(events), dtype=bool)
    for k, (x, y, t) in enumerate(zip(events["x"].tolist(), events["y"].tolist(), events["t"].tolist())):
        memory[x + 1, y + 1] = t + filter_us
        keep[k] = memory[x, y + 1] > t or memory[x + 2, y + 1] > t or memory[x + 1, y] > t or memory[x + 1, y + 2] > t
    return events[keep].astype(EVENT_DTYPE)
