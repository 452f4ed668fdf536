"""Kill tests: Ctrl-C once and twice and SIGKILL during cpp_standalone chunks (the
checkpoint-write cases are in test_interrupts.py). Each must end without a traceback and
without an orphan process, keep the last checkpoint, and a resume must give exactly the
weights of an uninterrupted run.

The cases share one compiled program: the uninterrupted reference run builds it (in this
process, at -O0 to compile faster), and the interrupted runs, processes of their own in
their own process group as a shell starts a job (forked from this one, see forked.py), find
it up to date in a copy of its build folder. Linux only (``/proc`` shows which processes
work in a run directory).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from brian_ep.rundir import RunDirectory
from brian_ep.runlock import processes_in
from brian_ep.spec import load_spec
from brian_ep.train import train
from forked import fork_main

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc (Linux)")

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "network_specs" / "digits.yaml"
# 64-10 with the output's rates read directly: the smallest program (15 code objects). Four
# chunks of 10 samples; 10,000 free steps make a chunk last ~0.3 s, long enough to signal.
STANDALONE = {
    "model.hidden": [], "model.readout.kind": "none", "model.chain.lr": 0.05, "data.n_train": 40, "data.n_test": 10,
    "run.chunk_size": 10, "run.epochs": 1, "ep.free_steps": 10000, "run.engine": "brian2", "run.brian2.device": "cpp_standalone",
}
FAST_COMPILE = ["-w", "-O0", "-std=c++11"]


def cli_args(overrides: dict) -> list:
    args = [str(DIGITS), "--quiet"]
    for key, value in overrides.items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    return args


def launch(root: Path, argv: list, name: str):
    """``brian-ep`` as a process of its own (forked), in its own process group."""
    return fork_main(argv, root, root / "logs" / name, prepare=_fast_compile)


def _fast_compile():
    from brian2 import prefs

    prefs.codegen.cpp.extra_compile_args_gcc = FAST_COMPILE


def programs(build: Path) -> list:
    """Process ids of standalone binaries running in ``build``."""
    found = []
    for pid in processes_in(build):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "main":
                found.append(pid)
        except OSError:
            pass
    return found


def wait_for_program(proc, build: Path, nth: int, timeout: float = 240.0) -> int:
    """Wait until the ``nth`` distinct run of the standalone binary in ``build`` is running."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in programs(build):
            if pid not in seen:
                seen.append(pid)
                if len(seen) == nth:
                    _wait_until_it_ignores_sigint(pid, deadline)
                    return pid
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before binary run {nth}: {proc.wait()}")
        time.sleep(0.002)
    raise AssertionError(f"binary run {nth} never started")


def _wait_until_it_ignores_sigint(pid: int, deadline: float) -> None:
    """Wait until the binary has run the first line of its ``main`` (SIGINT ignored, see
    brian_ep/brian/shield.py): a process is visible a few milliseconds before that, and a
    Ctrl-C in those milliseconds ends the binary (the run then stops at the last checkpoint)."""
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return  # it has ended already; the caller's assertions say what happened
        ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
        if ignored & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.001)


def finish(proc):
    return proc.wait()


def assert_clean_stop(rc, err, run: Path, rc_expected=130):
    assert rc == rc_expected, err
    assert "Traceback" not in err and "Brian 2 encountered" not in err, err
    deadline = time.monotonic() + 5
    while processes_in(run) and time.monotonic() < deadline:  # the kernel reaps a killed binary
        time.sleep(0.01)
    assert processes_in(run) == [], "orphan processes in the run directory"


def position(run: Path):
    p = RunDirectory(run).load_checkpoint().position
    return p["epoch"], p["sample"]


