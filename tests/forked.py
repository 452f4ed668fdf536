"""The command line in a forked copy of the test process: a process of its own (its own
session and process group, as a shell starts a job) that signals can stop or kill, without
the seconds a fresh interpreter spends importing Brian2. Used by the kill and interrupt tests."""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Forked:
    """A forked ``brian-ep`` process; its stdout and stderr go to files in ``logs``."""

    pid: int
    logs: Path
    status: int | None = None

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal) if it has ended, else ``None``."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float = 600.0):
        """``(exit code, stdout, stderr)`` once it has ended."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, 9)
                raise AssertionError("the forked run did not end")
            time.sleep(0.01)
        return self.status, (self.logs / "stdout").read_text(), (self.logs / "stderr").read_text()


def fork_main(argv, cwd, logs: Path, prepare=None) -> Forked:
    """Run ``brian_ep.cli.main(argv)`` in a forked child (after ``prepare()``, if given), in
    ``cwd``, with its output in ``logs/stdout`` and ``logs/stderr``."""
    logs.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Forked(pid, logs)
    code = 99
    try:  # the child: never returns into the test runner
        os.setsid()
        os.chdir(cwd)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(logs / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        if prepare is not None:
            prepare()
        from brian_ep.cli import main

        code = main(list(argv))
    except BaseException:  # noqa: BLE001 - reported as a traceback, which the tests refuse
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
