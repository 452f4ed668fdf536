"""A cache of compiled ``cpp_standalone`` programs, keyed by their generated code.

Compiling a training program takes minutes on a small machine, and a program depends only on
the network's structure: the seed, the initial weights, the learning rates, ``beta`` and the
data reach it as ``run_args`` at every run (:mod:`brian_ep.engines.brian`). So
:class:`~brian_ep.brian.program.StandaloneProgram` writes the project into a fresh folder
(Brian2's ``device.build(compile=False)``), hashes every file there (:func:`program_key`:
the C++ sources, headers, makefile with its compiler flags, static arrays) together with the
host (:func:`host_identity`), and compiles only when no program with that key is cached.
Keying on the generated code itself, rather than on the parts of a spec thought to shape it,
cannot reuse a program that differs in anything that Brian2 wrote, whatever the spec, the
neuron model, a ``modify_equations`` hook, Brian2's version or its preferences changed.

Layout: ``<root>/<key>/`` holds the whole compiled project and its stamp
``brian_ep_program.json`` (the key, what built it, when); ``<root>/.locks/<key>.lock`` is
the entry's lock (empty files, never removed: removing a lock file that a process waits on
would let a third process take a second lock). ``root`` is :func:`cache_root`: ``$BRIAN_EP_CACHE``, else
``$XDG_CACHE_HOME/brian_ep/programs``, else ``~/.cache/brian_ep/programs``;
``BRIAN_EP_CACHE=off`` turns the cache off (every program compiles in its own folder).

Concurrent runs: the entry is looked up and built under an exclusive ``fcntl`` lock of its
own, so two processes asking for one key compile once (the second waits, then copies); a
program is compiled in its temporary folder and renamed into place with its stamp, so an
entry that exists is complete, and one whose stamp does not match its key is rebuilt.
``brian-ep cache list`` and ``brian-ep cache clear`` show and remove entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CACHE_ENV", "STAMP", "CacheEntry", "cache_root", "host_identity", "program_key", "staging_folder", "cached_build",
    "copy_program", "list_entries", "describe_entries", "clear_cache",
]

#: the environment variable that moves the cache (a folder) or turns it off (``off``)
CACHE_ENV = "BRIAN_EP_CACHE"
#: the stamp file of an entry (JSON: ``key``, ``built``, ``used``, ``compile_s`` and what built it)
STAMP = "brian_ep_program.json"
#: raised when the layout or the key's recipe changes, so that older entries are not used
FORMAT = 1
_OFF = {"off", "0", "no", "none", "false"}
_STAGING = ".build-"
#: what a run adds to a program's folder, left out of the key and of copies
_RUN_OUTPUTS = ("results",)


def cache_root() -> Path | None:
    """The cache folder (see the module docstring), or ``None`` when ``BRIAN_EP_CACHE=off``."""
    value = os.environ.get(CACHE_ENV)
    if value is not None and value.strip():
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "brian_ep" / "programs"


def host_identity() -> dict:
    """What a compiled program needs of the machine that runs it, beyond its code: the
    system, the processor architecture and model (Brian2 compiles with ``-march=native``),
    and the compilers named by ``CXX`` / ``CC`` (a different compiler asked for is a
    different program). The compiler's version is not included: a program that a former
    compiler built still runs."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "format": FORMAT, "system": platform.system(), "machine": platform.machine(), "cpu": model,
        "CXX": os.environ.get("CXX", ""), "CC": os.environ.get("CC", ""),
    }


def _files(directory: Path) -> list[Path]:
    """The files of a generated project, in a fixed order, without what a run adds."""
    out = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and relative.parts[0] not in _RUN_OUTPUTS and relative.name != STAMP:
            out.append(relative)
    return out


def program_key(directory) -> str:
    """The key of the project generated in ``directory``: SHA-256 of :func:`host_identity`
    and of every file's relative path and bytes (16 bytes, hexadecimal)."""
    directory = Path(directory)
    digest = hashlib.sha256(json.dumps(host_identity(), sort_keys=True).encode())
    for relative in _files(directory):
        digest.update(b"\0" + relative.as_posix().encode() + b"\0")
        with open(directory / relative, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def staging_folder(root: Path) -> Path:
    """A new temporary folder in ``root`` to generate a project into (renamed into an entry
    once compiled); the folders that ended processes of this host left behind are removed."""
    root.mkdir(parents=True, exist_ok=True)
    _remove_orphans(root)
    return Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}@{socket.gethostname()}-", dir=root))


def _remove_orphans(root: Path) -> int:
    """Remove the staging folders of ended processes of this host; returns the bytes freed."""
    freed = 0
    for path in list(root.iterdir()):
        if not (path.is_dir() and path.name.startswith(_STAGING)):
            continue
        pid, _, rest = path.name[len(_STAGING):].partition("@")
        host = rest.rsplit("-", 1)[0]
        if pid.isdigit() and host == socket.gethostname() and not _alive(int(pid)):
            freed += _size(path)
            shutil.rmtree(path, ignore_errors=True)
    return freed


