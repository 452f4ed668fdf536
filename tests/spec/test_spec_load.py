"""Tests of brian_ep.spec: loading YAML specs, time quantities, validation errors (one
paragraph naming the key and the fix), overrides, and the command line's error path."""

import copy
from pathlib import Path

import pytest
import yaml
from brian2 import ms, mV, second

from brian_ep import cli
from brian_ep.spec import (
    EPSpec,
    Spec,
    SpecError,
    apply_overrides,
    dump_spec,
    is_spec_key,
    load_spec,
    parse_time,
    section_keys,
    spec_from_dict,
    spec_to_dict,
)

pytestmark = pytest.mark.codegen_independent

REPO = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted((REPO / "network_specs").rglob("*.yaml"))


def minimal(**model):
    """A small valid spec as a dict: 4 - 3 - 2, with `model` keys replaced."""
    m = {"input": {"size": 4}, "hidden": [{"size": 3}], "output": {"size": 2}}
    m.update(model)
    return {"model": m}


def spec_error(data) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    return info.value


def compact(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- shipped specs


def test_there_are_spec_files():
    assert any(p.name == "digits.yaml" for p in SPEC_FILES)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_shipped_spec_loads_and_round_trips(path, tmp_path):
    spec = load_spec(path)
    assert isinstance(spec, Spec)
    data = spec_to_dict(spec)
    # YAML-ready: plain types only, times as text
    assert yaml.safe_load(yaml.safe_dump(data)) == data
    assert spec_from_dict(data) == spec
    out = tmp_path / "again.yaml"
    dump_spec(spec, out)
    again = load_spec(out)
    assert again == spec
    assert spec_to_dict(again) == data
    assert load_spec(spec) == spec  # a Spec is accepted as a source


def _init_schemes(node, path="model"):
    """``(path, named)`` for every ``InitSpec`` in a spec's model: ``named`` when the YAML
    gives its ``scheme`` (not the default)."""
    from pydantic import BaseModel

    from brian_ep.spec.schema import InitSpec

    if isinstance(node, InitSpec):
        return [(path, "scheme" in node.model_fields_set)]
    if isinstance(node, BaseModel):
        return [found for key in type(node).model_fields for found in _init_schemes(getattr(node, key), f"{path}.{key}")]
    if isinstance(node, (list, tuple)):
        return [found for i, item in enumerate(node) for found in _init_schemes(item, f"{path}[{i}]")]
    return []


def test_every_shipped_spec_names_its_init_scheme():
    """A change of the init default (docs/reliability.md) leaves the shipped specs' initial
    weights, and so their results, as they were."""
    unnamed = [(p.name, where) for p in SPEC_FILES for where, named in _init_schemes(load_spec(p).model) if not named]
    assert unnamed == []
    assert _init_schemes(spec_from_dict(minimal()).model) == [("model.chain.init", False)]  # the check sees a default


def test_spec_keys_and_sections_come_from_the_schema():
    assert section_keys() == ["data", "description", "ep", "model", "name", "optim", "run"]
    assert "epochs" in section_keys("run") and section_keys("run.epochs") == [] and section_keys("nosuch") == []
    assert all(is_spec_key(k) for k in ("run", "run.epochs", "model.chain.init.scheme", "model.hidden"))
    assert not any(is_spec_key(k) for k in ("run.epoch", "nosuch.key", "run.epochs.x", ""))


def test_digits_values():
    spec = load_spec(REPO / "network_specs" / "digits.yaml")
    assert spec.name == "digits"
    assert spec.model.input.size == 64 and spec.model.output.size == 10
    assert [h.size for h in spec.model.hidden] == [256]
    assert spec.model.chain.lr == [0.05, 0.02]
    assert spec.model.readout.kind == "softmax"
    assert float(spec.ep.dt) == pytest.approx(0.5e-3)
    assert spec.ep.free_steps == 30 and spec.ep.nudged_steps == 10
    assert spec.ep.window_steps == 50
    assert spec.run.engine_options("brian2").device == "cpp_standalone"
    d = spec_to_dict(spec)
    assert d["ep"]["dt"] == "0.5 ms"
    assert d["model"]["neuron"]["tau"] == "1 ms"


def test_spec_is_frozen():
    from pydantic import ValidationError

    spec = spec_from_dict(minimal())
    with pytest.raises(ValidationError, match="frozen"):
        spec.name = "other"
    with pytest.raises(ValidationError, match="frozen"):
        spec.ep.beta = 1.0


def test_removed_loss_key_says_why():
    """``ep.loss`` was accepted and ignored; an old spec that has it is told it is gone."""
    for value in ("mse", "cross_entropy", None):
        err = spec_error({**minimal(), "ep": {"loss": value}})
        assert err.key == "ep.loss"
        assert "removed" in str(err) and "model.readout" in str(err) and "Delete the key" in str(err)


# ---------------------------------------------------------------- time quantities


@pytest.mark.parametrize(
    "text, seconds",
    [("0.5 ms", 0.5e-3), ("1*ms", 1e-3), ("2e-3 s", 2e-3), ("250 us", 250e-6), (" 3 * second ", 3.0), (".5ms", 0.5e-3)],
)
def test_parse_time_text(text, seconds):
    q = parse_time(text)
    assert float(q) == pytest.approx(seconds, rel=1e-12)
    assert q.has_same_dimensions(second)


def test_parse_time_quantity_passthrough():
    q = 0.25 * ms
    assert parse_time(q) is q
    with pytest.raises(ValueError, match="must be a duration"):
        parse_time(3 * mV)


@pytest.mark.parametrize(
    "value, fragment",
    [
        (0.5, "needs a unit"),
        (2, "needs a unit"),
        ("0.5 min", "unit s, ms or us"),
        ("0.5 hours", "unit s, ms or us"),
        ("ms", "must be a duration"),
        ("-1 ms", "must be > 0"),
        ("0 ms", "must be > 0"),
        ("1e400 ms", "finite"),
        ("1e-400 s", "must be > 0"),
        ("1e-320 us", "finite duration"),
        (None, "must be a duration"),
        (True, "must be a duration"),
    ],
)
def test_parse_time_errors(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_time(value)


def test_time_errors_in_spec_name_the_key():
    err = spec_error({**minimal(), "ep": {"dt": 0.5}})
    assert err.key == "ep.dt"
    assert "key 'ep.dt'" in str(err) and "needs a unit" in str(err) and "'0.5 ms'" in str(err)
    # the offending value is shown once, not twice
    assert str(err).count("(got") == 1

    err = spec_error({**minimal(), "ep": {"dt": "0.5 furlongs"}})
    assert err.key == "ep.dt" and "unit s, ms or us" in str(err)

    err = spec_error({**minimal(), "ep": {"dt": "-0.5 ms"}})
    assert err.key == "ep.dt" and "must be > 0" in str(err)

    err = spec_error(minimal(neuron={"tau": 10}))
    assert err.key == "model.neuron.tau" and "needs a unit" in str(err)


def test_time_quantity_in_dict_spec():
    spec = spec_from_dict({**minimal(), "ep": {"dt": 0.25 * ms, "t_free": "5 ms"}})
    assert float(spec.ep.dt) == pytest.approx(0.25e-3)
    assert spec.ep.free_steps == 20
    assert spec_to_dict(spec)["ep"]["dt"] == "0.25 ms"


def test_t_free_must_be_multiple_of_dt():
    err = spec_error({**minimal(), "ep": {"dt": "0.5 ms", "t_free": "0.7 ms"}})
    assert err.key == "ep"
    assert "'t_free' (0.7 ms) must be a positive multiple of dt (0.5 ms)" in str(err)
    err = spec_error({**minimal(), "ep": {"dt": "0.5 ms", "t_nudge": "1.2 ms"}})
    assert "'t_nudge'" in str(err) and "multiple of dt" in str(err)


def test_infinite_duration_is_a_spec_error():
    err = spec_error({**minimal(), "ep": {"t_free": "1e400 ms"}})
    assert err.key == "ep.t_free" and "finite" in str(err)
    # an infinite tau used to load and then dump as 'inf ms', which did not load back
    err = spec_error(minimal(neuron={"tau": "1e400 ms"}))
    assert err.key == "model.neuron.tau" and "finite" in str(err)
    err = spec_error({**minimal(), "ep": {"dt": "1e-300 s", "t_free": "1e300 s"}})
    assert "'t_free'" in str(err)


# ---------------------------------------------------------------- phase lengths


def test_steps_defaults():
    ep = spec_from_dict(minimal()).ep
    assert (ep.free_steps, ep.nudged_steps) == (20, 10)
    assert ep.t_free is None and ep.t_nudge is None


def test_durations_become_steps():
    ep = spec_from_dict({**minimal(), "ep": {"dt": "0.5 ms", "t_free": "5 ms", "t_nudge": "1 ms"}}).ep
    assert (ep.free_steps, ep.nudged_steps) == (10, 2)
    assert ep.t_free is None and ep.t_nudge is None
    ep = spec_from_dict({**minimal(), "ep": {"dt": "100 us", "t_free": "2e-3 s"}}).ep
    assert ep.free_steps == 20


@pytest.mark.parametrize("steps_key, time_key", [("free_steps", "t_free"), ("nudged_steps", "t_nudge")])
def test_steps_and_duration_are_exclusive(steps_key, time_key):
    err = spec_error({**minimal(), "ep": {steps_key: 4, time_key: "2 ms"}})
    assert err.key == "ep"
    assert f"give either '{steps_key}' or '{time_key}', not both" in str(err)


@pytest.mark.parametrize("nudging, expected", [("centered", 30 + 2 * 7), ("positive", 30 + 7), ("random_sign", 30 + 7)])
def test_window_steps(nudging, expected):
    ep = EPSpec(free_steps=30, nudged_steps=7, nudging=nudging)
    assert ep.window_steps == expected


def test_nonpositive_steps_rejected():
    err = spec_error({**minimal(), "ep": {"free_steps": 0}})
    assert err.key == "ep.free_steps" and "greater than 0" in str(err)


# ---------------------------------------------------------------- validation errors


def test_unknown_key_did_you_mean():
    data = minimal()
    data["model"]["hiden"] = data["model"].pop("hidden")
    err = spec_error(data)
    assert err.key == "model.hiden"
    text = str(err)
    assert text.startswith("<dict>: key 'model.hiden': unknown key; did you mean 'hidden'?")
    assert "Allowed: chain, hidden, input, neuron, output, projections, readout, residual." in text


def test_unknown_top_level_section():
    err = spec_error({**minimal(), "optimizer": {"algorithm": "sgd"}})
    assert err.key == "optimizer"
    assert "did you mean 'optim'?" in str(err)
    assert "data, description, ep, model, name, optim, run" in str(err)


def test_negative_size():
    err = spec_error(minimal(hidden=[{"size": 3}, {"size": -3}]))
    assert err.key == "model.hidden[1].size"
    assert "key 'model.hidden[1].size'" in str(err) and "greater than 0" in str(err) and "-3" in str(err)
    err = spec_error(minimal(hidden={"count": 2, "size": -1}))
    assert err.key == "model.hidden.size"
    err = spec_error(minimal(input={"size": 0}))
    assert err.key == "model.input.size"


def test_unknown_neuron_model_lists_the_registered_ones():
    err = spec_error(minimal(neuron={"model": "lif"}))
    assert err.key == "model.neuron.model"
    assert "'lif' is not one of the supported values" in str(err)
    assert err.allowed == "'rate' or 'bernoulli'" and "Allowed: 'rate' or 'bernoulli'." in str(err)
    # a per-layer override is checked the same way
    err = spec_error(minimal(hidden=[{"size": 3, "neuron": {"model": "izhikevich"}}]))
    assert err.key == "model.hidden[0].neuron.model" and "'rate'" in str(err)


def test_unknown_activation_lists_activations():
    err = spec_error(minimal(neuron={"activation": "relu"}))
    assert err.key == "model.neuron.activation"
    for name in ("hard_sigmoid", "sigmoid", "tanh"):
        assert f"'{name}'" in err.allowed


@pytest.mark.parametrize("gamma", [1.5, 0.0, -0.2, [0.5, 2.0]])
def test_chain_gamma_out_of_range(gamma):
    err = spec_error(minimal(chain={"gamma": gamma}))
    assert err.key == "model.chain.gamma"
    assert "each gamma must be in (0, 1]" in str(err)


@pytest.mark.parametrize("gamma", [1.5, 0.0])
def test_projection_gamma_out_of_range(gamma):
    data = minimal(hidden=[{"size": 3}, {"size": 3}], projections=[{"pre": "h1", "post": "output", "gamma": gamma}])
    err = spec_error(data)
    assert err.key == "model.projections[0].gamma"
    assert "(0, 1] or 'auto'" in str(err)


def test_chain_lr_list_length():
    err = spec_error(minimal(chain={"lr": [0.1, 0.2, 0.3]}))
    assert err.key == "model.chain.lr"
    assert "has 3 entries but the chain has 2 projections" in str(err)
    assert "Allowed: one number, or a list of 2." in str(err)
    err = spec_error(minimal(chain={"gamma": [1.0]}))
    assert err.key == "model.chain.gamma" and "list of 2" in str(err)


def test_negative_lr():
    err = spec_error(minimal(chain={"lr": -0.1}))
    assert err.key == "model.chain.lr" and "each lr must be >= 0" in str(err)


def test_missing_model():
    err = spec_error({"name": "x"})
    assert err.key == "model" and "is required but missing" in str(err)
    err = spec_error({"model": {"input": {"size": 4}}})
    assert err.key == "model.output" and "required" in str(err)


def test_bad_layer_name():
    err = spec_error(minimal(hidden=[{"size": 3, "name": "1x"}]))
    assert err.key == "model.hidden[0].name" and "valid identifier" in str(err)
    err = spec_error(minimal(hidden=[{"size": 3, "name": "input"}]))
    assert "layer name 'input' is used twice" in str(err)


def test_negative_seed_rejected():
    err = spec_error({**minimal(), "run": {"seed": -1}})
    assert err.key == "run.seed"
    data = minimal(hidden={"count": 4, "size": 3}, residual={"topology": "random", "seed": -5})
    err = spec_error(data)
    assert err.key == "model.residual[0].seed"


# -- files


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_not_a_mapping(tmp_path):
    path = write(tmp_path, "- 1\n- 2\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(str(path))
    assert "must be a YAML mapping with the sections model, ep, optim, data, run (got list)" in str(info.value)
    with pytest.raises(SpecError, match="got NoneType"):
        load_spec(write(tmp_path, "", "empty.yaml"))


def test_invalid_yaml_has_line_number(tmp_path):
    path = write(tmp_path, "model:\n  input: {size: 4}\n  hidden: [{size: 3}\n  output: {size: 2}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert text.startswith(str(path))
    assert "is not valid YAML at line 4" in text


def test_missing_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value) and "file not found" in str(info.value)
    assert "network_specs/digits.yaml" in str(info.value)
    with pytest.raises(SpecError, match="it is a directory"):
        load_spec(tmp_path)


def test_error_from_file_names_the_file(tmp_path):
    path = write(tmp_path, yaml.safe_dump(minimal(hidden=[{"size": -2}])))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: key 'model.hidden[0].size'")


# -- graph checks (architecture run at load time)


def two_hidden(**model):
    return minimal(hidden=[{"size": 3}, {"size": 3}], **model)


def test_unknown_layer_in_projection():
    err = spec_error(two_hidden(projections=[{"pre": "h9", "post": "output"}]))
    assert err.key == "model.projections[0]"
    assert "unknown layer 'h9' as pre" in str(err)
    assert err.allowed == "'input', 'h1', 'h2', 'output'"
    err = spec_error(two_hidden(projections=[{"pre": "h1", "post": "out"}]))
    assert "unknown layer 'out' as post" in str(err)


def test_projection_into_input():
    err = spec_error(two_hidden(projections=[{"pre": "h2", "post": "input"}]))
    assert err.key == "model.projections[0]"
    assert "clamped input layer" in str(err) and "a hidden or output layer as post" in str(err)


def test_self_projection():
    err = spec_error(two_hidden(projections=[{"pre": "h1", "post": "h1"}]))
    assert err.key == "model.projections[0]" and "from 'h1' to itself" in str(err)


def test_duplicate_projections():
    err = spec_error(two_hidden(projections=[{"pre": "h1", "post": "output"}, {"pre": "h1", "post": "output"}]))
    assert err.key == "model.projections[1]" and "duplicate projection 'h1 -> output'" in str(err)
    err = spec_error(two_hidden(projections=[{"pre": "h2", "post": "h1"}]))
    assert err.key == "model.projections[0]"
    assert "'h2 -> h1' duplicates the projection 'h1 -> h2'" in str(err)
    err = spec_error(two_hidden(projections=[{"pre": "h1", "post": "output"}, {"pre": "output", "post": "h1"}]))
    assert err.key == "model.projections[1]" and "duplicates" in str(err)


def test_chain_override_is_not_a_duplicate():
    spec = spec_from_dict(two_hidden(projections=[{"pre": "h1", "post": "h2", "lr": 0.3}]))
    assert spec.model.projections[0].lr == 0.3


def test_dt_larger_than_tau():
    err = spec_error({**minimal(), "ep": {"dt": "2 ms"}})
    assert err.key == "ep.dt"
    assert "dt (2 ms) is larger than tau (1 ms) of layer 'h1'" in str(err)
    assert "Allowed: dt <= 1 ms, or a larger tau." in str(err)
    err = spec_error({**minimal(hidden=[{"size": 3, "neuron": {"tau": "0.2 ms"}}])})
    assert "tau (0.2 ms) of layer 'h1'" in str(err)


def test_softmax_readout_needs_hidden():
    err = spec_error({"model": {"input": {"size": 4}, "output": {"size": 2}, "readout": {"kind": "softmax"}}})
    assert err.key == "model.readout.kind"
    assert "needs at least one hidden layer" in str(err) and "'none'" in str(err)


def test_softmax_readout_output_projects_nowhere():
    for proj in ({"pre": "h1", "post": "output"}, {"pre": "output", "post": "h1"}):
        err = spec_error(two_hidden(readout={"kind": "softmax"}, projections=[proj]))
        assert err.key == "model.projections[0]"
        assert "softmax readout" in str(err)


def test_residual_needs_three_hidden():
    err = spec_error(two_hidden(residual={"topology": "dense_every", "k": 2}))
    assert err.key == "model.residual[0]"
    assert "at least 3 hidden layers (this network has 2)" in str(err)


def test_residual_accepts_one_or_a_list():
    one = spec_from_dict(minimal(hidden={"count": 5, "size": 2}, residual={"topology": "dense_every", "k": 2}))
    many = spec_from_dict(minimal(hidden={"count": 5, "size": 2}, residual=[{"topology": "dense_every", "k": 2}]))
    assert one == many and len(one.model.residual) == 1


def test_unknown_topology():
    err = spec_error(minimal(hidden={"count": 5, "size": 2}, residual={"topology": "scale_free"}))
    assert err.key == "model.residual[0].topology"
    assert "'dense_every'" in err.allowed and "'small_world'" in err.allowed


# ---------------------------------------------------------------- overrides


def test_apply_overrides_dotted():
    data = minimal()
    before = copy.deepcopy(data)
    out = apply_overrides(data, {"run.epochs": 2, "ep.beta": 0.1, "model.hidden": [{"size": 7}], "name": "x"})
    assert data == before  # not mutated
    assert out["run"] == {"epochs": 2}
    assert out["ep"] == {"beta": 0.1}
    assert out["model"]["hidden"] == [{"size": 7}]
    assert out["model"]["input"] == {"size": 4}
    assert out["name"] == "x"
    spec = spec_from_dict(out)
    assert spec.run.epochs == 2 and spec.ep.beta == 0.1 and spec.model.hidden[0].size == 7


def test_apply_overrides_through_a_value_fails():
    with pytest.raises(SpecError) as info:
        apply_overrides({"run": {"epochs": 3}}, {"run.epochs.x": 1})
    assert info.value.key == "run.epochs.x"
    assert "'epochs' is not a section" in str(info.value)


def test_load_spec_with_overrides(tmp_path):
    path = write(tmp_path, yaml.safe_dump(minimal()))
    spec = load_spec(path, {"run.epochs": 3, "model.neuron.activation": "tanh", "ep.dt": "0.25 ms"})
    assert spec.run.epochs == 3
    assert spec.model.neuron.activation == "tanh"
    assert float(spec.ep.dt) == pytest.approx(0.25e-3)
    with pytest.raises(SpecError) as info:
        load_spec(path, {"run.epoch": 3})
    assert info.value.key == "run.epoch" and "did you mean 'epochs'?" in str(info.value)
    assert info.value.source == str(path)


# ---------------------------------------------------------------- command line


def run_cli_train(path, capsys):
    """Run `brian-ep train PATH --quiet`; return the exit code and stderr, checked to be one
    paragraph and then with its line breaks undone."""
    code = cli.main(["train", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert_one_paragraph(err)
    return code, flat(err)


def flat(text):
    return " ".join(text.split())


def assert_one_paragraph(err):
    assert "Traceback" not in err
    assert err.startswith("brian-ep: error: ")
    body = err.strip("\n")
    lines = body.split("\n")
    assert all(line.startswith("  ") and line.strip() for line in lines[1:]), err
    assert all(len(line) <= 100 for line in lines if " " in line.strip())


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default run directory would land here, not in the repository
    return tmp_path


def test_cli_unknown_key(in_tmp, capsys):
    data = minimal()
    data["model"]["hiden"] = data["model"].pop("hidden")
    path = write(in_tmp, yaml.safe_dump(data), "bad.yaml")
    code, err = run_cli_train(path, capsys)
    assert code == 2
    assert "key 'model.hiden'" in err and "did you mean 'hidden'?" in err and str(path) in err


def test_cli_negative_size(in_tmp, capsys):
    path = write(in_tmp, yaml.safe_dump(minimal(hidden=[{"size": -3}])), "bad.yaml")
    code, err = run_cli_train(path, capsys)
    assert code == 2
    assert "key 'model.hidden[0].size'" in err and "greater than 0" in err


def test_cli_unknown_neuron_model(in_tmp, capsys):
    path = write(in_tmp, yaml.safe_dump(minimal(neuron={"model": "lif"})), "bad.yaml")
    code, err = run_cli_train(path, capsys)
    assert code == 2
    assert "key 'model.neuron.model'" in err and "'lif'" in err and "Allowed: 'rate' or 'bernoulli'." in err


def test_cli_missing_dataset(in_tmp, capsys):
    empty = in_tmp / "no-data-here"
    empty.mkdir()
    data = {
        "name": "mnist-missing",
        "model": {"input": {"size": 784}, "hidden": [{"size": 8}], "output": {"size": 10}},
        "data": {"dataset": "mnist", "directory": str(empty)},
        "run": {"epochs": 1},
    }
    path = write(in_tmp, yaml.safe_dump(data), "mnist.yaml")
    code, err = run_cli_train(path, capsys)
    assert code == 2
    assert "data set 'mnist' not found" in err
    assert str(empty) in err  # the path is not broken across lines
    assert "train-images-idx3-ubyte" in err
    assert not (in_tmp / "runs").exists()


def test_cli_missing_spec_file(in_tmp, capsys):
    code, err = run_cli_train(in_tmp / "absent.yaml", capsys)
    assert code == 2
    assert "file not found" in err


def test_cli_set_override_error(in_tmp, capsys):
    path = write(in_tmp, yaml.safe_dump(minimal()), "ok.yaml")
    code = cli.main(["train", str(path), "--quiet", "--set", "run.epochs"])
    err = capsys.readouterr().err
    assert code == 2
    assert_one_paragraph(err)
    assert "--set expects KEY=VALUE" in flat(err)
    code = cli.main(["train", str(path), "--quiet", "--set", "ep.dt=3"])
    err = flat(capsys.readouterr().err)
    assert code == 2 and "key 'ep.dt'" in err and "needs a unit" in err
