"""The user's Brian2 device is honoured: ``set_device('cpp_standalone', directory=D)`` with
either ``build_on_run``, repeated training in one process, no leftover build folders, and the
compiled prediction program reused by ``evaluate``. Each test compiles two small programs."""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

import brian_ep
from brian_ep.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "model.hidden": [{"size": 8}],
    "model.readout": {"kind": "none"},
    "ep.free_steps": 8,
    "ep.nudged_steps": 3,
    "data.n_train": 40,
    "data.n_test": 20,
    "run.epochs": 1,
    "run.chunk_size": 20,
}


def _spec(**over):
    return load_spec(REPO / "network_specs" / "digits.yaml", {**TINY, **over})


@pytest.fixture
def user_device():
    """Set a standalone device as a user script would, and reset it afterwards."""
    from brian2 import device, get_device, set_device
    from brian2.devices.device import reset_device

    def select(**options):
        set_device("cpp_standalone", **options)
        return get_device()

    yield select
    device.reinit()
    reset_device("runtime")


@pytest.mark.compiles
def test_user_device_and_directory_are_used_and_training_repeats(user_device, tmp_path):
    """build_on_run=True (Brian2's default) with a directory: train builds there, twice in one
    process, leaves the user's device as it was, and evaluate reuses the compiled program."""
    from brian2 import get_device

    directory = tmp_path / "D"
    user = user_device(directory=str(directory))
    spec = _spec(**{"run.brian2.device": "runtime"})  # the user's set_device decides, not the spec
    first = brian_ep.train(spec, progress=False)
    assert (directory / "train" / "main").is_file() and (directory / "predict" / "main").is_file()
    objects = sorted(p for p in (directory / "predict").rglob("*.o") if p.name != "main.o")
    stamps = [p.stat().st_mtime_ns for p in objects]
    assert len(objects) > 5
    second = brian_ep.train(spec, progress=False)  # same process: no "already been built" error
    assert first.params.max_abs_diff(second.params) == 0.0
    assert first.metrics["epochs"][0]["test_accuracy"] == second.metrics["epochs"][0]["test_accuracy"]
    for run in (first, second):  # the build is timed apart from the training (ms/sample leaves it out)
        row = run.metrics["epochs"][0]
        assert 0.0 < row["build_seconds"] < row["train_seconds"]
    acc = brian_ep.evaluate(spec, second.params)
    assert acc == second.metrics["epochs"][0]["test_accuracy"]
    # main.cpp may be written again (Brian2's order of some initialisations varies between
    # builds in one process) and relinked; no code object is compiled again
    assert [p.stat().st_mtime_ns for p in objects] == stamps, "evaluate recompiled code objects of an unchanged program"
    assert get_device() is user and user.build_on_run is True and user.build_options == {"directory": str(directory)}


@pytest.mark.compiles
def test_build_on_run_false_without_directory_leaves_no_folder(user_device, tmp_path, monkeypatch):
    """build_on_run=False and no directory: the programs live in a temporary folder that is
    removed when training ends; the weights equal those of the batched numpy engine."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    user_device(build_on_run=False)
    spec = _spec()
    got = brian_ep.train(spec, progress=False).params
    # Brian2's own session logs (brian_stdout_*.log ...), made in the temporary folder when the
    # process first runs Brian2 (brian2 2.11 opens them lazily), are not the program's folder
    left = [name for name in os.listdir(tmp_path) if not re.fullmatch(r"brian_(debug|stdout|stderr|script)_\w+\.(log|py)", name)]
    assert left == [], left
    reference = brian_ep.train(_spec(**{"run.engine": "numpy"}), progress=False).params
    scale = max(np.max(np.abs(w)) for w in reference.W.values())
    assert got.max_abs_diff(reference) < 1e-9 * scale


@pytest.mark.skipif(
    importlib.util.find_spec("brian2cuda") is not None,
    reason="brian2cuda is installed here (tests/brian/test_cuda_codegen.py covers it)",
)
def test_cuda_standalone_without_brian2cuda_names_the_extra():
    from brian_ep.brian.program import standalone_device
    from brian_ep.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"brian_ep\[cuda\]"):
        standalone_device("cuda_standalone")
