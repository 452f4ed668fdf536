"""Tests of brian_ep.data: bundled digits, IDX parsing, search path, errors, real MNIST."""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from brian_ep import data
from brian_ep.data import (
    DATA_ENV_VAR, DOWNLOAD_ENV_VAR, Dataset, find_data_dir, load_dataset,
    load_digits, load_fashion_mnist, load_mnist, one_hot, read_idx_pair,
)
from brian_ep.errors import BrianEPError, DataError

pytestmark = pytest.mark.codegen_independent


# ---------------------------------------------------------------- helpers

def idx_bytes(array, kind):
    """Encode a uint8 array as an IDX file (images: (n, rows, cols); labels: (n,))."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x803 if kind == "images" else 0x801
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(path, payload, gz):
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def synthetic_set(directory, n_train=12, n_test=5, gz=True, seed=0):
    """Write the four IDX files into `directory`; return (arrays, checksum table)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 3, 2)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 3, 2)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    checksums = {}
    for name, array in arrays.items():
        payload = idx_bytes(array, "images" if "images" in name else "labels")
        write(directory / name, payload, gz)
        checksums[name] = hashlib.sha256(payload).hexdigest()
    return arrays, checksums


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data reachable: empty env vars, cache and system dirs under tmp_path."""
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.delenv(DOWNLOAD_ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "SYSTEM_DATA_DIRS", {"fashion-mnist": (tmp_path / "usr-share",)})
    return tmp_path


@pytest.fixture
def fake_mnist(isolated, monkeypatch):
    """Synthetic MNIST in tmp_path/store/mnist with the checksum table patched in."""
    arrays, checksums = synthetic_set(isolated / "store" / "mnist")
    monkeypatch.setitem(data.CHECKSUMS, "mnist", checksums)
    return isolated / "store", arrays


# ---------------------------------------------------------------- digits

def test_digits_shapes_and_ranges():
    d = load_digits()
    assert d.name == "digits" and d.source == "bundled" and d.n_classes == 10
    assert d.x_train.shape == (1437, 64) and d.x_test.shape == (360, 64)
    assert d.y_train.shape == (1437,) and d.y_test.shape == (360,)
    assert d.x_train.dtype == np.float64 and d.y_train.dtype == np.int64
    for x in (d.x_train, d.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(d.y_test)) == set(range(10))
    assert set(np.unique(d.y_train)) == set(range(10))
    assert d.n_features == 64


def test_digits_split_is_deterministic_and_independent_of_global_seed():
    np.random.seed(1)
    a = load_digits()
    np.random.seed(2)
    b = load_digits()
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    # the split is a permutation: no sample lost
    assert len(a.y_train) + len(a.y_test) == 1797


def test_digits_checksum_mismatch(monkeypatch):
    monkeypatch.setattr(data, "DIGITS_SHA256", "0" * 64)
    with pytest.raises(DataError, match=r"digits\.csv\.gz: checksum mismatch.*expected 0{64}, "
                                        r"got 09f66e6d.*reinstall"):
        load_digits()


def test_load_dataset_dispatch_and_unknown_name():
    assert load_dataset("digits").name == "digits"
    with pytest.raises(DataError, match=r"unknown data set 'cifar'.*'digits', 'mnist', "
                                        r"'fashion-mnist'"):
        load_dataset("cifar")


def test_data_error_is_brian_ep_error():
    with pytest.raises(BrianEPError):
        load_dataset("nope")


# ---------------------------------------------------------------- one_hot, subset, validation

def test_one_hot():
    out = one_hot([2, 0, 1], 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert out.dtype == np.float64
    assert one_hot(np.array([], dtype=int), 4).shape == (0, 4)
    with pytest.raises(DataError, match=r"labels span 0\.\.3, outside 0\.\.2"):
        one_hot([0, 3], 3)
    with pytest.raises(DataError, match="1-D integer array"):
        one_hot([0.5, 1.0], 3)


def test_subset():
    d = load_digits()
    s = d.subset(100, 20)
    assert s.x_train.shape == (100, 64) and s.x_test.shape == (20, 64)
    np.testing.assert_array_equal(s.x_train, d.x_train[:100])
    np.testing.assert_array_equal(s.y_test, d.y_test[:20])
    assert s.subset(n_test=5).x_train.shape == (100, 64)
    assert d.subset().x_train.shape == d.x_train.shape
    with pytest.raises(DataError, match=r"n_train=2000 is out of range, it has 1437 training"):
        d.subset(n_train=2000)
    with pytest.raises(DataError, match=r"n_test=-1 is out of range"):
        d.subset(n_test=-1)


def test_split_validation():
    d = load_digits()
    kept, (x_val, y_val) = d.split_validation(237)
    assert kept.x_train.shape == (1200, 64) and x_val.shape == (237, 64)
    np.testing.assert_array_equal(x_val, d.x_train[-237:])
    np.testing.assert_array_equal(y_val, d.y_train[-237:])
    np.testing.assert_array_equal(kept.x_test, d.x_test)
    kept0, (x0, _) = d.split_validation(0)
    assert kept0.x_train.shape == d.x_train.shape and x0.shape == (0, 64)
    with pytest.raises(DataError, match=r"cannot hold out 1437 validation samples from 1437"):
        d.split_validation(1437)
    with pytest.raises(DataError, match=r"cannot hold out 100 .* from 50"):
        d.subset(50).split_validation(100)


def test_dataset_rejects_inconsistent_arrays():
    with pytest.raises(DataError, match=r"'toy' from here: train inputs have shape \(3, 2\) "
                                        r"but labels \(2,\)"):
        Dataset("toy", np.zeros((3, 2)), np.zeros(2, int), np.zeros((1, 2)), np.zeros(1, int),
                10, "here")
    with pytest.raises(DataError, match=r"test labels span 0\.\.12, outside 0\.\.9"):
        Dataset("toy", np.zeros((1, 2)), np.zeros(1, int), np.zeros((2, 2)), np.array([0, 12]),
                10, "here")


# ---------------------------------------------------------------- IDX parsing

@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_idx_round_trip(tmp_path, gz):
    arrays, checksums = synthetic_set(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    x, y = read_idx_pair(tmp_path / f"train-images-idx3-ubyte{suffix}",
                         tmp_path / f"train-labels-idx1-ubyte{suffix}", checksums)
    assert x.dtype == np.float64 and y.dtype == np.int64
    assert x.shape == (12, 6) and y.shape == (12,)
    np.testing.assert_allclose(x, arrays["train-images-idx3-ubyte"].reshape(12, 6) / 255.0)
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_idx_empty_file_set(tmp_path):
    images = write(tmp_path / "i", idx_bytes(np.zeros((0, 28, 28)), "images"), gz=False)
    labels = write(tmp_path / "l", idx_bytes(np.zeros(0), "labels"), gz=True)
    x, y = read_idx_pair(images, labels)
    assert x.shape == (0, 784) and y.shape == (0,)


def test_idx_truncated(tmp_path):
    payload = idx_bytes(np.zeros((4, 28, 28)), "images")[:-10]
    images = write(tmp_path / "train-images-idx3-ubyte", payload, gz=True)
    labels = write(tmp_path / "l", idx_bytes(np.zeros(4), "labels"), gz=False)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated: header says 4 "
                                        r"images of 28x28 = 3136 bytes, the file has 3126"):
        read_idx_pair(images, labels)


def test_idx_truncated_header_and_too_long(tmp_path):
    labels = write(tmp_path / "l", idx_bytes(np.zeros(4), "labels"), gz=False)
    short = write(tmp_path / "short", b"\x00\x00\x08\x03\x00", gz=False)
    with pytest.raises(DataError, match=r"short: truncated: an IDX images file starts with a "
                                        r"16-byte header, the file has 5 bytes"):
        read_idx_pair(short, labels)
    long = write(tmp_path / "long", idx_bytes(np.zeros(5), "labels") + b"xx", gz=False)
    with pytest.raises(DataError, match=r"long: too long: header says 5 labels = 5 bytes"):
        read_idx_pair(write(tmp_path / "i", idx_bytes(np.zeros((5, 2, 2)), "images"), False), long)


def test_idx_wrong_magic(tmp_path):
    images = write(tmp_path / "i", idx_bytes(np.zeros((4, 2, 2)), "images"), gz=False)
    labels = write(tmp_path / "l", idx_bytes(np.zeros(4), "labels"), gz=False)
    with pytest.raises(DataError, match=r"[/\\]l: not an IDX images file: magic number "
                                        r"0x00000801, expected 0x00000803"):
        read_idx_pair(labels, images)  # swapped


def test_idx_bad_gzip(tmp_path):
    labels = write(tmp_path / "l", idx_bytes(np.zeros(4), "labels"), gz=False)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(idx_bytes(np.zeros((4, 2, 2)), "images"))  # not compressed
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: not a valid gzip file"):
        read_idx_pair(bad, labels)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(idx_bytes(np.zeros((4, 2, 2)), "images"))[:-12])
    with pytest.raises(DataError, match=r"cut\.gz: not a valid gzip file"):
        read_idx_pair(cut, labels)


def test_idx_checksum_mismatch(tmp_path):
    arrays, checksums = synthetic_set(tmp_path, gz=True)
    checksums["train-labels-idx1-ubyte"] = "f" * 64
    actual = hashlib.sha256(idx_bytes(arrays["train-labels-idx1-ubyte"], "labels")).hexdigest()
    with pytest.raises(DataError, match=rf"train-labels-idx1-ubyte\.gz: checksum mismatch.*"
                                        rf"expected f{{64}}, got {actual}"):
        read_idx_pair(tmp_path / "train-images-idx3-ubyte.gz",
                      tmp_path / "train-labels-idx1-ubyte.gz", checksums)


def test_idx_unknown_file_name_with_checksums(tmp_path):
    images = write(tmp_path / "renamed", idx_bytes(np.zeros((1, 2, 2)), "images"), gz=False)
    labels = write(tmp_path / "l", idx_bytes(np.zeros(1), "labels"), gz=False)
    with pytest.raises(DataError, match=r"renamed: no checksum known for 'renamed'"):
        read_idx_pair(images, labels, {"x": "0" * 64})


def test_idx_count_mismatch(tmp_path):
    images = write(tmp_path / "imgs", idx_bytes(np.zeros((4, 2, 2)), "images"), gz=True)
    labels = write(tmp_path / "lbls", idx_bytes(np.zeros(3), "labels"), gz=True)
    with pytest.raises(DataError, match=r"imgs\.gz holds 4 images but .*lbls\.gz holds 3 labels"):
        read_idx_pair(images, labels)


def test_idx_unreadable(tmp_path):
    with pytest.raises(DataError, match=r"absent: cannot be read"):
        read_idx_pair(tmp_path / "absent", tmp_path / "absent2")


# ---------------------------------------------------------------- loaders on synthetic sets

def test_load_mnist_from_directory_both_layouts(fake_mnist):
    store, arrays = fake_mnist
    for directory in (store, store / "mnist"):
        d = load_mnist(directory=directory)
        assert d.name == "mnist" and d.source == str(store / "mnist")
        assert d.x_train.shape == (12, 6) and d.x_test.shape == (5, 6)
        np.testing.assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert load_dataset("mnist", directory=str(store)).x_train.shape == (12, 6)


def test_load_mixed_compression(isolated, monkeypatch):
    directory = isolated / "mixed"
    _, checksums = synthetic_set(directory, gz=True)
    monkeypatch.setitem(data.CHECKSUMS, "fashion-mnist", checksums)
    path = directory / "t10k-images-idx3-ubyte.gz"
    (directory / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(path.read_bytes()))
    path.unlink()
    assert load_fashion_mnist(directory).x_test.shape == (5, 6)


def test_load_wrong_data_set_is_checksum_error(fake_mnist, monkeypatch):
    store, _ = fake_mnist
    with pytest.raises(DataError, match=r"checksum mismatch.*MNIST and Fashion-MNIST"):
        load_fashion_mnist(directory=store / "mnist")


# ---------------------------------------------------------------- search path

def test_find_data_dir_argument_beats_env(fake_mnist, monkeypatch, tmp_path):
    store, _ = fake_mnist
    synthetic_set(tmp_path / "env" / "mnist")
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert find_data_dir("mnist") == tmp_path / "env" / "mnist"
    assert find_data_dir("mnist", directory=store) == store / "mnist"


def test_find_data_dir_env_layouts(fake_mnist, monkeypatch, tmp_path):
    store, _ = fake_mnist
    monkeypatch.setenv(DATA_ENV_VAR, str(store))  # D/<name>/
    assert find_data_dir("mnist") == store / "mnist"
    monkeypatch.setenv(DATA_ENV_VAR, str(store / "mnist"))  # files directly in D
    assert find_data_dir("mnist") == store / "mnist"
    monkeypatch.setenv(DATA_ENV_VAR, os.pathsep.join([str(tmp_path / "void"), str(store)]))
    assert find_data_dir("mnist") == store / "mnist"


def test_find_data_dir_sibling_name_not_taken_as_other_set(fake_mnist, monkeypatch):
    store, _ = fake_mnist
    monkeypatch.setenv(DATA_ENV_VAR, str(store / "mnist"))
    with pytest.raises(DataError, match=r"'fashion-mnist' not found; searched .*"
                                        r"mnist[/\\]fashion-mnist"):
        find_data_dir("fashion-mnist")


def test_find_data_dir_cache_and_system(isolated, monkeypatch):
    synthetic_set(isolated / "cache" / "brian_ep" / "mnist")
    assert find_data_dir("mnist") == isolated / "cache" / "brian_ep" / "mnist"
    synthetic_set(isolated / "usr-share")
    assert find_data_dir("fashion-mnist") == isolated / "usr-share"


def test_find_data_dir_rejects_other_names():
    with pytest.raises(DataError, match=r"'digits' is not an IDX data set"):
        find_data_dir("digits")


def test_explicit_directory_missing_files(fake_mnist):
    store, _ = fake_mnist
    (store / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"not found in .*store \(the 'directory' argument\): "
                                        r".*mnist lacks t10k-labels-idx1-ubyte"):
        load_mnist(directory=store)


def test_explicit_directory_does_not_fall_back(fake_mnist, monkeypatch, tmp_path):
    store, _ = fake_mnist
    monkeypatch.setenv(DATA_ENV_VAR, str(store))
    called = []
    monkeypatch.setattr("pooch.retrieve", lambda *a, **k: called.append(a))
    with pytest.raises(DataError, match=r"nowhere \(the 'directory' argument\) does not exist"):
        load_mnist(directory=tmp_path / "nowhere", download=True)
    assert not called


@pytest.mark.parametrize("name, loader", [("mnist", load_mnist),
                                          ("fashion-mnist", load_fashion_mnist)])
def test_nothing_found_anywhere(isolated, name, loader):
    with pytest.raises(DataError) as info:
        loader()
    message = str(info.value)
    assert f"data set '{name}' not found; searched" in message
    assert str(isolated / "cache" / "brian_ep" / name) in message
    assert "BRIAN_EP_DATA" in message and "BRIAN_EP_DOWNLOAD=1" in message
    assert ("apt-get install dataset-fashion-mnist" in message) == (name == "fashion-mnist")
    if name == "fashion-mnist":
        assert str(isolated / "usr-share") in message


# ---------------------------------------------------------------- download (no network)

def test_download_failure_is_data_error(isolated, monkeypatch):
    import requests

    def offline(url, **kwargs):
        raise requests.exceptions.ConnectionError(f"cannot reach {url}")

    monkeypatch.setattr("pooch.retrieve", offline)
    monkeypatch.setenv(DOWNLOAD_ENV_VAR, "1")
    with pytest.raises(DataError, match=r"could not download https://ossci-datasets\.s3\.amazonaws"
                                        r"\.com/mnist/train-images-idx3-ubyte\.gz into .*"
                                        r"no network\? .*BRIAN_EP_DATA"):
        load_mnist()
    with pytest.raises(DataError, match=r"could not download http://fashion-mnist"):
        load_fashion_mnist(download=True)
    with pytest.raises(DataError, match=r"not found; searched"):
        load_mnist(download=False)  # explicit False beats the env var


def test_download_into_cache(isolated, monkeypatch):
    source = isolated / "remote"
    _, checksums = synthetic_set(source)
    monkeypatch.setitem(data.CHECKSUMS, "mnist", checksums)
    fetched = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        fetched.append(url)
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / fname).write_bytes((source / fname).read_bytes())
        return str(Path(path) / fname)

    monkeypatch.setattr("pooch.retrieve", fake_retrieve)
    d = load_mnist(download=True)
    assert d.source == str(isolated / "cache" / "brian_ep" / "mnist")
    assert len(fetched) == 4 and d.x_train.shape == (12, 6)
    assert load_mnist().source == d.source and len(fetched) == 4  # now found in the cache


# ---------------------------------------------------------------- real data (if present)

def _real_dir(name):
    env = os.environ.get(DATA_ENV_VAR)
    places = env.split(os.pathsep) if env else []
    places.append(Path(__file__).parents[1] / ".." / "shared" / "data")
    for place in places:
        try:
            return find_data_dir(name, directory=place)
        except DataError:
            pass
    return None


REAL = {name: _real_dir(name) for name in ("mnist", "fashion-mnist")}


@pytest.fixture(scope="module")
def real_sets():
    return {name: load_dataset(name, directory=REAL[name]) for name in REAL if REAL[name]}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.skipif(
        REAL[name] is None,
        reason=f"{name} IDX files not found in ${DATA_ENV_VAR} or ../shared/data"))
    for name in ("mnist", "fashion-mnist")])
def test_real_data(real_sets, name):
    d = real_sets[name]
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.y_train.shape == (60000,) and d.y_test.shape == (10000,)
    assert d.x_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10)) == set(np.unique(d.y_test))
    assert np.bincount(d.y_test).min() >= 800  # balanced-ish, not a single class
