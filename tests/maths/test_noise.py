"""Noise sources of stochastic neurons: supplied arrays are read in Brian2's time order, the
seeded generator is reproducible, and both serve numpy and torch arrays."""

import numpy as np
import pytest

from brian_ep.architecture import Layer
from brian_ep.maths import ArrayNoise, SeededNoise
from brian_ep.maths.noise import RecordedNoise

LAYER = Layer("h1", 1, 3, "hidden")


def test_supplied_noise_is_read_window_by_window():
    """Row k * NW + j is step j of window k; a batch of two samples reads two windows at once,
    and the next batch starts after ``NW`` calls."""
    nw, n = 4, 3
    table = np.arange(4 * nw * n, dtype=float).reshape(4 * nw, n)
    noise = ArrayNoise({"h1": table}, nw)
    like = np.zeros((2, n))
    first = [noise(LAYER, like) for _ in range(nw)]
    for j, rows in enumerate(first):
        np.testing.assert_array_equal(rows, table[[j, nw + j]])
    np.testing.assert_array_equal(noise(LAYER, like), table[[2 * nw, 3 * nw]])


def test_supplied_noise_says_what_is_missing():
    noise = ArrayNoise({"h1": np.zeros((4, 3))}, 4)
    with pytest.raises(ValueError, match="no noise array .* 'h2'"):
        noise(Layer("h2", 2, 3, "hidden"), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="has 4 rows"):
        noise(LAYER, np.zeros((2, 3)))


def test_seeded_noise_is_reproducible_and_uniform():
    a = SeededNoise([1, 4, 0])(LAYER, np.zeros((1000, 3)))
    b = SeededNoise([1, 4, 0])(LAYER, np.zeros((1000, 3)))
    c = SeededNoise([1, 4, 1])(LAYER, np.zeros((1000, 3)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.02


def test_noise_sources_serve_torch_tensors():
    torch = pytest.importorskip("torch")
    like = torch.zeros((5, 3), dtype=torch.float32)
    a, b = SeededNoise(3)(LAYER, like), SeededNoise(3)(LAYER, like)
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float32 and torch.equal(a, b)
    table = np.random.default_rng(0).random((8, 3))
    got = ArrayNoise({"h1": table}, 4)(LAYER, like[:2])
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), table[[0, 4]], rtol=1e-7)


def test_recorded_noise_replays_call_for_call_and_keeps_the_source_in_step():
    nw, n = 4, 3
    table = np.random.default_rng(0).random((nw, n))
    source = ArrayNoise({"h1": table}, nw)
    recorded = RecordedNoise(source)
    like = np.zeros((1, n))
    first = [recorded(LAYER, like), recorded(LAYER, like)]
    again = recorded.replay()
    np.testing.assert_array_equal(again(LAYER, like), first[0])
    np.testing.assert_array_equal(again(LAYER, like), first[1])
    assert source._cursor["h1"] == (1, 0)  # all four steps of the window were read
    with pytest.raises(ValueError, match="'h1' asked for layer 'h2'"):
        recorded.replay()(Layer("h2", 2, 3, "hidden"), like)
