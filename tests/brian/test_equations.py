"""The equation text, and single steps of the Brian2 objects checked by hand."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import arch_of, small_spec

from brian_ep.architecture import Layer
from brian_ep.brian import equations as eq
from brian_ep.brian import schedule as sc
from brian_ep.brian.builder import build_network
from brian_ep.brian.rule import Rule, Wiring
from brian_ep.maths import get_activation

PACKAGE = Path(__file__).resolve().parents[2] / "brian_ep"


@pytest.mark.codegen_independent
def test_no_network_operation_anywhere_in_the_package():
    """cpp_standalone silently ignores network_operation: a training run must not use one."""
    offenders = [p for p in PACKAGE.rglob("*.py") if re.search(r"\bnetwork_operation\s*\(|@network_operation", p.read_text())]
    assert offenders == []


@pytest.mark.codegen_independent
def test_layer_equations_text():
    layer = Layer("h2", 2, 4, "hidden", "hard_sigmoid", 1e-3, 0.5, bias=True)
    text = eq.layer_equations(layer, Wiring(("h1_h2",), ("h2_out",)), Rule(algorithm="sgd", batch_size=1))
    assert "du/dt = (I - u) / tau : 1" in text
    assert "I = I_h1_h2 + I_fb_h2_out + b : 1" in text
    assert "r = clip(u, 0, 1) : 1" in text
    assert "I_in" not in text and "I_nudge" not in text and "gb" not in text


@pytest.mark.codegen_independent
def test_output_layer_is_nudged_towards_its_target():
    layer = Layer("out", 2, 3, "output", "sigmoid", 1e-3, 0.5, bias=False)
    text = eq.layer_equations(layer, Wiring(("h_o",), (), receives_input=True, nudge="mse"), Rule(algorithm="adam"))
    assert "I_nudge = beta_t * (y - r) : 1" in text
    assert "y = target(t, i) : 1" in text
    assert "I_in : 1" in text
    assert "beta_t = beta * (1 * int(" in text  # centered: +beta, then -beta


@pytest.mark.codegen_independent
def test_synapse_is_symmetric_with_regulated_feedback():
    text = eq.synapse_equations("h1_h2", 0.25, Rule())
    assert "I_h1_h2_post = w * r_pre : 1 (summed)" in text
    assert "I_fb_h1_h2_pre = 0.25 * w * r_post : 1 (summed)" in text
    assert text.count("w : 1") == 1  # one weight for both directions


@pytest.mark.codegen_independent
def test_learning_rule_reads_only_pre_and_post():
    """Locality: every name in the update is a synaptic variable or a _pre/_post variable."""
    updates = (sc.synapse_update("exact", True), sc.synapse_update("vector_field", False), sc.readout_update(True), sc.readout_update(False, "nudged"))
    for code in updates:
        names = set(re.findall(r"[A-Za-z_]\w*", code))
        allowed = {"w", "g", "lr"}
        assert {n for n in names if not n.endswith(("_pre", "_post"))} <= allowed, code
    for code in eq.input_on_pre(Rule()).values():
        names = set(re.findall(r"[A-Za-z_]\w*", code))
        assert {n for n in names if not n.endswith(("_pre", "_post"))} <= {"w", "g", "lr"}, code


@pytest.mark.codegen_independent
def test_exact_update_is_the_difference_of_hebbian_terms():
    assert sc.synapse_update("exact", True).strip() == "w += lr * f_post * (ra_pre * ra_post - rb_pre * rb_post)"
    assert sc.synapse_update("vector_field", True).strip() == "w += lr * f_post * r_free_pre * (ra_post - rb_post)"


@pytest.mark.codegen_independent
def test_optimizer_applies_at_batch_ends_only():
    code = sc.optimizer_code("sgd", 4)
    assert "k_done % 4 == 0 or k_done == n_real_post" in code
    assert "w += apply * lr * g / n_acc" in code
    adam = sc.optimizer_code("adam", 1)
    assert "sqrt(v / (1 - B2**ta))" in adam


def _one_window_network(spec, x, y):
    arch = arch_of(spec)
    net = build_network(arch, spec.ep, spec.optim, 1, data={"x": x, "y": y, "mask": np.ones(1)})
    return arch, net


def test_one_euler_step_by_hand():
    """Brian2's state after one dt equals u + dt/tau (I - u) computed by hand."""
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    spec = small_spec(model__hidden=[{"size": 5}], ep__dt="0.25 ms")
    rng = np.random.default_rng(0)
    x = rng.random((1, 6))
    y = np.eye(3)[[1]]
    arch, net = _one_window_network(spec, x, y)
    W1 = rng.normal(0, 0.5, (6, 5))
    W2 = rng.normal(0, 0.5, (5, 3))
    net.synapses["input_h1"].w = W1.ravel()
    net.synapses["h1_output"].w = W2.ravel()
    b1 = rng.normal(0, 0.2, 5)
    net.groups["h1"].b = b1
    net.network.run(2 * spec.ep.dt, namespace={})
    # step 0 from u = 0: I_h1 = x W1 + b1 (feedback from r_out = sigmoid(0) = 0.5), I_out = r_h1(0) W2
    act = get_activation("sigmoid")
    eps = 0.25
    r_out0 = act.rho(np.zeros(3))
    u1_h = eps * (x[0] @ W1 + b1 + W2 @ r_out0)
    u1_o = eps * (act.rho(np.zeros(5)) @ W2)
    # step 1
    u2_h = u1_h + eps * (x[0] @ W1 + b1 + W2 @ act.rho(u1_o) - u1_h)
    u2_o = u1_o + eps * (act.rho(u1_h) @ W2 - u1_o)
    np.testing.assert_allclose(net.groups["h1"].u[:], u2_h, rtol=1e-12)
    np.testing.assert_allclose(net.groups["output"].u[:], u2_o, rtol=1e-12)


