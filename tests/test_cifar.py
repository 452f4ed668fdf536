"""The CIFAR-10 reader on small files written in the binary format: pixel layout, labels,
the search path, the structure checks (record count, file size, class counts, copies; issue
27), and errors that name the file."""

import numpy as np
import pytest

from brian_ep import cifar
from brian_ep.cifar import CIFAR10_FILES, load_cifar10, read_cifar_batch
from brian_ep.errors import DataError


def _write(path, labels, rng):
    pixels = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    path.write_bytes(np.concatenate([np.asarray(labels, np.uint8)[:, None], pixels], axis=1).tobytes())
    return pixels


def test_a_batch_reads_labels_and_channel_planes(tmp_path):
    rng = np.random.default_rng(0)
    pixels = _write(tmp_path / "b.bin", [3, 9, 0], rng)
    x, y = read_cifar_batch(tmp_path / "b.bin", records=3)
    assert y.tolist() == [3, 9, 0] and y.dtype == np.int64
    assert x.shape == (3, 3072) and x.min() >= 0 and x.max() <= 1
    # record 1: pixel (row 2, column 5) of the green plane is byte 1 + 1024 + 2 * 32 + 5
    assert x[1].reshape(3, 32, 32)[1, 2, 5] == pixels[1, 1024 + 2 * 32 + 5] / 255.0


def _six_files(folder, rng, per_file=20):
    """Six files of ``per_file`` records (a multiple of 10), each class equally often."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(CIFAR10_FILES):
        _write(folder / name, [(i + k) % 10 for k in range(per_file)], rng)


def test_the_loader_finds_the_six_files_under_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "RECORDS_PER_FILE", 20)  # the official 10,000 scaled down
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    _six_files(folder, np.random.default_rng(1))
    monkeypatch.setenv("BRIAN_EP_DATA", str(tmp_path))
    ds = load_cifar10()
    assert ds.name == "cifar10" and ds.n_features == 3072
    assert ds.y_train[:3].tolist() == [0, 1, 2] and ds.y_train[20:22].tolist() == [1, 2] and ds.y_test[0] == 5
    assert len(ds.y_train) == 100 and len(ds.y_test) == 20


def test_ten_random_records_per_file_are_refused(tmp_path):
    """Issue 27: six files of ten random records each used to train without a word."""
    rng = np.random.default_rng(4)
    for name in CIFAR10_FILES:
        _write(tmp_path / name, rng.integers(0, 10, 10), rng)
    with pytest.raises(DataError) as info:
        load_cifar10(directory=tmp_path)
    message = str(info.value)
    assert "data_batch_1.bin: 30,730 bytes" in message and "10,000 records" in message and "truncated" in message


def test_a_full_size_batch_cut_at_a_record_boundary_is_refused(tmp_path):
    path = tmp_path / "data_batch_3.bin"
    labels = np.arange(10_000) % 10
    _write(path, labels, np.random.default_rng(5))
    assert read_cifar_batch(path)[1].tolist() == labels.tolist()  # the official size reads
    path.write_bytes(path.read_bytes()[: 9_999 * 3073])
    with pytest.raises(DataError, match=r"data_batch_3.bin: 30,726,927 bytes.*It is truncated"):
        read_cifar_batch(path)


@pytest.mark.parametrize("fault,message", [
    ("unbalanced", r"the images per class are \[28, 8, 8"),
    ("copied", "data_batch_2.bin and data_batch_1.bin have the same content"),
    ("test_unbalanced", r"test_batch.bin: the images per class are \[3, 2, 2"),
])
def test_files_of_the_right_size_but_not_cifar_are_refused(tmp_path, monkeypatch, fault, message):
    monkeypatch.setattr(cifar, "RECORDS_PER_FILE", 20)
    rng = np.random.default_rng(6)
    _six_files(tmp_path, rng)
    if fault == "unbalanced":
        _write(tmp_path / "data_batch_1.bin", [0] * 20, rng)
    elif fault == "copied":
        (tmp_path / "data_batch_2.bin").write_bytes((tmp_path / "data_batch_1.bin").read_bytes())
    else:
        _write(tmp_path / "test_batch.bin", [0, 0, 0] + [(k % 9) + 1 for k in range(17)], rng)
    with pytest.raises(DataError, match=message):
        load_cifar10(directory=tmp_path)


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
        read_cifar_batch(path, records=0)
