"""Training the runs of a comparison: one ordinary run directory per method and seed
(``OUT/runs/<method>-s<seed>``), each trained by ``brian-ep train`` in a process of its own
(so that the peak memory its metrics record is its own), and every run directory records a
command that reproduces it.

A finished run whose ``spec.yaml`` is the spec the method would train is read, not trained
again; an interrupted one is resumed from its checkpoint; a directory that holds anything
else is an error (nothing is overwritten).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArgumentError, BrianEPError

__all__ = ["RunRecord", "run_directory", "prepare_run", "train_run", "read_run"]


@dataclass
class RunRecord:
    """A finished run of a comparison.

    Attributes
    ----------
    method : str
    seed : int
    path : Path
        Its run directory.
    spec : Spec
        The spec it trained.
    metrics : dict
        Its ``metrics.json``.
    peak_rss_mb : float or None
        Peak resident memory of the process that trained it (MiB, the largest
        ``peak_rss_mib`` of its epochs; ``None``: not recorded).
    """

    method: str
    seed: int
    path: Path
    spec: object
    metrics: dict
    peak_rss_mb: float | None = None


def run_directory(out: Path, method: str, seed: int) -> Path:
    """Where the run of ``method`` with ``seed`` lives inside the comparison folder ``out``."""
    return Path(out) / "runs" / f"{method}-s{seed}"


def _first_difference(a: dict, b: dict, prefix: str = "") -> str:
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            found = _first_difference(va, vb, f"{prefix}{key}.")
            if found:
                return found
        elif va != vb:
            return f"{prefix}{key} is {va!r} there, {vb!r} here"
    return ""


def prepare_run(path: Path, spec) -> str:
    """What to do with the run directory ``path`` for ``spec``: ``"read"`` (finished),
    ``"resume"`` (checkpoint of the same spec) or ``"train"``.

    Raises
    ------
    ArgumentError
        If ``path`` holds something other than a run of ``spec`` (nothing is overwritten).
    """
    from ..spec import load_spec, spec_to_dict

    if not path.exists() or not any(path.iterdir()):
        return "train"
    saved = path / "spec.yaml"
    if not saved.is_file():
        raise ArgumentError(f"'{path}' exists and is not a run directory; remove it or choose another --out (nothing was changed)")
    try:
        difference = _first_difference(spec_to_dict(load_spec(saved)), spec_to_dict(spec))
    except BrianEPError as exc:
        raise ArgumentError(f"'{path}' holds a run whose spec does not load ({exc}); remove it or choose another --out") from None
    if difference:
        raise ArgumentError(
            f"'{path}' holds a run of another spec ({difference}); remove it or choose another --out (nothing was changed)"
        )
    if (path / "COMPLETE").exists():
        return "read"
    if (path / "checkpoint.npz").exists():
        return "resume"
    shutil.rmtree(path)  # this comparison's own run of the same spec, stopped before its first checkpoint
    return "train"


def _child_env(threads: int) -> dict:
    """The environment of a training process: this brian_ep first on the path, ``threads``
    threads for OpenMP/BLAS/torch."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def train_run(spec, path: Path, resume: bool, threads: int = 1, progress: bool = True, guard=None) -> None:
    """Train ``spec`` into ``path`` with ``brian-ep train`` in a child process of its own (its
    metrics record its peak memory; ``path/compare.json`` records the command and threads).

    The child has a process group of its own and ends when this process dies; with ``guard``
    (a :class:`~brian_ep.compare.stop.ChildStop`) signals to this process are forwarded to it,
    and a child stopped by them returns without an error (the caller asks the guard).

    Raises
    ------
    BrianEPError
        If the training process fails (its own message is printed above).
    """
    from ..brian.shield import child_preexec
    from ..rundir import atomic_write_bytes
    from ..spec import dump_spec

    specs = path.parent.parent / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    spec_file = specs / f"{path.name}.yaml"
    dump_spec(spec, spec_file)
    cmd = [sys.executable, "-m", "brian_ep.cli", "train", str(spec_file), "--out", str(path)]
    cmd += (["--resume"] if resume else []) + ([] if progress else ["--quiet"])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=_child_env(threads), stdout=None if progress else subprocess.DEVNULL,
                            preexec_fn=child_preexec())
    if guard is not None:
        guard.child = proc
    try:
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if guard is not None:
            guard.child = None
    if code != 0 and guard is not None and guard.stopped:
        return
    if code != 0:
        raise BrianEPError(f"training {path.name} failed (exit status {code}; its message is above); rerun the same command to resume it")
    record = {"threads": threads, "process_seconds": time.perf_counter() - t0, "command": cmd}
    atomic_write_bytes(path / "compare.json", json.dumps(record, indent=2).encode())


def read_run(path: Path, method: str, seed: int) -> RunRecord:
    """The record of the finished run in ``path``."""
    from ..spec import load_spec

    metrics = json.loads((path / "metrics.json").read_text())
    peaks = [e["peak_rss_mib"] for e in metrics["epochs"] if e.get("peak_rss_mib") is not None]
    if not peaks:  # runs of an earlier version: the peak a comparison measured with wait4, if any
        info = path / "compare.json"
        peaks = [json.loads(info.read_text()).get("peak_rss_mb")] if info.exists() else []
    return RunRecord(method, seed, path, load_spec(path / "spec.yaml"), metrics, max(peaks) if peaks and peaks[0] else None)