def test_objects_are_ordinary_brian2_objects_a_user_can_extend():
    """Build, add a user monitor to the network, run, read it."""
    from brian2 import NeuronGroup, StateMonitor, Synapses, prefs

    prefs.codegen.target = "numpy"
    spec = small_spec()
    x = np.random.default_rng(1).random((1, 6))
    arch, net = _one_window_network(spec, x, np.eye(3)[[0]])
    assert all(isinstance(g, NeuronGroup) for g in net.groups.values())
    assert all(isinstance(s, Synapses) for s in net.synapses.values())
    mon = StateMonitor(net.groups["h1"], "r", record=True, dt=spec.ep.dt)
    net.network.add(mon)
    net.network.run(net.duration, namespace={})
    assert mon.r.shape == (5, spec.ep.window_steps + 1)
    assert set(net.equations) >= {"input", "h1", "h2", "output", "input_h1", "h1_h2", "h2_output"}


# -- spiking layers (issue 16) --------------------------------------------------------------
def _bernoulli_layer(**options):
    spec = small_spec(model__neuron={"model": "bernoulli", "tau": "1 ms", **options})
    return arch_of(spec).layer("h1")


@pytest.mark.codegen_independent
def test_spiking_layer_equations_text():
    """The model's dynamics, a trace, the spike probability, and spikes arriving in I_syn,
    which the schedule latches and restores with the state."""
    layer = _bernoulli_layer(read="window", window=4, trace_tau="2.5 ms")
    wiring = Wiring(events=True)
    text = eq.layer_equations(layer, wiring, Rule())
    assert "du/dt = (I - u) / tau : 1" in text
    assert "dx/dt = -x / (0.0025 * second) : 1" in text
    assert "p = clip(u, 0, 1) : 1" in text
    assert "I = b + I_syn : 1" in text and "I_syn : 1" in text and "I_syn_free : 1" in text
    assert "n_win : 1" in text and "n_spk : 1" in text
    options = layer.neuron.brian_group_options(layer)
    assert options["threshold"] == "rand() < p"
    assert options["reset"] == "x += 0.2\nn_win += 1\n"  # dt / trace_tau = 0.5 / 2.5
    default = _bernoulli_layer()  # trace_tau = dt by default: x is the last step's spikes
    assert "dx/dt = -x / (0.0005 * second) : 1" in eq.layer_equations(default, wiring, Rule())
    assert default.neuron.brian_group_options(default)["reset"] == "x += 1.0\n"


@pytest.mark.codegen_independent
def test_spike_pathways_use_the_one_weight_in_both_directions():
    assert eq.spike_pathways(0.25, 1.0, 1.0) == {"on_pre": "I_syn_post += w\n", "on_post": "I_syn_pre += 0.25 * w\n"}
    assert eq.spike_pathways(0.5, 10.0, None) == {"on_pre": "I_syn_post += w * 10.0\n"}  # sparse spikes carry 1/q
    text = eq.synapse_equations("h1_h2", 0.25, Rule(), None, "r")
    assert "I_h1_h2_post" not in text and "I_fb_h1_h2_pre = 0.25 * w * r_post : 1 (summed)" in text


@pytest.mark.codegen_independent
def test_spiking_schedule_latches_counts_and_restarts_them():
    """The phase events read the spike counts and latch and restore I_syn with the state; the
    model's own event restarts the counts at the steps where the counting windows begin."""
    layer = _bernoulli_layer(read="window", window=4, free_window=6)
    events = sc.latch_events(layer, Wiring(events=True), Rule(), "1.0")
    assert "r_free += n_win / (6 * 1.0) - r_free" in events["free_end"][1]
    assert "I_syn_free += I_syn - I_syn_free" in events["free_end"][1]
    assert "ra += n_win / (4 * 1.0) - ra" in events["nudge_end"][1]
    assert "I_syn += I_syn_free - I_syn" in events["nudge_end"][1]
    assert "rb += n_win / (4 * 1.0) - rb" in events["window_start"][1] and "I_syn = 0" in events["window_start"][1]
    j = "(timestep(t, dt) % NW)"
    assert sc.neuron_events(layer, 2) == {
        "count_start": (f"{j} == NF - 6 or {j} == NF + 1 * NN - 4 or {j} == NF + 2 * NN - 4", "n_win = 0\n")
    }
    assert sc.neuron_events(layer, 0) == {"count_start": (f"{j} == NF - 6", "n_win = 0\n")}  # prediction network
    positive = sc.latch_events(layer, Wiring(events=True), Rule(nudging="positive"), "1.0")
    assert "rb += n_win / (6 * 1.0) - rb" in positive["free_end"][1]  # one nudged phase: rb is the free count
    predict = sc.predict_latch_events(layer, Wiring(events=True))
    assert predict["window_start"][1] == "r_free += n_win / (6 * 1.0) - r_free\nu = 0\nx = 0\nI_syn = 0\n"
