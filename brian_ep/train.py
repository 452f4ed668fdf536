"""Training: epochs, chunks, evaluation, metrics, checkpoints and progress.

Talks to an engine only through :class:`~brian_ep.engines.base.Engine` (``train_chunk``,
``predict``, ``get_params``/``set_params``), so every registered engine (Brian2, batched
numpy, the baselines) runs the same loop and writes the same run directory. All randomness
is derived from ``run.seed`` (:mod:`brian_ep.seeds`: initial weights, sample order, nudging
signs; :mod:`brian_ep.epochs`: what each epoch presents), so an interrupted run resumed from
its last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import health
from .architecture import build_architecture
from .api_checks import keys_argument, params_argument, spec_argument, split_argument
from .augment import plan_augmentation
from .data import one_hot
from .engines import get_engine_entry, make_engine
from .epochs import chunk_length, epoch_order, lr_factor, nudge_signs
from .errors import DIVERGENCE_ADVICE, ArgumentError, DivergenceError, Interrupted
from .interrupts import StopGuard
from .maths.energy import output_loss
from .maths.params import Params
from .peak_memory import peak_rss_mib
from .resources import check_resources
from .rundir import RunDirectory
from .maths.stream import stream_of
from .runlock import reap
from .session import begin_run, claimed, new_position, open_run, storage_faults
from .splits import prepare_data

if TYPE_CHECKING:
    from .data import Dataset
    from .spec.schema import Spec

__all__ = ["TrainResult", "train", "evaluate", "accuracy"]

_LOG = logging.getLogger("brian_ep.train")


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Attributes
    ----------
    params : Params
        The final weights and biases.
    metrics : dict
        ``{"epochs": [row per epoch, ...], ...}`` as written to ``metrics.json``.
    run_dir : Path or None
        The run directory, or ``None`` when nothing was written.
    """

    params: Params
    metrics: dict[str, Any]
    run_dir: Path | None

    @property
    def final_test_accuracy(self) -> float:
        """Test accuracy after the final epoch (a fraction in [0, 1]; never the best epoch)."""
        return float(self.metrics["epochs"][-1]["test_accuracy"])


@dataclass
class _Data:
    """The training, validation and test samples of a run (inputs, labels, one-hot targets)."""

    x: np.ndarray
    labels: np.ndarray
    y: np.ndarray
    validation: tuple | None
    x_test: np.ndarray
    labels_test: np.ndarray


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose largest output is at their label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def train(
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any],
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    command: str | None = None,
    overwrite: bool = False,
    allow_changes: str | Iterable[str] = (),
    resume_command: str | None = None,
    on_start: Callable[[], object] | None = None,
) -> TrainResult:
    """Train the network described by ``spec``.

    Parameters
    ----------
    spec : {Spec, str, dict}
        A spec, a spec file's path or a mapping (read with :func:`~brian_ep.load_spec`).
    out : str or Path, optional
        Run directory (spec, metrics, checkpoints, weights, figures); nothing is written if None.
    resume : bool
        Continue from ``out/checkpoint.npz``; the spec must be the checkpoint's (see
        ``allow_changes``).
    progress : bool
        Show a progress bar.
    dataset : Dataset, optional
        Use this data instead of loading ``spec.data.dataset``.
    command : str, optional
        The command line to record in the run directory.
    overwrite : bool
        Start a new run in ``out`` even if it holds one (its files are deleted); without it,
        such a directory is refused.
    allow_changes : str or sequence of str
        Spec keys (or sections, e.g. ``run.epochs``; one string is one key) that may differ from the checkpoint's
        when resuming; the changes are recorded in ``history.json``.
    resume_command : str, optional
        How to continue the run, printed when it is interrupted.
    on_start : callable, optional
        Called without arguments once every check has passed, before anything is written.

    Returns
    -------
    TrainResult
        Final weights and per-epoch metrics (test accuracy of the final epoch, never the best).

    Raises
    ------
    Interrupted
        After Ctrl-C (at the next chunk boundary, with its checkpoint) or a second Ctrl-C
        (at once); the message says what was kept and how to resume.
    ArgumentError, SpecError, DataError, StorageError
        Arguments of the wrong kind, a refused run directory or resume; a spec that cannot work
        or fit; data that do not fit; a full or read-only disk (naming the path, what was kept).
    """
    spec = spec_argument(spec, "train")
    allow_changes = keys_argument(allow_changes, "allow_changes", "train")
    (x_tr, l_tr), val, (x_te, l_te) = prepare_data(spec, dataset)
    arch = build_architecture(spec)
    data = _Data(x_tr, l_tr, one_hot(l_tr, arch.output.size), val, x_te, l_te)
    check_resources(spec, arch, x_tr.shape[0])
    main = is_main_process()
    run_dir = RunDirectory(out) if out is not None and main else None
    # in a data-parallel run every process trains and one writes; the others read a resumed
    # checkpoint (the first chunk's all-reduce waits for them, so it is not yet rewritten)
    reads = run_dir if main or not resume or out is None else RunDirectory(out)
    if run_dir is not None:
        reap(run_dir.path)  # a killed run's compilers end even if this command is refused
    start = begin_run(spec, arch, reads, resume, overwrite, tuple(allow_changes), x_tr.shape[0])
    progress = progress and main
    if on_start is not None and main:
        on_start()
    params, metrics = _train_locked(spec, arch, data, run_dir, start, progress, command, resume_command)
    return TrainResult(params, metrics, None if run_dir is None else run_dir.path)


