"""Data sets: the bundled 8x8 digits, MNIST and Fashion-MNIST.

Loaders return a :class:`Dataset`: float64 inputs in [0, 1], one row per sample, and int64
labels. Any problem with the data raises :class:`~brian_ep.errors.DataError` with a
one-paragraph message: what is wrong, where, and how to fix it.

``digits`` ships with the package. MNIST and Fashion-MNIST are read from their four IDX
files (:data:`IDX_FILES`, each with or without ``.gz``), looked for, in order, in (1) the
``directory`` argument (if given, only there); (2) ``$BRIAN_EP_DATA`` (``os.pathsep``
separates several); (3) the cache, ``pooch.os_cache("brian_ep")`` (``~/.cache/brian_ep``);
(4) for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist`` (Debian package
``dataset-fashion-mnist``). In each directory ``D`` the files may lie in ``D/<name>/`` or in
``D`` itself, except that in (2)-(4) ``D = .../mnist`` is never taken to hold Fashion-MNIST
directly (or vice versa): both sets use the same file names. If nothing is found and downloads are
allowed (``download=True``, or ``download=None`` and ``BRIAN_EP_DOWNLOAD=1``) pooch fetches
the files into the cache. The SHA-256 of the *decompressed* bytes is always checked, so
official ``.gz`` files, recompressed ones and uncompressed IDX files are all accepted.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import io
import math
import operator
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # the bundled digits are read as a Traversable (Python >= 3.11 has this module)
    from importlib.resources.abc import Traversable

#: A directory or file as text or a path object.
PathLike = str | os.PathLike[str]

__all__ = ["Dataset", "one_hot", "load_digits", "load_mnist", "load_fashion_mnist",
           "load_dataset", "find_data_dir", "read_idx_pair", "cache_dir", "download_allowed",
           "DATA_ENV_VAR", "DOWNLOAD_ENV_VAR", "DATASETS", "CHECKSUMS"]

DATA_ENV_VAR = "BRIAN_EP_DATA"
DOWNLOAD_ENV_VAR = "BRIAN_EP_DOWNLOAD"
DATASETS = ("digits", "mnist", "fashion-mnist")
N_CLASSES = 10

#: SHA-256 of the bundled ``datasets/digits.csv.gz`` (scikit-learn's copy of UCI digits).
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
#: Seed of the fixed permutation that splits digits into train/test. It is a constant,
#: independent of any run's seed, so every run sees the same 1437/360 (80/20) split.
DIGITS_SPLIT_SEED = 20240101
DIGITS_N_TRAIN = 1437

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

#: SHA-256 of the *decompressed* IDX files, per data set and file name.
CHECKSUMS = {
    "mnist": {
        TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

DOWNLOAD_URLS = {
    # Mirror used by torchvision; the original http://yann.lecun.com/exdb/mnist/ is often
    # unavailable. Both serve the same files (verified by the checksums above).
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

#: System-wide directories searched last, per data set.
SYSTEM_DATA_DIRS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}

_IDX_MAGIC = {"images": (0x00000803, 3), "labels": (0x00000801, 1)}
_REFETCH = ("The file is damaged or incomplete: replace it with a fresh copy of the "
            "original (delete it from the cache to have it downloaded again).")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set split into training and test samples.

    Parameters
    ----------
    name : str
        ``"digits"``, ``"mnist"`` or ``"fashion-mnist"``.
    x_train, y_train, x_test, y_test : numpy.ndarray
        float64 inputs in [0, 1], shape ``(n, n_features)``; int64 labels, shape ``(n,)``.
    n_classes : int
        Number of classes; labels lie in ``0 .. n_classes - 1``.
    source : str
        Where the data were read from: a directory, or ``"bundled"``.

    Notes
    -----
    Instances compare by identity (``eq=False``): arrays have no single truth value.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
                raise DataError(f"data set {self.name!r} from {self.source}: {split} inputs "
                                f"have shape {x.shape} but labels {y.shape}; inputs must be "
                                "(n, features) and labels (n,) with the same n.")
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise DataError(f"data set {self.name!r} from {self.source}: {split} labels span "
                                f"{y.min()}..{y.max()}, outside 0..{self.n_classes - 1}; the files "
                                f"are not a {self.n_classes}-class data set.")

    @property
    def n_features(self) -> int:
        """Number of input features (pixels)."""
        return int(self.x_train.shape[1])

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """Return the first `n_train` training and first `n_test` test samples.

        Parameters
        ----------
        n_train, n_test : int or None
            Sample counts; ``None`` keeps the whole split.
        """
        k_train = self._count(n_train, len(self.y_train), "n_train", "training")
        k_test = self._count(n_test, len(self.y_test), "n_test", "test")
        return replace(self, x_train=self.x_train[:k_train], y_train=self.y_train[:k_train],
                       x_test=self.x_test[:k_test], y_test=self.y_test[:k_test])

    def split_validation(self, n_val: int) -> tuple[Dataset, tuple[np.ndarray, np.ndarray]]:
        """Hold out the last `n_val` (``0 <= n_val < n_train``) training samples.

        Returns
        -------
        Dataset
            The data set without the held-out samples (test split unchanged).
        (x_val, y_val) : tuple of numpy.ndarray
            The held-out inputs and labels.
        """
        n = len(self.y_train)
        n_val = operator.index(n_val)
        if not 0 <= n_val < n:
            raise DataError(f"data set {self.name!r} from {self.source}: cannot hold out {n_val} "
                            f"validation samples from {n} training samples; choose 0 <= "
                            f"validation < {n} (or use more training samples).")
        k = n - n_val
        kept = replace(self, x_train=self.x_train[:k], y_train=self.y_train[:k])
        return kept, (self.x_train[k:], self.y_train[k:])

    def _count(self, n: int | None, available: int, what: str, split: str) -> int:
        if n is None:
            return available
        n = operator.index(n)
        if not 0 <= n <= available:
            raise DataError(f"data set {self.name!r} from {self.source}: {what}={n} is out of "
                            f"range, it has {available} {split} samples; choose 0..{available} "
                            "or None for all.")
        return n


def one_hot(labels: np.ndarray | list[int], n_classes: int) -> np.ndarray:
    """Encode integer labels, shape ``(n,)``, as float64 one-hot rows ``(n, n_classes)``."""
    labels = np.asarray(labels)
    n_classes = operator.index(n_classes)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise DataError(f"one_hot: labels must be a 1-D integer array (got dtype {labels.dtype}, "
                        f"shape {labels.shape}); convert them with .astype(int).")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"one_hot: labels span {labels.min()}..{labels.max()}, outside "
                        f"0..{n_classes - 1}; raise n_classes or fix the labels.")
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels.astype(np.intp)] = 1.0
    return out


def load_digits() -> Dataset:
    """Load the bundled 8x8 digits (1797 samples, 64 features, pixels / 16).

    The split is fixed: a permutation from ``np.random.default_rng(DIGITS_SPLIT_SEED)``,
    then the first 1437 samples for training and the last 360 for testing.
    """
    resource = importlib.resources.files("brian_ep").joinpath("datasets").joinpath("digits.csv.gz")
    try:
        raw = resource.read_bytes()
    except OSError as exc:
        raise DataError(f"{resource}: the bundled digits cannot be read ({exc}); the brian_ep "
                        "installation is incomplete, reinstall it.") from exc
    _verify(raw, DIGITS_SHA256, resource, "The bundled file is damaged; reinstall brian_ep.")
    table = np.loadtxt(io.BytesIO(_gunzip(raw, resource)), delimiter=",", dtype=np.int64)
    table = table[np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(table))]
    x, y = table[:, :-1] / 16.0, table[:, -1]
    k = DIGITS_N_TRAIN
    return Dataset("digits", x[:k], y[:k], x[k:], y[k:], N_CLASSES, "bundled")


def load_mnist(directory: PathLike | None = None, download: bool | None = None) -> Dataset:
    """Load MNIST (60000/10000 samples of 784 pixels / 255); see the module for the search."""
    return _load_idx_dataset("mnist", directory, download)


def load_fashion_mnist(directory: PathLike | None = None, download: bool | None = None) -> Dataset:
    """Load Fashion-MNIST (60000/10000 samples of 784 pixels / 255); see the module."""
    return _load_idx_dataset("fashion-mnist", directory, download)


def load_dataset(name: str, directory: PathLike | None = None, download: bool | None = None) -> Dataset:
    """Load ``"digits"``, ``"mnist"`` or ``"fashion-mnist"`` (digits ignores the options)."""
    if name == "digits":
        return load_digits()
    if name in ("mnist", "fashion-mnist"):
        return _load_idx_dataset(name, directory, download)
    raise DataError(f"unknown data set {name!r}; allowed: {', '.join(map(repr, DATASETS))}.")


def cache_dir() -> Path:
    """The download cache, ``pooch.os_cache("brian_ep")`` (``~/.cache/brian_ep`` on Linux)."""
    import pooch

    return Path(pooch.os_cache("brian_ep"))


def find_data_dir(name: str, directory: PathLike | None = None) -> Path:
    """Return the directory holding the four IDX files of `name` (see the module docstring).

    `name` is ``"mnist"`` or ``"fashion-mnist"``; with `directory`, look only there (and in
    ``directory/<name>/``). Raises DataError, listing the places searched, if not found.
    """
    if name not in CHECKSUMS:
        raise DataError(f"find_data_dir: {name!r} is not an IDX data set; allowed: "
                        f"{', '.join(map(repr, CHECKSUMS))}.")
    searched = []
    for base in _search_bases(name, directory):
        for candidate in _candidates(name, base, explicit=directory is not None):
            searched.append(candidate)
            if all(_locate(candidate, f) for f in IDX_FILES):
                return candidate
    if directory is not None:
        raise _missing_error(name, Path(directory).expanduser())
    raise _not_found_error(name, searched)


def read_idx_pair(
    images_path: PathLike, labels_path: PathLike, checksums: Mapping[str, str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images file and its labels file (gzip-compressed or not).

    Parameters
    ----------
    images_path, labels_path : str or path-like
    checksums : mapping of str to str, optional
        SHA-256 of the decompressed bytes by file name without ``.gz``; ``None``: no check.

    Returns
    -------
    images, labels : numpy.ndarray
        float64 in [0, 1], shape ``(n, rows * cols)``; int64, shape ``(n,)``.
    """
    images = _read_idx_file(Path(images_path), "images", checksums)
    labels = _read_idx_file(Path(labels_path), "labels", checksums)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels; the two files do not belong together, replace "
                        "them with a matching pair.")
    return images / 255.0, labels.astype(np.int64)


