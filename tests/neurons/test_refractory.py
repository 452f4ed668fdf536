"""Refractoriness of the Bernoulli neuron (issue 29): the spike train under fixed noise obeys
the refractory period exactly, its rate is the renewal process's ``p / (1 + (n_ref - 1) p)``,
the option is refused by name by the engines that do not implement it, and Brian2's
``refractory`` is reachable through ``modify_equations`` (the same-noise equality of Brian2
and the numpy engine is in ``tests/brian/test_spiking.py``)."""

import numpy as np
import pytest
from conftest import spiking_spec

import brian_ep
from brian_ep.architecture import build_architecture
from brian_ep.errors import SpecError
from brian_ep.maths import ArrayNoise, Params, initial_params, noise_layers
from brian_ep.maths.activations import get_activation
from brian_ep.neurons.bernoulli import refractory_rate
from brian_ep.spec import load_spec


def _layer(**neuron):
    return build_architecture(spiking_spec(neuron=neuron)).layer("h1")


def _spikes_from_the_definition(p, noise, n_ref):
    """Spikes of neurons with spike probabilities ``p`` and uniform numbers ``noise`` (both
    ``(n_steps, n)``) that cannot spike before ``n_ref`` steps after their last spike, one
    step at a time from the definition."""
    spikes, last = np.zeros_like(p), np.full(p.shape[1], -10**9)
    for k in range(p.shape[0]):
        fire = (noise[k] < p[k]) & (k - last >= n_ref)
        spikes[k], last = fire, np.where(fire, k, last)
    return spikes


@pytest.mark.parametrize("refractory, n_ref", [(3, 3), ("2 ms", 4), (1, 1)])
def test_the_spike_train_obeys_the_refractory_period_exactly(refractory, n_ref):
    """Under a fixed, time-varying current and fixed noise: a spike exactly where the noise is
    below ``p`` and the last spike is at least ``n_ref`` steps back, so no two spikes are
    closer than ``n_ref`` steps and some are exactly ``n_ref`` apart (the period is not
    longer); the membrane integrates as without a refractory period."""
    layer, free = _layer(refractory=refractory), _layer()
    model = layer.neuron
    assert model.n_ref(layer) == n_ref
    rng = np.random.default_rng(3)
    n, steps = 40, 300
    currents = 0.9 + 0.5 * np.sin(np.arange(steps) / 7.0)[:, None, None] + 0.3 * rng.random((steps, n, 8))
    noise = rng.random((steps, n, 8))
    state, plain = model.initial_state(layer, n, np.zeros(1)), model.initial_state(free, n, np.zeros(1))
    s, p = [], []
    for k in range(steps):
        state = model.advance(layer, state, currents[k], noise[k])
        plain = model.advance(free, plain, currents[k], noise[k])
        np.testing.assert_array_equal(state.u, plain.u)
        s.append(state.s)
        p.append(get_activation(layer.activation).rho(state.u))
    s, p = np.array(s).reshape(steps, -1), np.array(p).reshape(steps, -1)
    np.testing.assert_array_equal(s, _spikes_from_the_definition(p, noise.reshape(steps, -1), n_ref))
    gaps = np.concatenate([np.diff(np.flatnonzero(s[:, i])) for i in range(s.shape[1])])
    assert gaps.min() == n_ref and gaps.size > 1000
    assert (s.sum() < np.array(plain.total).sum()) == (n_ref > 1)


@pytest.mark.parametrize("neuron, u, n_ref", [({"refractory": 3}, 0.6, 3), ({"refractory": "2.5 ms", "max_rate": "1 kHz"}, 0.8, 5)])
def test_the_rate_of_a_refractory_neuron_is_that_of_its_renewal_process(neuron, u, n_ref):
    """At a constant probability ``p = q rho(u)`` per step the spikes per step converge to
    ``p / (1 + (n_ref - 1) p)`` (within 5 standard errors over 20000 neurons and 200
    steps), not to ``p``: the mean field of a refractory network is not that of ``rho``."""
    layer = _layer(**neuron)
    model = layer.neuron
    q = model.q(layer)
    p = q * float(get_activation(layer.activation).rho(np.array(u)))
    n, rng = 2500, np.random.default_rng(4)  # 2500 samples x 8 neurons
    state = model.initial_state(layer, n, np.zeros(1))._replace(u=np.full((n, 8), u))
    current = np.full((n, 8), u)
    for _ in range(30):  # forget the start (all neurons ready to spike)
        state = model.advance(layer, state, current, rng.random((n, 8)))
    counts = np.zeros((n, 8))
    for _ in range(200):
        state = model.advance(layer, state, current, rng.random((n, 8)))
        counts += state.s
    rate, stderr = counts.mean() / 200, counts.std(ddof=1) / 200 / np.sqrt(counts.size)
    want = refractory_rate(p, n_ref)
    assert abs(rate - want) < 5 * stderr, (rate, want, stderr)
    assert abs(rate - p) > 20 * stderr  # the plain Bernoulli rate is far off


