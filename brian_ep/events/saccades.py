"""Event-MNIST: MNIST digits seen by a simulated event camera moved in three saccades.

A stand-in for N-MNIST (Orchard et al. 2015), made on this machine from the MNIST files: it is
*not* N-MNIST (no real sensor, no sensor noise, no lens), but it has the same form: a
34 x 34 sensor, both polarities, three saccades of ``saccade_ms`` each along an isosceles
triangle, events ``(x, y, t, p)`` in tonic's dtype.

The image (28 x 28, intensities in [0, 1]) lies in the middle of the sensor; the camera's
offset follows the triangle ``V0 = (0, 0) -> V1 = (A/2, A) -> V2 = (A, 0) -> V0`` (pixels;
``A = amplitude``; legs ``V0 V1`` and ``V1 V2`` of equal length), at constant speed along
each edge, one edge per saccade. The scene is rendered every ``frame_us`` microseconds by
bilinear interpolation (zero outside the image) and passed to
:func:`~brian_ep.events.camera.camera_events`. The sensor's contrast thresholds are
``threshold * (1 + mismatch * N(0, 1))`` per pixel (clipped at half the threshold), drawn
once from ``seed``: the fixed pattern of one sensor, shared by every sample. Nothing else is
random, so a set is a deterministic function of the images and :class:`SaccadeConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .arrays import EVENT_DTYPE
from .camera import camera_events

__all__ = ["SaccadeConfig", "saccade_offsets", "render_shifted", "sensor_thresholds", "saccade_events"]

SENSOR = 34  # N-MNIST's sensor side (pixels)
BATCH = 50  # images rendered at once (memory: 8 * frames * BATCH * SENSOR**2 bytes)


@dataclass(frozen=True)
class SaccadeConfig:
    """How Event-MNIST is made.

    Parameters
    ----------
    saccade_ms : float
        Duration of each of the three saccades (ms).
    amplitude : float
        Side ``A`` of the triangle (pixels).
    frame_us : int
        Interval between rendered frames (microseconds); divides ``saccade_ms * 1000``.
    threshold : float
        Mean contrast threshold (log-intensity units).
    mismatch : float
        Relative spread of the per-pixel thresholds (0: all equal).
    offset : float
        Dark level added before the logarithm.
    seed : int
        Seed of the threshold mismatch.
    """

    saccade_ms: float = 100.0
    amplitude: float = 3.0
    frame_us: int = 1000
    threshold: float = 0.25
    mismatch: float = 0.03
    offset: float = 0.1
    seed: int = 0

    def __post_init__(self):
        per = self.saccade_ms * 1000 / self.frame_us
        if self.saccade_ms <= 0 or self.frame_us <= 0 or abs(per - round(per)) > 1e-9:
            raise ValueError(f"frame_us ({self.frame_us}) must divide saccade_ms * 1000 ({self.saccade_ms * 1000:g})")
        if self.threshold <= 0 or self.mismatch < 0 or self.offset <= 0 or self.amplitude < 0:
            raise ValueError(f"threshold and offset must be > 0, mismatch and amplitude >= 0: {asdict(self)}")

    @property
    def duration_us(self) -> int:
        """The stream's length: three saccades (microseconds)."""
        return int(round(3 * self.saccade_ms * 1000))


def saccade_offsets(config: SaccadeConfig):
    """Frame times (microseconds, from 0) and the camera offsets ``(dx, dy)`` (pixels) of the
    three saccades: shapes ``(n,)``, ``(n,)``, ``(n,)`` with ``n = 3 * frames per saccade + 1``."""
    A = config.amplitude
    vertices = np.array([[0.0, 0.0], [A / 2, A], [A, 0.0], [0.0, 0.0]])
    per = int(round(config.saccade_ms * 1000 / config.frame_us))
    s = np.arange(per) / per
    path = [vertices[k] + s[:, None] * (vertices[k + 1] - vertices[k]) for k in range(3)]
    xy = np.concatenate(path + [vertices[3:]])
    times = np.arange(len(xy), dtype=np.int64) * config.frame_us
    return times, xy[:, 0], xy[:, 1]