def _load_idx_dataset(name: str, directory: PathLike | None, download: bool | None) -> Dataset:
    try:
        found = find_data_dir(name, directory)
    except DataError:
        if directory is not None or not download_allowed(download):
            raise
        found = _download(name)
    x_train, y_train = read_idx_pair(_existing(found, TRAIN_IMAGES), _existing(found, TRAIN_LABELS),
                                     CHECKSUMS[name])
    x_test, y_test = read_idx_pair(_existing(found, TEST_IMAGES), _existing(found, TEST_LABELS),
                                   CHECKSUMS[name])
    return Dataset(name, x_train, y_train, x_test, y_test, N_CLASSES, str(found))


def _existing(directory: Path, file_name: str) -> Path:
    """The file ``file_name`` (or ``file_name.gz``) in ``directory``, which was found there."""
    path = _locate(directory, file_name)
    if path is None:
        raise DataError(f"{directory / file_name}: the file was found a moment ago and is gone "
                        "(another process removed it?); put the four IDX files back.")
    return path


def _search_bases(name: str, directory: PathLike | None) -> list[Path]:
    if directory is not None:
        return [Path(directory).expanduser()]
    env = os.environ.get(DATA_ENV_VAR, "")
    bases = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return bases + [cache_dir()] + list(SYSTEM_DATA_DIRS.get(name, ()))


