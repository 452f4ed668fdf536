"""Dale's law and weight bounds: per-projection ``sign`` and ``bounds`` in the spec, kept by the
EP update in the numpy engine, the torch engine and Brian2 (the same weights in all three), and by the bp baseline, and clear spec errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.data import load_digits, one_hot
from brian_ep.engines import make_engine
from brian_ep.errors import SpecError
from brian_ep.maths import initial_params
from brian_ep.spec import load_spec

BASE = {
    "model": {
        "input": {"size": 64},
        "hidden": [{"size": 16}],
        "output": {"size": 10},
        "neuron": {"activation": "sigmoid"},
        "chain": {"lr": [0.5, 0.5], "init": {"scheme": "glorot_uniform", "gain": 1.0}},
        "projections": [
            {"pre": "input", "post": "h1", "sign": "excitatory"},
            {"pre": "h1", "post": "output", "sign": "inhibitory", "bounds": [-0.2, 0.5]},
        ],
    },
    "ep": {"dt": "0.5 ms", "free_steps": 12, "nudged_steps": 4, "beta": 0.5},
    "run": {"brian2": {"target": "numpy"}},
}


def _spec(**over):
    return load_spec(BASE, overrides=over)


def test_bounds_come_from_sign_and_bounds():
    arch = build_architecture(_spec())
    assert arch.projection("input_h1").bounds == (0.0, np.inf)
    assert arch.projection("h1_output").bounds == (-0.2, 0.0)
    params = initial_params(arch, 0)
    assert np.all(params.W["input_h1"] >= 0) and np.any(params.W["input_h1"] > 0)
    assert np.all((params.W["h1_output"] >= -0.2) & (params.W["h1_output"] <= 0))


def test_contradictory_or_reversed_bounds_are_spec_errors():
    with pytest.raises(SpecError, match="leave no weight value") as info:
        build_architecture(_spec(**{"model.projections": [{"pre": "input", "post": "h1", "sign": "excitatory", "bounds": [-1, -0.5]}]}))
    assert "model.projections[0].bounds" in str(info.value)
    with pytest.raises(SpecError, match="lower < upper"):
        _spec(**{"model.chain.bounds": [1.0, -1.0]})


@pytest.mark.parametrize("extra", [{}, {"optim.batch_size": 4}])
def test_weights_never_cross_their_bounds_and_engines_agree(extra):
    ds = load_digits()
    x, y = ds.x_train[:80], one_hot(ds.y_train[:80], 10)
    weights = {}
    engines = ("numpy", "brian2") + (("torch",) if importlib.util.find_spec("torch") else ())
    for engine in engines:
        options = {"run.dtype": "float64", "run.torch": {}} if engine == "torch" else {}
        spec = _spec(**{"run.engine": engine, **options, **extra})
        arch = build_architecture(spec)
        eng = make_engine(spec, arch, initial_params(arch, 0))
        hit = {"input_h1": False, "h1_output": False}
        for chunk in range(4):  # the bounds hold after every chunk, not only at the end
            eng.train_chunk(x[20 * chunk : 20 * chunk + 20], y[20 * chunk : 20 * chunk + 20])
            W = eng.get_params().W
            assert np.all(W["input_h1"] >= 0.0), engine
            assert np.all((W["h1_output"] >= -0.2) & (W["h1_output"] <= 0.0)), engine
            hit["input_h1"] |= bool(np.any(W["input_h1"] == 0.0))
            hit["h1_output"] |= bool(np.any(W["h1_output"] == 0.0) or np.any(W["h1_output"] == -0.2))
        eng.close()
        assert all(hit.values()), f"{engine}: the constraints never acted, the test would be vacuous ({hit})"
        weights[engine] = eng.get_params()
    scale = max(np.max(np.abs(w)) for w in weights["numpy"].W.values())
    assert weights["numpy"].max_abs_diff(weights["brian2"]) < 1e-9 * scale
    if "torch" in weights:  # without torch (extra 'torch') the torch engine is not compared
        assert weights["numpy"].max_abs_diff(weights["torch"]) < 1e-10 * scale


def test_the_backprop_baseline_keeps_the_bounds():
    """The bp baseline applies the same projection step after each update."""
    pytest.importorskip("torch", reason="the backprop baseline needs torch")
    ds = load_digits()
    spec = _spec(**{"run.engine": "bp", "optim.batch_size": 4})
    arch = build_architecture(spec)
    eng = make_engine(spec, arch, initial_params(arch, 0))
    eng.train_chunk(ds.x_train[:80], one_hot(ds.y_train[:80], 10))
    W = eng.get_params().W
    assert np.all(W["input_h1"] >= 0.0) and np.any(W["input_h1"] == 0.0)
    assert np.all((W["h1_output"] >= -0.2) & (W["h1_output"] <= 0.0))
