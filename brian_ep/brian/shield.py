"""The standalone program as a process that ends with its run (used by
:class:`~brian_ep.brian.program.StandaloneProgram`).

Brian2 compiles with ``os.system("make")``, during which the C library ignores Ctrl-C in
Python, and runs ``./main`` in the terminal's process group, so that a Ctrl-C kills the
binary in the middle of a chunk and a killed Python leaves the binary (or the compilers)
running in the run directory. :func:`shield_program` and :func:`compile_program` therefore

* adds two lines to the program's ``main``: ignore SIGINT (the trainer decides when to
  stop, at a chunk boundary) and, on Linux, die with the Python process that started it
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), and
* writes the project with Brian2 (``device.build(compile=False)``) and compiles it itself
  with the same ``make`` command, in a process group of its own that is killed when the wait
  is interrupted (a second Ctrl-C) and that dies with Python on Linux; its group id is
  recorded in the build folder (:func:`brian_ep.runlock.record_group`) while it runs, so that
  the next command in the run directory ends the compilers of a Python killed by SIGKILL
  (``make`` dies with Python, the compilers it started do not).

Interrupting the wait for ``./main`` (inside ``device.run``) kills the binary: Python's
``subprocess.call`` does that for any exception.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import BrianEPError
from ..runlock import GROUP_FILE, record_group

__all__ = ["SHIELD_CODE", "shield_program", "compile_program", "child_preexec"]

#: C++ run first in ``main``: Ctrl-C is the trainer's, and the program dies with its parent.
SHIELD_CODE = """std::signal(SIGINT, SIG_IGN);
#ifdef __linux__
prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
"""


def _die_with_parent_function():
    """``prctl`` from the C library, looked up before any fork (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover
        return None


_PRCTL = _die_with_parent_function()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def child_preexec(death_signal=signal.SIGTERM, own_group: bool = True):
    """A ``preexec_fn`` for ``subprocess``: the child gets ``death_signal`` when this process
    dies (Linux) and, with ``own_group``, a process group of its own (so that the terminal's
    Ctrl-C reaches only this process, which decides what to forward)."""

    def setup() -> None:  # runs in the child between fork and exec
        if own_group:
            os.setpgid(0, 0)
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, int(death_signal))

    return setup


def _compiler_setup(directory) -> None:  # runs in the child between fork and exec, after setsid
    _die_with_parent()
    record_group(directory, os.getpid())  # its own session: the group id is its pid, recorded before make runs


def shield_program(device) -> None:
    """Add the two lines of :data:`SHIELD_CODE` to the ``main`` of ``device``'s project (once)."""
    if SHIELD_CODE not in device.code_lines["before_start"]:
        device.insert_code("before_start", SHIELD_CODE)
        if sys.platform.startswith("linux") and "<sys/prctl.h>" not in device.headers:
            device.headers.append("<sys/prctl.h>")


def compile_program(directory) -> None:
    """Run Brian2's ``make`` command in ``directory`` as a killable process group.

    Raises
    ------
    BrianEPError
        If compilation fails (the message names the log file).
    """
    from brian2 import prefs

    directory = Path(directory)
    # Brian2's default "-j" starts a compiler per source file at once; on a small machine that is
    # dozens of compilers competing for a few cores (and their memory): one job per core instead
    jobs = f"-j{os.cpu_count() or 1}"
    args = [jobs if a == "-j" else a for a in prefs.devices.cpp_standalone.extra_make_args_unix]
    command = f"{prefs.devices.cpp_standalone.make_cmd_unix} {' '.join(args)}"
    log = directory / "make.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, shell=True, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=lambda: _compiler_setup(directory),
        )
        record = directory / GROUP_FILE
        try:
            code = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            record.unlink(missing_ok=True)
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise BrianEPError(
            f"compiling the C++ standalone program in '{directory}' failed ({command.strip()} exited with {code}); "
            f"see {log}. Last lines: {' | '.join(tail)}"
        )


def _kill_group(proc) -> None:
    """Kill the compiler's process group (make and the compilers it started) and reap make."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()
