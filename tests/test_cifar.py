"""The CIFAR-10 reader on small files written in the binary format: pixel layout, labels,
the search path, and errors that name the file."""

import numpy as np
import pytest

from brian_ep.cifar import CIFAR10_FILES, load_cifar10, read_cifar_batch
from brian_ep.errors import DataError


def _write(path, labels, rng):
    pixels = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    path.write_bytes(np.concatenate([np.asarray(labels, np.uint8)[:, None], pixels], axis=1).tobytes())
    return pixels


def test_a_batch_reads_labels_and_channel_planes(tmp_path):
    rng = np.random.default_rng(0)
    pixels = _write(tmp_path / "b.bin", [3, 9, 0], rng)
    x, y = read_cifar_batch(tmp_path / "b.bin")
    assert y.tolist() == [3, 9, 0] and y.dtype == np.int64
    assert x.shape == (3, 3072) and x.min() >= 0 and x.max() <= 1
    # record 1: pixel (row 2, column 5) of the green plane is byte 1 + 1024 + 2 * 32 + 5
    assert x[1].reshape(3, 32, 32)[1, 2, 5] == pixels[1, 1024 + 2 * 32 + 5] / 255.0


def test_the_loader_finds_the_six_files_under_the_data_directory(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, name in enumerate(CIFAR10_FILES):
        _write(folder / name, [i, (i + 1) % 10], rng)
    monkeypatch.setenv("BRIAN_EP_DATA", str(tmp_path))
    ds = load_cifar10()
    assert ds.name == "cifar10" and ds.n_features == 3072
    assert ds.y_train.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5] and ds.y_test.tolist() == [5, 6]


def test_missing_files_are_reported_with_the_places_searched(tmp_path):
    with pytest.raises(DataError, match="test_batch.bin"):
        load_cifar10(directory=tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "label"])
def test_a_damaged_file_is_named(tmp_path, damage):
    path = tmp_path / "data_batch_1.bin"
    _write(path, [1, 2], np.random.default_rng(2))
    raw = bytearray(path.read_bytes())
    if damage == "truncated":
        raw = raw[:-7]
    else:
        raw[3073] = 42
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="data_batch_1.bin"):
        read_cifar_batch(path)
