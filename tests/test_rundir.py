"""The run directory: atomic writes, spec/environment, checkpoints, weights, metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import brian2
import numpy as np
import pytest

import brian_ep.rundir as rundir
from brian_ep.maths.optim import OptimState
from brian_ep.maths.params import Params
from brian_ep.rundir import RunDirectory, atomic_write_bytes, default_run_dir, environment_info
from brian_ep.spec import load_spec
from brian_ep.errors import ArgumentError, BrianEPError
from brian_ep.spec.load import spec_to_dict

from conftest import small_spec


def _params(rng, scale=1.0):
    return Params(
        {"input_h1": scale * rng.normal(size=(6, 5)), "h1_h2": scale * rng.normal(size=(5, 4))},
        {"h1": scale * rng.normal(size=5), "h2": np.zeros(4)},
    )


# -- atomic writes ----------------------------------------------------------------------------
def test_atomic_write_creates_and_overwrites_without_leftovers(tmp_path):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer content")
    assert target.read_bytes() == b"second, longer content"
    atomic_write_bytes(target, b"")
    assert target.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_atomic_write_accepts_str_path(tmp_path):
    atomic_write_bytes(str(tmp_path / "x"), b"abc")
    assert (tmp_path / "x").read_bytes() == b"abc"


def test_atomic_write_failure_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(rundir.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_atomic_write_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a", b"x")
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "b", b"x")
    finally:
        os.umask(old)
    # like a file made with open(): 0o666 minus the umask (mkstemp alone would give 0o600)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o600


# -- create ---------------------------------------------------------------------------------
def test_create_writes_spec_and_environment(tmp_path):
    spec = small_spec(run__seed=7, run__epochs=3)
    d = RunDirectory(tmp_path / "nested" / "run")
    d.create(spec, command="brian-ep train small.yaml --seed 7")
    assert (d.path / "spec.yaml").is_file()
    reloaded = load_spec(d.path / "spec.yaml")
    assert spec_to_dict(reloaded) == spec_to_dict(spec)
    assert reloaded.run.seed == 7 and reloaded.run.epochs == 3
    env = json.loads((d.path / "environment.json").read_text())
    assert env["brian2"] == brian2.__version__
    assert env["numpy"] == np.__version__
    assert env["command"] == "brian-ep train small.yaml --seed 7"
    assert env["seed"] == 7
    assert env["python"].count(".") >= 1
    assert not (d.path / ".write_test").exists()
    assert not d.is_complete


def test_environment_info_defaults_to_argv(monkeypatch):
    monkeypatch.setattr(rundir.sys, "argv", ["brian-ep", "train", "x.yaml"])
    info = environment_info()
    assert info["command"] == "brian-ep train x.yaml"
    assert "seed" not in info


def test_a_new_run_never_replaces_an_old_one_without_overwrite(tmp_path):
    spec = small_spec()
    d = RunDirectory(tmp_path)
    assert d.state() == "empty"
    old = ("checkpoint.npz", "weights.npz", "metrics.json", "metrics.csv", "figures/learning_curves.png")
    (tmp_path / "figures").mkdir()
    for name in old:
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("mine")
    assert d.state() == "interrupted"
    with pytest.raises(ArgumentError, match="interrupted run.*--resume.*--overwrite"):
        d.refuse_existing(False)
    assert all((tmp_path / name).read_bytes() == b"old" for name in old)
    (tmp_path / "COMPLETE").write_bytes(b"")
    assert d.state() == "complete"
    with pytest.raises(ArgumentError, match="finished run"):
        d.refuse_existing(False)
    d.refuse_existing(True)  # --overwrite: the run's own files go, nothing else
    assert not any((tmp_path / name).exists() for name in old + ("COMPLETE",))
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert d.state() == "other"
    with pytest.raises(ArgumentError, match="not a brian-ep run directory"):
        d.refuse_existing(False)
    # resuming keeps the results and takes away the COMPLETE mark until the run ends again
    for name in old[:2]:
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "COMPLETE").write_bytes(b"")
    d.create(spec, resume=True)
    assert all((tmp_path / name).exists() for name in old[:2])
    assert not (tmp_path / "COMPLETE").exists()
    assert (tmp_path / "spec.yaml").exists() and (tmp_path / "environment.json").exists()


def test_only_lock_build_folder_and_temporaries_leave_a_directory_empty(tmp_path):
    d = RunDirectory(tmp_path)
    (tmp_path / ".lock").write_text("")
    (tmp_path / "standalone").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / ".checkpoint.npz.abc.tmp").write_bytes(b"half")
    assert d.state() == "empty"
    assert RunDirectory(tmp_path / "missing").state() == "empty"


def test_create_unwritable_directory_names_the_path(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("I am a regular file")
    target = blocker / "run"
    with pytest.raises(BrianEPError) as info:
        RunDirectory(target).create(small_spec())
    msg = str(info.value)
    assert str(target) in msg
    assert "cannot write the run directory" in msg and "--out" in msg
    assert blocker.read_text() == "I am a regular file"


# -- complete marker, figures ---------------------------------------------------------------
def test_mark_complete_and_figures(tmp_path):
    d = RunDirectory(tmp_path)
    assert not d.is_complete
    d.mark_complete()
    assert d.is_complete and (tmp_path / "COMPLETE").read_bytes() == b""
    assert d.figures == tmp_path / "figures" and d.figures.is_dir()


# -- checkpoints and weights ----------------------------------------------------------------
def test_checkpoint_round_trip(tmp_path, rng):
    params = _params(rng)
    optim = OptimState(_params(rng, 0.1), _params(rng, 0.01), t=37)
    position = {
        "epoch": 2, "sample": 150, "correct": 97, "loss": 123.456789012345678, "seconds": 1.5,
        "metrics": {"spec": "small", "epochs": [{"epoch": 1, "test_accuracy": 0.5, "validation_accuracy": None}]},
    }
    d = RunDirectory(tmp_path)
    d.save_checkpoint(params, optim, position)
    p2, o2, pos2 = d.load_checkpoint()
    assert pos2 == position
    assert o2.t == 37 and isinstance(o2.t, int)
    for a, b in ((params, p2), (optim.m, o2.m), (optim.v, o2.v)):
        assert a.W.keys() == b.W.keys() and a.b.keys() == b.b.keys()
        for k in a.W:
            np.testing.assert_array_equal(a.W[k], b.W[k])
            assert a.W[k].dtype == b.W[k].dtype
        for k in a.b:
            np.testing.assert_array_equal(a.b[k], b.b[k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]
    # overwriting replaces the old checkpoint
    d.save_checkpoint(p2, OptimState(o2.m, o2.v, 38), dict(position, sample=200))
    _, o3, pos3 = d.load_checkpoint()
    assert o3.t == 38 and pos3["sample"] == 200


def test_load_checkpoint_missing(tmp_path):
    with pytest.raises(BrianEPError, match="checkpoint.npz is missing") as info:
        RunDirectory(tmp_path).load_checkpoint()
    assert str(tmp_path) in str(info.value)


def test_save_weights_round_trip(tmp_path, rng):
    params = _params(rng)
    path = RunDirectory(tmp_path).save_weights(params)
    assert path == tmp_path / "weights.npz"
    with np.load(path) as data:
        assert sorted(data.files) == ["W:h1_h2", "W:input_h1", "b:h1", "b:h2"]
    loaded = Params.load(path)
    assert loaded.max_abs_diff(params) == 0.0
    other = RunDirectory(tmp_path).save_weights(params, name="best.npz")
    assert other.name == "best.npz" and other.is_file()


# -- default run directory ------------------------------------------------------------------
def test_default_run_dir_stable_and_seed_dependent():
    a = default_run_dir(small_spec())
    b = default_run_dir(small_spec())
    assert a == b
    assert a.parent.name == "runs" and a.name.startswith("small-") and a.name.endswith("-s0")
    digest = a.name.split("-")[1]
    assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest)
    s1 = default_run_dir(small_spec(run__seed=1))
    assert s1 != a and s1.name.endswith("-s1")
    assert default_run_dir(small_spec(ep__beta=0.3)) != a
    assert default_run_dir(small_spec(), root="elsewhere").parent.name == "elsewhere"
    # equal specs built differently (a file round trip) land in the same place
    assert default_run_dir(load_spec(spec_to_dict(small_spec()))) == a


# -- metrics --------------------------------------------------------------------------------
def test_write_metrics_json_and_csv(tmp_path):
    metrics = {
        "spec": "small",
        "epochs": [
            {"epoch": 1, "train_loss": 0.9, "test_accuracy": 0.5, "validation_accuracy": None},
            {"epoch": 2, "train_loss": 0.7, "test_accuracy": 0.625, "validation_accuracy": None},
        ],
    }
    d = RunDirectory(tmp_path)
    d.write_metrics(metrics)
    assert d.read_metrics() == metrics
    text = (tmp_path / "metrics.csv").read_text()
    lines = text.strip().splitlines()
    assert lines[0] == "epoch,train_loss,test_accuracy,validation_accuracy"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    assert rows[1]["epoch"] == "2" and float(rows[1]["test_accuracy"]) == 0.625
    assert rows[0]["validation_accuracy"] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv", "metrics.json"]


def test_write_metrics_without_epochs_writes_no_csv(tmp_path):
    d = RunDirectory(tmp_path)
    d.write_metrics({"spec": "small", "epochs": []})
    assert d.read_metrics() == {"spec": "small", "epochs": []}
    assert not (tmp_path / "metrics.csv").exists()
