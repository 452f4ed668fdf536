"""The health checks of ``brian-ep train`` on the user's path: a network built with
``brian_ep.build`` and run in the user's own script says when its rates sit where the
activation is flat (it cannot learn there) or its output is the same for every sample."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from brian2 import ms, prefs

import brian_ep
from brian_ep.architecture import build_architecture
from brian_ep.errors import ArgumentError
from brian_ep.activity import identical_outputs, saturated
from brian_ep.maths.params import initial_params

pytestmark = pytest.mark.codegen_independent


def _run(params_scale: float, caplog, n=4):
    prefs.codegen.target = "numpy"
    spec = brian_ep.make_spec([6, 5, 3], tau=1 * ms, dt=0.5 * ms, free_steps=12, nudged_steps=3)
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    params.W["input_h1"] = params.W["input_h1"] * params_scale
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (n, 6))
    net = brian_ep.build(spec, n, x=x, y=brian_ep.one_hot(np.arange(n) % 3, 3), params=params)
    net.network.run(net.duration, namespace={})
    with caplog.at_level(logging.WARNING, logger="brian_ep.health"):
        found = net.check_health()
    return found, caplog.records


def test_a_saturated_network_is_named_with_advice(caplog):
    # input weights 400x their initial scale: every hidden neuron is driven far above [0, 1]
    found, records = _run(400.0, caplog)
    assert any("'h1'" in m and "flat" in m and "scale the input" in m for m in found), found
    assert [r.getMessage() for r in records if r.name == "brian_ep.health"] == found


def test_a_healthy_network_is_quiet(caplog):
    found, records = _run(1.0, caplog)
    assert found == [] and not [r for r in records if r.name == "brian_ep.health"]


def test_the_checks_by_their_definitions():
    arch = build_architecture(brian_ep.make_spec([4, 3, 2]))  # hard sigmoid: flat outside [0, 1]
    assert saturated(arch, {"h1": np.array([[1.5, 2.0, 3.0]]), "output": np.array([[0.5, 0.2]])}).count("'h1'") == 1
    assert saturated(arch, {"h1": np.array([[0.5, 2.0, 3.0]])}) is None  # 67% < 90%
    assert "below the range" in saturated(arch, {"h1": -np.ones((2, 3))})
    assert identical_outputs(np.tile([[0.1, 0.9]], (3, 1))) is not None
    assert identical_outputs(np.array([[0.1, 0.9], [0.2, 0.8]])) is None
    assert identical_outputs(np.array([[0.1, 0.9]])) is None  # one window tells nothing


def test_standalone_before_its_run_says_so(monkeypatch):
    prefs.codegen.target = "numpy"  # build() sets initial values with generated code (conftest's brian_prefs restores it)
    spec = brian_ep.make_spec([4, 3, 2])
    net = brian_ep.build(spec, 2)

    class Unrun:
        def __getitem__(self, item):
            raise NotImplementedError

    monkeypatch.setattr(type(net.groups["h1"]), "u", property(lambda self: Unrun()), raising=False)
    with pytest.raises(ArgumentError, match="run the network"):
        net.check_health()
