"""Ctrl-C and SIGKILL during a checkpoint write, and Ctrl-C inside a Brian2 runtime run.

Ctrl-C once lets the current chunk (or checkpoint write) finish and stops at the next safe
point; twice stops at once and leaves the previous checkpoint whole; SIGKILL in the middle of
a write leaves a temporary file that the next run removes. In every case a resumed run ends
with the weights of an uninterrupted one. The standalone binary's cases are in test_kill.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import brian_ep.engines.brian as brian_engine
from brian_ep.cli import main
from brian_ep.errors import Interrupted
from brian_ep.interrupts import StopGuard
from brian_ep.rundir import RunDirectory
from brian_ep.spec import load_spec
from brian_ep.train import train
from fsync_hook import fsync_that_signals

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "network_specs" / "digits.yaml"
# 60 samples in chunks of 20, two epochs: checkpoints at (epoch, sample) (0, 20), (0, 40),
# (1, 0), (1, 20), (1, 40), (2, 0)
NUMPY = ["--engine", "numpy", "--set", "model.hidden=[{size: 8}]", "--set", "model.chain.lr=0.05", "--set", "data.n_train=60",
         "--set", "data.n_test=20", "--set", "run.chunk_size=20", "--set", "run.epochs=2", "--quiet"]

# The command line with os.fsync replaced (see fsync_hook.py), in a process of its own.
DRIVER = """
import os, sys
from fsync_hook import fsync_that_signals
from brian_ep.cli import main
os.fsync = fsync_that_signals(os.fsync, int(sys.argv[1]), [int(s) for s in sys.argv[2].split(",")])
sys.exit(main(sys.argv[3:]))
"""


def position(run: Path):
    p = RunDirectory(run).load_checkpoint().position
    return p["epoch"], p["sample"]


def temporaries(run: Path) -> list:
    return sorted(p.name for p in run.glob(".*.tmp"))


def hook_checkpoint_fsync(monkeypatch, n, signals):
    """In this process: the n-th checkpoint fsync sends ``signals`` to this process."""
    monkeypatch.setattr(os, "fsync", fsync_that_signals(os.fsync, n, signals))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc (Linux)")
def test_sigkill_and_ctrl_c_during_checkpoint_writes(tmp_path, monkeypatch, capsys):
    reference = tmp_path / "reference"
    assert main(["train", str(DIGITS), *NUMPY, "--out", str(reference)]) == 0
    run = tmp_path / "run"
    argv = ["train", str(DIGITS), *NUMPY, "--out", str(run)]

    # SIGKILL between writing the second checkpoint's bytes and renaming it
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    proc = subprocess.run([sys.executable, "-c", DRIVER, "2", str(int(signal.SIGKILL)), *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert position(run) == (0, 20)
    assert len(temporaries(run)) == 1  # the half-done write

    # Ctrl-C once during a write: the write completes, then the run stops
    capsys.readouterr()
    with monkeypatch.context() as m:
        hook_checkpoint_fsync(m, 2, [signal.SIGINT])
        rc = main([*argv, "--resume"])
    err = capsys.readouterr().err
    assert rc == 130 and "Traceback" not in err and "Continue with:" in err
    assert position(run) == (1, 0) and temporaries(run) == []

    # Ctrl-C twice during a write: it stops at once, the previous checkpoint stays whole
    with monkeypatch.context() as m:
        hook_checkpoint_fsync(m, 1, [signal.SIGINT, signal.SIGINT])
        rc = main([*argv, "--resume"])
    err = capsys.readouterr().err
    assert rc == 130 and "Traceback" not in err and "at once" in err
    assert position(run) == (1, 0) and temporaries(run) == []

    assert main([*argv, "--resume"]) == 0
    with np.load(run / "weights.npz") as got, np.load(reference / "weights.npz") as want:
        for name in want.files:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


RUNTIME = {
    "model.hidden": [], "model.readout.kind": "none", "model.chain.lr": 0.05, "data.n_train": 20, "data.n_test": 10,
    "run.chunk_size": 10, "run.epochs": 1, "ep.free_steps": 10, "ep.nudged_steps": 4, "run.engine": "brian2",
    "run.brian2.device": "runtime", "run.brian2.target": "numpy",
}


def signal_during_run(monkeypatch, chunk, signals, window=3):
    """Make the Brian2 network of the ``chunk``-th runtime run (1-based) send ``signals`` to this
    process at the start of ``window``, from inside ``Network.run``."""
    from brian2 import NetworkOperation

    original, calls = brian_engine.build_network, [0]

    def build(*args, **kwargs):
        net = original(*args, **kwargs)
        calls[0] += 1
        if calls[0] == chunk:
            at = window * net.window_steps

            def send(t):
                if int(round(float(t / net.dt))) == at:
                    for s in signals:
                        os.kill(os.getpid(), s)

            net.network.add(NetworkOperation(send, dt=net.dt, name="test_interrupt"))
        return net

    monkeypatch.setattr(brian_engine, "build_network", build)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_inside_a_brian2_runtime_run(tmp_path, monkeypatch, presses):
    spec = load_spec(DIGITS, RUNTIME)
    expected = train(spec, progress=False).params
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        signal_during_run(m, 2, [signal.SIGINT] * presses)  # in the second chunk
        with pytest.raises(Interrupted) as info:
            train(spec, out=run, progress=False)
    assert info.value.exit_code == 130
    assert ("at once" in str(info.value)) == (presses == 2)
    # once: the second chunk ends (an epoch-end checkpoint); twice: the first chunk's stays
    assert position(run) == ((1, 0) if presses == 1 else (0, 10))
    assert not (run / "COMPLETE").exists()
    got = train(spec, out=run, resume=True, progress=False).params
    for name in expected.W:
        np.testing.assert_array_equal(got.W[name], expected.W[name])


def test_guard_restores_handlers_and_brian_preference():
    from brian2 import prefs

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), prefs.core.stop_on_keyboard_interrupt
    with StopGuard() as guard:
        assert signal.getsignal(signal.SIGINT) == guard._handle
        assert prefs.core.stop_on_keyboard_interrupt is False
        os.kill(os.getpid(), signal.SIGINT)
        assert guard.requested and not guard.immediate
        with pytest.raises(Interrupted) as info:
            os.kill(os.getpid(), signal.SIGTERM)
        assert info.value.exit_code == 128 + signal.SIGTERM and guard.immediate
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), prefs.core.stop_on_keyboard_interrupt) == before
