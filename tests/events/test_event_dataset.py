"""Event-MNIST generated from the MNIST files, cached with a SHA-256 beside it, refused when
damaged, and binned into the rows a spec trains on."""

import hashlib

import numpy as np
import pytest
from conftest import real_data_dir, small_spec

from brian_ep.data import load_mnist
from brian_ep.errors import DataError
from brian_ep.events import EVENT_DTYPE, SaccadeConfig, saccade_events
from brian_ep.events import dataset as event_dataset
from brian_ep.events.data_kind import load_event_data

MNIST_DIR = real_data_dir("mnist")
#: the generator reads the real (checksummed) MNIST files; without them these tests cannot run
pytestmark = [pytest.mark.codegen_independent,
              pytest.mark.skipif(MNIST_DIR is None, reason="MNIST IDX files not found in $BRIAN_EP_DATA or ../shared/data")]


@pytest.fixture
def mnist_dir():
    return MNIST_DIR


def test_generated_cached_and_read_back(mnist_dir, tmp_path, monkeypatch):
    cfg = SaccadeConfig(seed=2)
    made = event_dataset.event_mnist(3, 2, cfg, mnist_dir, cache=tmp_path)
    files = list((tmp_path / "event-mnist").glob("*.npz"))
    assert len(files) == 1
    digest = (files[0].parent / (files[0].name + ".sha256")).read_text().split()[0]
    assert digest == hashlib.sha256(files[0].read_bytes()).hexdigest()
    mnist = load_mnist(mnist_dir)
    events, offsets = saccade_events(mnist.x_train[:3].reshape(-1, 28, 28), cfg)
    np.testing.assert_array_equal(made.train[0], events)
    np.testing.assert_array_equal(made.train[2], mnist.y_train[:3])
    assert made.train[0].dtype == EVENT_DTYPE and len(made.samples("test")) == 2

    def no_generation(*args, **kwargs):
        raise AssertionError("generated again instead of read from the cache")

    monkeypatch.setattr(event_dataset, "saccade_events", no_generation)
    again = event_dataset.event_mnist(3, 2, cfg, mnist_dir, cache=tmp_path)
    np.testing.assert_array_equal(again.train[0], made.train[0])
    np.testing.assert_array_equal(again.test[1], made.test[1])

    raw = bytearray(files[0].read_bytes())
    raw[-10] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    with pytest.raises(DataError, match=f"{files[0].name}: checksum mismatch .* delete"):
        event_dataset.event_mnist(3, 2, cfg, mnist_dir, cache=tmp_path)
    (files[0].parent / (files[0].name + ".sha256")).unlink()
    with pytest.raises(DataError, match="no checksum file"):
        event_dataset.event_mnist(3, 2, cfg, mnist_dir, cache=tmp_path)
    monkeypatch.undo()
    other = event_dataset.event_mnist(3, 2, SaccadeConfig(seed=3), mnist_dir, cache=tmp_path)  # another key: made
    assert not np.array_equal(other.train[0], made.train[0]) or len(other.train[0]) != len(made.train[0])


def test_the_spec_section_bins_event_mnist(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(event_dataset, "cache_dir", lambda: tmp_path)
    spec = small_spec(**{
        "data.dataset": "event-mnist", "data.directory": str(mnist_dir), "data.n_train": 4, "data.n_test": 2,
        "data.events": {"bins": 3, "bin_duration": "100 ms", "downsample": 2, "scale": 0.5}, "model.input.size": 578,
    })
    ds = load_event_data(spec.data)
    assert ds.x_train.shape == (4, 3 * 578) and ds.x_test.shape == (2, 3 * 578)
    raw = event_dataset.event_mnist(4, 2, SaccadeConfig(seed=0), mnist_dir, cache=tmp_path)
    counts = [np.count_nonzero(s["t"] < 300_000) for s in raw.samples("train")]
    np.testing.assert_allclose(ds.x_train.sum(axis=1), 0.5 * np.array(counts))  # every event in a bin, once
