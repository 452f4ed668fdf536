"""Event data sets: Event-MNIST generated and cached on disk, and binned into a
:class:`~brian_ep.data.Dataset` whose rows are a sample's bins one after the other.

Generated sets are cached as ``<cache>/event-mnist/event-mnist-<key>.npz`` (``<cache>``:
:func:`brian_ep.data.cache_dir`, or ``cache=``), with the SHA-256 of the file in
``<file>.sha256`` beside it (pooch's convention: the hash of the file's bytes). The key hashes
everything the set depends on (the generator's version and settings, the sample counts and the
checksums of the MNIST files), so a changed setting makes a new file; a file whose hash does
not match is refused with :class:`~brian_ep.errors.DataError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data import CHECKSUMS, Dataset, cache_dir, load_mnist
from ..errors import DataError
from .arrays import EVENT_DTYPE, as_events, split_samples
from .binning import bin_samples
from .saccades import SENSOR, SaccadeConfig, saccade_events

__all__ = ["EventSet", "event_set", "event_mnist", "binned_dataset", "GENERATOR_VERSION"]

#: Changes whenever the generator's output changes (part of the cache key).
GENERATOR_VERSION = 2


@dataclass(frozen=True, eq=False)
class EventSet:
    """Labelled event streams: every split's events (one array, sample after sample), the
    sample offsets into it, the labels, the sensor size ``(W, H, P)`` and the duration."""

    name: str
    train: tuple  # (events, offsets, labels)
    test: tuple
    sensor_size: tuple
    duration_us: int
    n_classes: int
    source: str

    def samples(self, split: str) -> list:
        """The event arrays of ``split`` (``"train"`` or ``"test"``), one per sample."""
        events, offsets, _ = getattr(self, split)
        return split_samples(events, offsets)


def event_set(name, train, test, sensor_size, duration_us: int, n_classes: int, source: str = "arrays") -> EventSet:
    """An :class:`EventSet` of your own: ``train`` and ``test`` are ``(samples, labels)``
    pairs, each sample an event array (tonic's, or :func:`~brian_ep.events.arrays.make_events`),
    ``sensor_size`` is ``(W, H, P)``."""
    def joined(samples, labels):
        samples = [as_events(s, f"{name} sample {i}") for i, s in enumerate(samples)]
        labels = np.asarray(labels, dtype=np.int64)
        if len(samples) != len(labels):
            raise DataError(f"{name}: {len(samples)} samples but {len(labels)} labels; give one label per sample.")
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in samples])]).astype(np.int64)
        events = np.concatenate(samples) if samples else np.zeros(0, dtype=EVENT_DTYPE)
        return events, offsets, labels

    return EventSet(name, joined(*train), joined(*test), tuple(sensor_size), int(duration_us), int(n_classes), source)


def event_mnist(n_train: int, n_test: int, config: SaccadeConfig = SaccadeConfig(), directory=None, cache=None) -> EventSet:
    """Event-MNIST (:mod:`brian_ep.events.saccades`) of the first ``n_train`` training and
    ``n_test`` test digits of MNIST (found as :func:`brian_ep.data.load_mnist` finds it,
    ``directory`` first): read from the cache when made before, else generated and cached."""
    key = _cache_key(n_train, n_test, config)
    path = Path(cache or cache_dir()) / "event-mnist" / f"event-mnist-{key}.npz"
    if path.exists():
        return _read_cached(path, config)
    mnist = load_mnist(directory)
    splits = {}
    for split, x, y, n in (("train", mnist.x_train, mnist.y_train, n_train), ("test", mnist.x_test, mnist.y_test, n_test)):
        if n > len(y):
            raise DataError(f"event-mnist: {n} {split} samples asked for, MNIST has {len(y)}; lower data.n_{split}.")
        events, offsets = saccade_events(x[:n].reshape(-1, 28, 28), config)
        splits[split] = (events, offsets, y[:n].astype(np.int64))
    _write_cached(path, splits, config)
    return EventSet("event-mnist", splits["train"], splits["test"], (SENSOR, SENSOR, 2), config.duration_us, 10, str(path))


def binned_dataset(events: EventSet, bins: int, bin_us: int, downsample: int = 1, denoise_us=None, scale: float = 1.0) -> Dataset:
    """A :class:`~brian_ep.data.Dataset` whose row ``i`` is sample ``i``'s ``bins`` time bins
    of ``channels`` values, one bin after the other (``(n, bins * channels)``: see
    :func:`~brian_ep.events.binning.bin_samples`)."""
    def binned(split):
        return bin_samples(events.samples(split), events.sensor_size, bins, bin_us, downsample, denoise_us, scale)

    return Dataset(events.name, binned("train"), events.train[2], binned("test"), events.test[2], events.n_classes, events.source)


def _cache_key(n_train, n_test, config) -> str:
    what = {"version": GENERATOR_VERSION, "n_train": n_train, "n_test": n_test, "config": asdict(config), "mnist": CHECKSUMS["mnist"]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_cached(path, splits, config) -> None:
    """Write the set and its checksum atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    arrays = {f"{split}_{k}": v for split, parts in splits.items() for k, v in zip(("events", "offsets", "labels"), parts)}
    with open(tmp, "wb") as f:
        np.savez(f, config=json.dumps(asdict(config)), **arrays)
    digest = _sha256(tmp)
    os.replace(tmp, path)
    Path(f"{path}.sha256").write_text(f"{digest}  {path.name}\n")


def _read_cached(path, config) -> EventSet:
    """The cached set at ``path``, after checking its SHA-256 against ``<path>.sha256``."""
    sums = Path(f"{path}.sha256")
    fix = f"delete {path} (and {sums.name}) to have the set generated again"
    if not sums.exists():
        raise DataError(f"{path}: the cached Event-MNIST set has no checksum file {sums.name} beside it; {fix}.")
    expected, actual = sums.read_text().split()[0], _sha256(path)
    if expected != actual:
        raise DataError(f"{path}: checksum mismatch (SHA-256 of the file): expected {expected} (from {sums.name}), got {actual}; "
                        f"the file is damaged or was changed; {fix}.")
    with np.load(path, allow_pickle=False) as z:
        parts = {split: tuple(z[f"{split}_{k}"] for k in ("events", "offsets", "labels")) for split in ("train", "test")}
    for split, (events, offsets, labels) in parts.items():
        if events.dtype != EVENT_DTYPE or len(offsets) != len(labels) + 1:
            raise DataError(f"{path}: the {split} arrays are not an event set (dtype {events.dtype}); {fix}.")
    return EventSet("event-mnist", parts["train"], parts["test"], (SENSOR, SENSOR, 2), config.duration_us, 10, str(path))
