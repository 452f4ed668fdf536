"""The event camera against its definition, and Event-MNIST's saccades (brian_ep.events)."""

import numpy as np
import pytest

from brian_ep.events import EVENT_DTYPE, SaccadeConfig, camera_events, log_intensity, saccade_events
from brian_ep.events.saccades import render_shifted, saccade_offsets, sensor_thresholds

pytestmark = pytest.mark.codegen_independent

C, OFFSET = 0.2, 0.1


def intensity(level):
    """The intensity whose log-intensity is ``log(0.5 + OFFSET) + level * C``."""
    return np.exp(np.log(0.5 + OFFSET) + level * C) - OFFSET


def one_pixel(levels, times=None):
    """Frames of a 1x1 sensor whose log-intensity steps through ``levels`` (in thresholds)."""
    frames = np.array([intensity(v) for v in levels]).reshape(-1, 1, 1)
    times = np.arange(len(levels)) * 1000 if times is None else np.asarray(times)
    return camera_events(frames, times, C, OFFSET)


def test_rise_of_two_and_a_half_thresholds_gives_two_on_events_at_the_crossings():
    ev = one_pixel([0.0, 2.5])
    assert ev.dtype == EVENT_DTYPE
    assert list(ev["p"]) == [True, True]
    # the log-intensity moves linearly over the 1000 us: crossings at 1/2.5 and 2/2.5 of the way
    assert list(ev["t"]) == [400, 800]
    assert list(ev["x"]) == [0, 0] and list(ev["y"]) == [0, 0]


def test_reference_keeps_the_remainder_and_moves_by_one_threshold_per_event():
    # +2.5 C: 2 ON (reference at +2 C); +0.7 C more (level 3.2): 1 ON (reference 3 C);
    # down to 0.4: 3.2 -> 0.4 crosses 2 C and 1 C: 2 OFF (reference 1 C)
    ev = one_pixel([0.0, 2.5, 3.2, 0.4])
    assert list(ev["p"]) == [True, True, True, False, False]
    assert list(ev["t"][2:3]) == [1000 + round(0.5 / 0.7 * 1000)]


def test_fall_gives_off_events_only_and_small_changes_none():
    assert list(one_pixel([0.0, -3.2])["p"]) == [False, False, False]
    assert len(one_pixel([0.0, 0.9, 0.1, -0.8])) == 0


def test_events_sorted_in_time_across_pixels_and_thresholds_per_pixel():
    frames = np.stack([np.full((2, 3), 0.2), np.full((2, 3), 0.2)])
    frames[1, 1, 2] = 0.9  # one pixel brightens
    thresholds = np.full((2, 3), 10.0)
    thresholds[1, 2] = 0.3
    ev = camera_events(frames, [0, 100], thresholds, OFFSET)
    expected = int(np.floor((log_intensity(0.9) - log_intensity(0.2)) / 0.3))
    assert len(ev) == expected and set(ev["x"]) == {2} and set(ev["y"]) == {1}
    assert np.all(np.diff(ev["t"]) >= 0)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="strictly increasing"):
        camera_events(np.zeros((2, 1, 1)), [0, 0], C)
    with pytest.raises(ValueError, match="> 0"):
        camera_events(np.zeros((2, 1, 1)), [0, 1], 0.0)


def test_saccades_follow_the_isosceles_triangle_in_three_equal_times():
    cfg = SaccadeConfig(saccade_ms=100, amplitude=4, frame_us=1000)
    t, dx, dy = saccade_offsets(cfg)
    assert t[0] == 0 and t[-1] == cfg.duration_us == 300_000
    at = {int(ms): (dx[i], dy[i]) for i, ms in enumerate(t // 1000)}
    assert at[0] == (0, 0) and at[100] == (2, 4) and at[200] == (4, 0) and at[300] == (0, 0)
    legs = [np.hypot(2, 4), np.hypot(2, -4), 4.0]
    assert legs[0] == legs[1]  # isosceles
    speed = np.hypot(np.diff(dx), np.diff(dy))
    for k, leg in enumerate(legs):  # constant speed within each saccade: its length in 100 frames
        np.testing.assert_allclose(speed[k * 100:(k + 1) * 100], leg / 100)


def test_render_places_the_image_in_the_middle_and_shifts_it():
    img = np.zeros((1, 4, 4))
    img[0, 1, 2] = 1.0
    base = render_shifted(img, 0, 0, sensor=8)
    assert base[0, 3, 4] == 1.0 and base.sum() == 1.0  # offset (8 - 4) / 2 = 2
    half = render_shifted(img, 0.5, 0, sensor=8)
    np.testing.assert_allclose(half[0, 3, 4:6], [0.5, 0.5])


def test_each_saccade_makes_events_and_the_closed_path_balances_the_polarities():
    img = np.zeros((2, 28, 28))
    img[0, 8:20, 10:18] = 1.0  # a bright bar
    img[1, 5:9, 5:23] = 0.8
    cfg = SaccadeConfig(mismatch=0.05)
    ev, off = saccade_events(img, cfg)
    assert off[0] == 0 and off[-1] == len(ev) and len(off) == 3
    for i in range(2):
        sample = ev[off[i]:off[i + 1]]
        assert np.all(np.diff(sample["t"]) >= 0) and sample["t"].min() > 0 and sample["t"].max() <= 300_000
        thirds = np.bincount(np.minimum(sample["t"] // 100_000, 2), minlength=3)
        assert np.all(thirds > 0)
        # the path ends where it began: every pixel's log-intensity returns to its start, so
        # (reference within one threshold of it) every pixel emitted as many ON as OFF events
        pix = sample["y"].astype(int) * 34 + sample["x"]
        on = np.bincount(pix[sample["p"]], minlength=34 * 34)
        offs = np.bincount(pix[~sample["p"]], minlength=34 * 34)
        np.testing.assert_array_equal(on, offs)
        assert on.sum() > 0


def test_first_saccade_moves_up_right_so_on_events_lead_on_the_right():
    img = np.zeros((1, 28, 28))
    img[0, 10:18, 10:18] = 1.0  # a square: moving +x brightens the pixels right of it
    ev, _ = saccade_events(img, SaccadeConfig(mismatch=0.0))
    first = ev[ev["t"] <= 100_000]
    on_x, off_x = first["x"][first["p"]], first["x"][~first["p"]]
    assert on_x.mean() > 17 > off_x.mean()


def test_generation_is_deterministic_from_the_seed():
    img = np.random.default_rng(1).random((2, 28, 28)) * (np.random.default_rng(2).random((2, 28, 28)) > 0.7)
    a, oa = saccade_events(img, SaccadeConfig(seed=3))
    b, ob = saccade_events(img, SaccadeConfig(seed=3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(oa, ob)
    assert not np.array_equal(sensor_thresholds(SaccadeConfig(seed=3)), sensor_thresholds(SaccadeConfig(seed=4)))
    c, _ = saccade_events(img, SaccadeConfig(seed=4))
    assert len(c) != len(a) or not np.array_equal(a, c)