def _train_locked(spec, arch, data, run_dir, start, progress, command, resume_command):
    """The run itself, holding the run directory's lock and Ctrl-C; returns the final weights
    and the metrics."""
    with StopGuard() as guard, claimed(run_dir), storage_faults(run_dir, resume_command):
        if run_dir is not None:
            open_run(run_dir, spec, start, command)
        workdir = None if run_dir is None else run_dir.path / "standalone"
        loop = _Loop(spec, arch, data, run_dir, progress, guard, start.metrics)
        engine = make_engine(spec, arch, start.params, start.optim_state, workdir=workdir)
        try:
            params = loop.run(engine, start.position)
        except (Exception, KeyboardInterrupt) as exc:
            if guard.stopped or isinstance(exc, (Interrupted, KeyboardInterrupt)):
                raise Interrupted(loop.stop_message(guard, resume_command), _exit_code(exc)) from None
            raise
        finally:
            engine.close()
        if run_dir is not None:
            _finish(run_dir, params, loop.metrics)
    return params, loop.metrics


def is_main_process() -> bool:
    """Whether this process writes the run directory: not one of the other ranks of a
    data-parallel run started by ``torchrun`` (which sets ``RANK``)."""
    return os.environ.get("RANK", "0") == "0"


def _exit_code(exc) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 130


def _probe_input(spec, x):
    """The health probes' input: ``x``, or for an event stream the input it holds after the
    stream (``data.events.hold``), on which the probes relax from rest: the fixed point the free
    phase must reach, though not the path the stream takes to it (docs/events.md)."""
    stream = stream_of(spec)
    return x if stream is None else stream.held(stream.frames(x))