@contextmanager
def _locked(root: Path, key: str):
    """An exclusive lock on the entry ``key`` (``fcntl.flock`` on ``<root>/<key>.lock``; the
    operating system releases it when the process ends, however it ends)."""
    import fcntl

    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{key}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp(entry: Path) -> dict | None:
    try:
        return json.loads((entry / STAMP).read_text())
    except (OSError, ValueError):
        return None


def _valid(entry: Path, key: str) -> bool:
    stamp = _stamp(entry)
    return isinstance(stamp, dict) and stamp.get("key") == key


def cached_build(root: Path, staging: Path, compile_project, info: dict | None = None) -> tuple[Path, bool]:
    """The cache entry of the project generated in ``staging``, compiled if it is not cached.

    Parameters
    ----------
    root : Path
        The cache folder.
    staging : Path
        A folder from :func:`staging_folder` holding the generated project (not compiled). It
        becomes the entry, or is removed when the entry exists.
    compile_project : callable
        ``compile_project(folder)`` compiles the project in ``folder`` (raises on failure).
    info : dict, optional
        Recorded in the stamp for ``brian-ep cache list`` (e.g. the program's kind and spec).

    Returns
    -------
    (Path, bool)
        The entry's folder, and whether this call compiled it.
    """
    key = program_key(staging)
    entry = root / key
    with _locked(root, key):
        if _valid(entry, key):
            shutil.rmtree(staging, ignore_errors=True)
            _touch(entry)
            return entry, False
        shutil.rmtree(entry, ignore_errors=True)  # incomplete or damaged: built again
        try:
            start = time.time()
            compile_project(staging)
            now = time.time()
            stamp = {"key": key, "built": now, "used": now, "compile_s": round(now - start, 1), **(info or {}), **host_identity()}
            (staging / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True))
            os.rename(staging, entry)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return entry, True


def _touch(entry: Path) -> None:
    """Record that ``entry`` was used now (for ``brian-ep cache list``)."""
    stamp = _stamp(entry) or {}
    stamp["used"] = time.time()
    target = entry / STAMP
    temporary = target.with_name(f".{STAMP}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(stamp, indent=1, sort_keys=True))
        os.replace(temporary, target)
    except OSError:  # a read-only cache still serves its programs
        pass


def copy_program(entry: Path, directory) -> None:
    """Copy the compiled project of ``entry`` into ``directory`` (modification times kept, so
    ``make`` there finds nothing to do), without the stamp and without run outputs."""
    directory = Path(directory)
    for relative in _files(entry):
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()  # never write through a file that another process may hold
        shutil.copy2(entry / relative, target)


@dataclass(frozen=True)
class CacheEntry:
    """One cached program: its key, folder, size on disk (bytes) and stamp."""

    key: str
    path: Path
    size: int
    stamp: dict


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_entries(root: Path | None = None) -> list[CacheEntry]:
    """The complete entries of the cache (those with a valid stamp), most recently used first."""
    root = cache_root() if root is None else Path(root)
    if root is None or not root.is_dir():
        return []
    out = []
    for path in root.iterdir():
        if path.is_dir() and _is_key(path.name) and _valid(path, path.name):
            out.append(CacheEntry(path.name, path, _size(path), _stamp(path)))
    return sorted(out, key=lambda e: -float(e.stamp.get("used", 0)))


def describe_entries(root: Path, entries: list[CacheEntry]) -> str:
    """A table of ``entries`` (one line each: key, size, program kind, spec, compile time, last
    use) and their total size, for ``brian-ep cache list``."""
    lines = [f"{len(entries)} compiled program(s) in {root}"]
    for e in entries:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(e.stamp.get("used", 0))))
        lines.append(
            f"  {e.key}  {e.size / 1e6:8.1f} MB  {e.stamp.get('kind', '?'):8s} {str(e.stamp.get('spec', '?')):24s} "
            f"compiled in {e.stamp.get('compile_s', '?')} s, last used {used}"
        )
    lines.append(f"total {sum(e.size for e in entries) / 1e6:.1f} MB (brian-ep cache clear removes them)")
    return "\n".join(lines)


def _is_key(name: str) -> bool:
    """Whether ``name`` is an entry's name (32 hexadecimal digits): nothing else in the cache
    folder is listed or removed, whatever folder ``BRIAN_EP_CACHE`` names."""
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clear_cache(root: Path | None = None) -> tuple[int, int]:
    """Remove every entry (each under its lock, so none is removed while a process copies or
    builds it) and the temporary folders of ended processes of this host.

    Returns
    -------
    (int, int)
        The number of entries removed and the bytes freed.
    """
    root = cache_root() if root is None else Path(root)
    if root is None or not root.is_dir():
        return 0, 0
    count, freed = 0, _remove_orphans(root)
    for path in list(root.iterdir()):
        if path.is_dir() and _is_key(path.name):
            with _locked(root, path.name):
                size = _size(path)
                shutil.rmtree(path, ignore_errors=True)
            count, freed = count + 1, freed + size
    return count, freed
