"""An event stream in Brian2 equals the mathematics (issue 26): the bins arrive in order at
the stated steps, and the same events (and, for spiking layers, the same noise) give the same
weights in Brian2 and in the numpy engine."""

from pathlib import Path

import numpy as np
import pytest
from conftest import arch_of

from brian_ep.brian import build_network
from brian_ep.data import one_hot
from brian_ep.engines.brian import BrianEngine
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.events import make_events
from brian_ep.events.binning import bin_samples
from brian_ep.maths import init_optim_state, initial_params, noise_layers
from brian_ep.maths.stream import stream_of
from brian_ep.spec import load_spec

DIGITS = Path(__file__).resolve().parents[2] / "network_specs" / "digits.yaml"
SENSOR = (4, 3, 2)  # 2 polarities x 3 rows x 4 columns: 24 channels
BINS, BIN_STEPS = 3, 3
N = 50


def _spec(**extra):
    over = {
        "model.input.size": 24, "model.hidden": [{"size": 12}], "data.dataset": "events",
        "data.events": {"bins": BINS, "bin_duration": "10 ms", "bin_steps": BIN_STEPS},
        "ep.free_steps": 12, "ep.nudged_steps": 4, "optim.lr_schedule": "constant", "model.chain.lr": [0.1, 0.05],
        "run.chunk_size": 25, "run.brian2": {"target": "numpy", "device": "runtime"},
    }
    return load_spec(DIGITS, overrides={**over, **extra})


def _events(n=N, seed=3):
    """Random event streams on the 4x3 sensor over 30 ms, binned: ``(n, 3 * 24)``, and labels."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        k = rng.integers(5, 30)
        t = np.sort(rng.integers(0, 30_000, k))
        samples.append(make_events(rng.integers(0, 4, k), rng.integers(0, 3, k), t, rng.integers(0, 2, k)))
    return bin_samples(samples, SENSOR, BINS, 10_000, scale=0.5), rng.integers(0, 10, n)


def _train(engine, x, y, noise=None):
    if noise is not None:
        engine.set_noise(noise)
    try:
        out = [engine.train_chunk(x[:25], y[:25]).outputs, engine.train_chunk(x[25:], y[25:]).outputs]
        return engine.get_params(), np.concatenate(out), engine.predict(x[:10])
    finally:
        engine.close()


def _same_weights(spec, directory=None, noise_seed=None):
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    x, labels = _events()
    y = one_hot(labels, 10)
    noise = None
    if noise_seed is not None:
        rng = np.random.default_rng(noise_seed)
        noise = {layer.name: rng.random((N * spec.ep.window_steps, layer.size)) for layer in noise_layers(arch)}
    ref, ref_out, ref_pred = _train(NumpyEngine(spec, arch, params, init_optim_state(params)), x, y, noise)
    got, out, pred = _train(BrianEngine(spec, arch, params, init_optim_state(params), workdir=directory), x, y, noise)
    assert ref.max_abs_diff(params) > 1e-3, "the network did not learn: the comparison would be vacuous"
    assert ref.max_abs_diff(got) < 1e-9 * max(1.0, max(np.abs(w).max() for w in ref.W.values()))
    np.testing.assert_allclose(out, ref_out, atol=1e-9)
    if noise_seed is None:  # predictions of spiking layers draw Brian2's rand(), not the supplied noise
        np.testing.assert_allclose(pred, ref_pred, atol=1e-9)


def test_same_events_same_weights_rate_network():
    """Rate neurons, softmax readout, runtime numpy target: 50 samples in two chunks."""
    _same_weights(_spec())


@pytest.mark.standalone_compatible
def test_same_events_same_noise_same_weights_spiking(brian_device, tmp_path):
    """Bernoulli spiking layers fed the same noise, the mean of the bins held (runtime numpy
    target and cpp_standalone, whose TimedArray of bins is swapped per chunk by run_args)."""
    spec = _spec(**{
        "model.neuron": {"model": "bernoulli", "read": "window", "window": 4, "free_window": 6},
        "model.readout": {"kind": "none"}, "ep.beta": 1.0, "data.events.hold": "mean",
    })
    _same_weights(spec, str(tmp_path / "sa"), noise_seed=5)


def test_bins_arrive_in_order_at_the_stated_steps():
    """A StateMonitor on the input's x and on the layer's input current: at step k of window w
    the input holds bin k // bin_steps of sample w (then the held last bin) and the layer
    receives that bin's x W."""
    from brian2 import StateMonitor, prefs

    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"  # the runtime numpy target: nothing compiled
    try:
        _check_bins_in_order(StateMonitor)
    finally:
        prefs.codegen.target = previous


def _check_bins_in_order(StateMonitor):
    spec = _spec()
    arch = arch_of(spec)
    params = initial_params(arch, 1)
    x, labels = _events(n=2)
    stream = stream_of(spec)
    net = build_network(arch, spec.ep, spec.optim, 2, {"x": x, "y": one_hot(labels, 10), "mask": np.ones(2)}, stream=stream)
    inp = net.groups[arch.input.name]
    syn = net.synapses[arch.projections[0].name]
    syn.w = params.W[arch.projections[0].name].reshape(-1)
    xmon = StateMonitor(inp, "x", record=True, when="end")
    imon = StateMonitor(net.groups["h1"], "I_in", record=True, when="end")
    net.network.add(xmon, imon)
    net.network.run(2 * spec.ep.window_steps * spec.ep.dt)
    frames = x.reshape(2, BINS, -1)
    W = params.W[arch.projections[0].name]
    for w in range(2):
        for k in range(spec.ep.window_steps):
            step = w * spec.ep.window_steps + k
            b = min(k // BIN_STEPS, BINS - 1)  # hold: last
            np.testing.assert_array_equal(xmon.x[:, step], frames[w, b], err_msg=f"window {w} step {k}")
            np.testing.assert_allclose(imon.I_in[:, step], frames[w, b] @ W, atol=1e-12, err_msg=f"window {w} step {k}")


def test_dense_delivery_refuses_a_stream():
    from brian_ep.errors import ArgumentError

    spec = _spec()
    with pytest.raises(ArgumentError, match="event stream"):
        build_network(arch_of(spec), spec.ep, spec.optim, 2, delivery="dense", stream=stream_of(spec))


