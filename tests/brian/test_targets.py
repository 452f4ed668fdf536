"""The Brian2 engine on every target equals the mathematics.

Acceptance criterion (issue 2 item 3): Brian2's ``numpy``, ``cython`` and ``cpp_standalone``
targets give the same weights after training on the same 200 samples, and they equal the
batched numpy engine (the mathematics of ``brian_ep.maths``) to ~1e-9 relative. The
configurations of :data:`CONFIGS` each train on the first 60 of those samples (two chunks, as
the 200): the equality does not depend on how many samples, and each sample costs Brian2's
runtime device a network run per phase (issue 30: the fast loop).
"""

import numpy as np
import pytest
from conftest import arch_of

from brian_ep.engines.brian import BrianEngine
from brian_ep.data import load_digits, one_hot
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec

N_SAMPLES = 200
#: samples of each configuration's check (:func:`_check_equals_maths`)
N_CONFIG = 60
RTOL = 1e-9


def _spec(**extra):
    base = {
        "model": {
            "input": {"size": 64},
            "hidden": [{"size": 16}],
            "output": {"size": 10},
            "chain": {"lr": [0.05, 0.02]},
        },
        "ep": {"dt": "0.5 ms", "free_steps": 12, "nudged_steps": 4, "beta": 0.5},
        "run": {"chunk_size": 100},
    }
    return load_spec(base, overrides=extra)


def _train(engine, x, y, signs=None):
    """Two chunks: the first 3/5 of the samples (120 of 200), then the rest."""
    cut = 3 * x.shape[0] // 5
    out1 = engine.train_chunk(x[:cut], y[:cut], None if signs is None else signs[:cut]).outputs
    out2 = engine.train_chunk(x[cut:], y[cut:], None if signs is None else signs[cut:]).outputs
    return np.concatenate([out1, out2])


def _data():
    ds = load_digits()
    x = ds.x_train[:N_SAMPLES]
    y = one_hot(ds.y_train[:N_SAMPLES], 10)
    signs = np.random.default_rng(7).choice([-1.0, 1.0], N_SAMPLES)
    return x, y, signs, ds.x_test[:50]


def _reference(spec, x, y, signs, x_test):
    arch = arch_of(spec)
    params = init_params(arch, np.random.default_rng(0))
    eng = NumpyEngine(spec, arch, params, init_optim_state(params))
    outputs = _train(eng, x, y, signs)
    return arch, params, eng.get_params(), outputs, eng.predict(x_test)


def _brian(spec, arch, params, x, y, signs, x_test, directory=None):
    eng = BrianEngine(spec, arch, params, init_optim_state(params), workdir=directory)
    try:
        outputs = _train(eng, x, y, signs)
        return eng.get_params(), outputs, eng.predict(x_test)
    finally:
        eng.close()


def _assert_same(params_a, params_b, rtol=RTOL):
    for k in params_a.W:
        scale = np.max(np.abs(params_a.W[k]))
        np.testing.assert_allclose(params_b.W[k], params_a.W[k], rtol=0, atol=rtol * scale, err_msg=k)
    for k in params_a.b:
        np.testing.assert_allclose(params_b.b[k], params_a.b[k], rtol=0, atol=rtol * max(1.0, np.max(np.abs(params_a.b[k]))), err_msg=k)


# The FRE-RNN authors' formulation (docs/fre.md), on a small network.
FRE_AUTHORS = {
    "ep.mode": "vector_field",
    "ep.dt": "1 ms",
    "model.neuron": {"activation": "tanh", "tau": "1 ms", "bias": False},
    "model.chain.gamma": 0.1,
    "model.readout": {"kind": "softmax"},
    "optim.algorithm": "adam",
    "optim.batch_size": 5,
    "model.chain.lr": [0.001, 0.001],
}

CONFIGS = {
    "sgd-mse-centered": {},
    "exact-regulated-with-skips": {
        "model.hidden": {"count": 4, "size": 6},
        "model.chain.gamma": 0.5,
        "model.chain.lr": 0.05,
        "model.residual": [{"topology": "dense_every", "k": 2, "start": 1}],
        "model.neuron": {"activation": "sigmoid", "tau": "1 ms"},
    },
    "adam-softmax-batch-random-sign": {
        "model.readout": {"kind": "softmax"},
        "optim.algorithm": "adam",
        "optim.batch_size": 8,
        "ep.nudging": "random_sign",
        "model.chain.lr": [0.002, 0.001],
    },
    "vector-field-constant-nudge": {**FRE_AUTHORS, "ep.nudging": "positive", "ep.nudge_force": "constant"},
    "vector-field-accumulated-nudge-centered": {**FRE_AUTHORS, "ep.nudge_force": "accumulated"},
    "vector-field-accumulated-nudge-nudged-readout-error": {
        **FRE_AUTHORS, "ep.nudging": "positive", "ep.nudge_force": "accumulated", "ep.readout_error": "nudged",
    },
    "sgd-softmax-nudged-readout-error": {
        "ep.mode": "vector_field", "ep.nudging": "positive", "ep.readout_error": "nudged",
        "model.readout": {"kind": "softmax"}, "model.chain.lr": [0.05, 0.05],
    },
    "mse-constant-nudge": {"ep.nudge_force": "constant"},
    "mse-accumulated-nudge-vector-field": {
        "ep.mode": "vector_field",
        "ep.nudging": "positive",
        "ep.nudge_force": "accumulated",
        "model.chain.lr": [0.02, 0.01],
    },
}


