"""Starting, resuming or overwriting a run in its directory.

:func:`begin_run` makes every check that can refuse the command and writes nothing: a new
run into a directory that holds one (unless overwritten), a resume whose spec or package
version differs from the checkpoint's (unless allowed, :mod:`brian_ep.resume`), a damaged
checkpoint or one that does not fit the network. :func:`claimed` then takes the directory's
lock and cleans what a killed run left (:mod:`brian_ep.runlock`), and :func:`open_run` writes
the spec, the environment and the history.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from .engines.registry import get_engine_entry
from .errors import ArgumentError, BrianEPError, DataError, SpecError, StorageError, storage_problem
from .maths.optim import OptimState, init_optim_state
from .maths.params import Params, initial_params
from .resume import check_resume
from .runlock import RunLock, end_orphans, remove_stale_temporaries
from .spec.load import load_spec, spec_to_dict
from .weights import check_params

__all__ = ["Begin", "new_position", "run_device", "begin_run", "claimed", "open_run", "storage_faults"]


def new_position(epoch: int = 0) -> dict:
    """Where a run stands within an epoch (saved in every checkpoint)."""
    return {"epoch": epoch, "sample": 0, "correct": 0, "loss": 0.0, "seconds": 0.0, "spikes": {}}


@dataclass
class Begin:
    """Where a run starts: weights, optimiser state, position, metrics so far, and what the
    run directory's history records (``event``, allowed spec ``changes``)."""

    params: Params
    optim_state: OptimState
    position: dict
    metrics: dict
    event: str
    changes: dict


def run_device(spec) -> str:
    """Where the run computes, as its metrics record it (the engine's registry entry says:
    Brian2's device for ``brian2``, ``run.torch.device`` for torch, else ``cpu``)."""
    return get_engine_entry(spec.run.engine).computes_on(spec)


def begin_run(spec, arch, run_dir, resume, overwrite, allow, n_train) -> Begin:
    """Initial (or resumed) state, after every check that can refuse the command; writes
    nothing."""
    params = initial_params(arch, spec.run.seed)
    metrics = {"spec": spec.name, "engine": spec.run.engine, "device": run_device(spec), "epochs": []}
    begin = Begin(params, init_optim_state(params), new_position(), metrics, "start", {})
    if resume and overwrite:
        raise ArgumentError("resume continues the run in 'out' and overwrite replaces it; give one of them")
    if allow and not resume:
        raise ArgumentError("allow_changes only applies when resuming (resume=True)")
    if run_dir is None:
        if resume:
            raise ArgumentError("resume needs the run directory to resume from (out=...)")
        return begin
    if not resume:
        state = run_dir.state()
        if state != "empty" and not overwrite:
            run_dir.refuse_existing(False)
        begin.event = "overwrite" if state != "empty" else "start"
        return begin
    ckpt = run_dir.load_checkpoint()
    recorded = ckpt.spec if ckpt.spec is not None else _recorded_spec(run_dir)
    begin.changes = check_resume(recorded, ckpt.version, spec_to_dict(spec), _version(), allow, f"'{run_dir.path}'")
    source = f"checkpoint '{run_dir.path / 'checkpoint.npz'}'"
    check_params(ckpt.params, arch, source)
    for moments in (ckpt.optim_state.m, ckpt.optim_state.v):
        if moments.W or moments.b:
            check_params(moments, arch, f"{source} (optimiser moments)")
    position = dict(ckpt.position)
    if position["sample"] > n_train:
        raise DataError(
            f"{source} is at sample {position['sample']} of an epoch, but the training set has {n_train} samples "
            "(data.n_train or data.validation changed?); resume with the original data settings"
        )
    begin.metrics = position.pop("metrics", begin.metrics)
    begin.params, begin.optim_state, begin.position, begin.event = ckpt.params, ckpt.optim_state, position, "resume"
    return begin


def _recorded_spec(run_dir) -> dict:
    """The spec of a run whose checkpoint predates recorded specs: its ``spec.yaml``."""
    try:
        return spec_to_dict(load_spec(run_dir.path / "spec.yaml"))
    except SpecError as exc:
        raise DataError(f"cannot check the resumed spec against the run's own: {exc}") from None


def _version() -> str:
    from . import __version__

    return __version__


@contextlib.contextmanager
def claimed(run_dir):
    """Hold the run directory's lock (creating the directory), and clean what a killed run
    left in it: processes still working there and half-written files."""
    if run_dir is None:
        yield None
        return
    try:
        run_dir.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrianEPError(
            f"cannot write the run directory '{run_dir.path}': {exc.strerror or exc}. Choose another with --out"
        ) from None
    with RunLock(run_dir.path) as lock:
        end_orphans(run_dir.path / "standalone")
        remove_stale_temporaries(run_dir.path)
        yield lock


def open_run(run_dir, spec, begin: Begin, command) -> None:
    """Write the run directory's spec, environment and history (under its lock)."""
    if begin.event == "overwrite":
        run_dir.refuse_existing(True)
    run_dir.create(spec, command=command, resume=begin.event == "resume")
    run_dir.append_history(begin.event, command, begin.changes)




@contextlib.contextmanager
def storage_faults(run_dir, resume_command=None):
    """Turn a file-system fault while a run works in ``run_dir`` (disk full, file too large,
    read-only: :data:`~brian_ep.errors.STORAGE_ERRNOS`) into a :class:`StorageError` that names
    the path, says what was kept (the last checkpoint: writes are atomic, so it is whole) and
    how to go on once the cause is fixed."""
    try:
        yield
    except OSError as exc:
        if run_dir is None or not (isinstance(exc, StorageError) or storage_problem(exc)):
            raise
        what = str(exc) if isinstance(exc, StorageError) else (
            f"cannot write '{exc.filename or run_dir.path}': {storage_problem(exc)}")
        raise StorageError(f"{what}. {_kept(run_dir, resume_command)}") from exc


def _kept(run_dir, resume_command) -> str:
    """What a run directory keeps after a failed write, and the command that continues."""
    path = run_dir.path
    if not (path / "checkpoint.npz").exists():
        return f"Nothing of this run was lost: no chunk had finished, so '{path}' has no checkpoint; start again once fixed"
    try:
        position = run_dir.load_checkpoint().position
        where = f"epoch {position['epoch'] + 1}, sample {position['sample']}"
    except (BrianEPError, LookupError, TypeError):  # pragma: no cover - a checkpoint is written atomically
        where = "its last chunk"
    how = resume_command or f"brian_ep.train(spec, out={str(path)!r}, resume=True)"
    return f"Nothing was lost: the last checkpoint ({where}) is kept whole in '{path}'. Once fixed, continue with: {how}"
