"""Convolutional layers and projections in the spec and the architecture: shapes, geometry,
initial kernels, and the errors that name the key (shapes that do not fit, max pooling,
conv under an engine that does not build it)."""

import numpy as np
import pytest
from conftest import conv_spec

from brian_ep.architecture import build_architecture
from brian_ep.maths import init_params
from brian_ep.spec import SpecError, load_spec

pytestmark = pytest.mark.codegen_independent

CONV = {"kernel": 3, "padding": 1, "pool": "avg"}


def image_spec(hidden_shape=(4, 14, 14), conv=CONV, input_shape=(1, 28, 28), **run):
    return {
        "model": {
            "input": {"shape": list(input_shape)},
            "hidden": [{"name": "c1", "shape": list(hidden_shape)}],
            "output": {"size": 10},
            "projections": [{"pre": "input", "post": "c1", "conv": conv}],
        },
        "run": {"engine": "numpy", **run},
    }


def error(data) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(data)
    return info.value


def test_image_layers_and_conv_geometry():
    arch = build_architecture(load_spec(image_spec()))
    assert arch.input.shape == (1, 28, 28) and arch.input.size == 784
    c1 = arch.layer("c1")
    assert c1.shape == (4, 14, 14) and c1.size == 784 and c1.bias_size == 4
    p = arch.projection("input_c1")
    assert p.kind == "chain"
    assert (p.conv.kernel, p.conv.padding, p.conv.pool) == (3, 1, 2)
    assert arch.weight_shape(p) == (4, 1, 3, 3)
    assert arch.projection("c1_output").conv is None and arch.weight_shape(arch.projection("c1_output")) == (784, 10)
    assert arch.n_params() == 4 * 9 + 784 * 10 + 4 + 10
    assert arch.has_conv


def test_conv_kernels_are_drawn_with_their_fans():
    arch = build_architecture(conv_spec(model__chain__init={"scheme": "fan_in_uniform", "gain": 1.0}))
    params = init_params(arch, np.random.default_rng(0))
    k = params.W["c1_c2"]
    assert k.shape == (3, 2, 3, 3)
    bound = 1.0 / np.sqrt(2 * 9)  # fan_in = C_pre k^2
    assert np.abs(k).max() <= bound and np.abs(k).max() > 0.8 * bound
    assert params.b["c1"].shape == (2,) and params.b["output"].shape == (3,)


def test_size_and_shape_must_agree():
    data = image_spec()
    data["model"]["hidden"][0]["size"] = 100
    e = error(data)
    assert e.key == "model.hidden[0].size" and "784" in e.message


def test_a_layer_needs_size_or_shape():
    data = image_spec()
    del data["model"]["hidden"][0]["shape"]
    assert error(data).key == "model.hidden[0].size"


def test_shape_that_does_not_fit_the_convolution_names_the_layer_and_the_fix():
    e = error(image_spec(hidden_shape=(4, 12, 12)))
    assert e.key == "model.hidden[0].shape"
    assert "28x28" in e.message and "14x14" in e.message and "[4, 12, 12]" in e.message
    assert "[4, 14, 14]" in e.allowed


def test_pooling_that_does_not_divide_names_pool_size():
    e = error(image_spec(conv={"kernel": 3, "padding": 0, "pool": "avg"}))  # 28 -> 26 -> 13: fine
    assert "[4, 13, 13]" in e.allowed
    e = error(image_spec(hidden_shape=(4, 9, 9), conv={"kernel": 3, "padding": 0, "pool": "avg", "pool_size": 4}))
    assert e.key == "model.projections[0].conv.pool_size"


def test_max_pooling_is_refused_with_the_reason():
    e = error(image_spec(conv={"kernel": 3, "padding": 1, "pool": "max"}))
    assert e.key == "model.projections[0].conv.pool"
    assert "no energy" in e.message and "avg" in e.allowed


def test_padding_larger_than_kernel_minus_one_is_refused():
    e = error(image_spec(conv={"kernel": 3, "padding": 3}))
    assert e.key == "model.projections[0].conv.padding"


def test_conv_needs_image_layers():
    data = image_spec()
    data["model"]["hidden"][0] = {"name": "c1", "size": 784}
    e = error(data)
    assert e.key == "model.hidden[0].shape" and "no shape" in e.message


def test_softmax_readout_cannot_be_a_convolution():
    data = image_spec()
    data["model"]["output"] = {"shape": [10, 1, 1]}
    data["model"]["readout"] = {"kind": "softmax"}
    data["model"]["projections"].append({"pre": "c1", "post": "output", "conv": {"kernel": 14, "padding": 0}})
    assert error(data).key == "model.projections[1].conv"


def test_conv_under_brian2_is_refused_with_the_reason():
    e = error(image_spec(engine="brian2"))
    assert e.key == "run.engine"
    assert "shares one kernel" in e.message and "numpy" in e.allowed


def test_the_same_spec_loads_under_the_numpy_and_bp_engines():
    for engine in ("numpy", "bp"):
        assert build_architecture(load_spec(image_spec(engine=engine))).has_conv


def test_with_gamma_keeps_conv_overrides_in_the_chain():
    """A conv entry of model.projections overrides a chain projection, so it takes the new
    chain gamma (it used to become 'auto' and have nothing to derive it from)."""
    from brian_ep.architecture import with_gamma

    arch = build_architecture(with_gamma(conv_spec(), 0.5))
    assert {p.name: p.gamma for p in arch.projections} == {"input_c1": 0.5, "c1_c2": 0.5, "c2_output": 0.5}
    assert arch.projection("c1_c2").conv is not None
    assert arch.energy_weights == pytest.approx({"c1": 4.0, "c2": 2.0, "output": 1.0})