@pytest.fixture(scope="module")
def data():
    return _data()


def _check_equals_maths(config, data, directory=None, **extra):
    x, y, signs, x_test = data
    x, y, signs = x[:N_CONFIG], y[:N_CONFIG], signs[:N_CONFIG]
    spec = _spec(**{**extra, **CONFIGS[config]})
    arch, params, ref, ref_out, ref_pred = _reference(spec, x, y, signs, x_test)
    got, out, pred = _brian(spec, arch, params, x, y, signs, x_test, directory)
    assert ref.max_abs_diff(params) > 1e-3, "the network did not learn: the comparison would be vacuous"
    _assert_same(ref, got)
    np.testing.assert_allclose(out, ref_out, atol=1e-9)
    np.testing.assert_allclose(pred, ref_pred, atol=1e-9)


#: Configurations checked under both devices (each costs a C++ build under cpp_standalone);
#: sgd-mse-centered, the default ``_spec()``, runs under cpp_standalone in
#: test_every_target_equals_maths (chosen there by the spec), so its build is not paid twice.
BOTH_DEVICES = [
    "adam-softmax-batch-random-sign", "vector-field-accumulated-nudge-centered",
    "vector-field-accumulated-nudge-nudged-readout-error",
]


@pytest.mark.standalone_compatible
@pytest.mark.parametrize("config", BOTH_DEVICES)
def test_brian2_equals_maths(config, data, brian_device, tmp_path):
    """The same weights, outputs and predictions as the mathematics, under the runtime
    device (numpy target) and under cpp_standalone (chosen by the device fixture)."""
    _check_equals_maths(config, data, directory=str(tmp_path / "sa"), **{"run.brian2.target": "numpy"})


@pytest.mark.parametrize("config", sorted(set(CONFIGS) - set(BOTH_DEVICES)))
def test_runtime_numpy_target_equals_maths(config, data):
    _check_equals_maths(config, data, **{"run.brian2.target": "numpy"})


@pytest.mark.compiles
def test_every_target_equals_maths_and_the_others(data, tmp_path):
    """numpy, cython and cpp_standalone (each chosen by the spec's run.brian2.device/target)
    after the same 200 samples: the weights, outputs and predictions of the mathematics, and
    the same weights on all three."""
    x, y, signs, x_test = data
    results = {}
    for target, device in (("numpy", "runtime"), ("cython", "runtime"), ("numpy", "cpp_standalone")):
        spec = _spec(**{"run.brian2.target": target, "run.brian2.device": device})
        arch, params, ref, ref_out, ref_pred = _reference(spec, x, y, signs, x_test)
        assert ref.max_abs_diff(params) > 1e-3, "the network did not learn: the comparison would be vacuous"
        got, out, pred = _brian(spec, arch, params, x, y, signs, x_test, directory=str(tmp_path / device))
        _assert_same(ref, got)
        np.testing.assert_allclose(out, ref_out, atol=1e-9, err_msg=f"{device}/{target}")
        np.testing.assert_allclose(pred, ref_pred, atol=1e-9, err_msg=f"{device}/{target}")
        results[f"{device}/{target}"] = got
    base = results.pop("runtime/numpy")
    for name, got in results.items():
        _assert_same(base, got)


@pytest.mark.standalone_only
def test_standalone_respects_a_device_chosen_by_the_user(brian_device, data, tmp_path):
    """A user who called set_device('cpp_standalone') gets standalone without saying so in the spec."""
    from brian2 import get_device

    x, y, signs, x_test = data
    spec = _spec()
    arch, params, ref, _, _ = _reference(spec, x, y, signs, x_test)
    eng = BrianEngine(spec, arch, params, init_optim_state(params), workdir=str(tmp_path / "standalone"))
    assert eng.standalone
    _train(eng, x, y)
    _assert_same(ref, eng.get_params())
    eng.close()
    assert type(get_device()).__name__ == "CPPStandaloneDevice"  # the user's device is left alone
