"""Binning events into (time bins x channels), against a hand count and against tonic."""

import numpy as np
import pytest

from brian_ep.events import make_events
from brian_ep.events.binning import bin_events, bin_events_numpy, bin_samples, binned_size, denoise_numpy
from brian_ep.errors import DataError

pytestmark = pytest.mark.codegen_independent


def test_hand_count_with_polarity_channels_and_time_bins():
    # sensor W=3, H=2, P=2; bins of 10 us: [0, 10), [10, 20); t = 20 falls outside and is dropped
    ev = make_events(x=[0, 2, 2, 1, 0, 2], y=[0, 1, 1, 0, 1, 0], t=[0, 3, 9, 10, 19, 20], p=[1, 0, 0, 1, 1, 1])
    out = bin_events_numpy(ev, (3, 2, 2), bins=2, bin_us=10)
    expected = np.zeros((2, 2 * 2 * 3))
    ch = lambda x, y, p: p * 6 + y * 3 + x  # noqa: E731  (channel = p H W + y W + x)
    expected[0, ch(0, 0, 1)] += 1
    expected[0, ch(2, 1, 0)] += 2
    expected[1, ch(1, 0, 1)] += 1
    expected[1, ch(0, 1, 1)] += 1
    np.testing.assert_array_equal(out, expected)


def test_downsampling_sums_blocks_and_rounds_the_sensor_up():
    assert binned_size((5, 4, 2), 2) == (3, 2, 2)
    ev = make_events(x=[0, 1, 4, 4], y=[0, 1, 3, 2], t=[1, 2, 3, 4], p=[0, 0, 1, 1])
    out = bin_events_numpy(ev, (5, 4, 2), bins=1, bin_us=10, downsample=2)
    expected = np.zeros((1, 2, 2, 3))
    expected[0, 0, 0, 0] = 2  # (0,0) and (1,1) -> block (0,0), OFF
    expected[0, 1, 1, 2] = 2  # (4,3) and (4,2) -> block (2,1), ON
    np.testing.assert_array_equal(out, expected.reshape(1, -1))


def test_bin_samples_flattens_bin_after_bin_and_scales():
    a = make_events([0], [0], [15], [1])
    b = make_events([1, 1], [0, 0], [0, 1], [0, 0])
    out = bin_samples([a, b], (2, 1, 2), bins=2, bin_us=10, scale=0.5)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0, 0, 0, 0.5, 0], [0, 1.0, 0, 0, 0, 0, 0, 0]])


def test_denoise_keeps_events_with_a_recent_neighbour():
    ev = make_events(x=[5, 5, 6, 0], y=[5, 5, 5, 0], t=[100, 200, 250, 5000], p=[1, 1, 1, 1])
    kept = denoise_numpy(ev, filter_us=100)
    # (5,5)@200: no neighbour yet; (6,5)@250: neighbour (5,5) at 200 within 100 us; (0,0)@5000 alone.

    assert list(kept["t"]) == [250]


def test_non_event_arrays_are_refused_naming_the_fields():
    with pytest.raises(DataError, match="fields x, y, t"):
        bin_events_numpy(np.zeros(3), (2, 2, 2), 1, 10)


def random_events(rng, n, w, h, t_max):
    t = np.sort(rng.integers(0, t_max, n))
    return make_events(rng.integers(0, w, n), rng.integers(0, h, n), t, rng.integers(0, 2, n))


@pytest.mark.parametrize("downsample", [1, 2, 4])
def test_tonic_and_numpy_binning_agree(downsample):
    pytest.importorskip("tonic")
    from brian_ep.events.binning import bin_events_tonic

    rng = np.random.default_rng(downsample)
    for _ in range(5):
        ev = random_events(rng, 400, 34, 34, 70_000)
        a = bin_events_numpy(ev, (34, 34, 2), bins=6, bin_us=10_000, downsample=downsample)
        b = bin_events_tonic(ev, (34, 34, 2), bins=6, bin_us=10_000, downsample=downsample)
        np.testing.assert_array_equal(a, b)
        assert a.sum() == np.count_nonzero(ev["t"] < 60_000)  # every event in range counted once
    np.testing.assert_array_equal(bin_events(ev, (34, 34, 2), 6, 10_000, downsample), a)


def test_tonic_and_numpy_denoise_agree():
    pytest.importorskip("tonic")
    from tonic.transforms import Denoise

    ev = random_events(np.random.default_rng(0), 3000, 20, 20, 100_000)
    np.testing.assert_array_equal(denoise_numpy(ev, 2000), Denoise(filter_time=2000)(ev))
