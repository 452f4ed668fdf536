"""CIFAR-10 (the binary version): 50,000 training and 10,000 test colour images of 3x32x32.

The six files ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin`` (the
directory ``cifar-10-batches-bin`` of the official ``cifar-10-binary.tar.gz``) hold records
of one label byte and 3072 pixel bytes, red plane, green plane, blue plane, each row by row:
exactly the flat layout of an image layer of ``shape: [3, 32, 32]``. They are looked for in
the ``directory`` argument (only there, if given), then in each directory of
``$BRIAN_EP_DATA`` and in the cache (``~/.cache/brian_ep``): in ``D/cifar10/cifar-10-batches-bin``,
``D/cifar-10-batches-bin``, ``D/cifar10`` and ``D``. If they are not found and downloads are
allowed (as for MNIST: ``download=True``, or ``BRIAN_EP_DOWNLOAD=1``) the archive is fetched
into the cache and checked against its published MD5. Any problem raises
:class:`~brian_ep.errors.DataError` naming the file and the fix.

Files found on disk are checked by structure, because checksums of the six files themselves
are not published (only the archive's MD5 is): each file holds exactly 10,000 records
(30,730,000 bytes), every label is 0 to 9, the training files hold 5,000 images of each class
together and the test file 1,000 of each (as the data set's page states), and no two files
are the same. A truncated, padded, random or duplicated file is refused; a file of the right
size and class counts whose pixels were altered cannot be told apart without a checksum.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .data import DATA_ENV_VAR, DOWNLOAD_ENV_VAR, Dataset, cache_dir, download_allowed
from .errors import DataError

__all__ = ["load_cifar10", "read_cifar_batch", "CIFAR10_FILES", "CIFAR10_URL", "CIFAR10_MD5", "RECORDS_PER_FILE"]

CIFAR10_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST = "test_batch.bin"
CIFAR10_FILES = CIFAR10_TRAIN + (CIFAR10_TEST,)
#: The official archive and its MD5 (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
_PIXELS = 3 * 32 * 32
_RECORD = 1 + _PIXELS
#: Records in each of the six official files.
RECORDS_PER_FILE = 10_000


def read_cifar_batch(path, records: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary file.

    Parameters
    ----------
    path : str or path-like
    records : int, optional
        The number of records the file must hold (default :data:`RECORDS_PER_FILE`; ``0``:
        any whole number of records, for files of your own in the same format).

    Returns
    -------
    images : numpy.ndarray
        float64 in [0, 1], shape ``(n, 3072)`` (channels, then rows, then columns).
    labels : numpy.ndarray
        int64 in ``0 .. 9``, shape ``(n,)``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}); check that it exists and is readable.") from exc
    records = RECORDS_PER_FILE if records is None else records
    if not raw or len(raw) % _RECORD or (records and len(raw) != records * _RECORD):
        expected = f"{records:,} records of {_RECORD} bytes ({records * _RECORD:,} bytes)" if records else \
            f"a whole number of {_RECORD}-byte records"
        short = " It is truncated (an interrupted copy or download?)." if records and len(raw) < records * _RECORD else ""
        raise DataError(
            f"{path}: {len(raw):,} bytes, but a CIFAR-10 binary batch holds {expected}: one label byte and 3072 "
            f"pixels per record.{short} The file is damaged or not a CIFAR-10 batch; replace it with the file of "
            f"the official archive ({CIFAR10_URL})."
        )
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)
    labels = table[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(
            f"{path}: record {int(np.argmax(labels > 9))} has label {int(labels.max())} (CIFAR-10 labels are "
            "0 to 9); the file is damaged or from another data set (CIFAR-100?). Replace it."
        )
    return table[:, 1:] / 255.0, labels


def load_cifar10(directory=None, download=None) -> Dataset:
    """Load CIFAR-10 (see the module for where it is looked for)."""
    found = _find(directory)
    if found is None:
        if directory is not None or not download_allowed(download):
            raise _not_found(directory)
        found = _download()
    _refuse_copies(found)
    parts = [read_cifar_batch(found / name) for name in CIFAR10_TRAIN]
    x_test, y_test = read_cifar_batch(found / CIFAR10_TEST)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    _check_classes(y_train, len(CIFAR10_TRAIN) * RECORDS_PER_FILE // 10, f"{found}: the training files")
    _check_classes(y_test, RECORDS_PER_FILE // 10, found / CIFAR10_TEST)
    return Dataset("cifar10", x_train, y_train, x_test, y_test, 10, str(found))


def _refuse_copies(folder) -> None:
    """Refuse two of the six files with the same content (a batch copied over another)."""
    import hashlib

    seen = {}
    for name in CIFAR10_FILES:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if digest in seen:
            raise DataError(
                f"{folder}: {name} and {seen[digest]} have the same content; each CIFAR-10 batch holds other images. "
                f"Extract the six files again from the official archive ({CIFAR10_URL})."
            )
        seen[digest] = name


def _check_classes(labels, per_class: int, where) -> None:
    """Refuse labels that are not ``per_class`` of each of the ten classes (the official counts)."""
    counts = np.bincount(labels, minlength=10)
    if np.any(counts != per_class):
        raise DataError(
            f"{where}: the images per class are {counts.tolist()}, but CIFAR-10 has exactly {per_class:,} of each "
            f"class there; the files are not the official ones (random or altered records?). Extract them again "
            f"from the official archive ({CIFAR10_URL})."
        )


def _candidates(directory):
    if directory is not None:
        bases = [Path(directory).expanduser()]
    else:
        env = os.environ.get(DATA_ENV_VAR, "")
        bases = [Path(p).expanduser() for p in env.split(os.pathsep) if p] + [cache_dir()]
    for base in bases:
        yield from (base / "cifar10" / "cifar-10-batches-bin", base / "cifar-10-batches-bin", base / "cifar10", base)


def _find(directory):
    for candidate in _candidates(directory):
        if all((candidate / name).is_file() for name in CIFAR10_FILES):
            return candidate
    return None


def _not_found(directory):
    searched = ", ".join(map(str, _candidates(directory)))
    return DataError(
        f"data set 'cifar10' not found; searched {searched}. Each place needs the files "
        f"{', '.join(CIFAR10_FILES)} (the directory cifar-10-batches-bin of {CIFAR10_URL}). To fix: extract the "
        f"archive into a directory and set {DATA_ENV_VAR} to it, pass directory=..., or allow a download with "
        f"download=True or {DOWNLOAD_ENV_VAR}=1."
    )


def _download():
    import pooch

    target = cache_dir() / "cifar10"
    try:
        pooch.retrieve(CIFAR10_URL, known_hash=f"md5:{CIFAR10_MD5}", path=target, progressbar=False,
                       processor=pooch.Untar(extract_dir="."))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"could not download {CIFAR10_URL} into {target} ({type(exc).__name__}: {exc}); no network? Extract "
            f"the archive yourself and set {DATA_ENV_VAR} to its directory (or pass directory=...)."
        ) from exc
    found = _find(target)
    if found is None:
        raise DataError(f"{target}: the downloaded archive lacks the CIFAR-10 batch files; delete it and retry.")
    return found
