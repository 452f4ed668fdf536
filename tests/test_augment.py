"""Augmentation of the training images (``data.augment``): the translation and flip against
their definition, the per-epoch draws, what the engine is shown, and the spec errors."""

from __future__ import annotations

import numpy as np
import pytest

import brian_ep.engines.numpy_batched as numpy_batched
from brian_ep.augment import plan_augmentation, shift_and_flip
from brian_ep.data import Dataset
from brian_ep.errors import SpecError
from brian_ep.splits import prepare_data
from brian_ep.train import train

from test_train import tiny_digits, weights_equal


def translated(image, dy, dx):
    """The definition, pixel by pixel: the pixel at (i, j) moves to (i + dy, j + dx)."""
    c, h, w = image.shape
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[:, i, j] = image[:, i - dy, j - dx]
    return out


def test_shift_and_flip_follow_their_definition(rng):
    shape = (2, 5, 7)
    x = rng.random((12, 70))
    before = x.copy()
    shifts = rng.integers(-3, 4, size=(12, 2))
    flips = rng.random(12) < 0.5
    out = shift_and_flip(x, shape, shifts, flips)
    np.testing.assert_array_equal(x, before)  # the input is not changed
    for k in range(12):
        expected = translated(x[k].reshape(shape), *shifts[k])
        if flips[k]:
            expected = expected[:, :, ::-1]
        np.testing.assert_array_equal(out[k].reshape(shape), expected)


def test_no_shift_and_no_flip_is_the_identity(rng):
    x = rng.random((4, 64))
    out = shift_and_flip(x, (1, 8, 8), np.zeros((4, 2), dtype=int), np.zeros(4, dtype=bool))
    np.testing.assert_array_equal(out, x)
    assert out is not x


def test_the_draws_are_a_function_of_seed_and_epoch():
    spec = tiny_digits(data__augment={"shift": 2, "flip": True})
    a, again, other = (plan_augmentation(spec, 5000, e) for e in (0, 0, 1))
    np.testing.assert_array_equal(a.shifts, again.shifts)
    np.testing.assert_array_equal(a.flips, again.flips)
    assert not np.array_equal(a.shifts, other.shifts)
    assert a.shifts.min() == -2 and a.shifts.max() == 2  # every shift in range is drawn
    assert 0.45 < a.flips.mean() < 0.55
    assert a.shape == (1, 8, 8)
    assert plan_augmentation(tiny_digits(), 10, 0) is None
    shift_only = tiny_digits(data__augment={"shift": 1})
    assert not plan_augmentation(shift_only, 100, 0).flips.any()


def test_the_engine_trains_on_translations_of_the_images(monkeypatch):
    """Every image the engine is shown is a translation of the training image of that index
    by at most the shift, and some are moved."""
    spec = tiny_digits(data__augment={"shift": 1}, run__epochs=1)
    seen = []
    original = numpy_batched.NumpyEngine.train_chunk

    def spy(self, x, y, signs=None):
        seen.append((self.sample_ids.copy(), x.copy()))
        return original(self, x, y, signs)

    monkeypatch.setattr(numpy_batched.NumpyEngine, "train_chunk", spy)
    train(spec, progress=False)
    (x_train, _), _, _ = prepare_data(spec)
    moved = 0
    for idx, x in seen:
        for k, image in zip(idx, x):
            source = x_train[k].reshape(8, 8)[None]
            candidates = [translated(source, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            assert any(np.array_equal(image.reshape(1, 8, 8), c) for c in candidates)
            moved += not np.array_equal(image, x_train[k])
    assert sum(len(idx) for idx, _ in seen) == 120
    assert moved > 60  # 8 of 9 shifts move the image (a blank border row may hide a few)


def test_augmented_training_does_not_depend_on_the_chunk_size():
    aug = {"shift": 1, "flip": True}
    a = train(tiny_digits(data__augment=aug, run__chunk_size=50), progress=False)
    b = train(tiny_digits(data__augment=aug, run__chunk_size=17), progress=False)
    plain = train(tiny_digits(run__chunk_size=50), progress=False)
    assert weights_equal(a.params, b.params)
    assert not weights_equal(a.params, plain.params)


@pytest.mark.parametrize(
    "augment, key, fix",
    [
        ({"shift": 8}, "data.augment.shift", "at most 7"),
        ({"shift": -1}, "data.augment.shift", "greater than or equal to 0"),
        ({"rotate": 10}, "data.augment.rotate", "shift"),
        ({"flip": "sometimes"}, "data.augment.flip", "bool"),
    ],
)
def test_bad_augment_keys_name_the_key_and_the_fix(augment, key, fix):
    with pytest.raises(SpecError) as err:
        tiny_digits(data__augment=augment)
    assert key in str(err.value) and fix in str(err.value)


def test_augmenting_a_flat_input_without_an_image_shape_is_an_error(rng):
    """Own data of 100 features on a flat input: the digits' 8x8 shape does not fit; the
    error names the file and the key, and the fix works."""
    with pytest.raises(SpecError, match=r"digits\.yaml.*model\.input\.shape.*\[channels, height, width\]"):
        tiny_digits(data__augment={"shift": 1}, model__input={"size": 100})
    data = Dataset("mine", rng.random((40, 100)), np.arange(40) % 10, rng.random((10, 100)), np.arange(10) % 10, 10, "test")
    spec = tiny_digits(data__augment={"shift": 1}, model__input={"shape": [1, 10, 10]}, data__n_train=None, data__n_test=None)
    assert train(spec, dataset=data, progress=False).metrics["epochs"]  # with the shape given, it trains
