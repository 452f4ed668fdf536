"""The Bernoulli spiking neuron (issue 16): its spec checks and its step (the mean field is
tested in ``tests/test_meanfield.py``)."""

import numpy as np
import pytest
from conftest import spiking_spec

from brian_ep.architecture import build_architecture
from brian_ep.errors import SpecError
from brian_ep.maths import SeededNoise, initial_params, relax, spike_counts
from brian_ep.maths.activations import get_activation
from brian_ep.neurons import get_neuron_model


def spec_error(**kw) -> SpecError:
    with pytest.raises(SpecError) as info:
        spiking_spec(**kw)
    return info.value


# -- settings that cannot work are refused, naming the key --------------------------------------
def test_an_activation_that_is_not_a_probability_is_refused():
    err = spec_error(neuron={"activation": "tanh"})
    assert err.key == "model.neuron.activation" and "[0, 1]" in str(err) and "hard_sigmoid" in str(err)
    err = spec_error(neuron={}, hidden=[{"size": 8, "neuron": {"activation": "tanh"}}])
    assert err.key == "model.hidden[0].neuron.activation"


def test_a_window_longer_than_its_phase_is_refused():
    err = spec_error(neuron={"read": "window", "window": 11})
    assert err.key == "model.neuron.window" and "10 steps" in str(err)
    err = spec_error(neuron={"read": "window", "window": 5, "free_window": 31})
    assert err.key == "model.neuron.free_window" and "30 steps" in str(err)


def test_dt_too_coarse_for_the_rates_is_refused():
    err = spec_error(neuron={"max_rate": "3 kHz"})  # 3 kHz * 0.5 ms = 1.5 spikes per step
    assert err.key == "model.neuron.max_rate" and "2000 Hz" in str(err)
    err = spec_error(neuron={"trace_tau": "0.2 ms"})
    assert err.key == "model.neuron.trace_tau"
    err = spec_error(neuron={"max_rate": 200})
    assert err.key == "model.neuron.max_rate" and "unit" in str(err)
    spiking_spec(neuron={"max_rate": "2 kHz"})  # exactly one spike per step at rho = 1: allowed


def test_an_unknown_key_is_refused_by_name():
    """A key the model does not have (here a misspelt ``refractory``, which is an option:
    ``tests/neurons/test_refractory.py``) is refused, naming it, rather than ignored."""
    err = spec_error(neuron={"refactory": "2 ms"})
    assert err.key == "model.neuron.refactory" and "unknown key" in str(err)
    err = spec_error(neuron={}, hidden=[{"size": 8, "neuron": {"refactory": "2 ms"}}])
    assert err.key == "model.hidden[0].neuron.refactory"


def test_common_noise_needs_two_nudged_phases():
    err = spec_error(ep={"nudging": "positive", "common_noise": True})
    assert err.key == "ep" and "centered" in str(err)


# -- one step ------------------------------------------------------------------------------------
def _layer(**neuron):
    return build_architecture(spiking_spec(neuron=neuron)).layer("h1")


def test_a_neuron_spikes_when_its_noise_is_below_its_probability():
    layer, model = _layer(trace_tau="2.5 ms"), get_neuron_model("bernoulli")
    state = model.initial_state(layer, 1, np.zeros(1))
    current = np.array([[0.0, 0.2, 0.6, 1.0, 3.0, -1.0, 0.5, 0.5]])  # u = eps * I = I / 2
    noise = np.array([[0.0, 0.09, 0.29, 0.49, 0.99, 0.0, 0.26, 0.24]])
    new = model.advance(layer, state, current, noise)
    np.testing.assert_array_equal(new.u, 0.5 * current)
    np.testing.assert_array_equal(new.s, [[0, 1, 1, 1, 1, 0, 0, 1]])
    np.testing.assert_allclose(new.x, 0.2 * new.s)  # trace: dt / trace_tau = 0.5 / 2.5
    np.testing.assert_array_equal(model.signal(layer, new), new.s)
    default = _layer()  # trace_tau = dt by default: the trace is the last step's spikes
    fresh = model.advance(default, state, current, noise)
    np.testing.assert_array_equal(fresh.x, fresh.s)
    np.testing.assert_array_equal(fresh.s, new.s)


def test_the_window_estimate_counts_the_last_steps_of_a_phase():
    layer, model = _layer(read="window", window=4), get_neuron_model("bernoulli")
    state = model.begin_phase(layer, model.initial_state(layer, 1, np.zeros(1)), 10, nudged=True)
    rng = np.random.default_rng(0)
    spikes = []
    for _ in range(10):
        state = model.advance(layer, state, np.full((1, 8), 2.0), rng.random((1, 8)))
        spikes.append(state.s)
    np.testing.assert_array_equal(model.phase_rate(layer, state), np.sum(spikes[-4:], axis=0) / 4)
    np.testing.assert_array_equal(model.spikes(layer, state), np.sum(spikes, axis=0))


