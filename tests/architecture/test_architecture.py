"""Tests of brian_ep.architecture: layers, projections, gamma 'auto', energy weights."""

import math

import pytest

from brian_ep.architecture import Architecture, build_architecture
from brian_ep.spec import SpecError, spec_from_dict

pytestmark = pytest.mark.codegen_independent


def spec(hidden=(3,), input=4, output=2, ep=None, run=None, optim=None, **model):
    if isinstance(hidden, dict):
        h = hidden
    else:
        h = [s if isinstance(s, dict) else {"size": s} for s in hidden]
    data = {"model": {"input": {"size": input}, "hidden": h, "output": {"size": output}, **model}}
    for key, value in (("ep", ep), ("run", run), ("optim", optim)):
        if value is not None:
            data[key] = value
    return spec_from_dict(data)


def arch(*args, **kwargs) -> Architecture:
    return build_architecture(spec(*args, **kwargs))


def stack(n, size=3, **kwargs) -> Architecture:
    return arch(hidden={"count": n, "size": size}, **kwargs)


def names(a, kind=None):
    return [p.name for p in a.projections if kind is None or p.kind == kind]


def spec_error(*args, **kwargs) -> SpecError:
    with pytest.raises(SpecError) as info:
        arch(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------- layers and the chain


def test_chain_names_and_sizes():
    a = arch(hidden=(5, 7), input=4, output=3)
    assert [l.name for l in a.layers] == ["input", "h1", "h2", "output"]
    assert [l.size for l in a.layers] == [4, 5, 7, 3]
    assert [l.role for l in a.layers] == ["input", "hidden", "hidden", "output"]
    assert [l.index for l in a.layers] == [0, 1, 2, 3]
    assert names(a) == ["input_h1", "h1_h2", "h2_output"]
    assert [(p.pre, p.post) for p in a.projections] == [("input", "h1"), ("h1", "h2"), ("h2", "output")]
    assert all(p.kind == "chain" for p in a.projections)
    assert a.input.name == "input" and a.output.name == "output"
    assert a.readout is None
    assert a.mode == "exact"
    assert a.input.is_input and not a.output.is_input


def test_no_hidden_layers():
    a = arch(hidden=())
    assert [l.name for l in a.layers] == ["input", "output"]
    assert names(a) == ["input_output"]
    assert a.energy_weights == {"output": 1.0}


def test_named_layers():
    a = arch(hidden=({"size": 3, "name": "enc"}, {"size": 2}))
    assert [l.name for l in a.layers] == ["input", "enc", "h2", "output"]
    assert names(a) == ["input_enc", "enc_h2", "h2_output"]
    s = spec_from_dict(
        {"model": {"input": {"size": 4, "name": "pixels"}, "hidden": [{"size": 3}], "output": {"size": 2, "name": "y"}}}
    )
    a = build_architecture(s)
    assert names(a) == ["pixels_h1", "h1_y"]
    assert a.layer("y").role == "output"
    with pytest.raises(KeyError):
        a.layer("output")


def test_hidden_stack_naming():
    a = stack(5, size=6)
    assert [l.name for l in a.layers] == ["input", "h1", "h2", "h3", "h4", "h5", "output"]
    assert all(l.size == 6 for l in a.layers[1:-1])
    assert names(a) == ["input_h1", "h1_h2", "h2_h3", "h3_h4", "h4_h5", "h5_output"]


def test_eps_is_dt_over_tau():
    a = arch(hidden=(3, 3), ep={"dt": "0.25 ms"}, neuron={"tau": "2 ms"})
    for layer in a.layers[1:]:
        assert layer.tau == pytest.approx(2e-3)
        assert layer.eps == pytest.approx(0.125)
    assert a.input.eps == 1.0 and a.input.tau == 0.0 and not a.input.bias
    a = arch(ep={"dt": "1 ms"})
    assert a.layer("h1").eps == pytest.approx(1.0)


def test_per_layer_neuron_overrides():
    a = arch(
        hidden=({"size": 3, "neuron": {"tau": "2 ms", "activation": "tanh"}}, {"size": 3, "neuron": {"bias": False}}),
        ep={"dt": "0.5 ms"},
        neuron={"activation": "sigmoid", "tau": "1 ms"},
    )
    h1, h2, out = a.layer("h1"), a.layer("h2"), a.output
    assert (h1.activation, h1.tau, h1.eps, h1.bias) == ("tanh", pytest.approx(2e-3), pytest.approx(0.25), True)
    assert (h2.activation, h2.tau, h2.eps, h2.bias) == ("sigmoid", pytest.approx(1e-3), pytest.approx(0.5), False)
    assert (out.activation, out.eps, out.bias) == ("sigmoid", pytest.approx(0.5), True)


def test_output_and_stack_overrides():
    s = spec_from_dict(
        {
            "model": {
                "input": {"size": 4},
                "hidden": {"count": 2, "size": 3, "neuron": {"tau": "4 ms"}},
                "output": {"size": 2, "neuron": {"activation": "tanh", "bias": False}},
            },
            "ep": {"dt": "1 ms"},
        }
    )
    a = build_architecture(s)
    assert [a.layer(n).eps for n in ("h1", "h2")] == [pytest.approx(0.25)] * 2
    assert a.output.activation == "tanh" and not a.output.bias and a.output.eps == pytest.approx(1.0)


def test_dt_larger_than_an_overridden_tau():
    err = spec_error(hidden=(3, {"size": 3, "neuron": {"tau": "0.25 ms"}}), ep={"dt": "0.5 ms"})
    assert err.key == "ep.dt" and "layer 'h2'" in str(err) and "dt <= 0.25 ms" in str(err)


def test_chain_lr_and_gamma_lists_and_lr_scale():
    a = arch(hidden=(3, 3), chain={"lr": [0.1, 0.2, 0.3], "gamma": [1.0, 0.5, 0.25]}, optim={"lr_scale": 2.0})
    assert [p.lr for p in a.projections] == pytest.approx([0.2, 0.4, 0.6])
    assert [p.gamma for p in a.projections] == [1.0, 0.5, 0.25]


# ---------------------------------------------------------------- energy weights


def test_energy_weights_chain_gamma_half():
    # c_post = gamma c_pre, c_output = 1: c_h3 = 2, c_h2 = 4, c_h1 = 8
    a = stack(3, chain={"gamma": 0.5})
    assert a.energy_weights == {"h1": 8.0, "h2": 4.0, "h3": 2.0, "output": 1.0}
    assert a.top.name == "output"
    for p in a.projections:
        if p.pre != "input":
            assert a.energy_weights[p.post] == pytest.approx(p.gamma * a.energy_weights[p.pre])


def test_energy_weights_gamma_one_are_one():
    a = stack(4)
    assert a.energy_weights == {n: 1.0 for n in ("h1", "h2", "h3", "h4", "output")}


def test_energy_weights_per_projection_gammas():
    # input->h1 (gamma 0.9) imposes nothing; h2->output 0.25: c_h2 = 4; h1->h2 0.5: c_h1 = 8
    a = arch(hidden=(3, 3), chain={"gamma": [0.9, 0.5, 0.25]})
    assert a.energy_weights == {"h1": 8.0, "h2": 4.0, "output": 1.0}


def test_energy_weights_softmax_readout():
    # the last hidden layer is the top: c_h3 = 1, c_h2 = 2, c_h1 = 4
    a = stack(3, chain={"gamma": 0.5}, readout={"kind": "softmax"})
    assert a.energy_weights == {"h1": 4.0, "h2": 2.0, "h3": 1.0}
    assert a.top.name == "h3"
    assert [l.name for l in a.free_layers] == ["h1", "h2", "h3"]
    assert names(a) == ["input_h1", "h1_h2", "h2_h3"]
    r = a.readout
    assert (r.name, r.pre, r.post, r.kind, r.gamma) == ("h3_output", "h3", "output", "readout", 1.0)
    assert a.weight_scale(r) == 1.0
    assert a.projection("h3_output") is r
    assert a.all_projections == a.projections + (r,)
    assert a.incoming("output") == ()  # the readout is not a recurrent projection


def test_vector_field_weights_are_one():
    a = stack(3, chain={"gamma": 0.5}, ep={"mode": "vector_field"})
    assert a.mode == "vector_field"
    assert a.energy_weights == {n: 1.0 for n in ("h1", "h2", "h3", "output")}
    assert all(a.weight_scale(p) == 1.0 for p in a.projections)


# ---------------------------------------------------------------- skips and gamma 'auto'


def test_auto_gamma_on_a_skip():
    a = stack(4, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h4", "gamma": "auto"}])
    p = a.projection("h1_h4")
    assert (p.pre, p.post, p.kind) == ("h1", "h4", "extra")
    assert p.gamma == pytest.approx(0.125)
    assert a.energy_weights["h4"] == pytest.approx(0.125 * a.energy_weights["h1"])
    # extra projections take the learning rate of the chain projection into their post layer
    assert p.lr == a.projection("h3_h4").lr


def test_explicit_consistent_gamma_accepted():
    a = stack(4, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h4", "gamma": 0.125, "lr": 0.01}])
    p = a.projection("h1_h4")
    assert p.gamma == 0.125 and p.lr == pytest.approx(0.01)


def test_inconsistent_gamma_names_projection_and_value():
    err = spec_error(
        hidden={"count": 4, "size": 3}, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h4", "gamma": 0.5}]
    )
    assert err.key == "model.projections[0].gamma"
    text = str(err)
    assert "gamma of projection 'h1 -> h4' is 0.5" in text
    assert "c_h4/c_h1 = 0.125" in text
    assert "gamma: 0.125 or gamma: auto" in err.allowed


def test_default_gamma_of_an_extra_projection_is_checked():
    # no gamma given: the chain gamma into the post layer (0.5), inconsistent for a 3-step skip
    err = spec_error(hidden={"count": 4, "size": 3}, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h4"}])
    assert err.key == "model.projections[0].gamma" and "0.125" in str(err)
    # with gamma 1 everywhere every skip is consistent
    a = stack(4, projections=[{"pre": "h1", "post": "h4"}])
    assert a.projection("h1_h4").gamma == 1.0


def test_backward_skip_auto_gamma():
    # a projection walked from a higher to a lower layer: c_h1 = gamma c_h3, so gamma = 4
    # would be needed, outside (0, 1]; 'auto' still reports the consistent value
    a = stack(3, chain={"gamma": 0.5}, projections=[{"pre": "h3", "post": "h1", "gamma": "auto"}])
    assert a.projection("h3_h1").gamma == pytest.approx(4.0)


def test_input_skip_gamma_is_free():
    a = stack(3, chain={"gamma": 0.5}, projections=[{"pre": "input", "post": "h3", "gamma": 0.3}])
    assert a.projection("input_h3").gamma == 0.3
    a = stack(3, chain={"gamma": 0.5}, projections=[{"pre": "input", "post": "h3", "gamma": "auto"}])
    assert a.projection("input_h3").gamma == 1.0
    assert a.energy_weights == {"h1": 8.0, "h2": 4.0, "h3": 2.0, "output": 1.0}


def test_chain_override_keeps_kind_and_name():
    a = stack(3, chain={"lr": 0.1}, projections=[{"pre": "h1", "post": "h2", "lr": 0.5}])
    p = a.projection("h1_h2")
    assert p.kind == "chain" and p.lr == pytest.approx(0.5)
    assert names(a) == ["input_h1", "h1_h2", "h2_h3", "h3_output"]


def test_vector_field_accepts_any_gamma_and_auto_is_chain_gamma():
    a = stack(
        4,
        chain={"gamma": [1.0, 0.3, 0.6, 0.7, 0.9]},
        ep={"mode": "vector_field"},
        projections=[{"pre": "h1", "post": "h4", "gamma": "auto"}, {"pre": "h2", "post": "output", "gamma": 0.95}],
    )
    assert a.projection("h1_h4").gamma == pytest.approx(0.7)  # chain gamma of h3 -> h4
    assert a.projection("h2_output").gamma == 0.95
    assert set(a.energy_weights.values()) == {1.0}


def test_projection_order():
    a = stack(4, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h4", "gamma": "auto"},
                                                     {"pre": "input", "post": "h2"}])
    # sorted by (post index, pre index)
    assert names(a) == ["input_h1", "input_h2", "h1_h2", "h2_h3", "h1_h4", "h3_h4", "h4_output"]


# ---------------------------------------------------------------- residual topologies


def test_residual_dense_every():
    a = stack(10, chain={"gamma": 0.5}, residual={"topology": "dense_every", "k": 3, "start": 1})
    assert names(a, "residual") == ["h1_h4", "h4_h7", "h7_h10"]
    for p in a.projections:
        if p.kind == "residual":
            assert p.gamma == pytest.approx(0.125)
            assert a.energy_weights[p.post] == pytest.approx(p.gamma * a.energy_weights[p.pre])
    assert len(a.projections) == 11 + 3


def test_residual_explicit_gamma():
    a = stack(10, residual={"topology": "dense_every", "k": 3, "gamma": 1.0, "lr": 0.02})
    assert all(p.gamma == 1.0 and p.lr == pytest.approx(0.02) for p in a.projections if p.kind == "residual")
    err = spec_error(hidden={"count": 10, "size": 3}, chain={"gamma": 0.5},
                     residual=[{"topology": "dense_every", "k": 2, "start": 2}, {"topology": "dense_every", "k": 3, "gamma": 0.5}])
    assert err.key == "model.residual[1].gamma"
    assert "'h1 -> h4' is 0.5" in str(err) and "0.125" in str(err)


def test_residual_two_entries_combine():
    a = stack(10, residual=[{"topology": "dense_every", "k": 3}, {"topology": "dense_every", "k": 4, "start": 2}])
    assert names(a, "residual") == ["h1_h4", "h2_h6", "h4_h7", "h6_h10", "h7_h10"]


@pytest.mark.parametrize("topology", ["random", "small_world"])
def test_random_topologies_are_seeded(topology):
    res = {"topology": topology, "p": 0.4, "neighbours": 3}

    def skips(seed=None, run_seed=0):
        r = dict(res, seed=seed) if seed is not None else res
        return names(stack(12, residual=r, run={"seed": run_seed}), "residual")

    assert skips(seed=3) == skips(seed=3)
    assert skips(seed=3, run_seed=1) == skips(seed=3, run_seed=2)  # the residual seed wins
    assert skips(run_seed=5) == skips(run_seed=5)
    assert len({tuple(skips(seed=s)) for s in range(8)}) > 1
    assert len({tuple(skips(run_seed=s)) for s in range(8)}) > 1
    for name in skips(seed=1):
        a, b = (int(x[1:]) for x in name.split("_"))
        assert b - a >= 2


def test_residual_duplicates_an_explicit_projection():
    for proj in ({"pre": "h1", "post": "h4", "gamma": "auto"}, {"pre": "h4", "post": "h1", "gamma": "auto"}):
        err = spec_error(hidden={"count": 10, "size": 3}, projections=[proj],
                         residual={"topology": "dense_every", "k": 3})
        assert err.key == "model.residual[0]"
        assert "the skip 'h1 -> h4' duplicates an existing projection" in str(err)
    err = spec_error(hidden={"count": 10, "size": 3},
                     residual=[{"topology": "dense_every", "k": 3}, {"topology": "dense_every", "k": 3, "start": 4}])
    assert err.key == "model.residual[1]" and "'h4 -> h7'" in str(err)


def test_residual_with_softmax_readout():
    a = stack(7, chain={"gamma": 0.5}, readout={"kind": "softmax"}, residual={"topology": "dense_every", "k": 3})
    assert names(a, "residual") == ["h1_h4", "h4_h7"]
    assert a.top.name == "h7"
    assert a.energy_weights["h7"] == 1.0 and a.energy_weights["h1"] == 64.0


# ---------------------------------------------------------------- lookups and counts


def test_lookups_and_weight_scale():
    a = stack(3, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "h3", "gamma": "auto"}])
    assert [p.name for p in a.incoming("h3")] == ["h1_h3", "h2_h3"]
    assert [p.name for p in a.outgoing("h1")] == ["h1_h2", "h1_h3"]
    assert a.incoming("input") == () and a.outgoing("output") == ()
    assert a.weight_scale(a.projection("input_h1")) == 8.0
    assert a.weight_scale(a.projection("h1_h2")) == 4.0
    assert a.weight_scale(a.projection("h1_h3")) == 2.0
    assert a.weight_scale(a.projection("h3_output")) == 1.0
    with pytest.raises(KeyError):
        a.projection("h2_h1")
    assert [l.name for l in a.free_layers] == ["h1", "h2", "h3", "output"]
    assert a.top is a.output


def test_n_params():
    # weights 4*3 + 3*5 + 5*2 = 37, biases 3 + 5 + 2 = 10
    assert arch(hidden=(3, 5), input=4, output=2).n_params() == 47
    # the readout has weights but no bias of its own
    assert arch(hidden=(3, 5), input=4, output=2, readout={"kind": "softmax"}).n_params() == 45
    # no biases
    assert arch(hidden=(3, 5), input=4, output=2, neuron={"bias": False}).n_params() == 37
    # an extra projection h1 -> output adds 3*2
    a = arch(hidden=(3, 5), input=4, output=2, projections=[{"pre": "h1", "post": "output", "gamma": "auto"}])
    assert a.n_params() == 53


def test_architecture_is_immutable():
    from dataclasses import FrozenInstanceError

    a = stack(2)
    with pytest.raises(FrozenInstanceError):
        a.mode = "vector_field"
    with pytest.raises(FrozenInstanceError):
        a.layers[0].size = 9
    with pytest.raises(TypeError):
        a.energy_weights["h1"] = 3.0


def test_architecture_is_built_once_per_spec():
    s = spec(hidden=(3, 4))
    assert build_architecture(s) is build_architecture(s)
    assert build_architecture(spec(hidden=(3, 4))) is build_architecture(s)  # same content, same object
    assert build_architecture(spec(hidden=(3, 5))) is not build_architecture(s)


def test_auto_skip_to_the_output():
    # c_output = 1, c_h2 = 2, c_h1 = 4: gamma(h1 -> output) = 1/4
    a = stack(2, chain={"gamma": 0.5}, projections=[{"pre": "h1", "post": "output", "gamma": "auto"}])
    assert a.projection("h1_output").gamma == pytest.approx(0.25)
    assert math.isclose(a.energy_weights["h1"], 4.0)


def test_name_check_predicts_every_object_the_builder_makes():
    """architecture.names lists the names the Brian2 builder gives its objects, so that spec
    validation can refuse layer names that would collide; the list must not drift."""
    from brian_ep.api import build
    from brian_ep.architecture.names import object_names
    from brian_ep.spec import load_spec

    spec = load_spec({
        "model": {"input": {"size": 4}, "hidden": {"count": 3, "size": 3}, "output": {"size": 2},
                  "readout": {"kind": "softmax"}, "residual": {"topology": "dense_every", "k": 2}},
        "ep": {"nudging": "random_sign"}, "optim": {"algorithm": "adam", "batch_size": 2},
    })
    arch = build_architecture(spec)
    predicted = set(object_names([layer.name for layer in arch.layers], [p.name for p in arch.all_projections]))
    from brian2 import prefs

    previous, prefs.codegen.target = prefs.codegen.target, "numpy"  # the names do not depend on the target
    try:  # (the default, Cython, would compile the synapses' creation code)
        net = build(spec, n_samples=2)
    finally:
        prefs.codegen.target = previous
    made = {obj.name.removeprefix("ep_") for obj in net.network.objects}
    made |= {sub.name.removeprefix("ep_") for obj in net.network.objects for sub in obj.contained_objects}
    ours = {name for name in made if not any(name.endswith(s) for s in ("_stateupdater", "_thresholder", "_resetter",
                                                                         "_subexpression_update", "_pre", "_post"))}
    ours = {name for name in ours if "_thresholder_" not in name and "summed_variable" not in name and not name.endswith(("_learn", "_deliver"))}
    assert ours <= predicted, sorted(ours - predicted)
    assert {"h1", "input_h1", "h1_divergence", "h1_relay", "h1_h3", "h1_h3_ep", "readout", "readout_latch", "input_load",
            "normaliser", "outputs", "h3_output_optim"} <= ours
