"""A convolutional spec trains end to end through :func:`brian_ep.train` (numpy engine and
the backprop baseline): it learns, writes 4-d kernels to the run directory, and a run
directory trained on one engine is evaluated by another."""

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.maths.params import Params
from brian_ep.spec import load_spec
from brian_ep.train import train


def digits_conv(**over):
    data = {
        "name": "digits_conv",
        "model": {
            "input": {"shape": [1, 8, 8]},
            "hidden": [{"name": "c1", "shape": [4, 4, 4]}],
            "output": {"size": 10},
            "neuron": {"activation": "hard_sigmoid"},
            "chain": {"lr": 0.005, "init": {"scheme": "fan_in_uniform"}},
            "projections": [{"pre": "input", "post": "c1", "conv": {"kernel": 3, "padding": 1, "pool": "avg"}}],
            "readout": {"kind": "softmax"},
        },
        "ep": {"dt": "1 ms", "free_steps": 10, "nudged_steps": 4, "beta": 0.5},
        "optim": {"algorithm": "adam", "batch_size": 20},
        "data": {"dataset": "digits", "n_train": 400, "n_test": 200},
        "run": {"engine": "numpy", "epochs": 3, "chunk_size": 200},
    }
    return load_spec(data, overrides={k.replace("__", "."): v for k, v in over.items()})


@pytest.mark.parametrize("engine", ["numpy", "bp"])
def test_conv_spec_learns_digits(engine, tmp_path):
    if engine == "bp":
        pytest.importorskip("torch")
    res = train(digits_conv(run__engine=engine), out=tmp_path / engine, progress=False)
    acc = [row["test_accuracy"] for row in res.metrics["epochs"]]
    assert acc[-1] > 0.6, acc  # chance is 0.1
    saved = Params.load(tmp_path / engine / "weights.npz")
    assert saved.W["input_c1"].shape == (4, 1, 3, 3) and saved.b["c1"].shape == (4,)
    np.testing.assert_array_equal(saved.W["input_c1"], res.params.W["input_c1"])


def test_numpy_engine_evaluates_what_bp_trained(tmp_path):
    """Kernels written by one engine are read by another (same names, shapes and layout)."""
    pytest.importorskip("torch")
    from brian_ep.engines.numpy_batched import NumpyEngine
    from brian_ep.maths.optim import init_optim_state

    spec = digits_conv(run__engine="bp", run__epochs=1)
    train(spec, out=tmp_path, progress=False)
    params = Params.load(tmp_path / "weights.npz")
    arch = build_architecture(digits_conv())
    engine = NumpyEngine(digits_conv(), arch, params, init_optim_state(params))
    out = engine.predict(np.random.default_rng(0).random((5, 64)))
    assert out.shape == (5, 10) and np.allclose(out.sum(axis=1), 1.0)