def _candidates(name: str, base: Path, explicit: bool) -> list[Path]:
    if not explicit and base.name in CHECKSUMS and base.name != name:
        return [base / name]  # D = .../mnist never holds Fashion-MNIST directly, and vice versa
    return [base / name, base]


def _locate(directory: Path, file_name: str) -> Path | None:
    for path in (directory / file_name, directory / f"{file_name}.gz"):
        if path.is_file():
            return path
    return None


def _missing_error(name: str, directory: Path) -> DataError:
    places = [c for c in _candidates(name, directory, explicit=True) if c.is_dir()]
    if not places:
        return DataError(f"data set {name!r}: directory {directory} (the 'directory' argument) "
                         "does not exist; pass the directory that holds the four IDX files.")
    report = "; ".join(f"{c} lacks " + ", ".join(f for f in IDX_FILES if not _locate(c, f))
                       for c in places)
    return DataError(f"data set {name!r} not found in {directory} (the 'directory' argument): "
                     f"{report} (each may be .gz or uncompressed). Put the four IDX files there, "
                     "or pass the directory that holds them.")


def _not_found_error(name: str, searched: list[Path]) -> DataError:
    fix = (f"set {DATA_ENV_VAR} to a directory holding them (directly or in a '{name}/' "
           f"subfolder), pass directory=..., or allow a download with download=True or "
           f"{DOWNLOAD_ENV_VAR}=1")
    if name == "fashion-mnist":
        fix += ", or install them with 'apt-get install dataset-fashion-mnist'"
    return DataError(f"data set {name!r} not found; searched {', '.join(map(str, searched))}. "
                     f"Each place needs the files {', '.join(IDX_FILES)} (as .gz or "
                     f"uncompressed). To fix: {fix}.")


