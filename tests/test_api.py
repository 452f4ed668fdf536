"""The Python entry points a neuroscientist uses inside a Brian2 script."""

import doctest

import numpy as np
import pytest
from brian2 import StateMonitor, ms, prefs

import brian_ep
from brian_ep import api


def test_docstring_example_runs(monkeypatch):
    # Brian2's runtime numpy target: the example's code, not Cython's compiler, is under test
    # (a compile belongs to the `compiles` tests)
    monkeypatch.setitem(prefs, "codegen.target", "numpy")
    assert doctest.testmod(api).failed == 0


def test_example_run_matches_the_mathematics():
    assert brian_ep.example_run(n_samples=10, verbose=False) < 1e-12


def test_make_spec_from_arguments():
    spec = brian_ep.make_spec([64, 32, 16, 10], tau=2 * ms, dt=0.5 * ms, gamma=0.5, readout="softmax")
    arch = brian_ep.build_architecture(spec)
    assert [layer.size for layer in arch.layers] == [64, 32, 16, 10]
    assert arch.layer("h1").eps == pytest.approx(0.25)
    assert arch.readout is not None and arch.energy_weights == pytest.approx({"h1": 2.0, "h2": 1.0})


def test_make_spec_checks_units():
    from brian2 import DimensionMismatchError

    with pytest.raises(DimensionMismatchError):
        brian_ep.make_spec([4, 2], tau=3)
    with pytest.raises(brian_ep.ArgumentError, match="at least an input and an output"):
        brian_ep.make_spec([4])


def test_build_rejects_wrong_shapes():
    spec = brian_ep.make_spec([4, 3, 2])
    with pytest.raises(brian_ep.DataError, match=r"'x' has shape .*need \(5, 4\)"):
        brian_ep.build(spec, 5, x=np.zeros((5, 3)))


def test_threshold_and_reset_of_a_spiking_layer_are_reachable_through_the_hook():
    """``h1.threshold`` and ``h1.reset`` go through ``modify_equations`` like the equations,
    are recorded in ``net.code`` and shown by ``net.listing()``; a threshold that never
    fires silences the layer."""
    prefs.codegen.target = "numpy"
    spec = brian_ep.load_spec({
        "model": {"input": {"size": 4}, "hidden": [{"size": 3}], "output": {"size": 2},
                  "neuron": {"model": "bernoulli", "tau": "1 ms"}},
        "ep": {"dt": "1 ms", "free_steps": 20, "nudged_steps": 2},
    })
    x = np.full((1, 4), 0.8)
    seen, counts = [], {}
    for label, silence in (("plain", False), ("silenced", True)):
        def hook(key, text, silence=silence):
            seen.append(key)
            return "False" if (silence and key == "h1.threshold") else text
        net = brian_ep.build(spec, 1, x=x, modify_equations=hook)
        net.network.run(spec.ep.free_steps * spec.ep.dt, namespace={})
        counts[label] = float(np.sum(net.groups["h1"].n_spk[:]))
    assert {"h1.threshold", "h1.reset"} <= set(seen)
    assert net.code["h1.threshold"] == "False" and "x += " in net.code["h1.reset"]
    assert "False" in net.listing()
    assert counts["plain"] > 0 and counts["silenced"] == 0


def test_user_can_modify_equations_and_monitor():
    """Add an external current to h1 through the equation hook; it shifts h1's fixed point."""
    prefs.codegen.target = "numpy"
    spec = brian_ep.make_spec([4, 3, 2], free_steps=40, nudged_steps=2)
    x = np.full((1, 4), 0.5)

    def add_current(name, text):
        if name != "h1":
            return text
        return text.replace("I = ", "I = I_ext + ") + "I_ext : 1\n"

    results = {}
    for label, hook in (("plain", None), ("with I_ext", add_current)):
        net = brian_ep.build(spec, 1, x=x, modify_equations=hook)
        if hook is not None:
            net.groups["h1"].I_ext = 0.3
        mon = StateMonitor(net.groups["h1"], "u", record=True, dt=spec.ep.dt)
        net.network.add(mon)
        net.network.run(spec.ep.free_steps * spec.ep.dt, namespace={})
        results[label] = mon.u[:, -1]
    assert "I_ext" in net.equations["h1"]
    assert np.all(results["with I_ext"] > results["plain"] + 0.1)
