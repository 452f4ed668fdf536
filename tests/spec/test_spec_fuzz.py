"""Fuzzing the spec loader: whatever the mapping, `spec_from_dict` returns a Spec or raises
SpecError (one line naming the problem), never another exception."""

import copy

import pytest
from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brian_ep.architecture import build_architecture
from brian_ep.spec import Spec, SpecError, spec_from_dict, spec_to_dict

pytestmark = pytest.mark.codegen_independent

#: 60 examples a test in the fast loop, 300 under -m long or HYPOTHESIS_PROFILE=long
FUZZ = settings(max_examples=fuzz_examples(300, 60), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Real key names (so that generated mappings reach deep into the schema) and some noise.
KEYS = [
    "model", "ep", "optim", "data", "run", "name", "description",
    "input", "hidden", "output", "neuron", "chain", "projections", "residual", "readout",
    "size", "count", "tau", "activation", "bias", "gamma", "lr", "init", "scheme", "gain",
    "pre", "post", "topology", "k", "start", "p", "neighbours", "seed", "kind",
    "mode", "dt", "free_steps", "t_free", "nudged_steps", "t_nudge", "beta", "nudging", "loss",
    "nudge_force", "divergence_threshold", "algorithm", "batch_size", "lr_scale", "lr_schedule",
    "adam_betas", "adam_eps", "dataset", "directory", "n_train", "n_test", "validation",
    "epochs", "engine", "device", "target", "chunk_size", "threads", "eval_batch_size", "dtype",
    "hiden", "Model", "", "h1", "1",
]
LAYER_NAMES = ["input", "h1", "h2", "h3", "h4", "h5", "output", "out", "x", "", "h0", "1a"]
TIMES = ["0.5 ms", "1 ms", "0.1 ms", "2 ms", "5 ms", "250 us", "1e-3 s", "1*ms", "0 ms", "-1 ms",
         "1e400 ms", "1e-300 s", "3 min", "ms", "", 0.5, 1, -2, None, True]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-10**6, max_value=10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(TIMES)
    | st.sampled_from(["auto", "rate", "lif", "tanh", "relu", "softmax", "dense_every", "random", "small_world",
                      "exact", "vector_field", "centered", "mnist", "numpy", "brian2"])
)
keys = st.sampled_from(KEYS) | st.text(max_size=6)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)

