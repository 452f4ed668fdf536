"""Plug-ins by entry point: a fake installed distribution (a ``.dist-info`` folder with
``entry_points.txt`` on ``sys.path``, which is all ``importlib.metadata`` reads) declares a
neuron model and an engine, and ``brian-ep train`` trains with both, in a fresh process,
without any edit to the package. The registries' one rule for names taken twice is checked too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from brian_ep.engines import get_engine_entry, register_engine, unregister_engine
from brian_ep.errors import RegistrationError
from brian_ep.neurons import RateNeuron, get_neuron_model, register_neuron_model, unregister_neuron_model

pytestmark = pytest.mark.codegen_independent

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = """\
[brian_ep.neurons]
toy_plugin_leaky = toy_ep_plugin:ToyLeaky

[brian_ep.engines]
toy_plugin_online = toy_ep_plugin:OnlineEngine
"""


def _fake_distribution(root: Path, entry_points: str = ENTRY_POINTS) -> Path:
    """``root`` laid out like site-packages holding the distribution ``toy_ep_plugin``."""
    shutil.copy(REPO / "tests" / "plugin_dist" / "toy_ep_plugin.py", root / "toy_ep_plugin.py")
    info = root / "toy_ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy_ep_plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return root


def _cli(args, site: Path, cwd: Path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    return subprocess.run([sys.executable, "-m", "brian_ep.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_plugin_model_and_engine_train_from_the_command_line(tmp_path):
    (tmp_path / "site").mkdir()
    site = _fake_distribution(tmp_path / "site")
    run = tmp_path / "run"
    result = _cli([
        "train", str(REPO / "network_specs" / "digits.yaml"), "--engine", "toy_plugin_online", "--out", str(run),
        "--quiet", "--epochs", "1",
        "--set", "model.hidden=[{size: 12}]", "--set", "data.n_train=60", "--set", "data.n_test=30",
        "--set", "run.chunk_size=60", "--set", "ep.free_steps=8", "--set", "ep.nudged_steps=3",
        "--set", "model.neuron={model: toy_plugin_leaky, leak: 0.5, tau: 1 ms}",
        "--set", "run.toy_plugin_online={passes: 1}",
    ], site, tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["engine"] == "toy_plugin_online" and len(metrics["epochs"]) == 1
    spec_text = (run / "spec.yaml").read_text()
    assert "toy_plugin_leaky" in spec_text and "leak: 0.5" in spec_text
    assert (run / "COMPLETE").exists()


def test_without_the_distribution_the_names_are_unknown(tmp_path):
    """The same command without the entry points fails by name: the plug-in was what made it work."""
    empty = tmp_path / "site"
    empty.mkdir()
    result = _cli(["train", str(REPO / "network_specs" / "digits.yaml"), "--engine", "toy_plugin_online",
                   "--out", str(tmp_path / "run")], empty, tmp_path)
    assert result.returncode == 2 and "toy_plugin_online" in result.stderr


def test_a_broken_plugin_is_named_and_left_out(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(site, "[brian_ep.engines]\nbroken = toy_ep_plugin:NoSuchThing\n")
    result = _cli(["train", str(REPO / "network_specs" / "digits.yaml"), "--engine", "numpy", "--epochs", "1",
                   "--out", str(tmp_path / "run"), "--quiet", "--set", "data.n_train=20", "--set", "data.n_test=10",
                   "--set", "model.hidden=[{size: 8}]"], site, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "plug-in 'broken'" in result.stderr and "left out" in result.stderr


def test_engines_and_models_refuse_a_taken_name_alike():
    with pytest.raises(RegistrationError, match="already registered.*replace=True"):
        register_engine("numpy", "some.module:Engine", "another numpy")
    with pytest.raises(RegistrationError, match="already registered.*replace=True"):
        register_neuron_model(RateNeuron())  # a new instance under the built-in's name
    assert isinstance(RegistrationError("x"), ValueError)
    # registering the same thing again changes nothing, for both
    entry = get_engine_entry("numpy")
    assert register_engine(entry.name, entry.target, entry.description, compare_method=False) == entry
    rate = get_neuron_model("rate")
    assert register_neuron_model(rate) is rate


def test_replace_swaps_a_registered_name():
    register_engine("toy_swap", "a:A", "first")
    try:
        register_engine("toy_swap", "b:B", "second", replace=True)
        assert get_engine_entry("toy_swap").description == "second"
    finally:
        unregister_engine("toy_swap")
    first = register_neuron_model(type("ToySwap", (RateNeuron,), {"name": "toy_swap_model"})())
    try:
        second = register_neuron_model(type("ToySwap2", (RateNeuron,), {"name": "toy_swap_model"})(), replace=True)
        assert get_neuron_model("toy_swap_model") is second is not first
    finally:
        unregister_neuron_model("toy_swap_model")
