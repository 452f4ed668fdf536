"""Spiking layers in Brian2 equal the mathematics (issue 16).

Acceptance criterion 2: fed the same uniform noise (a ``TimedArray`` in Brian2, the same
arrays in the numpy engine), Brian2 (runtime numpy target and ``cpp_standalone``) and the
numpy engine give the same weights after 100 samples. With Brian2's own ``rand()`` the spike
statistics agree with the numpy engine's seeded generator, and a run is reproducible from
``run.seed`` (runtime numpy target).
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import arch_of

import brian_ep
from brian_ep.data import load_digits, one_hot
from brian_ep.engines.brian import BrianEngine
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import init_optim_state, initial_params, noise_layers
from brian_ep.spec import load_spec

N_SAMPLES = 100


DIGITS = Path(__file__).resolve().parents[2] / "network_specs" / "digits.yaml"


def _spec(**extra):
    """digits.yaml as a 64-16-10 spiking network with short phases (MSE output unless a test
    asks for the softmax readout), runtime numpy target."""
    over = {
        "model.hidden": [{"size": 16}],
        "model.readout": {"kind": "none"},
        "model.neuron": {"model": "bernoulli", "read": "window", "window": 4, "free_window": 8},
        "ep.free_steps": 12, "ep.nudged_steps": 4, "ep.beta": 1.0, "optim.lr_schedule": "constant",
        "run.chunk_size": 60, "run.brian2.target": "numpy", "run.brian2.device": "runtime",
    }
    return load_spec(DIGITS, overrides={**over, **extra})


def _data(n=N_SAMPLES):
    ds = load_digits()
    return ds.x_train[:n], one_hot(ds.y_train[:n], 10)


def _noise(arch, spec, n, seed=5):
    rng = np.random.default_rng(seed)
    return {layer.name: rng.random((n * spec.ep.window_steps, layer.size)) for layer in noise_layers(arch)}


def _train(engine, x, y, noise):
    """Two chunks (the second continues the supplied noise where the first stopped)."""
    engine.set_noise(noise)
    signs = np.random.default_rng(7).choice([-1.0, 1.0], x.shape[0])
    try:
        results = [engine.train_chunk(x[:60], y[:60], signs[:60]), engine.train_chunk(x[60:], y[60:], signs[60:])]
        spikes = {k: sum(r.spikes[k] for r in results) for k in results[0].spikes}
        return engine.get_params(), np.concatenate([r.outputs for r in results]), spikes
    finally:
        engine.close()


def _same_noise(spec, directory=None):
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    x, y = _data()
    noise = _noise(arch, spec, N_SAMPLES)
    ref, ref_out, ref_spikes = _train(NumpyEngine(spec, arch, params, init_optim_state(params)), x, y, noise)
    got, out, spikes = _train(BrianEngine(spec, arch, params, init_optim_state(params), workdir=directory), x, y, noise)
    assert ref.max_abs_diff(params) > 1e-2, "the network did not learn: the comparison would be vacuous"
    assert ref.max_abs_diff(got) < 1e-9 * max(1.0, max(np.abs(w).max() for w in ref.W.values()))
    np.testing.assert_allclose(out, ref_out, atol=1e-9)
    assert spikes == ref_spikes and all(v > 0 for v in spikes.values())


@pytest.mark.standalone_compatible
def test_same_noise_same_weights(brian_device, tmp_path):
    """Softmax readout, spike-encoded input, spike counts over windows at the phase ends, the
    -beta phase reusing the +beta phase's numbers."""
    spec = _spec(**{"model.input.encoding": "spikes", "model.readout": {"kind": "softmax"}, "ep.common_noise": True})
    _same_noise(spec, str(tmp_path / "sa"))


@pytest.mark.long
@pytest.mark.compiles
def test_same_noise_same_weights_on_the_cython_target():
    """As above on the runtime cython target (Brian2 compiles the thresholds with rand() or the
    supplied noise, the spike pathways and the schedule events with Cython). About 3 minutes
    of Cython compilation on 2 cores: ``pytest -m long tests/brian/test_spiking.py``."""
    spec = _spec(**{
        "model.input.encoding": "spikes", "model.readout": {"kind": "softmax"}, "ep.common_noise": True,
        "run.brian2.target": "cython",
    })
    _same_noise(spec)


