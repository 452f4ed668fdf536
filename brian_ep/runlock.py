"""One process per run directory, and what a killed one left behind.

:class:`RunLock` takes an exclusive lock on ``<run>/.lock`` for as long as a command works in
the directory; the operating system releases it when the process ends, even by SIGKILL, so
a second command is refused while the first lives and never after. Once the lock is held,
anything a dead predecessor left is ours to clean: :func:`end_orphans` ends processes still
working in the directory (a compiler or the standalone binary), :func:`remove_stale_temporaries`
deletes half-written files of interrupted atomic writes.

The checks read ``/proc`` (Linux); elsewhere they find nothing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from .errors import ArgumentError, StorageError, storage_problem

__all__ = ["LOCK_NAME", "ORPHAN_PROGRAMS", "RunLock", "processes_in", "end_orphans", "remove_stale_temporaries"]

LOCK_NAME = ".lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None


class RunLock:
    """Exclusive use of a run directory (a context manager; the directory must exist).

    Raises
    ------
    ArgumentError
        On entry, if another process holds the lock.
    StorageError
        On entry, if the lock file cannot be opened (a read-only file system, no permission).
    """

    def __init__(self, directory):
        self.path = Path(directory) / LOCK_NAME
        self._fh = None

    def __enter__(self) -> "RunLock":
        if fcntl is None:  # pragma: no cover
            return self
        try:
            fh = open(self.path, "a")  # noqa: SIM115 - held open for the lifetime of the lock
        except OSError as exc:
            problem = storage_problem(exc)
            if problem is None:
                raise
            raise StorageError(
                f"cannot take the lock '{self.path}' of the run directory: {problem}. Nothing in '{self.path.parent}' "
                "was changed (its checkpoint and weights are as they were); to continue the run elsewhere, copy the "
                "directory to a writable place and pass that with --out"
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ArgumentError(
                f"another brian-ep process is working in the run directory '{self.path.parent}'; wait for it to end "
                "(or stop it) before training, resuming or overwriting there, or choose another --out"
            ) from None
        except OSError:  # a file system without locks (some network mounts): go on unlocked
            fh.close()
            return self
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def processes_in(directory) -> list:
    """Process ids of this user's processes (other than this one) whose working directory is
    ``directory`` or below it (empty where ``/proc`` is missing)."""
    directory = Path(directory)
    proc = Path("/proc")
    if not directory.is_dir() or not proc.is_dir():
        return []
    target = os.path.realpath(directory)
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # another user's process, or gone
            continue
        if _within(cwd, target):
            found.append(int(entry.name))
    return found


#: Programs a killed run can leave working in its build folder: the standalone binary and the
#: compiler chain (a user's shell or Python there is never touched).
ORPHAN_PROGRAMS = frozenset({"main", "make", "gmake", "cc1plus", "cc1", "g++", "gcc", "c++", "cc", "clang", "clang++",
                             "as", "ld", "collect2", "ccache"})


def end_orphans(directory) -> list:
    """End (SIGKILL) the standalone binary or compilers still working in the build folder
    ``directory`` (see :func:`processes_in`, :data:`ORPHAN_PROGRAMS`): what a killed run left.
    Call it only while holding the run directory's :class:`RunLock`. Returns their ids."""
    ended = []
    for pid in processes_in(directory):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name not in ORPHAN_PROGRAMS:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            ended.append(pid)
        except OSError:
            pass
    return ended


def remove_stale_temporaries(directory) -> list:
    """Delete ``.<name>.*.tmp`` files (atomic writes that were killed before their rename);
    returns their names."""
    directory = Path(directory)
    removed = []
    for tmp in directory.glob(".*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp.name)
        except OSError:
            pass
    return removed
