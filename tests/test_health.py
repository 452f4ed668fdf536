"""Warnings of training that cannot learn: an unsettled free phase, a loss that does not move."""

from __future__ import annotations

import numpy as np
import pytest

from brian_ep import health
from brian_ep.architecture import build_architecture
from brian_ep.data import load_digits, one_hot
from brian_ep.maths.params import initial_params
from brian_ep.maths.convergence import settling_steps
from brian_ep.spec import load_spec
from brian_ep.train import train

pytestmark = pytest.mark.codegen_independent

DIGITS = load_digits()
X, Y = DIGITS.x_train[:32], one_hot(DIGITS.y_train[:32], 10)


def spec(**over):
    base = {"model": {"input": {"size": 64}, "hidden": [{"size": 32}], "output": {"size": 10}}, "data": {"dataset": "digits"}}
    return load_spec(base, {k.replace("__", "."): v for k, v in over.items()})


def test_settling_warns_with_the_free_steps_that_settle():
    short = spec(ep__free_steps=3)
    arch = build_architecture(short)
    params = initial_params(arch, 0)
    message = health.settling(short, arch, params, X)
    assert message is not None and message.startswith(health.UNSETTLED) and "ep.free_steps = 3" in message
    suggested = int(message.split("ep.free_steps: ")[1].split()[0])
    # the suggestion does settle 90% of the samples, as the mathematics says
    steps, _, _ = settling_steps(arch, params, X, tol=health.SETTLE_TOL, max_steps=2000)
    assert np.percentile(steps, 90) <= suggested
    enough = spec(ep__free_steps=suggested)
    assert health.settling(enough, build_architecture(enough), params, X) is None


def test_stalled_names_silent_layers_and_is_quiet_when_the_loss_moves():
    silent = spec(model__chain__init={"scheme": "zeros"}, model__neuron__bias=False)
    arch = build_architecture(silent)
    params = initial_params(arch, 0)
    before = health.probe_loss(arch, params, X, Y, silent.ep.free_steps)
    message = health.stalled(silent, arch, before, params, X, Y)
    assert "loss has not moved" in message and "'h1' (every rate 0)" in message and "'output' (every rate 0)" in message
    live = spec()
    arch = build_architecture(live)
    params = initial_params(arch, 0)
    moved = params.copy()
    moved.W["h1_output"] = moved.W["h1_output"] + 0.1
    before = health.probe_loss(arch, params, X, Y, live.ep.free_steps)
    assert health.stalled(live, arch, before, moved, X, Y) is None
    assert "the weights did not change the outputs" in health.stalled(live, arch, before, params, X, Y)


def test_at_chance_reports_a_saturated_output():
    s = spec(model__readout__kind="none")
    arch = build_architecture(s)
    params = initial_params(arch, 0)
    params.b["output"] = params.b["output"] + 10.0  # every output rate at the upper clip
    message = health.at_chance(s, arch, 0.1, params, X, 1000)
    assert "training accuracy is 10.0% (chance: 10%)" in message
    assert "100% of the rates of layer 'output' sit where 'hard_sigmoid' is flat" in message
    assert "a smaller init gain" in message  # the spec already has the default, fan-in
    assert health.at_chance(s, arch, 0.5, params, X, 1000) is None
    assert health.at_chance(s, arch, 0.1, params, X, health.MIN_STEPS - 1) is None  # too early to tell


@pytest.mark.parametrize("engine, warned", [("numpy", True), ("bp", False)])
def test_only_engines_that_train_by_ep_warn_of_an_unsettled_free_phase(engine, warned):
    """The backprop baseline has no free phase: ep.free_steps says nothing about its gradient."""
    if engine == "bp":
        pytest.importorskip("torch")
    short = spec(ep__free_steps=3, run__engine=engine, data__n_train=64, data__n_test=32, run__epochs=1)
    warnings = train(short, progress=False).metrics["warnings"]
    assert any(w.startswith(health.UNSETTLED) for w in warnings) == warned