@pytest.mark.standalone_only
def test_same_noise_same_weights_after_a_minute_of_simulated_time(brian_device, tmp_path):
    """The MNIST StochEP configuration in miniature (current input, spike counts over windows,
    softmax readout, common noise, dt = tau) with every time constant 90x longer (dt = tau =
    90 ms, trace_tau 450 ms: the same discrete dynamics), so that a chunk of 60 windows lasts
    108 s. cpp_standalone runs two clocks in the same step only if their times differ by at
    most 1e-14 s; past 64 s, ``k * (NW dt)`` (window clock) and ``(k NW) * dt`` (step clock)
    can differ by more, and the window clock's operations (input, EP update, optimiser) then
    ran in a step of their own, before or after the step clock's phase schedule."""
    neuron = {"model": "bernoulli", "read": "window", "window": 4, "free_window": 8, "tau": "90 ms", "trace_tau": "450 ms"}
    spec = _spec(**{"model.neuron": neuron, "ep.dt": "90 ms", "model.readout": {"kind": "softmax"}, "ep.common_noise": True})
    _same_noise(spec, str(tmp_path / "sa"))


@pytest.mark.parametrize(
    "config",
    [
        {"model.neuron": {"model": "bernoulli", "read": "trace", "max_rate": "500 Hz"}},
        {"optim.algorithm": "adam", "optim.batch_size": 8, "ep.nudging": "random_sign", "model.chain.lr": [0.002, 0.001]},
        {
            "ep.nudging": "positive", "model.hidden": {"count": 4, "size": 6}, "model.chain.lr": 0.05,
            "model.chain.gamma": 0.5, "model.residual": [{"topology": "dense_every", "k": 2, "start": 1}],
        },
        {"model.output": {"size": 10, "neuron": {"model": "rate", "activation": "sigmoid"}}},
    ],
    ids=["mse-trace-sparse", "adam-batch-random-sign", "positive-residual-skips", "spiking-hidden-rate-output"],
)
def test_same_noise_same_weights_runtime(config):
    """MSE output layer (spiking, nudged from its trace), other schedules and optimisers,
    residual skips, and a rate layer next to a spiking one (spikes one way, summed rates the
    other), on the runtime numpy target."""
    _same_noise(_spec(**config))


def test_rand_gives_the_spike_statistics_of_the_numpy_engine():
    """With Brian2's rand() (no supplied noise) and frozen weights, the spikes per sample of
    every layer over 60 samples match the numpy engine's (seeded generator) within 4 standard
    errors (estimated from the numpy engine's per-sample counts)."""
    spec = _spec(**{"model.chain.lr": [0.0, 0.0], "model.input.encoding": "spikes"})
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    x, y = _data(60)
    engine = NumpyEngine(spec, arch, params, init_optim_state(params))
    per_sample = [engine.train_chunk(x[k : k + 1], y[k : k + 1]).spikes for k in range(x.shape[0])]
    brian = BrianEngine(spec, arch, params, init_optim_state(params))
    totals = brian.train_chunk(x, y).spikes
    brian.close()
    for name, total in totals.items():
        counts = np.array([s[name] for s in per_sample])
        stderr = np.std(counts, ddof=1) / np.sqrt(len(counts))
        assert abs(total / len(counts) - counts.mean()) < 4 * np.sqrt(2) * stderr, (name, total / 60, counts.mean(), stderr)
        assert total != counts.sum()  # different random numbers


