"""Backprop through EP's recurrent network (``run.engine: bptt_crnn``): its forward pass is
EP's free phase, its gradient converges to the recurrent-backprop gradient at the fixed point
(implicit differentiation, computed independently in :mod:`brian_ep.maths.gradients`), and it
learns through :func:`brian_ep.train`."""

from __future__ import annotations

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.errors import SpecError
from brian_ep.maths.dynamics import relax
from brian_ep.maths.gradients import recurrent_backprop_gradient
from brian_ep.maths.optim import init_optim_state
from brian_ep.maths.params import Params
from brian_ep.neurons import register_neuron_model, unregister_neuron_model
from brian_ep.neurons.rate import RateNeuron
from brian_ep.spec import load_spec
from conftest import random_problem, small_spec

torch = pytest.importorskip("torch", reason="the crnn baseline needs torch")

from brian_ep.baselines.crnn import CrnnEngine, bptt_gradient  # noqa: E402
from brian_ep.engines.numpy_batched import NumpyEngine  # noqa: E402

pytestmark = pytest.mark.codegen_independent


def _engine(cls, spec, params):
    return cls(spec, build_architecture(spec), params, init_optim_state(params))


def test_prediction_is_eps_free_phase():
    spec = small_spec(run__engine="bptt_crnn")
    _, params, x, _ = random_problem(spec, seed=4, n=5)
    crnn = _engine(CrnnEngine, spec, params).predict(x)
    ep = _engine(NumpyEngine, spec, params).predict(x)
    np.testing.assert_allclose(crnn, ep, rtol=0, atol=1e-13)


def _bptt_gradient(spec, params, x, y):
    """The gradient the engine descends: its own loss, backpropagated."""
    engine = _engine(CrnnEngine, spec, params)
    live = Params({k: v.clone().requires_grad_(True) for k, v in engine.weights.W.items()},
                  {k: v.clone().requires_grad_(True) for k, v in engine.weights.b.items()})
    loss, _ = engine._batch_loss(live, torch.tensor(x), torch.tensor(y))
    loss.backward()
    tensors = {**live.W, **{"b:" + n: b for n, b in live.b.items()}}
    return {k: np.zeros(v.shape) if v.grad is None else v.grad.numpy() for k, v in tensors.items()}


@pytest.mark.parametrize("readout", ["none", "softmax"])
def test_gradient_converges_to_recurrent_backprop(readout):
    """With the free phase converged, BPTT through it is the implicit gradient at the fixed
    point; with a short free phase it is not (the check can fail)."""
    spec = small_spec(run__engine="bptt_crnn", model__readout__kind=readout, model__chain__init__gain=0.8, ep__free_steps=400)
    arch, params, x, y = random_problem(spec, seed=1, n=6)
    u_star = relax(arch, params, x, 400)
    reference = recurrent_backprop_gradient(arch, params, x, y, u_star)
    ref = {**reference.W, **{"b:" + n: b for n, b in reference.b.items()}}
    long_run = _bptt_gradient(spec, params, x, y)
    short = _bptt_gradient(load_spec(spec, {"run.bptt_crnn": {"steps": 2}}), params, x, y)
    for name, g in ref.items():
        assert np.allclose(long_run[name], g, rtol=1e-7, atol=1e-10), name
    assert any(not np.allclose(short[name], g, rtol=1e-3, atol=1e-6) for name, g in ref.items())
    helper = bptt_gradient(arch, params, x, y, 400)  # the function the alignment benchmark uses
    for name, g in {**helper.W, **{"b:" + n: b for n, b in helper.b.items()}}.items():
        np.testing.assert_allclose(g, long_run[name], rtol=1e-12, atol=1e-15)


def test_learns_digits():
    from brian_ep.train import train

    spec = load_spec(
        "network_specs/digits.yaml",
        {"run.engine": "bptt_crnn", "run.epochs": 2, "data.n_train": 400, "data.n_test": 200,
         "optim.algorithm": "adam", "optim.batch_size": 16, "model.chain.lr": 0.003},
    )
    rows = train(spec, progress=False).metrics["epochs"]
    assert rows[-1]["test_accuracy"] > 0.8
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]


class _NoisyRate(RateNeuron):
    name = "test_noisy_rate"
    stochastic = True


def test_stochastic_neurons_are_refused():
    model = register_neuron_model(_NoisyRate())
    try:
        spec = small_spec(run__engine="bptt_crnn", model__neuron__model="test_noisy_rate")
        _, params, _, _ = random_problem(small_spec(), n=1)
        with pytest.raises(SpecError, match="stochastic neuron model 'test_noisy_rate'"):
            _engine(CrnnEngine, spec, params)
    finally:
        unregister_neuron_model(model.name)
