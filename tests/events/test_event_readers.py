"""N-MNIST and DVS128 Gesture (AEDAT 3.1) files written by the tests in those formats, read
into events and trainable samples; broken files raise DataError naming the file."""

import numpy as np
import pytest
from conftest import small_spec

from brian_ep.errors import DataError
from brian_ep.events import make_events
from brian_ep.events.dataset import binned_dataset, event_set
from brian_ep.events.readers import read_aedat31, read_gesture_samples, read_nmnist
from brian_ep.splits import prepare_data

pytestmark = pytest.mark.codegen_independent


def nmnist_bytes(events, overflow_before=()):
    """N-MNIST encoding: 5 bytes per event; an overflow marker (y = 240) before each index listed."""
    out = bytearray()
    for k, (x, y, t, p) in enumerate(zip(events["x"], events["y"], events["t"], events["p"])):
        if k in overflow_before:
            out += bytes([0, 240, 0, 0, 0])
        t = int(t)
        out += bytes([int(x), int(y), (int(p) << 7) | (t >> 16) & 127, (t >> 8) & 255, t & 255])
    return bytes(out)


def random_events(rng, n, size, t_max):
    t = np.sort(rng.integers(0, t_max, n))
    return make_events(rng.integers(0, size, n), rng.integers(0, size, n), t, rng.integers(0, 2, n))


def test_nmnist_file_round_trip_and_overflow(tmp_path):
    ev = random_events(np.random.default_rng(0), 50, 34, 2**23)
    path = tmp_path / "00001.bin"
    path.write_bytes(nmnist_bytes(ev))
    np.testing.assert_array_equal(read_nmnist(path), ev)
    small = make_events([1, 2, 3], [4, 5, 6], [100, 50, 7], [1, 0, 1])
    path.write_bytes(nmnist_bytes(small, overflow_before=(1, 2)))
    np.testing.assert_array_equal(read_nmnist(path)["t"], [100, 50 + 2**13, 7 + 2**14])


def test_nmnist_reader_agrees_with_tonic(tmp_path):
    io = pytest.importorskip("tonic.io")
    ev = random_events(np.random.default_rng(1), 200, 34, 2**23)
    path = tmp_path / "a.bin"
    path.write_bytes(nmnist_bytes(ev, overflow_before=(50,)))
    theirs = io.read_mnist_file(str(path), dtype=io.events_struct)
    np.testing.assert_array_equal(read_nmnist(path), theirs)


def test_truncated_nmnist_file_names_the_file(tmp_path):
    path = tmp_path / "broken.bin"
    path.write_bytes(nmnist_bytes(make_events([1, 2], [1, 2], [5, 6], [0, 1]))[:-2])
    with pytest.raises(DataError, match=r"broken\.bin: truncated N-MNIST file: 8 bytes"):
        read_nmnist(path)
    with pytest.raises(DataError, match="missing.bin: cannot be read"):
        read_nmnist(tmp_path / "missing.bin")


HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def aedat_packet(events, overflow=0, kind=1, valid=None):
    """One AEDAT 3.1 packet of polarity events (or 8-byte events of another ``kind``)."""
    n = len(events)
    header = np.array([(kind, 1, 8, 4, overflow, n, n, n)], dtype=[
        ("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("off", "<i4"), ("over", "<i4"),
        ("cap", "<i4"), ("num", "<i4"), ("valid", "<i4")]).tobytes()
    valid = np.ones(n, dtype=np.int64) if valid is None else valid
    data = (events["x"].astype(np.int64) << 17) | (events["y"].astype(np.int64) << 2) | (events["p"].astype(np.int64) << 1) | valid
    body = np.empty(n, dtype=[("d", "<u4"), ("t", "<i4")])
    body["d"], body["t"] = data, events["t"] & (2**31 - 1)
    return header + body.tobytes()


def test_aedat31_polarity_packets_skips_others_and_extends_time(tmp_path):
    rng = np.random.default_rng(2)
    a, b = random_events(rng, 30, 128, 10**6), random_events(rng, 20, 128, 10**6)
    valid = np.ones(20, dtype=np.int64)
    valid[3] = 0  # an invalid event is not read
    path = tmp_path / "user01_fluorescent.aedat"
    path.write_bytes(HEADER + aedat_packet(a) + aedat_packet(a[:5], kind=0) + aedat_packet(b, overflow=1, valid=valid))
    got = read_aedat31(path)
    b_read = b.copy()
    b_read["t"] += 2**31
    np.testing.assert_array_equal(got, np.concatenate([a, np.delete(b_read, 3)]))


def test_aedat31_reader_agrees_with_tonic(tmp_path):
    io = pytest.importorskip("tonic.io")
    ev = random_events(np.random.default_rng(3), 100, 128, 10**6)
    path = tmp_path / "b.aedat"
    path.write_bytes(HEADER + aedat_packet(ev[:60]) + aedat_packet(ev[60:]))
    # tonic 1.7.0's read_dvs_ibm unpacks two values from read_aedat_header_from_file, which
    # returns three (ValueError): its two steps are called here, and its decoding repeated
    version, start, _ = io.read_aedat_header_from_file(str(path))
    raw = io.get_aer_events_from_file(str(path), version, start)
    addr = raw["address"]
    mine = read_aedat31(path)
    np.testing.assert_array_equal(mine["x"], (addr >> 17) & 0x1FFF)
    np.testing.assert_array_equal(mine["y"], (addr >> 2) & 0x1FFF)
    np.testing.assert_array_equal(mine["p"], (addr >> 1) & 1)
    np.testing.assert_array_equal(mine["t"], raw["timeStamp"])


@pytest.mark.parametrize("cut, message", [
    (lambda raw: raw[:-3], r"truncated in packet 1 \(byte \d+\): it holds 10 events"),
    (lambda raw: raw[: len(HEADER) + 10], r"truncated in the header of packet 0"),
    (lambda raw: raw[:20], r"no '#!END-HEADER' line"),
    (lambda raw: b"#!AER-DAT2.0\r\n" + raw[14:], r"not an AEDAT 3.x file"),
])
def test_broken_aedat_files_name_the_file(tmp_path, cut, message):
    ev = random_events(np.random.default_rng(4), 10, 128, 1000)
    path = tmp_path / "broken.aedat"
    path.write_bytes(cut(HEADER + aedat_packet(ev) + aedat_packet(ev)))
    with pytest.raises(DataError, match=r"broken\.aedat: .*" + message):
        read_aedat31(path)


def test_gesture_recording_into_trainable_samples(tmp_path):
    rng = np.random.default_rng(5)
    ev = random_events(rng, 400, 128, 3_000_000)
    aedat, labels = tmp_path / "user02_led.aedat", tmp_path / "user02_led_labels.csv"
    aedat.write_bytes(HEADER + aedat_packet(ev[:250]) + aedat_packet(ev[250:]))
    labels.write_text("class,startTime_usec,endTime_usec\n3,0,1000000\n11,1200000,2500000\n1,2500000,3000000\n")
    samples, y = read_gesture_samples(aedat, labels)
    assert list(y) == [2, 10, 0]
    inside = ev[(ev["t"] >= 1_200_000) & (ev["t"] < 2_500_000)]
    np.testing.assert_array_equal(samples[1]["t"], inside["t"] - 1_200_000)
    np.testing.assert_array_equal(samples[1]["x"], inside["x"])
    with pytest.raises(DataError, match="line 2"):
        labels.write_text("class,startTime_usec,endTime_usec\n3,10,5\n")
        read_gesture_samples(aedat, labels)
    # into the (bins x channels) rows a spec trains on: 128 x 128 downsampled by 32 -> 2 x 4 x 4
    events = event_set("gesture", (samples, y), (samples[:2], y[:2]), (128, 128, 2), 1_000_000, 11)
    ds = binned_dataset(events, bins=4, bin_us=250_000, downsample=32)
    spec = small_spec(**{"model.input.size": 32, "model.output.size": 11, "data.dataset": "events",
                         "data.events": {"bins": 4, "bin_steps": 5}})
    (x, labels_out), _, (x_test, _) = prepare_data(spec, dataset=ds)
    assert x.shape == (3, 4 * 32) and x_test.shape == (2, 128)
    assert x[1].sum() == np.count_nonzero(inside["t"] < 2_200_000)  # events within the 4 bins of 250 ms