class _Loop:
    """The epochs and chunks of one run, with its checkpoints, checks and safe stops."""

    def __init__(self, spec, arch, data, run_dir, progress, guard, metrics):
        self.spec, self.arch, self.data, self.run_dir = spec, arch, data, run_dir
        self.progress, self.guard, self.metrics = progress, guard, metrics
        self.metrics.setdefault("warnings", [])
        self.saved = None  # (epoch, sample) of the last checkpoint written in this process
        self.where = (0, 0)
        n = min(health.PROBE_SAMPLES, data.x.shape[0])
        self.probe = (_probe_input(spec, data.x[:n].astype(np.float64)), data.y[:n].astype(np.float64))
        self.unsettled_warned = any(w.startswith(health.UNSETTLED) for w in self.metrics["warnings"])

    def run(self, engine, position) -> Params:
        fresh = position["epoch"] == 0 and position["sample"] == 0
        self.before = health.probe_loss(self.arch, engine.get_params(), *self.probe, self.spec.ep.free_steps) if fresh else None
        for epoch in range(position["epoch"], self.spec.run.epochs):
            position = self._epoch(engine, epoch, position)
            row = _epoch_row(self.spec, engine, self.data, epoch, position)
            self.metrics["epochs"].append(row)
            if epoch == 0:
                self._warn(health.at_chance(
                    self.spec, self.arch, row["train_accuracy"], engine.get_params(), self.probe[0], self.data.x.shape[0]
                ))
            if self.progress:
                _print_epoch(row, self.spec.run.epochs)
            position = new_position(epoch + 1)
            self._checkpoint(engine, position)
            if self.run_dir is not None:
                self.run_dir.write_metrics(self.metrics)
            self._safe_point()
        return engine.get_params()

    def _epoch(self, engine, epoch, position) -> dict:
        """Present the rest of ``epoch`` chunk by chunk (checkpointing between chunks);
        returns the position at its end."""
        spec, data = self.spec, self.data
        n = data.x.shape[0]
        order = epoch_order(n, spec.optim.batch_size, spec.run.seed, epoch, spec.optim.shuffle)
        signs = nudge_signs(n, spec.run.seed, epoch) if spec.ep.nudging == "random_sign" else None
        augmentation = plan_augmentation(spec, n, epoch)
        engine.set_lr_factor(lr_factor(spec, epoch))
        chunk = chunk_length(spec)
        bar = _progress(n, f"epoch {epoch + 1}/{spec.run.epochs}", self.progress)
        if bar is not None:
            bar.update(position["sample"])
        first = True
        while position["sample"] < n:
            self.where = (epoch, position["sample"])
            idx = order[position["sample"] : position["sample"] + chunk]
            engine.position = (epoch, position["sample"])
            result, seconds, built = _train_chunk(engine, data, idx, signs, epoch, self.run_dir, augmentation)
            outputs = result.outputs
            _add_spikes(position, result.spikes)
            position["seconds"] += seconds
            position["build_seconds"] = position.get("build_seconds", 0.0) + built
            position["correct"] += int(np.sum(np.argmax(outputs, axis=1) == data.labels[idx]))
            position["loss"] += float(np.sum(output_loss(self.arch, outputs, data.y[idx])))
            position["sample"] += len(idx)
            if bar is not None:
                bar.update(len(idx))
                bar.set_postfix(train_acc=f"{position['correct'] / position['sample']:.3f}")
            if first:
                self._check_health(engine)
                first = False
            if position["sample"] < n:
                self._checkpoint(engine, dict(position, epoch=epoch))
                self._safe_point()
        if bar is not None:
            bar.close()
        return position

    def _checkpoint(self, engine, position) -> None:
        if self.run_dir is not None:
            self.run_dir.save_checkpoint(
                engine.get_params(), engine.get_optim_state(), dict(position, metrics=self.metrics), spec=self.spec
            )
            self.saved = (position["epoch"], position["sample"])

    def _safe_point(self) -> None:
        """Stop here if Ctrl-C was pressed (the checkpoint of this point is written)."""
        if self.guard.requested:
            raise Interrupted("stopped at a safe point")

    def _check_health(self, engine) -> None:
        """After the first chunk of an epoch: warn (once each) when the loss did not move in the
        run's first chunk, or the free phase has not settled (engines that train by EP)."""
        params = None
        if self.before is not None:
            params = engine.get_params()
            self._warn(health.stalled(self.spec, self.arch, self.before, params, *self.probe))
            self.before = None
        if not self.unsettled_warned and get_engine_entry(self.spec.run.engine).trains_by_ep:
            message = health.settling(self.spec, self.arch, params if params is not None else engine.get_params(), self.probe[0])
            self.unsettled_warned = message is not None
            self._warn(message)

    def _warn(self, message) -> None:
        if message:
            _LOG.warning(message)
            self.metrics["warnings"].append(message)

    def stop_message(self, guard, resume_command) -> str:
        """What an interruption kept and how to go on."""
        how = "at once" if guard.immediate else "at the end of a chunk"
        epoch, sample = self.where
        text = f"stopped by {guard.signal_name or 'an interrupt'} {how}, in epoch {epoch + 1} (at sample {sample} or later)."
        if self.run_dir is None:
            return text + " Nothing was saved (no run directory)."
        path = self.run_dir.path
        has_checkpoint = (path / "checkpoint.npz").exists()
        if self.saved is not None:
            text += f" The checkpoint of epoch {self.saved[0] + 1}, sample {self.saved[1]} is kept in {path}."
        elif has_checkpoint:
            text += f" The checkpoint this run was resumed from is kept in {path}."
        else:
            return text + f" No chunk had finished, so there is no checkpoint in {path}; start again with --overwrite."
        if resume_command is None:
            resume_command = f"brian_ep.train(spec, out={str(path)!r}, resume=True)"
        return text + f" Continue with: {resume_command}"