def resume_argv(err: str) -> list:
    """The command the interrupted run printed, as the arguments of ``main``."""
    text = " ".join(err.split())
    command = text.split("Continue with: ", 1)[1]
    words = shlex.split(command)
    assert words[:2] == ["brian-ep", "train"], command
    return words[1:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted standalone run, built in this process (its build folder is shared)."""
    from brian2 import prefs

    root = tmp_path_factory.mktemp("kill")
    previous = prefs.codegen.cpp.extra_compile_args_gcc
    prefs.codegen.cpp.extra_compile_args_gcc = FAST_COMPILE
    try:
        result = train(load_spec(DIGITS, STANDALONE), out=root / "reference", progress=False)
    finally:
        prefs.codegen.cpp.extra_compile_args_gcc = previous
    return root, result


def test_ctrl_c_once_twice_and_sigkill_during_standalone_chunks(reference, tmp_path):
    root, expected = reference
    run = root / "chain"
    shutil.copytree(root / "reference" / "standalone", run / "standalone", copy_function=shutil.copy2)
    build = run / "standalone"
    argv = ["train", *cli_args(STANDALONE), "--out", str(run)]

    # Ctrl-C in the terminal (SIGINT to the whole process group) during chunk 2: the chunk
    # finishes, its checkpoint is written, and the run stops with the command to resume.
    proc = launch(root, argv, "once")
    wait_for_program(proc, build, 2)
    os.killpg(proc.pid, signal.SIGINT)
    rc, _, err = finish(proc)
    assert_clean_stop(rc, err, run)
    assert "Ctrl-C" in err and "at the end of a chunk" in " ".join(err.split())
    assert position(run) == (0, 20)
    resume = resume_argv(err)

    # Ctrl-C twice to Python alone during chunk 3: it stops at once, the binary is killed, and
    # the checkpoint stays that of chunk 2.
    proc = launch(root, resume, "twice")
    wait_for_program(proc, build, 1)
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.02)
    os.kill(proc.pid, signal.SIGINT)
    rc, _, err = finish(proc)
    assert_clean_stop(rc, err, run)
    assert "at once" in err
    assert position(run) == (0, 20)

    # SIGKILL to Python during chunk 4 (after chunk 3's checkpoint): the binary dies with it.
    proc = launch(root, resume, "killed")
    wait_for_program(proc, build, 2)
    os.kill(proc.pid, signal.SIGKILL)
    rc, _, err = finish(proc)
    assert_clean_stop(rc, err, run, rc_expected=-signal.SIGKILL)
    assert position(run) == (0, 30)

    # the resumed run ends with the reference's weights and metrics
    rc, out, err = finish(launch(root, resume, "resumed"))
    assert rc == 0, err
    with np.load(run / "weights.npz") as got, np.load(root / "reference" / "weights.npz") as want:
        assert sorted(got.files) == sorted(want.files)
        for name in want.files:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    got_rows = RunDirectory(run).read_metrics()["epochs"]
    keep = ("epoch", "train_loss", "train_accuracy", "test_accuracy")
    assert [{k: r[k] for k in keep} for r in got_rows] == [{k: r[k] for k in keep} for r in expected.metrics["epochs"]]
    history = [h["event"] for h in json.loads((run / "history.json").read_text())]
    assert history == ["start", "resume", "resume", "resume"]


def test_divergence_in_a_standalone_chunk_names_the_sample_as_numpy_does(reference, tmp_path):
    """``ep.divergence_threshold`` is honoured by the compiled program and names the sample the
    numpy engine names (the threshold is a per-run value, so the reference's build is reused:
    only main.cpp, which holds initial values, changes)."""
    import re

    from brian_ep.errors import DivergenceError

    root, _ = reference
    run = tmp_path / "run"
    shutil.copytree(root / "reference" / "standalone", run / "standalone", copy_function=shutil.copy2)
    over = dict(STANDALONE, **{"ep.divergence_threshold": 0.8})
    rc, _, err = finish(launch(tmp_path, ["train", *cli_args(over), "--out", str(run)], "diverged"))
    assert rc == 2 and "Traceback" not in err, err
    standalone = " ".join(err.split())
    with pytest.raises(DivergenceError) as numpy_engine:
        train(load_spec(DIGITS, dict(over, **{"run.engine": "numpy"})), progress=False)
    sample = [re.search(r"training sample #(\d+)", text).group(1) for text in (standalone, str(numpy_engine.value))]
    assert sample[0] == sample[1], (standalone, str(numpy_engine.value))
    assert "layer 'output'" in standalone and "ep.divergence_threshold" in standalone
