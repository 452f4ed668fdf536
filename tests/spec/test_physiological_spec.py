"""The shipped physiological-time-scale StochEP spec (issue 29, criterion 4):
``network_specs/stochep/digits_physiological.yaml`` loads, keeps within physiological bounds
(membrane tau >= 10 ms, dt <= 0.1 ms, every spiking layer's rate bounded by max_rate <= 100 Hz,
so that a spike is emitted with probability <= 0.01 per step) and learns the bundled digits
above chance on a slice with the numpy engine (the same model as Brian2's, a few seconds)."""

from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.spec import load_spec
from brian_ep.train import train

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "network_specs" / "stochep" / "digits_physiological.yaml"
FAST = REPO / "network_specs" / "stochep" / "digits_64_100_100_10.yaml"


def test_the_physiological_spec_keeps_physiological_bounds():
    spec = load_spec(SPEC)
    arch = build_architecture(spec)
    dt = float(spec.ep.dt)
    assert dt <= 0.1e-3 * (1 + 1e-9)
    spiking = [layer for layer in arch.free_layers if layer.neuron.stochastic]
    assert [layer.name for layer in spiking] == ["h1", "h2"]  # both hidden layers spike (the readout is not a layer)
    for layer in spiking:
        assert layer.tau >= 10e-3 * (1 - 1e-9), layer.name
        rate = layer.options.max_rate
        assert rate is not None and float(rate) <= 100.0 + 1e-9, layer.name
        assert layer.neuron.q(layer) == np.float64(float(rate) * dt) <= 0.01 + 1e-12
    assert spec.run.engine == "brian2" and spec.run.brian2["device"] == "cpp_standalone"
    # the same network as the fast spec, in other units
    fast = build_architecture(load_spec(FAST))
    assert [(layer.name, layer.size) for layer in arch.layers] == [(layer.name, layer.size) for layer in fast.layers]
    assert [p.name for p in arch.all_projections] == [p.name for p in fast.all_projections]


def test_the_physiological_spec_learns_digits_above_chance_with_the_numpy_engine():
    spec = load_spec(SPEC, {"run.engine": "numpy", "data.n_train": 320, "data.n_test": 200, "run.epochs": 2})
    result = train(spec, progress=False)
    rows = result.metrics["epochs"]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[-1]["test_accuracy"] > 0.3, rows  # chance is 0.1
    # hidden rates in Hz: spikes per sample and neuron over the 220 ms of a training sample
    seconds = (spec.ep.free_steps + 2 * spec.ep.nudged_steps) * float(spec.ep.dt)
    for name in ("h1", "h2"):
        hz = rows[-1][f"spikes_per_sample_{name}"] / 100 / seconds
        assert 5.0 < hz < 100.0, (name, hz)