def test_sparse_spikes_carry_more_current_and_keep_the_mean():
    """max_rate 200 Hz at dt 0.5 ms: p = 0.1 rho(u), each spike carries 1/0.1."""
    layer, model = _layer(max_rate="200 Hz"), get_neuron_model("bernoulli")
    n = 20000
    state = model.initial_state(layer, n, np.zeros(1))
    state = state._replace(u=np.full((n, 8), 0.6))
    new = model.advance(layer, state, np.full((n, 8), 0.6), np.random.default_rng(1).random((n, 8)))
    assert abs(new.s.mean() - 0.06) < 0.002
    assert abs(model.signal(layer, new).mean() - 0.6) < 0.02
    assert set(np.unique(model.signal(layer, new))) == {0.0, 10.0}


def test_the_trace_of_sparse_spikes_follows_its_recurrence_and_estimates_the_rate():
    """With ``max_rate`` set (200 Hz at dt 0.5 ms: q = 0.1), the trace obeys its definition
    ``x <- x + eps_x (s / q - x)`` (eps_x = dt / trace_tau = 0.2, trace_tau set to 2.5 ms so
    that the trace has a memory) step by step, and since
    ``E[s / q] = rho(u)`` its mean over samples converges to ``rho(u)``, the rate it estimates
    (here ``rho(0.6) = 0.6``: a constant current 0.6, the default ``hard_sigmoid``)."""
    layer, model = _layer(max_rate="200 Hz", trace_tau="2.5 ms"), get_neuron_model("bernoulli")
    q, eps_x = 0.1, 0.2
    assert model.q(layer) == pytest.approx(q) and model.eps_x(layer) == pytest.approx(eps_x)
    n, rng = 4000, np.random.default_rng(2)
    state = model.initial_state(layer, n, np.zeros(1))
    current = np.full((n, 8), 0.6)
    for _ in range(60):  # u -> 0.6 (eps = 0.5) and the trace forgets its start, (1 - eps_x)^60 < 1e-5
        x_before = state.x
        state = model.advance(layer, state, current, rng.random((n, 8)))
        np.testing.assert_allclose(state.x, x_before + eps_x * (state.s / q - x_before), rtol=1e-12, atol=1e-15)
    rho = float(get_activation(layer.activation).rho(np.array(0.6)))
    assert rho == pytest.approx(0.6)
    # x is a weighted sum of Bernoulli(q rho) draws: its variance is rho (1 - q rho) / q * eps_x / (2 - eps_x),
    # so the mean of 32000 (4000 x 8, independent) has a standard deviation of 0.0044
    sd = np.sqrt(rho * (1 - q * rho) / q * eps_x / (2 - eps_x) / state.x.size)
    assert abs(state.x.mean() - rho) < 5 * sd, (state.x.mean(), rho, sd)


def test_spike_counts_and_seeded_noise_are_reproducible():
    arch = build_architecture(spiking_spec())
    params = initial_params(arch, 0)
    x = np.random.default_rng(0).random((3, 10))
    a = spike_counts(arch, relax(arch, params, x, 30, noise=SeededNoise(7)))
    b = spike_counts(arch, relax(arch, params, x, 30, noise=SeededNoise(7)))
    c = spike_counts(arch, relax(arch, params, x, 30, noise=SeededNoise(8)))
    assert set(a) == {"h1", "output"}
    np.testing.assert_array_equal(a["h1"], b["h1"])
    assert not np.array_equal(a["h1"], c["h1"])


def test_the_spiking_maths_runs_on_torch_with_the_same_result():
    """The array-API maths: the EP update of a spiking network (spike-encoded input, common
    noise) from the same supplied noise is the same on numpy arrays and torch tensors."""
    torch = pytest.importorskip("torch")
    from brian_ep.maths import ArrayNoise, Params, noise_layers
    from brian_ep.maths.phases import ep_phase_gradient

    spec = spiking_spec(neuron={"read": "window", "window": 5}, ep={"common_noise": True}, input={"size": 10, "encoding": "spikes"})
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 10)), np.eye(4)[[0, 2, 3]]
    table = {layer.name: rng.random((3 * spec.ep.window_steps, layer.size)) for layer in noise_layers(arch)}
    ref, _ = ep_phase_gradient(arch, params, x, y, spec.ep, noise=ArrayNoise(table, spec.ep.window_steps))
    tensors = Params({k: torch.tensor(v) for k, v in params.W.items()}, {k: torch.tensor(v) for k, v in params.b.items()})
    got, _ = ep_phase_gradient(
        arch, tensors, torch.tensor(x), torch.tensor(y), spec.ep, noise=ArrayNoise(table, spec.ep.window_steps)
    )
    assert np.abs(ref.W["input_h1"]).max() > 0
    for k in ref.W:
        assert isinstance(got.W[k], torch.Tensor)
        np.testing.assert_allclose(got.W[k].numpy(), ref.W[k], atol=1e-12)


def test_a_stochastic_network_without_noise_says_so():
    arch = build_architecture(spiking_spec())
    with pytest.raises(ValueError, match="layer 'h1' is stochastic: pass noise"):
        relax(arch, initial_params(arch, 0), np.zeros((1, 10)), 3)
