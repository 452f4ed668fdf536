"""The run directory: everything needed to inspect, reproduce and resume a training run.

Layout::

    spec.yaml          the validated spec (as run, overrides applied)
    environment.json   versions of Python, brian2, numpy, torch, brian_ep; command; seed
    metrics.json       per-epoch metrics (and metrics.csv, the same as a table)
    checkpoint.npz     weights, optimiser state, position, and the spec and package version
                       they belong to (written atomically after every chunk)
    weights.npz        final weights (``W:<projection>``, ``b:<layer>``)
    history.json       every command that started, resumed or overwrote the run, with the
                       spec changes it was allowed to make
    figures/           learning curves (PNG)
    standalone/        the compiled C++ program (cpp_standalone)
    COMPLETE           written last: a directory without it is an interrupted run
    .lock              held by the process working in the directory (see brian_ep.runlock)

Nothing a user made is overwritten without being asked: a new run into a directory that
already holds one is refused unless ``overwrite`` is given, and a resumed run must have
the checkpoint's spec (:mod:`brian_ep.resume`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ArgumentError, BrianEPError, DataError, StorageError, storage_problem
from .npzfile import read_npz
from .spec.load import dump_spec, spec_to_dict

__all__ = ["RunDirectory", "Checkpoint", "RUN_FILES", "default_run_dir", "atomic_write_bytes", "environment_info"]

#: The files a run writes (and the only ones ``overwrite`` deletes).
RUN_FILES = (
    "COMPLETE", "checkpoint.npz", "weights.npz", "metrics.json", "metrics.csv", "spec.yaml", "environment.json",
    "history.json", "figures/learning_curves.png",
)
#: Files and folders that do not make a directory a run (the lock, the build folder).
_NOT_A_RUN = (".lock", "standalone", "figures")


def default_run_dir(spec, root="runs") -> Path:
    """``runs/<name>-<hash of the spec>-s<seed>``: the same spec and seed give the same place."""
    digest = hashlib.sha256(json.dumps(spec_to_dict(spec), sort_keys=True).encode()).hexdigest()[:8]
    name = f"{spec.name}-{digest}-s{spec.run.seed}"
    if Path(name).name != name or name.startswith("."):  # the spec schema already refuses such names
        raise ArgumentError(f"the spec name {spec.name!r} cannot be a folder name under {root}/")
    return Path(root) / name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over ``path``.

    Raises
    ------
    StorageError
        If the file system refuses (disk full, file too large, read-only...): naming ``path``
        and saying that its previous version is unchanged.
    """
    try:
        _atomic_write(Path(path), data)
    except OSError as exc:
        problem = storage_problem(exc)
        if problem is None or isinstance(exc, StorageError):
            raise
        raise StorageError(f"cannot write '{path}': {problem}. Its previous version (if any) is unchanged") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # mkstemp makes 0o600; give the mode open() would
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fh.fileno(), 0o666 & ~umask)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _npz_bytes(arrays: dict) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def environment_info(spec=None, command=None) -> dict:
    """Versions and the command line, so that a run can be reproduced."""
    info = {"python": sys.version.split()[0], "platform": platform.platform()}
    for module in ("brian_ep", "brian2", "numpy", "scipy", "torch", "snntorch"):
        try:
            mod = __import__(module)
            info[module] = getattr(mod, "__version__", "unknown")
        except Exception:  # noqa: BLE001 - optional packages
            info[module] = None
    info["command"] = command if command is not None else " ".join(sys.argv)
    if spec is not None:
        info["seed"] = spec.run.seed
    return info


@dataclass
class Checkpoint:
    """What ``checkpoint.npz`` holds: weights, optimiser state, position (epoch, sample, running
    sums, metrics so far), and the spec (as a dict) and package version it was written with
    (``None`` in checkpoints of older versions)."""

    params: object
    optim_state: object
    position: dict
    spec: dict | None
    version: str | None

    def __iter__(self):
        """``params, optim_state, position = run_dir.load_checkpoint()`` (the older tuple form)."""
        return iter((self.params, self.optim_state, self.position))