def _train_chunk(engine, data, idx, signs, epoch, run_dir, augmentation=None):
    """One engine call (on the chunk's images as ``augmentation`` shows them, if any); a
    divergence names the epoch and the last good checkpoint."""
    t0, built = time.perf_counter(), getattr(engine, "build_seconds", 0.0)
    engine.sample_ids = idx
    x = data.x[idx] if augmentation is None else augmentation.apply(data.x[idx], idx)
    try:
        result = engine.train_chunk(x, data.y[idx], None if signs is None else signs[idx])
        _check_finite(engine, result.outputs)
    except DivergenceError as exc:
        has_checkpoint = run_dir is not None and (run_dir.path / "checkpoint.npz").exists()
        where = f" The last good checkpoint is in {run_dir.path}." if has_checkpoint else ""
        raise DivergenceError(f"{exc} (epoch {epoch + 1}).{where}") from None
    return result, time.perf_counter() - t0, getattr(engine, "build_seconds", 0.0) - built


def _add_spikes(position: dict, spikes: dict | None) -> None:
    """Add a chunk's spike counts (per layer) to the epoch's totals."""
    if spikes:
        totals = position.setdefault("spikes", {})
        for name, count in spikes.items():
            totals[name] = totals.get(name, 0.0) + float(count)


def _check_finite(engine, outputs) -> None:
    """Whatever the engine: non-finite outputs or weights after a chunk are a divergence."""
    bad = ~np.all(np.isfinite(np.asarray(outputs, dtype=np.float64)), axis=1)
    if np.any(bad):
        raise DivergenceError(
            f"the outputs became non-finite at {engine.describe_sample(int(np.argmax(bad)))}. {DIVERGENCE_ADVICE}"
        )
    params = engine.get_params()
    if not params.is_finite():
        name = next(k for k, v in params.to_flat().items() if not np.all(np.isfinite(v)))
        raise DivergenceError(f"the weights '{name}' became non-finite in this chunk. {DIVERGENCE_ADVICE}")