def test_a_refractory_period_off_the_step_grid_is_refused():
    for value, words in (("1.2 ms", "not a whole number of steps"), (-1, ">= 0"), (2.5, "whole number of steps")):
        with pytest.raises(SpecError) as info:
            spiking_spec(neuron={"refractory": value})
        assert info.value.key == "model.neuron.refractory" and words in str(info.value), str(info.value)


@pytest.mark.parametrize("engine", ["bp", "bptt_crnn", "bptt_snn"])
def test_engines_that_do_not_implement_refractoriness_refuse_it_by_name(engine):
    """The baselines train networks of their own neurons: a refractory spec is refused at the
    key of the layer's neuron section, naming the engines that implement it."""
    spec = spiking_spec(neuron={"refractory": 2})
    with pytest.raises(SpecError) as info:
        load_spec(spec, {"run.engine": engine})
    assert info.value.key == "model.neuron.refractory"
    assert f"'{engine}' engine does not implement 'refractory'" in str(info.value)
    assert "brian2, numpy, torch" in str(info.value.allowed)
    hidden_only = spiking_spec(neuron={}, hidden=[{"size": 8, "neuron": {"model": "bernoulli", "refractory": "1 ms"}}])
    with pytest.raises(SpecError) as info:
        load_spec(hidden_only, {"run.engine": engine})
    assert info.value.key == "model.hidden[0].neuron.refractory"
    load_spec(spiking_spec(neuron={"refractory": 1}), {"run.engine": engine})  # one step: no refractory period, accepted
    for accepting in ("numpy", "torch", "brian2"):
        load_spec(spec, {"run.engine": accepting})


def test_the_refractory_maths_runs_on_torch_with_the_same_result():
    """The torch engine runs the same array-API maths: the EP update of a refractory spiking
    network from the same supplied noise is the same on numpy arrays and torch tensors."""
    torch = pytest.importorskip("torch")
    from brian_ep.maths.phases import ep_phase_gradient

    spec = spiking_spec(neuron={"refractory": 3, "read": "window", "window": 5}, ep={"common_noise": True})
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 10)), np.eye(4)[[0, 2, 3]]
    table = {layer.name: rng.random((3 * spec.ep.window_steps, layer.size)) for layer in noise_layers(arch)}
    ref, _ = ep_phase_gradient(arch, params, x, y, spec.ep, noise=ArrayNoise(table, spec.ep.window_steps))
    tensors = Params({k: torch.tensor(v) for k, v in params.W.items()}, {k: torch.tensor(v) for k, v in params.b.items()})
    got, _ = ep_phase_gradient(arch, tensors, torch.tensor(x), torch.tensor(y), spec.ep, noise=ArrayNoise(table, spec.ep.window_steps))
    assert np.abs(ref.W["input_h1"]).max() > 0
    for k in ref.W:
        np.testing.assert_allclose(got.W[k].numpy(), ref.W[k], atol=1e-12)


def test_threshold_reset_and_refractory_are_reachable_through_the_hook(monkeypatch):
    """``h1.threshold``, ``h1.reset`` and ``h1.refractory`` go through ``modify_equations``,
    are recorded in ``net.code`` and shown by ``net.listing()`` (Brian2 ANDs its threshold
    with ``not_refractory``); a refractory period made longer by the hook lowers the spike
    count, as the spec's own does."""
    from brian2 import prefs

    monkeypatch.setitem(prefs, "codegen.target", "numpy")
    spec = brian_ep.load_spec({
        "model": {"input": {"size": 4}, "hidden": [{"size": 30}], "output": {"size": 2},
                  "neuron": {"model": "bernoulli", "tau": "1 ms", "refractory": 2}},
        "ep": {"dt": "1 ms", "free_steps": 40, "nudged_steps": 2},
    })
    x = np.full((1, 4), 0.8)
    seen, counts = set(), {}
    for label, period in (("spec", None), ("longer", "8 * dt")):
        def hook(key, text, period=period):
            seen.add(key)
            return period if (period and key == "h1.refractory") else text
        net = brian_ep.build(spec, 1, x=x, modify_equations=hook)
        net.network.run(spec.ep.free_steps * spec.ep.dt, namespace={})
        counts[label] = float(np.sum(net.groups["h1"].n_spk[:]))
        listing = net.listing()
        assert "not_refractory" in listing and net.code["h1.refractory"] in listing
    assert {"h1.threshold", "h1.reset", "h1.refractory"} <= seen
    assert net.code["h1.refractory"] == "8 * dt" and "since_spike_free" in net.equations["h1"]
    assert "lastspike = t - since_spike_free" in net.code["h1.nudge_end"]
    assert 0 < counts["longer"] < counts["spec"]


def test_the_mean_field_tools_refuse_a_refractory_network():
    """``brian_ep.meanfield`` compares spikes with the rate model of ``rho``, which is not the
    mean field of a refractory layer: it refuses rather than compare with the wrong network."""
    from brian_ep.errors import ArgumentError
    from brian_ep.meanfield import mean_field_architecture

    with pytest.raises(ArgumentError, match="layer 'h1' has a refractory period"):
        mean_field_architecture(build_architecture(spiking_spec(neuron={"refractory": 2})))
    mean_field_architecture(build_architecture(spiking_spec(neuron={"refractory": 1})))  # no refractory period