def spec_strategy(noisy):
    """Specs shaped like the schema. With `noisy`, about one value in eight (at every level)
    is replaced by something wrong: out of range, of the wrong type, None, a random tree.
    Without, every value is valid on its own and only the graph (names, gammas, skips,
    readout, mode) may be inconsistent."""

    def mostly(good, bad):
        return st.one_of([good] * 7 + [bad]) if noisy else good

    size = mostly(st.integers(min_value=1, max_value=12), st.sampled_from([0, -3, None, "4", 2.5, "big", -(10**9)]))
    gamma = mostly(
        st.floats(min_value=1e-3, max_value=1.0) | st.sampled_from([1.0, 0.5, 0.25, 0.125, "auto"]),
        st.sampled_from([0.0, -0.5, 1.5, None, "half", float("nan")]),
    )
    chain_gamma = mostly(st.floats(min_value=1e-3, max_value=1.0) | st.sampled_from([1.0, 0.5]), gamma)
    time = mostly(st.sampled_from(["0.5 ms", "1 ms", "2 ms", "5 ms", "1e-3 s", "1*ms", "500 us"]), st.sampled_from(TIMES))
    neuron = st.fixed_dictionaries(
        {},
        optional={
            "model": mostly(st.just("rate"), st.sampled_from(["lif", None, 3])),
            "activation": mostly(st.sampled_from(["hard_sigmoid", "sigmoid", "tanh"]), st.sampled_from(["relu", None])),
            "tau": time,
            "bias": mostly(st.booleans(), st.sampled_from([None, "maybe"])),
        },
    )
    name = mostly(st.sampled_from(["a", "b", "layer_x", "h2", "input", "output"]), st.sampled_from(LAYER_NAMES + [None]))
    layer = st.fixed_dictionaries({"size": size}, optional={"name": name, "neuron": mostly(neuron, values)})
    hidden = mostly(
        st.lists(st.fixed_dictionaries({"size": size}, optional={"neuron": neuron}), max_size=6)
        | st.fixed_dictionaries({"count": st.integers(1, 12), "size": size}, optional={"neuron": neuron}),
        values | st.fixed_dictionaries({"count": st.integers(-1, 300), "size": size}) | st.lists(layer, max_size=6),
    )
    layer_name = mostly(st.sampled_from(["input", "h1", "h2", "h3", "h4", "output"]), st.sampled_from(LAYER_NAMES))
    projection = st.fixed_dictionaries(
        {"pre": layer_name, "post": layer_name},
        optional={"gamma": gamma, "lr": mostly(st.sampled_from([0.1, 0.0]), st.sampled_from([-1.0, None, "x"]))},
    )
    residual = st.fixed_dictionaries(
        {"topology": mostly(st.sampled_from(["dense_every", "random", "small_world"]), st.just("ring"))},
        optional={
            "k": mostly(st.integers(2, 12), st.integers(-1, 1)),
            "start": mostly(st.integers(1, 12), st.integers(-1, 0)),
            "p": mostly(st.floats(0, 1), st.floats(-0.5, 1.5)),
            "neighbours": mostly(st.integers(2, 10) | st.just(10**9), st.integers(-1, 1)),
            "seed": mostly(st.integers(0, 2**40) | st.none(), st.integers(-5, -1)),
            "gamma": gamma,
        },
    )
    model = st.fixed_dictionaries(
        {"input": layer, "output": layer},
        optional={
            "hidden": hidden,
            "neuron": neuron,
            "chain": st.fixed_dictionaries(
                {},
                optional={
                    "gamma": chain_gamma | st.lists(chain_gamma, max_size=7),
                    "lr": mostly(st.sampled_from([0.1, [0.1, 0.2]]), st.sampled_from([-1, None])),
                },
            ),
            "projections": st.lists(projection, max_size=3),
            "residual": residual | st.lists(residual, max_size=2),
            "readout": st.fixed_dictionaries(
                {}, optional={"kind": mostly(st.sampled_from(["none", "softmax"]), st.just("sparse"))}
            ),
        },
    )
    ep = st.fixed_dictionaries(
        {},
        optional={
            "mode": mostly(st.sampled_from(["exact", "vector_field"]), st.just("approx")),
            "dt": time,
            "free_steps": mostly(st.integers(1, 50), st.integers(-2, 0)),
            "t_free": time,
            "nudged_steps": mostly(st.integers(1, 20), st.integers(-2, 0)),
            "t_nudge": time,
            "beta": mostly(st.floats(0.01, 2), st.floats(allow_nan=True) | st.sampled_from([0, -1])),
            "nudging": mostly(st.sampled_from(["centered", "positive", "random_sign"]), st.just("negative")),
        },
    )
    return st.fixed_dictionaries(
        {"model": model},
        optional={
            "ep": ep,
            "run": st.fixed_dictionaries(
                {}, optional={"seed": mostly(st.integers(0, 2**64), st.integers(-3, -1)), "epochs": st.integers(1, 5)}
            ),
            "name": mostly(st.text(max_size=8), scalars),
            "optim": mostly(
                st.fixed_dictionaries({}, optional={"algorithm": st.sampled_from(["sgd", "adam"])}), values
            ),
            "data": mostly(st.fixed_dictionaries({}, optional={"dataset": st.sampled_from(["digits", "mnist"])}), values),
        },
    )


specs = spec_strategy(noisy=True)
typed_specs = spec_strategy(noisy=False)


def check(data):
    snapshot = copy.deepcopy(data)
    try:
        spec = spec_from_dict(data)
    except SpecError as exc:
        text = str(exc)
        assert text.startswith("<dict>: ") and len(text) > len("<dict>: ")
        assert exc.source == "<dict>"
        assert "Traceback" not in text
        return None
    assert data == snapshot or data != data  # the input is not modified (nan != nan)
    assert isinstance(spec, Spec)
    arch = build_architecture(spec)
    assert set(arch.energy_weights) == {layer.name for layer in arch.free_layers}
    # the YAML form is a fixed point of load -> dump
    dumped = spec_to_dict(spec)
    assert spec_to_dict(spec_from_dict(dumped)) == dumped
    return spec


@FUZZ
@given(values)
def test_random_values(data):
    check(data)


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_random_mappings(data):
    check(data)


@FUZZ
@given(specs)
def test_valid_ish_specs(data):
    check(data)


@FUZZ
@given(typed_specs)
def test_well_typed_specs(data):
    check(data)


@FUZZ
@given(specs, st.lists(st.sampled_from(KEYS), min_size=1, max_size=4), values)
def test_mutated_specs(data, path, value):
    """Put a random value at a random (mostly real) dotted path."""
    node = data
    for part in path[:-1]:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value
    check(data)


def test_valid_ish_specs_are_sometimes_valid():
    """The generator above must reach the accepting side too, or the fuzzing proves little."""
    from hypothesis import find

    found = find(
        typed_specs,
        lambda d: bool(d["model"].get("projections") or d["model"].get("residual")) and check(d) is not None,
        settings=settings(max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck)),
    )
    assert isinstance(spec_from_dict(found), Spec)