def download_allowed(download: bool | None) -> bool:
    """Whether a missing data set may be downloaded: ``download`` if given, else whether
    ``$BRIAN_EP_DOWNLOAD`` is ``1``."""
    if download is None:
        return os.environ.get(DOWNLOAD_ENV_VAR, "") == "1"
    return bool(download)


def _download(name: str) -> Path:
    import pooch

    target = cache_dir() / name
    for file_name in IDX_FILES:
        if _locate(target, file_name):
            continue
        url = f"{DOWNLOAD_URLS[name]}{file_name}.gz"
        try:
            pooch.retrieve(url, known_hash=None, fname=f"{file_name}.gz", path=target,
                           progressbar=False)
        except (OSError, ValueError) as exc:  # requests' exceptions are OSErrors
            raise DataError(f"could not download {url} into {target} ({type(exc).__name__}: "
                            f"{exc}); no network? Put the four IDX files of {name!r} in a "
                            f"directory and set {DATA_ENV_VAR} to it (or pass directory=...)."
                            ) from exc
    return target


def _read_idx_file(path: Path, kind: Literal["images", "labels"], checksums: Mapping[str, str] | None) -> np.ndarray:
    data = _read_decompressed(path)
    array = _parse_idx(data, path, kind)
    if checksums is not None:
        file_name = path.name[:-3] if path.name.endswith(".gz") else path.name
        if file_name not in checksums:
            raise DataError(f"{path}: no checksum known for {file_name!r} (known: "
                            f"{', '.join(checksums)}); rename the file to its original name.")
        _verify(data, checksums[file_name], path,
                "The file is damaged or not the expected one (MNIST and Fashion-MNIST use "
                "the same file names); replace it with the original.")
    return array


def _read_decompressed(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}); check that it exists and is "
                        "readable.") from exc
    return _gunzip(raw, path) if path.name.endswith(".gz") else raw


def _gunzip(raw: bytes, path: Path | Traversable) -> bytes:
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file ({exc}). {_REFETCH} An uncompressed "
                        "IDX file must not have the .gz suffix.") from exc


def _verify(data: bytes, expected: str, path: Path | Traversable, fix: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(f"{path}: checksum mismatch (SHA-256 of the decompressed bytes): "
                        f"expected {expected}, got {actual}. {fix}")


def _parse_idx(data: bytes, path: Path, kind: Literal["images", "labels"]) -> np.ndarray:
    magic, ndim = _IDX_MAGIC[kind]
    header = 4 + 4 * ndim
    found = int.from_bytes(data[:4], "big")
    if len(data) >= 4 and found != magic:
        raise DataError(f"{path}: not an IDX {kind} file: magic number 0x{found:08x}, expected "
                        f"0x{magic:08x}. Check that images and labels files are not swapped. "
                        f"{_REFETCH}")
    if len(data) < header:
        raise DataError(f"{path}: truncated: an IDX {kind} file starts with a {header}-byte "
                        f"header, the file has {len(data)} bytes. {_REFETCH}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    expected, got = math.prod(dims), len(data) - header
    if got != expected:
        what = (f"{dims[0]} images of {dims[1]}x{dims[2]}" if kind == "images"
                else f"{dims[0]} labels")
        problem = "truncated" if got < expected else "too long"
        raise DataError(f"{path}: {problem}: header says {what} = {expected} bytes, the file "
                        f"has {got} bytes after the header. {_REFETCH}")
    array = np.frombuffer(data, dtype=np.uint8, offset=header)
    return array.reshape(dims[0], math.prod(dims[1:])) if kind == "images" else array
