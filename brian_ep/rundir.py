"""The run directory: everything needed to inspect, reproduce and resume a training run.

Layout::

    spec.yaml          the validated spec (as run, overrides applied)
    environment.json   versions of Python, brian2, numpy, torch, brian_ep; command; seed
    metrics.json       per-epoch metrics (and metrics.csv, the same as a table)
    checkpoint.npz     weights, optimiser state and position (written atomically)
    weights.npz        final weights (``W:<projection>``, ``b:<layer>``)
    figures/           learning curves (PNG)
    COMPLETE           written last: a directory without it is an interrupted run
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

from .errors import BrianEPError
from .spec.load import dump_spec, spec_to_dict

__all__ = ["RunDirectory", "default_run_dir", "atomic_write_bytes", "environment_info"]


def default_run_dir(spec, root="runs") -> Path:
    """``runs/<name>-<hash of the spec>-s<seed>``: the same spec and seed give the same place."""
    digest = hashlib.sha256(json.dumps(spec_to_dict(spec), sort_keys=True).encode()).hexdigest()[:8]
    return Path(root) / f"{spec.name}-{digest}-s{spec.run.seed}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over ``path``."""
    path = Path(path)
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


class RunDirectory:
    """Reads and writes one run directory (see the module docstring for its layout)."""

    def __init__(self, path):
        self.path = Path(path)

    def create(self, spec, command=None, resume=False) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise BrianEPError(
                f"cannot write the run directory '{self.path}': {exc.strerror or exc}. Choose another with --out"
            ) from None
        if not resume:
            for stale in ("COMPLETE", "checkpoint.npz", "weights.npz", "metrics.json", "metrics.csv"):
                (self.path / stale).unlink(missing_ok=True)
        dump_spec(spec, self.path / "spec.yaml")
        atomic_write_bytes(self.path / "environment.json", json.dumps(environment_info(spec, command), indent=2).encode())

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
            writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_bytes(self.path / "metrics.csv", buf.getvalue().encode())

    def read_metrics(self) -> dict:
        return json.loads((self.path / "metrics.json").read_text())

    # -- weights and checkpoints -----------------------------------------------------------------
    def save_weights(self, params, name="weights.npz") -> Path:
        atomic_write_bytes(self.path / name, _npz_bytes(params.to_flat()))
        return self.path / name

    def save_checkpoint(self, params, optim_state, position: dict) -> None:
        arrays = {f"params.{k}": v for k, v in params.to_flat().items()}
        arrays.update({f"optim.{k}": v for k, v in optim_state.to_flat().items()})
        arrays["position"] = np.frombuffer(json.dumps(position).encode(), dtype=np.uint8)
        atomic_write_bytes(self.path / "checkpoint.npz", _npz_bytes(arrays))

    def load_checkpoint(self):
        from .maths.optim import OptimState
        from .maths.params import Params

        path = self.path / "checkpoint.npz"
        if not path.exists():
            raise BrianEPError(f"no checkpoint to resume from in '{self.path}' (checkpoint.npz is missing)")
        with np.load(path) as data:
            flat = {k: data[k] for k in data.files}
        params = Params.from_flat({k[7:]: v for k, v in flat.items() if k.startswith("params.")})
        optim = OptimState.from_flat({k[6:]: v for k, v in flat.items() if k.startswith("optim.")})
        position = json.loads(bytes(flat["position"]).decode())
        return params, optim, position
