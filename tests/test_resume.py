"""What a resume may change: spec differences key by key, allowed by name or section."""

from __future__ import annotations

import pytest

from brian_ep.errors import ArgumentError
from brian_ep.resume import VERSION_KEY, check_resume, flatten, spec_differences

pytestmark = pytest.mark.codegen_independent

OLD = {"name": "x", "model": {"chain": {"lr": [0.05, 0.02]}, "hidden": [{"size": 8}]}, "run": {"epochs": 2, "seed": 0}}


def test_flatten_keeps_lists_whole():
    assert flatten(OLD) == {"name": "x", "model.chain.lr": [0.05, 0.02], "model.hidden": [{"size": 8}], "run.epochs": 2, "run.seed": 0}
    assert flatten({"a": {}}) == {"a": {}}


def test_differences_and_absent_keys():
    new = {"name": "x", "model": {"chain": {"lr": 0.1}, "hidden": [{"size": 8}]}, "run": {"epochs": 3}}
    assert spec_differences(OLD, new) == {"model.chain.lr": ([0.05, 0.02], 0.1), "run.epochs": (2, 3), "run.seed": (0, None)}
    assert spec_differences(OLD, OLD) == {}


def test_refused_unless_allowed_by_key_or_section():
    new = {**OLD, "run": {"epochs": 5, "seed": 0}}
    with pytest.raises(ArgumentError) as info:
        check_resume(OLD, "0.1.0", new, "0.1.0", where="'runs/x'")
    text = str(info.value)
    assert "run.epochs: 2 -> 5" in text and "'runs/x'" in text and "--allow-changes run.epochs" in text
    assert check_resume(OLD, "0.1.0", new, "0.1.0", allow=["run.epochs"]) == {"run.epochs": [2, 5]}
    assert check_resume(OLD, "0.1.0", new, "0.1.0", allow=["run"]) == {"run.epochs": [2, 5]}
    with pytest.raises(ArgumentError):
        check_resume(OLD, "0.1.0", new, "0.1.0", allow=["run.epoch"])  # a prefix of a name is not a section


@pytest.mark.parametrize(
    "name, needles",
    [
        ("nosuch.key", ["top-level keys are data, description, ep, model, name, optim, run", VERSION_KEY]),
        ("run.epoch", ["did you mean 'run.epochs'?", "the keys of 'run' are", "run.epochs, run.eval_batch_size"]),
        ("run.epochs.x", ["the keys of 'run' are"]),
        ("model.neuron.windw", ["did you mean 'model.neuron.window'?", "model.neuron.window"]),
    ],
)
def test_an_allowed_name_that_is_no_key_or_section_is_refused(name, needles):
    """A typo in --allow-changes would allow nothing without a word: it is refused with the
    keys of the section it is in (the schema's and those of the specs: a neuron model's
    options), whether or not the specs differ."""
    old = {**OLD, "model": {**OLD["model"], "neuron": {"model": "bernoulli", "window": 4}}}
    for new in (old, {**old, "run": {"epochs": 5, "seed": 0}}):
        with pytest.raises(ArgumentError) as info:
            check_resume(old, "0.1.0", new, "0.1.0", allow=["run.epochs", name])
        text = str(info.value)
        assert text.startswith(f"--allow-changes: '{name}' is not a key or section of the spec"), text
        assert all(needle in text for needle in needles), text
    assert "differ from the checkpoint's now: run.epochs" in text


def test_schema_keys_and_spec_options_may_be_allowed_without_a_difference():
    """Keys of the schema absent from both specs, a neuron model's options, sections and the
    package version are names that may be allowed."""
    old = {**OLD, "model": {**OLD["model"], "neuron": {"model": "bernoulli", "window": 4}}}
    allow = ["data.n_train", "model.neuron.window", "model.chain", "optim", VERSION_KEY]
    assert check_resume(old, "0.1.0", old, "0.1.0", allow=allow) == {}


def test_package_version_is_checked_too():
    with pytest.raises(ArgumentError, match=f"{VERSION_KEY}: \"0.0.9\" -> \"0.1.0\""):
        check_resume(OLD, "0.0.9", OLD, "0.1.0")
    assert check_resume(OLD, "0.0.9", OLD, "0.1.0", allow=[VERSION_KEY]) == {VERSION_KEY: ["0.0.9", "0.1.0"]}
    assert check_resume(OLD, None, OLD, "0.1.0") == {}  # not recorded (older checkpoints)
