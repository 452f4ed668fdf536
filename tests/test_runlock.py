"""One process per run directory; what a killed run leaves is cleaned."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from brian_ep.errors import ArgumentError
from brian_ep.runlock import RunLock, end_orphans, processes_in, remove_stale_temporaries

HOLD = "import sys, time; from brian_ep.runlock import RunLock\nwith RunLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
REPO = Path(__file__).resolve().parents[1]


def test_a_second_process_is_refused_while_the_first_lives(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ArgumentError, match="another brian-ep process is working in the run directory"):
            with RunLock(tmp_path):
                pass
    finally:
        holder.kill()  # SIGKILL: the kernel releases the lock
        holder.wait()
    with RunLock(tmp_path):
        pass


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc (Linux)")
def test_end_orphans_ends_only_build_programs(tmp_path):
    build = tmp_path / "standalone"
    build.mkdir()
    program = build / "main"  # a copy of sleep named like the standalone binary
    program.write_bytes(Path("/bin/sleep").read_bytes())
    program.chmod(0o755)
    orphan = subprocess.Popen([str(program), "60"], cwd=build)
    bystander = subprocess.Popen(["/bin/sleep", "60"], cwd=build)  # 'sleep' is not a build program
    try:
        deadline = time.monotonic() + 5
        while set(processes_in(build)) != {orphan.pid, bystander.pid} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert set(processes_in(build)) == {orphan.pid, bystander.pid}
        assert end_orphans(build) == [orphan.pid]
        assert orphan.wait(timeout=5) == -9
        assert bystander.poll() is None
    finally:
        bystander.kill()
        orphan.kill()
        bystander.wait()


def test_remove_stale_temporaries(tmp_path):
    (tmp_path / ".checkpoint.npz.x1.tmp").write_bytes(b"half")
    (tmp_path / "checkpoint.npz").write_bytes(b"whole")
    assert remove_stale_temporaries(tmp_path) == [".checkpoint.npz.x1.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


# -- issue 27: the compilers of a run killed during its compile ------------------------------------


def _fake_compile(folder: Path):
    """A stand-in for make and its compilers: a shell in a session (process group) of its own
    working in ``folder``, with a background ``sleep`` (a compiler make started) and an
    ``exec``'d one, recorded as compile_program records the real one."""
    from brian_ep.runlock import record_group

    folder.mkdir(parents=True)
    proc = subprocess.Popen(["sh", "-c", "sleep 300 & exec sleep 301"], cwd=folder, start_new_session=True)
    record_group(folder, proc.pid)
    deadline = time.monotonic() + 10
    while len(_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_members(proc.pid)) == 2
    return proc


def _members(pgid):
    from brian_ep.runlock import _group_members

    return _group_members(pgid)


def _gone(proc, timeout=10.0) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    deadline = time.monotonic() + timeout
    while _members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _members(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_a_refused_resume_ends_the_compilers_of_a_killed_run(tmp_path, capsys):
    """After SIGKILL during the first compile there is no checkpoint, so --resume is refused; it
    used to be refused before the lock was taken, and the compilers kept running."""
    from brian_ep.cli import main
    from brian_ep.runlock import GROUP_FILE, LOCK_NAME

    run = tmp_path / "run"
    build = run / "standalone" / "train"
    proc = _fake_compile(build)
    (run / LOCK_NAME).touch()  # the killed run held the lock (the OS released it)
    spec = str(Path(__file__).resolve().parents[1] / "network_specs" / "digits.yaml")
    rc = main(["train", spec, "--engine", "numpy", "--out", str(run), "--resume"])
    assert rc == 2 and "no checkpoint" in capsys.readouterr().err
    assert _gone(proc), "the recorded compile group still runs"
    assert not (build / GROUP_FILE).exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_reap_leaves_a_live_run_and_unrelated_groups_alone(tmp_path):
    from brian_ep.runlock import reap, record_group

    run = tmp_path / "run"
    proc = _fake_compile(run / "standalone" / "train")
    try:
        with RunLock(run):  # a live run holds the lock: its compile is its own
            assert reap(run) == []
        assert proc.poll() is None and len(_members(proc.pid)) == 2
        elsewhere = subprocess.Popen(["sleep", "300"], cwd=tmp_path, start_new_session=True)
        other = run / "standalone" / "other"
        other.mkdir()
        record_group(other, elsewhere.pid)  # a recorded group id now used by a process working elsewhere
        ended = reap(run)
        assert sorted(ended) == sorted(set(ended)) and proc.pid in ended
        assert _gone(proc)
        assert elsewhere.poll() is None
    finally:
        for p in (proc, locals().get("elsewhere")):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def test_compile_program_records_its_group_while_it_runs(tmp_path):
    """The real compile_program with a stand-in make that copies the record it finds."""
    from brian2 import prefs

    from brian_ep.brian.shield import compile_program
    from brian_ep.runlock import GROUP_FILE

    options = prefs.devices.cpp_standalone
    saved = options.make_cmd_unix, options.extra_make_args_unix
    options.make_cmd_unix, options.extra_make_args_unix = f"cp {GROUP_FILE} seen.txt; echo $$ > shell.txt; true", []
    try:
        compile_program(tmp_path)
    finally:
        options.make_cmd_unix, options.extra_make_args_unix = saved
    assert int((tmp_path / "seen.txt").read_text()) == int((tmp_path / "shell.txt").read_text())  # the group leader
    assert not (tmp_path / GROUP_FILE).exists()
