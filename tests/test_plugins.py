"""The plug-in seams: a neuron model and an engine defined and registered inside this test
train the digits spec without any edit to the package (docs/design.md shows the same)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

import brian_ep
from brian_ep.engines import ChunkResult, Engine, engine_names, get_engine_entry, register_engine, unregister_engine
from brian_ep.engines.brian import BrianEngine
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.errors import SpecError
from brian_ep.maths.arrays import device_of, namespace
from brian_ep.maths.dynamics import output, relax
from brian_ep.maths.optim import apply_update, init_optim_state, learning_rates
from brian_ep.maths.params import initial_params
from brian_ep.maths.phases import ep_phase_gradient
from brian_ep.neurons import NeuronModel, register_neuron_model, unregister_neuron_model
from brian_ep.spec import load_spec

DIGITS = Path(__file__).resolve().parents[1] / "network_specs" / "digits.yaml"


# -- a toy neuron model: a leaky rate neuron with its own rate function ---------------------
class LeakyOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    leak: float = Field(default=1.0, gt=0)


class LeakySoftsign(NeuronModel):
    r"""``tau du/dt = -k u + I``, ``r = max(u, 0) / (1 + |u|)`` (``k``: the ``leak`` option)."""

    name = "toy_leaky_softsign"
    options = LeakyOptions

    def initial_state(self, layer, n_samples, like):
        return namespace(like).zeros((n_samples, layer.size), dtype=like.dtype, device=device_of(like))

    def rate(self, layer, u):
        xp = namespace(u)
        return xp.maximum(u, 0.0) / (1.0 + xp.abs(u))

    signal = rate

    def advance(self, layer, u, current, noise=None):
        return u + layer.eps * (current - layer.options.leak * u)

    def brian_equations(self, layer):
        return f"du/dt = (I - {layer.options.leak!r} * u) / tau : 1\nr = clip(u, 0, inf) / (1 + abs(u)) : 1\n"


@pytest.fixture
def toy_model():
    model = register_neuron_model(LeakySoftsign())
    yield model
    unregister_neuron_model(model.name)


def tiny(**over):
    base = {
        "model.hidden": [{"size": 12}], "data.n_train": 40, "data.n_test": 20, "run.epochs": 1, "run.chunk_size": 40,
        "ep.free_steps": 8, "ep.nudged_steps": 3, "run.brian2.target": "numpy", "run.brian2.device": "runtime",
        "model.neuron": {"model": "toy_leaky_softsign", "leak": 0.5, "tau": "1 ms"},
    }
    base.update(over)
    return load_spec(DIGITS, base)


def test_toy_model_trains_in_the_numpy_engine_and_in_brian2_alike(toy_model):
    spec = tiny()
    arch = brian_ep.build_architecture(spec)
    assert all(layer.neuron is toy_model and layer.options.leak == 0.5 for layer in arch.free_layers)
    ds = brian_ep.load_digits()
    x, y = ds.x_train[:40], brian_ep.one_hot(ds.y_train[:40], 10)
    params = initial_params(arch, 0)
    results = {}
    for cls in (NumpyEngine, BrianEngine):
        engine = cls(spec, arch, params, init_optim_state(params))
        engine.train_chunk(x, y)
        results[cls.__name__] = engine.get_params()
        engine.close()
    a, b = results["NumpyEngine"], results["BrianEngine"]
    assert a.max_abs_diff(params) > 1e-3  # it learned
    assert a.max_abs_diff(b) < 1e-10 * max(np.max(np.abs(w)) for w in a.W.values())
    # the model is really in use: the leak changes the dynamics
    u = relax(arch, params, x[:5], 20)
    u_rate = relax(brian_ep.build_architecture(tiny(**{"model.neuron": {"tau": "1 ms"}})), params, x[:5], 20)
    assert not np.allclose(u["h1"], u_rate["h1"])


def test_toy_model_options_are_validated(toy_model):
    with pytest.raises(SpecError) as info:
        tiny(**{"model.neuron": {"model": "toy_leaky_softsign", "leak": -1}})
    assert info.value.key == "model.neuron.leak"
    with pytest.raises(SpecError) as info:
        tiny(**{"model.neuron": {"model": "toy_leaky_softsign", "leek": 1}})
    assert info.value.key == "model.neuron.leek" and "did you mean 'leak'" in str(info.value)
    with pytest.raises(SpecError) as info:  # the rate model has no such option
        tiny(**{"model.neuron": {"model": "rate", "leak": 1}})
    assert info.value.key == "model.neuron.leak"


def test_unregistered_model_is_refused_with_the_registry():
    with pytest.raises(SpecError) as info:
        tiny()
    assert info.value.key == "model.neuron.model" and "'rate'" in info.value.allowed


# -- a toy engine: online EP in plain Python loops over the maths -----------------------------
class OnlineEngine(Engine):
    """EP one sample at a time with plain SGD, straight from the maths functions."""

    def train_chunk(self, x, y, signs=None):
        lrs = learning_rates(self.arch)
        outputs = []
        for k in range(x.shape[0]):
            grads, ph = ep_phase_gradient(self.arch, self.params, x[k : k + 1], y[k : k + 1], self.spec.ep)
            outputs.append(output(self.arch, self.params, ph.u_free))
            apply_update(self.params, grads, lrs, self.spec.optim, self.optim_state)
        return ChunkResult(np.concatenate(outputs))

    def predict(self, x):
        return output(self.arch, self.params, relax(self.arch, self.params, x, self.spec.ep.free_steps))


@pytest.fixture
def toy_engine():
    register_engine("toy_online", OnlineEngine, "online EP in Python loops (test)")
    yield "toy_online"
    unregister_engine("toy_online")


def test_toy_engine_runs_through_train_and_writes_a_run_directory(toy_engine, tmp_path):
    spec = tiny(**{"model.neuron": {"tau": "1 ms"}, "run.engine": "toy_online"})
    result = brian_ep.train(spec, out=tmp_path / "run", progress=False)
    assert {"spec.yaml", "metrics.json", "weights.npz", "COMPLETE"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert result.metrics["engine"] == "toy_online"
    # online SGD is what the batched numpy engine does with batch size 1: same weights
    reference = brian_ep.train(tiny(**{"model.neuron": {"tau": "1 ms"}, "run.engine": "numpy"}), progress=False)
    assert result.params.max_abs_diff(reference.params) < 1e-12
    assert result.final_test_accuracy == reference.final_test_accuracy
    assert brian_ep.evaluate(spec, result.params) == result.final_test_accuracy


def test_cli_lists_registered_engines(toy_engine):
    from brian_ep.cli import build_parser

    action = next(a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions if "--engine" in a.option_strings)
    assert "toy_online" in action.choices and {"brian2", "numpy", "bp"} <= set(action.choices)


def test_every_engine_extra_is_a_pip_extra_that_installs_what_it_requires():
    """The missing-module error tells users ``pip install 'brian_ep[<extra>]'``: that extra
    must exist in ``pyproject.toml`` and, with the core dependencies, install every module the
    engine requires (a module ``a_b`` is the distribution ``a-b``)."""
    tomllib = pytest.importorskip("tomllib")  # the standard library from Python 3.11
    project = tomllib.loads((DIGITS.parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def names(requirements):
        return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}

    for name in engine_names():
        entry = get_engine_entry(name)
        if entry.extra is None:
            continue
        assert entry.extra in extras, f"engine {name!r}: no extra {entry.extra!r} in pyproject.toml"
        installed = names(extras[entry.extra]) | names(project["dependencies"])
        missing = {m.replace("_", "-") for m in entry.requires} - installed
        assert not missing, f"engine {name!r}: extra {entry.extra!r} does not install {missing}"
