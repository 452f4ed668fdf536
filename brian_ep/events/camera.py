"""An event camera, as a pure function of a sequence of intensity frames.

Each pixel ``(x, y)`` keeps a reference log-intensity ``L_ref``, set to its log-intensity in
the first frame. Between two frames at times ``t_0 < t_1`` the log-intensity is taken to move
linearly from ``L_0`` to ``L_1``; every time it crosses ``L_ref + C`` the pixel emits an ON
event (``p = True``) and ``L_ref`` moves up by ``C``; every time it crosses ``L_ref - C`` it emits
an OFF event (``p = False``) and ``L_ref`` moves down by ``C``::

    L(t) = log(I(t) + offset)
    n_ON  = floor((L_1 - L_ref) / C)      if L_1 > L_ref       (events at the crossings of
    n_OFF = floor((L_ref - L_1) / C)      if L_1 < L_ref        L_ref + k C, k = 1 .. n)

So a pixel whose log-intensity rises by 2.5 thresholds emits exactly two ON events and keeps
the remaining half threshold in its reference for the next frame. The event time is the
linear interpolation of the crossing between the two frame times, in whole microseconds.

Symbols: ``I`` intensity (dimensionless, the image value in [0, 1]); ``offset`` the dark
level added before the logarithm (dimensionless, > 0, so that black pixels have a finite
log-intensity); ``C`` the contrast threshold (log-intensity units, > 0; one value per pixel
when the sensor has threshold mismatch); ``t`` time in microseconds.
"""

from __future__ import annotations

import numpy as np

from .arrays import EVENT_DTYPE, make_events

__all__ = ["camera_events", "log_intensity", "TOLERANCE"]

#: A level reached to within this fraction of a threshold counts as crossed, so the rounding of
#: the accumulated reference (``L_ref`` moves by ``C`` per event) never loses an event at an exact
#: multiple of ``C`` (e.g. a pixel that returns to its first intensity returns to its first reference).
TOLERANCE = 1e-9


def log_intensity(frames, offset: float = 0.1) -> np.ndarray:
    """``log(I + offset)`` of intensity frames (dimensionless)."""
    if offset <= 0:
        raise ValueError(f"offset must be > 0 (got {offset!r}): log(0) is not finite")
    return np.log(np.asarray(frames, dtype=np.float64) + offset)


def camera_events(frames, times_us, threshold, offset: float = 0.1) -> np.ndarray:
    """The events an event camera emits while it sees ``frames``.

    Parameters
    ----------
    frames : array, shape (n_frames, height, width)
        Intensities in [0, 1] (dimensionless) at ``times_us``.
    times_us : array of int, shape (n_frames,)
        Strictly increasing frame times, microseconds.
    threshold : float or array, shape (height, width)
        Contrast threshold ``C`` (log-intensity units, > 0), one per pixel where it varies.
    offset : float
        Dark level added before the logarithm.

    Returns
    -------
    numpy.ndarray
        Structured events (:data:`~brian_ep.events.arrays.EVENT_DTYPE`: ``x``, ``y``, ``t``
        in microseconds, ``p`` True for ON and False for OFF), sorted by time (ties by frame
        interval, then pixel ``y * width + x``, then crossing).
    """
    frames = np.asarray(frames, dtype=np.float64)
    times = np.asarray(times_us, dtype=np.int64)
    if frames.ndim != 3 or times.shape != (frames.shape[0],):
        raise ValueError(f"frames must be (n_frames, height, width) with one time each (got {frames.shape}, {times.shape})")
    if np.any(np.diff(times) <= 0):
        raise ValueError("frame times must be strictly increasing")
    C = np.broadcast_to(np.asarray(threshold, dtype=np.float64), frames.shape[1:])
    if np.any(C <= 0):
        raise ValueError("contrast thresholds must be > 0")
    L = log_intensity(frames, offset).reshape(len(frames), -1)
    C = C.reshape(-1)
    ref = L[0].copy()
    chunks = []
    for k in range(1, len(frames)):
        found, ref = _crossings(L[k - 1], L[k], ref, C, times[k - 1], times[k])
        if found is not None:
            chunks.append(found)
    if not chunks:
        return np.zeros(0, dtype=EVENT_DTYPE)
    pixel, t, p = (np.concatenate(c) for c in zip(*chunks))
    order = np.argsort(t, kind="stable")
    width = frames.shape[2]
    return make_events(pixel[order] % width, pixel[order] // width, t[order], p[order])


def _crossings(L0, L1, ref, C, t0, t1):
    """The threshold crossings of every pixel between two frames: ``((pixel, t, p) or None,
    new reference)``."""
    delta = L1 - ref
    n = np.floor(np.abs(delta) / C + TOLERANCE).astype(np.int64)
    moving = np.flatnonzero(n)
    if moving.size == 0:
        return None, ref
    sign = np.sign(delta[moving])
    counts = n[moving]
    pixel = np.repeat(moving, counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(pixel.size) - np.repeat(starts, counts) + 1  # 1 .. n within each pixel
    s_rep = np.repeat(sign, counts)
    level = ref[pixel] + s_rep * k * C[pixel]
    span = L1[pixel] - L0[pixel]
    frac = np.where(span != 0, (level - L0[pixel]) / np.where(span != 0, span, 1.0), 1.0)
    t = t0 + np.rint(np.clip(frac, 0.0, 1.0) * (t1 - t0)).astype(np.int64)
    new_ref = ref.copy()
    new_ref[moving] += sign * counts * C[moving]
    return (pixel, t, s_rep > 0), new_ref