def test_a_spike_monitor_records_a_spiking_layer(monkeypatch):
    """A user's SpikeMonitor on a layer (rate layers have no spikes to record) sees the spikes
    the layer counts for the energy proxy, and the equations are the neuron model's."""
    from brian2 import SpikeMonitor, prefs

    # the numpy target from the start: building connects the synapses, which runs code
    # (under the default target, Cython: a compile in the fast loop when run on its own)
    monkeypatch.setitem(prefs, "codegen.target", "numpy")
    spec = _spec()
    x, y = _data(2)
    net = brian_ep.build(spec, 2, x, y)
    mon = SpikeMonitor(net.groups["h1"])
    net.network.add(mon)
    net.network.run(net.duration, namespace={})
    in_windows = int(np.sum(mon.t < 2 * net.window_duration))  # the run ends one step into a third window
    assert in_windows > 0 and in_windows == int(np.sum(net.groups["h1"].n_spk[:]))
    assert "rand() < p" in str(net.groups["h1"].events["spike"])
    S = net.synapses["h1_output"]
    assert "I_syn_post += w" in S.pre.code and "I_syn_pre += 1.0 * w" in S.post.code


def _rand_run(spec, x, y, workdir=None):
    """Initial weights, weights and spike counts after one chunk on Brian2's own ``rand()``
    (no supplied noise), from the same initial weights whatever ``run.seed``."""
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    engine = BrianEngine(spec, arch, params, init_optim_state(params), workdir=workdir)
    try:
        spikes = engine.train_chunk(x, y).spikes
        return params, engine.get_params(), spikes
    finally:
        engine.close()


def test_rand_is_reproducible_from_the_run_seed():
    """Runtime numpy target, Brian2's rand(): two runs with the same ``run.seed`` give the
    same weights and spike counts; another seed gives other spike counts (and weights)."""
    x, y = _data(20)
    spec = _spec(**{"model.input.encoding": "spikes", "run.seed": 3})
    initial, first, first_spikes = _rand_run(spec, x, y)
    _, again, again_spikes = _rand_run(spec, x, y)
    _, other, other_spikes = _rand_run(_spec(**{"model.input.encoding": "spikes", "run.seed": 4}), x, y)
    assert first.max_abs_diff(initial) > 1e-3, "the network did not learn: the comparison would be vacuous"
    assert first.max_abs_diff(again) == 0.0
    assert first_spikes == again_spikes and all(v > 0 for v in first_spikes.values())
    assert first_spikes != other_spikes
    assert first.max_abs_diff(other) > 0.0


@pytest.mark.long
@pytest.mark.compiles
def test_rand_draws_the_same_numbers_in_runtime_numpy_and_cpp_standalone(tmp_path):
    """The same ``run.seed`` gives the same spike counts and weights on the runtime numpy
    target and under ``cpp_standalone`` (one C++ build: excluded from the default run;
    ``pytest -m long tests/brian/test_spiking.py``)."""
    x, y = _data(20)
    over = {"model.input.encoding": "spikes", "run.seed": 3}
    _, runtime, runtime_spikes = _rand_run(_spec(**over), x, y)
    _, standalone, standalone_spikes = _rand_run(_spec(**over, **{"run.brian2.device": "cpp_standalone"}), x, y, str(tmp_path / "sa"))
    assert runtime_spikes == standalone_spikes
    assert runtime.max_abs_diff(standalone) < 1e-9 * max(1.0, max(np.abs(w).max() for w in runtime.W.values()))


@pytest.mark.standalone_compatible
def test_prediction_network_of_spiking_layers(brian_device, tmp_path):
    """The prediction network (free phase only, windows of NF steps) with spiking layers and a
    spike-encoded input: with frozen weights, every output is a spike count over the free
    window, and the mean output per unit over 60 samples matches the numpy engine's prediction
    (other random numbers) within 4 standard errors of the difference."""
    spec = _spec(**{"model.input.encoding": "spikes"})
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    x, _ = _data(60)
    ref = NumpyEngine(spec, arch, params, init_optim_state(params)).predict(x)
    engine = BrianEngine(spec, arch, params, init_optim_state(params), workdir=str(tmp_path / "sa"))
    try:
        got = engine.predict(x)
    finally:
        engine.close()
    assert got.shape == ref.shape == (60, 10)
    np.testing.assert_allclose(got * 8, np.round(got * 8), atol=1e-9)  # counts over free_window = 8 steps
    stderr = np.sqrt(np.var(ref, axis=0, ddof=1) / 60 + np.var(got, axis=0, ddof=1) / 60)
    assert np.all(np.abs(got.mean(axis=0) - ref.mean(axis=0)) <= 4 * stderr + 1e-12)
    assert np.any(got > 0) and not np.array_equal(got, ref)


