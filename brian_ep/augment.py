"""Data augmentation of the training images (``data.augment``): random translations and
horizontal flips, drawn per epoch from the run's seed.

The draws of an epoch are made once for every training sample (by its index in the
training set, stream ``augment`` of :mod:`brian_ep.seeds`), and the trainer applies them to
each chunk before the engine sees it. Every engine (Brian2, numpy, torch, the baselines)
therefore trains on the same images for the same seed, whatever the chunk size, the
number of processes, or where a run was interrupted and resumed. Evaluation (validation
and test) never augments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .seeds import stream
from .spec.load import register_spec_check

__all__ = ["IMAGE_SHAPES", "Augmentation", "image_shape", "check_augmentation", "plan_augmentation", "shift_and_flip"]

#: ``(channels, height, width)`` of the images of each bundled or known data set, used when
#: the input layer has no ``shape`` of its own (its flat layout is channels, rows, columns).
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@dataclass(frozen=True)
class Augmentation:
    """The augmentation of one epoch.

    Attributes
    ----------
    shape : tuple of int
        ``(channels, height, width)`` of an image.
    shifts : ndarray of int, shape (n_train, 2)
        Translation of each training sample in pixels (rows down, columns right).
    flips : ndarray of bool, shape (n_train,)
        Whether each training sample is mirrored left to right.
    """

    shape: tuple
    shifts: np.ndarray
    flips: np.ndarray

    def apply(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The training samples ``idx`` (rows of ``x``, the chunk) as this epoch shows them."""
        return shift_and_flip(x, self.shape, self.shifts[idx], self.flips[idx])


def image_shape(spec) -> tuple:
    """The image shape the augmentation works on: the input layer's ``shape``, else the data
    set's (:data:`IMAGE_SHAPES`).

    Raises
    ------
    SpecError
        If there is no image shape that fits ``model.input.size``, or ``data.augment.shift``
        would move the whole image out of view (the messages name the key to change).
    """
    inp = spec.model.input
    shape = tuple(inp.shape) if inp.shape else IMAGE_SHAPES.get(spec.data.dataset)
    if shape is None or math.prod(shape) != inp.size:
        raise SpecError(
            f"augmenting needs the input as images, but the input of {inp.size} values has no image shape "
            f"for the data set '{spec.data.dataset}'",
            key="model.input.shape",
            allowed="[channels, height, width] with channels * height * width = model.input.size",
        )
    shift = spec.data.augment.shift
    if shift >= min(shape[1:]):
        raise SpecError(
            f"a shift of {shift} pixels moves a {shape[1]}x{shape[2]} image out of view",
            key="data.augment.shift",
            allowed=f"at most {min(shape[1:]) - 1} (2 is usual for 28x28 images)",
        )
    return shape


def check_augmentation(spec) -> None:
    """The spec check of ``data.augment`` (run when a spec is loaded, so that its errors name
    the file): :func:`image_shape`'s errors, when it augments."""
    if spec.data.augment.shift or spec.data.augment.flip:
        image_shape(spec)


def plan_augmentation(spec, n: int, epoch: int) -> Augmentation | None:
    """The draws of ``epoch`` for ``n`` training samples (``None`` when ``data.augment`` does
    nothing): shifts uniform in ``-shift .. shift`` on each axis, flips with probability 1/2."""
    aug = spec.data.augment
    if not aug.shift and not aug.flip:
        return None
    shape = image_shape(spec)
    rng = stream(spec.run.seed, "augment", epoch)
    shifts = rng.integers(-aug.shift, aug.shift + 1, size=(n, 2))
    flips = rng.random(n) < 0.5 if aug.flip else np.zeros(n, dtype=bool)
    return Augmentation(shape, shifts, flips)


def shift_and_flip(x: np.ndarray, shape: tuple, shifts: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Translate each image by its shift (pixels moved out are lost, those moved in are 0),
    then mirror the flipped ones left to right.

    Parameters
    ----------
    x : ndarray, shape (n, channels * height * width)
        Flat images (channels, then rows, then columns).
    shape : tuple of int
        ``(channels, height, width)``.
    shifts : ndarray of int, shape (n, 2)
        ``(dy, dx)``: the pixel at ``(i, j)`` moves to ``(i + dy, j + dx)``.
    flips : ndarray of bool, shape (n,)

    Returns
    -------
    ndarray, shape (n, channels * height * width)
        A new array; ``x`` is not changed.
    """
    n = x.shape[0]
    c, h, w = shape
    img = x.reshape(n, c, h, w)
    pad = int(np.max(np.abs(shifts))) if n else 0
    if pad:
        padded = np.pad(img, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        rows = (pad - shifts[:, 0])[:, None] + np.arange(h)  # output row i reads input row i - dy
        cols = (pad - shifts[:, 1])[:, None] + np.arange(w)
        img = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]
    img = np.where(flips[:, None, None, None], img[..., ::-1], img)
    return img.reshape(n, c * h * w)


register_spec_check(check_augmentation)