def _epoch_row(spec, engine, data, epoch, position) -> dict:
    """The metrics of a finished epoch (test accuracy of this epoch's final weights).
    ``train_seconds`` is the epoch's wall time, a standalone program built in it included;
    ``ms_per_sample`` leaves that build out, and ``build_seconds`` says how long it took."""
    n = data.x.shape[0]
    t0 = time.perf_counter()
    build = position.get("build_seconds", 0.0)  # a standalone program built in this epoch (Brian2)
    val = data.validation
    row = {
        "epoch": epoch + 1,
        "train_loss": position["loss"] / n,
        "train_accuracy": position["correct"] / n,
        "test_accuracy": accuracy(engine.predict(data.x_test), data.labels_test),
        "validation_accuracy": accuracy(engine.predict(val[0]), val[1]) if val is not None else None,
        "train_seconds": position["seconds"],  # wall time, a program build included
        "ms_per_sample": 1e3 * (position["seconds"] - build) / n,  # training only
        "build_seconds": build,
        "lr_factor": lr_factor(spec, epoch),
    }
    spikes = position.get("spikes") or {}
    if spikes:  # spiking networks: the energy proxy (spikes per training sample, all phases)
        row["spikes_per_sample"] = sum(spikes.values()) / n
        row.update({f"spikes_per_sample_{name}": count / n for name, count in spikes.items()})
    row["eval_seconds"] = time.perf_counter() - t0
    row["peak_rss_mib"] = peak_rss_mib()
    return row


def _finish(run_dir, params, metrics) -> None:
    """Final weights, metrics, learning curves, and the mark of a complete run."""
    from .report import plot_learning_curves

    run_dir.save_weights(params)
    run_dir.write_metrics(metrics)
    plot_learning_curves(metrics, run_dir.figures / "learning_curves.png")
    run_dir.mark_complete()


def _progress(total, desc, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", leave=False, dynamic_ncols=True)


def _print_epoch(row, epochs):
    val = "" if row["validation_accuracy"] is None else f"  val {100 * row['validation_accuracy']:.2f}%"
    print(
        f"epoch {row['epoch']:>3}/{epochs}  train loss {row['train_loss']:.4f}  train {100 * row['train_accuracy']:.2f}%"
        f"  test {100 * row['test_accuracy']:.2f}%{val}  ({row['train_seconds']:.1f} s"
        + (f" with a {row['build_seconds']:.1f} s program build" if row.get("build_seconds") else "")
        + f", {row['ms_per_sample']:.3f} ms/sample"
        + (f", {row['spikes_per_sample']:.0f} spikes/sample" if "spikes_per_sample" in row else "") + ")",
        flush=True,
    )


def evaluate(
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any],
    params: Params | str | os.PathLike[str] | Mapping[str, Any],
    dataset: Dataset | None = None,
    split: Literal["test", "train", "validation"] = "test",
    workdir: str | os.PathLike[str] | None = None,
) -> float:
    """Accuracy of ``params`` on a split of the spec's data, with the spec's engine.

    Parameters
    ----------
    spec : {Spec, str, dict}
        A spec, a spec file's path or a mapping.
    params : {Params, str, dict}
        Weights, a weights file's path, or a mapping of arrays as in the file.
    dataset : Dataset, optional
        Use this data instead of loading ``spec.data.dataset``.
    split : {"test", "train", "validation"}
        ``validation`` only where ``data.validation`` > 0.
    workdir : path, optional
        Where the engine keeps compiled programs (a run directory's ``standalone/``, whose
        prediction program is reused); default: a temporary folder.

    Returns
    -------
    float
        The fraction of the split's samples classified correctly.

    Raises
    ------
    ArgumentError, DataError
        A split that does not exist or an argument of the wrong kind; weights that do not fit.
    """
    spec = spec_argument(spec, "evaluate")
    name = split_argument(split, spec)
    arch = build_architecture(spec)
    weights = params_argument(params, arch, "evaluate")
    if weights is None:
        raise ArgumentError("evaluate: 'params' is needed (the weights to score: Params or a weights file's path)")
    train_split, val, test_split = prepare_data(spec, dataset)
    x, labels = {"train": train_split, "validation": val, "test": test_split}[name]
    check_resources(spec, arch, x.shape[0])
    engine = make_engine(spec, arch, weights, workdir=workdir)
    try:
        return accuracy(engine.predict(x), labels)
    finally:
        engine.close()