def test_dense_delivery_refuses_spikes():
    """Spikes travel by synaptic pathways, which ``dense`` delivery (cuda_standalone) does not
    have: building such a network is refused with a message that names the way out."""
    from brian_ep.brian import build_network
    from brian_ep.errors import ArgumentError

    spec = _spec()
    with pytest.raises(ArgumentError, match="cannot carry spikes"):
        build_network(arch_of(spec), spec.ep, spec.optim, 2, delivery="dense")


@pytest.mark.standalone_compatible
def test_probability_read_same_noise_same_weights(brian_device, tmp_path):
    """``read: probability`` (the EP rule reads the spike probabilities summed over the
    windows, accumulated by the model's per-step code after the state update): softmax
    readout, spike-encoded input, common noise, on the runtime device and under
    ``cpp_standalone``."""
    neuron = {"model": "bernoulli", "read": "probability", "window": 4, "free_window": 8}
    spec = _spec(**{"model.neuron": neuron, "model.input.encoding": "spikes", "model.readout": {"kind": "softmax"}, "ep.common_noise": True})
    _same_noise(spec, str(tmp_path / "sa"))


def test_probability_read_is_not_the_count():
    """With the same noise (hence the same spikes), reading the probabilities gives other
    weights than reading the counts: the option is not idle; and with a refractory period
    Brian2 and the numpy engine still agree (a refractory neuron's probability is 0)."""
    arch = arch_of(_spec())
    params = initial_params(arch, 0)
    x, y = _data(20)
    noise = _noise(arch, _spec(), 20)
    got = []
    for read in ("window", "probability"):
        spec = _spec(**{"model.neuron": {"model": "bernoulli", "read": read, "window": 4, "free_window": 8}})
        engine = NumpyEngine(spec, arch_of(spec), params, init_optim_state(params))
        engine.set_noise(noise)
        engine.train_chunk(x, y)
        got.append(engine.get_params())
    assert got[0].max_abs_diff(got[1]) > 1e-4
    neuron = {"model": "bernoulli", "read": "probability", "window": 4, "free_window": 8, "refractory": "1.5 ms"}
    _same_noise(_spec(**{"model.neuron": neuron}))


def _refractory_spec(**extra):
    """The 64-16-10 spiking network with a refractory period of 3 steps (1.5 ms at dt 0.5
    ms) in every spiking layer: a neuron that spikes at step k is silent at k+1 and k+2."""
    neuron = {"model": "bernoulli", "read": "window", "window": 4, "free_window": 8, "refractory": "1.5 ms"}
    return _spec(**{"model.neuron": neuron, **extra})


def test_refractory_same_noise_same_weights_runtime():
    """Brian2's ``refractory`` (runtime numpy target) and the numpy engine's countdown give the
    same weights, outputs and spike counts from the same noise: MSE output, two nudged
    phases (the second restarts from the free state's time since the last spike)."""
    spec = _refractory_spec()
    _same_noise(spec)
    # and the refractory period is not idle: without it the same noise gives other spikes
    arch = arch_of(spec)
    params = initial_params(arch, 0)
    x, y = _data(20)
    noise = _noise(arch, spec, 20)
    engines = [NumpyEngine(s, arch_of(s), params, init_optim_state(params)) for s in (spec, _spec())]
    counts = []
    for engine in engines:
        engine.set_noise(noise)
        counts.append(engine.train_chunk(x, y).spikes)
    assert all(counts[0][k] < counts[1][k] for k in counts[0]), counts


@pytest.mark.standalone_compatible
def test_refractory_same_noise_same_weights(brian_device, tmp_path):
    """As above with a softmax readout, a spike-encoded input and common noise, on the
    runtime device and under ``cpp_standalone``."""
    spec = _refractory_spec(**{"model.input.encoding": "spikes", "model.readout": {"kind": "softmax"}, "ep.common_noise": True})
    _same_noise(spec, str(tmp_path / "sa"))
