"""Readers of event files: N-MNIST's ``.bin`` and DVS128 Gesture's AEDAT 3.1, into
:data:`~brian_ep.events.arrays.EVENT_DTYPE` arrays (tonic's dtype).

The formats (as tonic's ``tonic.io.read_mnist_file`` and ``read_dvs_ibm`` read them; the
tests check that both give the same events):

* **N-MNIST** (Orchard et al. 2015): 5 bytes (40 bits) per event, big-endian fields: ``x``
  (8 bits), ``y`` (8 bits), polarity (1 bit), timestamp (23 bits, microseconds). An event with
  ``y = 240`` marks a timestamp overflow: ``2**13`` is added to every later timestamp (tonic's
  reading of the format), and the marker is not an event.
* **AEDAT 3.1** (iniVation/jAER, DVS128 Gesture): text header lines starting with ``#`` (the
  first ``#!AER-DAT3.1``, the last ``#!END-HEADER``), then packets: a 28-byte little-endian
  header (``int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset, int32
  eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid``) and
  ``eventCapacity * eventSize`` bytes of events. Polarity events (type 1, 8 bytes): ``uint32
  data`` (bit 0 valid, bit 1 polarity, bits 2-16 ``y``, bits 17-31 ``x``) and ``int32``
  timestamp, extended by ``eventTSOverflow << 31``. Other packet types are skipped.
  DVS128 Gesture pairs each file with ``<name>_labels.csv`` (``class, startTime_usec,
  endTime_usec``): :func:`read_gesture_samples` cuts the file into labelled samples.

These are the project's own readers rather than tonic's: tonic 1.7.0 reads a truncated AEDAT
packet as the events that are there without a word, fails on a truncated N-MNIST file with a
numpy broadcasting error, and its ``read_dvs_ibm`` fails on every file (it unpacks two values
from a function that returns three). These check the sizes and raise
:class:`~brian_ep.errors.DataError` naming the file, the byte offset and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import make_events

__all__ = ["read_nmnist", "read_aedat31", "read_gesture_labels", "read_gesture_samples", "AEDAT_HEADER_END"]

AEDAT_HEADER_END = b"#!END-HEADER"
_PACKET_HEADER = np.dtype([
    ("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"), ("ts_overflow", "<i4"),
    ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4"),
])
_POLARITY = np.dtype([("data", "<u4"), ("t", "<i4")])
_FIX = "the file is damaged or incomplete: copy or download it again"


def _read(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}); check that it exists and is readable.") from exc


def read_nmnist(path) -> np.ndarray:
    """The events of one N-MNIST ``.bin`` file (34 x 34 sensor, two polarities)."""
    raw = _read(path)
    if len(raw) % 5:
        raise DataError(
            f"{path}: truncated N-MNIST file: {len(raw)} bytes is not a whole number of 5-byte events (the last "
            f"{len(raw) % 5} bytes are part of an event); {_FIX}."
        )
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 5).astype(np.int64)
    x, y = b[:, 0], b[:, 1]
    p = b[:, 2] >> 7
    t = ((b[:, 2] & 127) << 16) | (b[:, 3] << 8) | b[:, 4]
    overflow = y == 240
    t = t + (np.cumsum(overflow) << 13)
    keep = ~overflow
    return make_events(x[keep], y[keep], t[keep], p[keep])


def _aedat_body(raw, path) -> int:
    """The byte offset of the first packet after the AEDAT 3.1 text header."""
    if not raw.startswith(b"#!AER-DAT3"):
        first = raw[:20].split(b"\n")[0]
        raise DataError(f"{path}: not an AEDAT 3.x file (it starts with {first!r}, not '#!AER-DAT3.1'); "
                        "DVS128 Gesture's files are AEDAT 3.1 (.aedat).")
    end = raw.find(AEDAT_HEADER_END)
    if end < 0:
        raise DataError(f"{path}: the AEDAT header has no '#!END-HEADER' line: truncated in its header; {_FIX}.")
    newline = raw.find(b"\n", end)
    if newline < 0:
        raise DataError(f"{path}: the AEDAT header ends without a newline: truncated; {_FIX}.")
    return newline + 1


def read_aedat31(path) -> np.ndarray:
    """The polarity events (type 1) of an AEDAT 3.1 file (DVS128: 128 x 128, two polarities),
    in file order; packets of other types are skipped."""
    raw = _read(path)
    offset = _aedat_body(raw, path)
    chunks = []
    packet = 0
    while offset < len(raw):
        if len(raw) - offset < _PACKET_HEADER.itemsize:
            raise DataError(f"{path}: truncated in the header of packet {packet} at byte {offset} "
                            f"({len(raw) - offset} of {_PACKET_HEADER.itemsize} bytes); {_FIX}.")
        h = np.frombuffer(raw, dtype=_PACKET_HEADER, count=1, offset=offset)[0]
        size, capacity = int(h["size"]), int(h["capacity"])
        body = offset + _PACKET_HEADER.itemsize
        if size <= 0 or capacity < 0:
            raise DataError(f"{path}: packet {packet} at byte {offset} has eventSize {size} and eventCapacity "
                            f"{capacity}: not an AEDAT 3.1 packet header; {_FIX}.")
        if len(raw) - body < size * capacity:
            raise DataError(f"{path}: truncated in packet {packet} (byte {offset}): it holds {capacity} events of "
                            f"{size} bytes, the file has {len(raw) - body} bytes left; {_FIX}.")
        if int(h["type"]) == 1:
            if size != _POLARITY.itemsize:
                raise DataError(f"{path}: polarity packet {packet} has {size}-byte events, AEDAT 3.1 has 8; {_FIX}.")
            chunks.append(_polarity_events(np.frombuffer(raw, dtype=_POLARITY, count=capacity, offset=body), int(h["ts_overflow"])))
        offset = body + size * capacity
        packet += 1
    if not chunks:
        return make_events([], [], [], [])
    return np.concatenate(chunks)


def _polarity_events(ev, overflow: int) -> np.ndarray:
    data = ev["data"].astype(np.int64)
    valid = (data & 1) == 1
    t = (np.int64(overflow) << 31) | ev["t"].astype(np.int64)
    return make_events((data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF, t, (data >> 1) & 1)[valid]


def read_gesture_labels(path) -> np.ndarray:
    """A DVS128 Gesture labels file: ``(n, 3)`` int64 rows of ``class, start_us, end_us``
    (classes as in the file: 1 .. 11), after the header line."""
    text = _read(path).decode("utf-8", errors="replace").strip().splitlines()
    rows = []
    for number, line in enumerate(text[1:], start=2):
        parts = [p.strip() for p in line.split(",")]
        try:
            row = [int(p) for p in parts]
        except ValueError:
            row = None
        if row is None or len(row) != 3 or row[1] > row[2]:
            raise DataError(f"{path}: line {number} ({line!r}) is not 'class, startTime_usec, endTime_usec' with "
                            "start <= end; fix the line or use the labels file that came with the recording.")
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def read_gesture_samples(aedat_path, labels_path) -> tuple:
    """The labelled samples of one DVS128 Gesture recording: ``(samples, labels)``, each
    sample the events with ``start <= t < end`` of a labels row, times from its start
    (microseconds), and labels ``class - 1`` (0 .. 10)."""
    events = read_aedat31(aedat_path)
    samples, labels = [], []
    for cls, start, end in read_gesture_labels(labels_path):
        sample = events[(events["t"] >= start) & (events["t"] < end)].copy()
        sample["t"] -= start
        samples.append(sample[np.argsort(sample["t"], kind="stable")])
        labels.append(cls - 1)
    return samples, np.array(labels, dtype=np.int64)
