"""The step and window clocks tick together: ``k * (NW dt)`` equals ``(k NW) * dt`` exactly
(cpp_standalone runs two clocks in one step only within 1e-14 s)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brian_ep.brian.clocks import clock_steps, exact_step

K = np.arange(200_000, dtype=np.float64)  # 200,000 windows: 4,600 s at NW = 23, dt = 1 ms


def _clock_gap(dt, steps):
    """Largest |window clock time - step clock time| over the windows ``K`` (seconds)."""
    return np.max(np.abs(K * (steps * dt) - (K * steps) * dt))


def test_the_plain_step_drifts_past_brian2_standalone_tolerance():
    """The bug this module removes: with dt = 1 ms and 23 steps a window, the two roundings
    differ by more than 1e-14 s (MNIST StochEP: from window 2785 on, 64 s)."""
    assert _clock_gap(1e-3, 23) > 1e-14
    first = int(np.argmax(np.abs(K * (23 * 1e-3) - (K * 23) * 1e-3) > 1e-14))
    assert first == 2785


@given(
    dt=st.floats(min_value=1e-6, max_value=0.5, allow_nan=False, allow_infinity=False),
    steps=st.integers(min_value=1, max_value=5000),
)
def test_exact_step_makes_window_and_step_times_equal(dt, steps):
    step = exact_step(dt, steps)
    assert abs(step - dt) <= 2.0 ** (steps.bit_length() - 53) * dt
    assert _clock_gap(step, steps) == 0.0


def test_clock_steps_are_quantities_and_exact_multiples():
    from brian2 import ms

    dt, wdt = clock_steps(1 * ms, 23)
    assert float(wdt) == 23 * float(dt) and float(wdt) / float(dt) == 23.0
    assert abs(float(dt) - 1e-3) < 1e-17


def test_exact_step_refuses_nonsense():
    with pytest.raises(ValueError, match="dt > 0"):
        exact_step(0.0, 23)
