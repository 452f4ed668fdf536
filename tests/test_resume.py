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


def test_package_version_is_checked_too():
    with pytest.raises(ArgumentError, match=f"{VERSION_KEY}: \"0.0.9\" -> \"0.1.0\""):
        check_resume(OLD, "0.0.9", OLD, "0.1.0")
    assert check_resume(OLD, "0.0.9", OLD, "0.1.0", allow=[VERSION_KEY]) == {VERSION_KEY: ["0.0.9", "0.1.0"]}
    assert check_resume(OLD, None, OLD, "0.1.0") == {}  # not recorded (older checkpoints)
