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

__all__ = ["LOCK_NAME", "GROUP_FILE", "ORPHAN_PROGRAMS", "RunLock", "processes_in", "end_orphans", "remove_stale_temporaries",
           "record_group", "reap"]

LOCK_NAME = ".lock"
#: Written into a build folder while a compile runs there: the compiler's process group id.
GROUP_FILE = ".compiling.pgid"

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
    """End (SIGKILL) what a killed run left working in the build folder ``directory``: the process
    groups recorded in :data:`GROUP_FILE` files below it (a compile: ``make`` and every compiler
    it started, whatever their names), and the standalone binary or compilers whose working
    directory is there (see :func:`processes_in`, :data:`ORPHAN_PROGRAMS`). Call it only while
    holding the run directory's :class:`RunLock`. Returns the ids ended."""
    ended = _end_recorded_groups(directory)
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


def record_group(directory, pgid: int) -> Path:
    """Record that the process group ``pgid`` compiles in ``directory`` (remove the returned file
    when it has ended); a later command ends the group if this process is killed meanwhile."""
    path = Path(directory) / GROUP_FILE
    path.write_text(f"{int(pgid)}\n")
    return path


def _group_members(pgid: int) -> list:
    """Ids of the processes in process group ``pgid`` (from ``/proc``)."""
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _end_recorded_groups(directory) -> list:
    """Kill the recorded process groups below ``directory`` whose members still work there (a
    group id that was reused by an unrelated process is left alone)."""
    directory = Path(directory)
    ended = []
    if not directory.is_dir():
        return ended
    target = os.path.realpath(directory)
    for record in directory.rglob(GROUP_FILE):
        try:
            pgid = int(record.read_text().strip())
        except (OSError, ValueError):
            pgid = None
        members = _group_members(pgid) if pgid and pgid != os.getpgrp() else []
        ours = [pid for pid in members if pid != os.getpid() and _cwd_within(pid, target)]
        if ours:
            try:
                os.killpg(pgid, signal.SIGKILL)
                ended.extend(ours)
            except OSError:
                pass
        record.unlink(missing_ok=True)
    return ended


def _cwd_within(pid: int, target: str) -> bool:
    try:
        return _within(os.readlink(f"/proc/{pid}/cwd"), target)
    except OSError:
        return False


def reap(directory) -> list:
    """If no process holds ``directory``'s lock, take it for a moment and clean what a killed run
    left there (:func:`end_orphans` in its ``standalone`` build folder,
    :func:`remove_stale_temporaries`); a live run is left alone. Called by every command that
    names a run directory before it checks anything, so that even a command that is then
    refused (a ``--resume`` without a checkpoint after a run killed during its first compile)
    ends the orphaned compilers. Returns the ids ended."""
    directory = Path(directory)
    if fcntl is None or not (directory / LOCK_NAME).exists():
        return []
    try:
        fh = open(directory / LOCK_NAME, "a")  # noqa: SIM115
    except OSError:  # read-only: nothing to clean that could be cleaned
        return []
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: a live run works there
        fh.close()
        return []
    try:
        ended = end_orphans(directory / "standalone")
        remove_stale_temporaries(directory)
        return ended
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


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
