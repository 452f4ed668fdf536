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