def render_shifted(images, dx: float, dy: float, sensor: int = SENSOR) -> np.ndarray:
    """Images ``(n, h, w)`` placed in the middle of a ``sensor x sensor`` field and moved by
    ``(dx, dy)`` pixels minus half the triangle's extent (bilinear, zero outside)."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2))
    padded[:, 1:-1, 1:-1] = images
    # sensor pixel X sees image column X - ox (ox: where the image's column 0 lies)
    ox, oy = (sensor - w) / 2 + dx, (sensor - h) / 2 + dy

    def weights(origin, size):
        pos = np.arange(sensor) - origin + 1  # in padded coordinates
        lo = np.floor(pos).astype(int)
        frac = pos - lo
        inside_lo = (lo >= 0) & (lo < size + 2)
        inside_hi = (lo + 1 >= 0) & (lo + 1 < size + 2)
        return np.clip(lo, 0, size + 1), np.clip(lo + 1, 0, size + 1), (1 - frac) * inside_lo, frac * inside_hi

    x0, x1, wx0, wx1 = weights(ox, w)
    y0, y1, wy0, wy1 = weights(oy, h)
    rows = padded[:, y0, :] * wy0[None, :, None] + padded[:, y1, :] * wy1[None, :, None]
    return rows[:, :, x0] * wx0 + rows[:, :, x1] * wx1


def sensor_thresholds(config: SaccadeConfig, sensor: int = SENSOR) -> np.ndarray:
    """The per-pixel contrast thresholds of the simulated sensor, ``(sensor, sensor)``."""
    rng = np.random.default_rng(config.seed)
    spread = 1 + config.mismatch * rng.standard_normal((sensor, sensor))
    return config.threshold * np.maximum(spread, 0.5)


def saccade_events(images, config: SaccadeConfig = SaccadeConfig(), sensor: int = SENSOR):
    """The events of each image seen through the three saccades.

    Parameters
    ----------
    images : array, shape (n, h, w)
        Intensities in [0, 1] (e.g. MNIST ``x.reshape(-1, 28, 28)``), ``h, w <= sensor``.

    Returns
    -------
    events : numpy.ndarray
        All samples' events (:data:`~brian_ep.events.arrays.EVENT_DTYPE`), sample after sample,
        each sorted by time.
    offsets : numpy.ndarray of int64, shape (n + 1,)
        Sample ``i`` is ``events[offsets[i]:offsets[i + 1]]``.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] > sensor or images.shape[2] > sensor:
        raise ValueError(f"images must be (n, h, w) with h, w <= {sensor} (got {images.shape})")
    parts = [_batch_events(images[k : k + BATCH], config, sensor) for k in range(0, len(images), BATCH)]
    if not parts:
        return np.zeros(0, dtype=EVENT_DTYPE), np.zeros(1, dtype=np.int64)
    counts = np.concatenate([np.diff(off) for _, off in parts])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return np.concatenate([ev for ev, _ in parts]), offsets


def _batch_events(images, config, sensor):
    """:func:`saccade_events` of a few images at once, seen side by side as one wide sensor."""
    n = images.shape[0]
    times, dx, dy = saccade_offsets(config)
    A = config.amplitude
    frames = np.stack([render_shifted(images, a - A / 2, b - A / 2, sensor) for a, b in zip(dx, dy)])
    wide = frames.transpose(0, 2, 1, 3).reshape(len(times), sensor, n * sensor)
    events = camera_events(wide, times, np.tile(sensor_thresholds(config, sensor), (1, n)), config.offset)
    sample = events["x"].astype(np.int64) // sensor
    order = np.argsort(sample, kind="stable")  # per sample, still in time order
    events, sample = events[order], sample[order]
    events["x"] = events["x"] - sample * sensor
    return events, np.searchsorted(sample, np.arange(n + 1)).astype(np.int64)