class RunDirectory:
    """Reads and writes one run directory (see the module docstring for its layout)."""

    def __init__(self, path):
        self.path = Path(path)

    # -- what is there ----------------------------------------------------------------------
    def state(self) -> str:
        """``"empty"`` (missing, or only a build folder and lock), ``"complete"``, ``"interrupted"``
        (a run without ``COMPLETE``), or ``"other"`` (files that are not a run's)."""
        if not self.path.is_dir():
            return "empty"
        names = {p.name for p in self.path.iterdir()} - set(_NOT_A_RUN)
        names = {n for n in names if not (n.startswith(".") and n.endswith(".tmp"))}
        if (self.path / "figures").is_dir() and any((self.path / "figures").iterdir()):
            names.add("figures")
        if not names:
            return "empty"
        if self.is_complete:
            return "complete"
        if names & {"checkpoint.npz", "spec.yaml", "weights.npz", "metrics.json"}:
            return "interrupted"
        return "other"

    def refuse_existing(self, overwrite: bool) -> None:
        """Refuse to start a new run here if the directory already holds something, unless
        ``overwrite``; with it, delete the files of the old run (only those, see ``RUN_FILES``)."""
        state = self.state()
        if state == "empty":
            return
        if not overwrite:
            raise ArgumentError(self._occupied_message(state))
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)

    def _occupied_message(self, state) -> str:
        where = f"the run directory '{self.path}'"
        if state == "complete":
            what = f"{where} already holds a finished run{self._final_accuracy()}"
            how = "evaluate it with 'brian-ep evaluate DIR', continue it with --resume (and --allow-changes run.epochs)"
        elif state == "interrupted":
            what = f"{where} already holds an interrupted run{self._position()}"
            how = "continue it with --resume"
        else:
            what = f"'{self.path}' is not empty and is not a brian-ep run directory"
            how = "choose an empty or new directory"
        return (
            f"{what}; a new run would delete its weights and checkpoint. To keep it, {how}, or pass another --out; "
            "to replace it, add --overwrite"
        )

    def _final_accuracy(self) -> str:
        try:
            final = self.read_metrics()["epochs"][-1]["test_accuracy"]
            return f" (final test accuracy {100 * final:.2f}%)"
        except (BrianEPError, LookupError, TypeError):
            return ""

    def _position(self) -> str:
        try:
            position = self.load_checkpoint().position
            return f" (its checkpoint is at epoch {position['epoch'] + 1}, sample {position['sample']})"
        except (BrianEPError, LookupError, TypeError):
            return ""

    def create(self, spec, command=None, resume=False) -> None:
        """Create the directory (if needed) and write ``spec.yaml`` and ``environment.json``.
        A new run (``resume`` false) must start in a directory without a run (see
        :meth:`refuse_existing`); a resumed one loses its ``COMPLETE`` mark until it ends."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise BrianEPError(
                f"cannot write the run directory '{self.path}': {exc.strerror or exc}. Choose another with --out"
            ) from None
        if resume:
            (self.path / "COMPLETE").unlink(missing_ok=True)
        dump_spec(spec, self.path / "spec.yaml")
        atomic_write_bytes(self.path / "environment.json", json.dumps(environment_info(spec, command), indent=2).encode())

    def append_history(self, event: str, command=None, changes=None) -> None:
        """Add an entry to ``history.json``: what happened (``start``, ``resume``, ``overwrite``),
        when, the command, the package version and the spec changes allowed."""
        path = self.path / "history.json"
        try:
            history = json.loads(path.read_text()) if path.exists() else []
            if not isinstance(history, list):
                history = [{"event": "unreadable history replaced", "content": history}]
        except (OSError, ValueError):
            history = [{"event": "unreadable history replaced"}]
        history.append({
            "event": event,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": command if command is not None else " ".join(sys.argv),
            "brian_ep": _package_version(),
            "changes": changes or {},
        })
        atomic_write_bytes(path, json.dumps(history, indent=2).encode())

    @property
    def figures(self) -> Path:
        d = self.path / "figures"
        d.mkdir(exist_ok=True)
        return d

    @property
    def is_complete(self) -> bool:
        return (self.path / "COMPLETE").exists()

    def mark_complete(self) -> None:
        atomic_write_bytes(self.path / "COMPLETE", b"")

    # -- metrics ---------------------------------------------------------------------------
    def write_metrics(self, metrics: dict) -> None:
        atomic_write_bytes(self.path / "metrics.json", json.dumps(metrics, indent=2).encode())
        rows = metrics.get("epochs", [])
        if rows:
            import io

            buf = io.StringIO()
            # every key of every row (a run resumed by a newer version may add a column)
            fields = list(dict.fromkeys(key for row in rows for key in row))
            writer = csv.DictWriter(buf, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_bytes(self.path / "metrics.csv", buf.getvalue().encode())

    def read_metrics(self) -> dict:
        """``metrics.json`` (a :class:`~brian_ep.errors.DataError` if it is missing or broken)."""
        path = self.path / "metrics.json"
        try:
            metrics = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise DataError(f"'{path}' not found: the run has not finished an epoch") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"'{path}' cannot be read as JSON ({type(exc).__name__}); the file is damaged") from None
        if not isinstance(metrics, dict) or not isinstance(metrics.get("epochs", []), list):
            raise DataError(f"'{path}' is not a brian-ep metrics file (no list of epochs)")
        return metrics

    # -- weights and checkpoints -----------------------------------------------------------------
    def save_weights(self, params, name="weights.npz") -> Path:
        atomic_write_bytes(self.path / name, _npz_bytes(params.to_flat()))
        return self.path / name

    def save_checkpoint(self, params, optim_state, position: dict, spec=None) -> None:
        """Write ``checkpoint.npz`` atomically; ``spec`` (and the package version) are stored
        with it so that a resume can check them."""
        arrays = {f"params.{k}": v for k, v in params.to_flat().items()}
        arrays.update({f"optim.{k}": v for k, v in optim_state.to_flat().items()})
        arrays["position"] = np.frombuffer(json.dumps(position).encode(), dtype=np.uint8)
        if spec is not None:
            record = {"spec": spec_to_dict(spec), "brian_ep": _package_version()}
            arrays["spec"] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
        atomic_write_bytes(self.path / "checkpoint.npz", _npz_bytes(arrays))

    def load_checkpoint(self, arch=None) -> Checkpoint:
        """Read ``checkpoint.npz``; with ``arch``, its weights and optimiser state are checked
        against the network (:func:`brian_ep.weights.check_params`).

        Raises
        ------
        BrianEPError
            If there is no checkpoint; :class:`~brian_ep.errors.DataError` if it is damaged or
            does not fit ``arch``.
        """
        from .checkpoint_file import parse_checkpoint

        path = self.path / "checkpoint.npz"
        if not path.exists():
            raise BrianEPError(f"no checkpoint to resume from in '{self.path}' (checkpoint.npz is missing)")
        return Checkpoint(*parse_checkpoint(read_npz(path, "checkpoint"), f"checkpoint '{path}'", arch))


def _package_version() -> str:
    from . import __version__

    return __version__
