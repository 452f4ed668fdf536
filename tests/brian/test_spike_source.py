"""Your own Brian2 group as the learned input (``brian_ep.build(spec, n, input=group)``): the
input of each window is the previous window's spike count over ``T_window * input_rate``
(checked against the spikes a ``SpikeMonitor`` saw), the input projection learns from it, and
groups that cannot be the input are refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, prefs

import brian_ep
from brian_ep.errors import ArgumentError

pytestmark = pytest.mark.codegen_independent


def _spec():
    return brian_ep.make_spec([5, 4, 2], tau=1 * ms, dt=0.5 * ms, free_steps=10, nudged_steps=3)


def test_the_input_is_the_last_windows_rate_and_the_input_weights_learn():
    prefs.codegen.target = "numpy"
    spec = _spec()
    n = 6
    window = spec.ep.window_steps * spec.ep.dt  # 8 ms
    # neuron i spikes (i + 1) times in window 0, then (i + 2) times in window 1, ... at the group's 0.1 ms
    indices, times = [], []
    for k in range(n):
        for i in range(5):
            for m in range(i + 1 + k % 2):
                indices.append(i)
                times.append(float(k * window) + (1 + m) * 0.7e-3)
    src = SpikeGeneratorGroup(5, indices, np.array(times) * 1e3 * ms, dt=0.1 * ms)
    y = brian_ep.one_hot(np.arange(n) % 2, 2)
    net = brian_ep.build(spec, n, y=y, input=src, input_rate=1000 * Hz)
    spikes = SpikeMonitor(src)
    x_mon = StateMonitor(net.groups["input"], "x", record=True, clock=net.window_clock, when="end")
    net.network.add(spikes, x_mon)
    before = net.get_params().W["input_h1"].copy()
    net.network.run(net.duration, namespace={})
    counts = np.zeros((n, 5))
    for i, t in zip(spikes.i[:], spikes.t[:]):
        counts[int(float(t) // float(window)), int(i)] += 1
    expected = counts / (float(window) * 1000.0)  # the rate estimate of each window, in units of 1 kHz
    # x_mon records at the end of each window's first step, after the load: window k holds window k - 1's rate
    assert np.allclose(x_mon.x[:, 1:n].T, expected[: n - 1], atol=1e-12)
    assert np.all(x_mon.x[:, 0] == 0)
    assert np.max(np.abs(net.get_params().W["input_h1"] - before)) > 1e-4  # it learned from them
    assert "n_in * " in net.code["input.load"] and "n_in : 1" in net.equations["input"]


def test_a_poisson_group_of_the_users_drives_the_network():
    """The last window's input is its spike counts: 3000 Hz in all over 8 ms, 24 spikes
    expected (at 300 Hz, 2.4, the window was empty in 9% of runs, e^-2.4, and the test failed
    by chance: Brian2's random numbers are not seeded here, so they depend on the tests run
    before in the process)."""
    prefs.codegen.target = "numpy"
    src = PoissonGroup(5, rates=np.linspace(200, 1000, 5) * Hz, dt=0.1 * ms)
    net = brian_ep.build(_spec(), 4, input=src)
    net.network.run(net.duration, namespace={})
    assert np.all(net.groups["input"].x[:] >= 0) and np.any(net.groups["input"].x[:] > 0)


@pytest.mark.parametrize("make, match", [
    (lambda: NeuronGroup(5, "v : 1"), "that spikes"),
    (lambda: PoissonGroup(3, 10 * Hz), "has 3 neurons"),
    (lambda: np.zeros(5), "that spikes"),
])
def test_groups_that_cannot_be_the_input_are_refused(make, match):
    with pytest.raises(ArgumentError, match=match):
        brian_ep.build(_spec(), 2, input=make())


def test_input_and_x_together_and_a_bad_rate_are_refused():
    src = PoissonGroup(5, 10 * Hz)
    with pytest.raises(ArgumentError, match="either x"):
        brian_ep.build(_spec(), 2, x=np.zeros((2, 5)), input=src)
    with pytest.raises(ArgumentError, match="positive rate"):
        brian_ep.build(_spec(), 2, input=src, input_rate=5 * ms)
