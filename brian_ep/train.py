"""Training: epochs, chunks, evaluation, metrics, checkpoints and progress.

Talks to an engine only through :class:`~brian_ep.engines.base.Engine` (``train_chunk``,
``predict``, ``get_params``/``set_params``), so every registered engine (Brian2, batched
numpy, the baselines) runs the same loop and writes the same run directory. All randomness
is derived from ``run.seed`` (:mod:`brian_ep.seeds`: initial weights, sample order, nudging
signs; :mod:`brian_ep.epochs`: what each epoch presents), so an interrupted run resumed from
its last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import build_architecture
from .data import one_hot
from .engines import make_engine
from .epochs import chunk_length, epoch_order, lr_factor, nudge_signs
from .errors import DivergenceError
from .maths.energy import output_loss
from .maths.optim import init_optim_state
from .maths.params import Params, initial_params
from .rundir import RunDirectory
from .splits import prepare_data

__all__ = ["TrainResult", "train", "evaluate", "accuracy"]


@dataclass
class TrainResult:
    """The outcome of :func:`train`."""

    params: Params
    metrics: dict
    run_dir: Path | None

    @property
    def final_test_accuracy(self) -> float:
        return self.metrics["epochs"][-1]["test_accuracy"]


@dataclass
class _Data:
    """The training, validation and test samples of a run (inputs, labels, one-hot targets)."""

    x: np.ndarray
    labels: np.ndarray
    y: np.ndarray
    validation: tuple | None
    x_test: np.ndarray
    labels_test: np.ndarray


def accuracy(outputs, labels) -> float:
    """Fraction of samples whose largest output is at their label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _new_position(epoch: int = 0) -> dict:
    """Where a run stands within an epoch (saved in every checkpoint)."""
    return {"epoch": epoch, "sample": 0, "correct": 0, "loss": 0.0, "seconds": 0.0, "spikes": {}}


def train(spec, out=None, resume=False, progress=True, dataset=None, command=None) -> TrainResult:
    """Train the network described by ``spec``.

    Parameters
    ----------
    spec : Spec
    out : str or Path, optional
        Run directory (spec, metrics, checkpoints, weights, figures); nothing is written if None.
    resume : bool
        Continue from ``out/checkpoint.npz``.
    progress : bool
        Show a progress bar.
    dataset : Dataset, optional
        Use this data instead of loading ``spec.data.dataset``.
    command : str, optional
        The command line to record in the run directory.

    Returns
    -------
    TrainResult
        Final weights and per-epoch metrics (test accuracy of the final epoch, never the best).
    """
    (x_tr, l_tr), val, (x_te, l_te) = prepare_data(spec, dataset)
    data = _Data(x_tr, l_tr, one_hot(l_tr, spec.model.output.size), val, x_te, l_te)
    arch = build_architecture(spec)
    source = RunDirectory(out) if out is not None else None
    params, optim_state, position, metrics = _start(spec, arch, source, resume)
    workdir = None if source is None else source.path / "standalone"
    engine = make_engine(spec, arch, params, optim_state, workdir=workdir)
    # in a data-parallel run every process trains, one writes (and shows progress)
    run_dir = source if engine.is_main_process else None
    progress = progress and engine.is_main_process
    if run_dir is not None:
        run_dir.create(spec, command=command, resume=resume)
    try:
        for epoch in range(position["epoch"], spec.run.epochs):
            position = _train_epoch(spec, arch, engine, data, epoch, position, run_dir, metrics, progress)
            row = _epoch_row(spec, engine, data, epoch, position)
            metrics["epochs"].append(row)
            if progress:
                _print_epoch(row, spec.run.epochs)
            position = _new_position(epoch + 1)
            if run_dir is not None:
                run_dir.save_checkpoint(engine.get_params(), engine.get_optim_state(), dict(position, metrics=metrics))
                run_dir.write_metrics(metrics)
        params = engine.get_params()
    finally:
        engine.close()
    if run_dir is not None:
        _finish(run_dir, params, metrics)
    return TrainResult(params, metrics, None if source is None else source.path)


def _start(spec, arch, source, resume):
    """Initial (or resumed from the run directory ``source``) weights, optimiser state,
    position and metrics."""
    params = initial_params(arch, spec.run.seed)
    optim_state = init_optim_state(params)
    position = _new_position()
    metrics = {"spec": spec.name, "engine": spec.run.engine, "device": spec.run.device, "epochs": []}
    if source is not None and resume:
        params, optim_state, position = source.load_checkpoint()
        metrics = position.pop("metrics", metrics)
    return params, optim_state, position, metrics


def _train_epoch(spec, arch, engine, data, epoch, position, run_dir, metrics, progress) -> dict:
    """Present the rest of ``epoch`` chunk by chunk (checkpointing between chunks); returns
    the position at its end."""
    n = data.x.shape[0]
    order = epoch_order(n, spec.optim.batch_size, spec.run.seed, epoch, spec.optim.shuffle)
    signs = nudge_signs(n, spec.run.seed, epoch) if spec.ep.nudging == "random_sign" else None
    engine.set_lr_factor(lr_factor(spec, epoch))
    chunk = chunk_length(spec)
    bar = _progress(n, f"epoch {epoch + 1}/{spec.run.epochs}", progress)
    if bar is not None:
        bar.update(position["sample"])
    while position["sample"] < n:
        idx = order[position["sample"] : position["sample"] + chunk]
        engine.position = (epoch, position["sample"])
        result, seconds = _train_chunk(engine, data, idx, signs, epoch, run_dir)
        outputs = result.outputs
        _add_spikes(position, result.spikes)
        position["seconds"] += seconds
        position["correct"] += int(np.sum(np.argmax(outputs, axis=1) == data.labels[idx]))
        position["loss"] += float(np.sum(output_loss(arch, outputs, data.y[idx])))
        position["sample"] += len(idx)
        if bar is not None:
            bar.update(len(idx))
            bar.set_postfix(train_acc=f"{position['correct'] / position['sample']:.3f}")
        if run_dir is not None and position["sample"] < n:
            run_dir.save_checkpoint(engine.get_params(), engine.get_optim_state(), dict(position, epoch=epoch, metrics=metrics))
    if bar is not None:
        bar.close()
    return position


def _train_chunk(engine, data, idx, signs, epoch, run_dir):
    """One engine call; a divergence names the epoch and the last good checkpoint."""
    t0 = time.perf_counter()
    engine.sample_ids = idx
    try:
        result = engine.train_chunk(data.x[idx], data.y[idx], None if signs is None else signs[idx])
    except DivergenceError as exc:
        has_checkpoint = run_dir is not None and (run_dir.path / "checkpoint.npz").exists()
        where = f" The last good checkpoint is in {run_dir.path}." if has_checkpoint else ""
        raise DivergenceError(f"{exc} (epoch {epoch + 1}).{where}") from None
    return result, time.perf_counter() - t0


def _add_spikes(position: dict, spikes: dict | None) -> None:
    """Add a chunk's spike counts (per layer) to the epoch's totals."""
    if spikes:
        totals = position.setdefault("spikes", {})
        for name, count in spikes.items():
            totals[name] = totals.get(name, 0.0) + float(count)


def _epoch_row(spec, engine, data, epoch, position) -> dict:
    """The metrics of a finished epoch (test accuracy of this epoch's final weights)."""
    n = data.x.shape[0]
    t0 = time.perf_counter()
    val = data.validation
    row = {
        "epoch": epoch + 1,
        "train_loss": position["loss"] / n,
        "train_accuracy": position["correct"] / n,
        "test_accuracy": accuracy(engine.predict(data.x_test), data.labels_test),
        "validation_accuracy": accuracy(engine.predict(val[0]), val[1]) if val is not None else None,
        "train_seconds": position["seconds"],
        "ms_per_sample": 1e3 * position["seconds"] / n,
        "lr_factor": lr_factor(spec, epoch),
    }
    row["eval_seconds"] = time.perf_counter() - t0
    spikes = position.get("spikes") or {}
    if spikes:  # spiking networks: the energy proxy (spikes per training sample, all phases)
        row["spikes_per_sample"] = sum(spikes.values()) / n
        row.update({f"spikes_per_sample_{name}": count / n for name, count in spikes.items()})
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
        f"  test {100 * row['test_accuracy']:.2f}%{val}  ({row['train_seconds']:.1f} s, {row['ms_per_sample']:.3f} ms/sample"
        + (f", {row['spikes_per_sample']:.0f} spikes/sample" if "spikes_per_sample" in row else "") + ")",
        flush=True,
    )


def evaluate(spec, params: Params, dataset=None, split="test", workdir=None) -> float:
    """Accuracy of ``params`` on the test (or ``"train"``) split, with the spec's engine.

    ``workdir``: where the engine keeps compiled programs (a run directory's ``standalone/``
    folder: the prediction program that training compiled there is reused); default: a
    temporary folder, removed afterwards."""
    (x_tr, l_tr), _, (x_te, l_te) = prepare_data(spec, dataset)
    engine = make_engine(spec, build_architecture(spec), params, workdir=workdir)
    try:
        x, labels = (x_te, l_te) if split == "test" else (x_tr, l_tr)
        return accuracy(engine.predict(x), labels)
    finally:
        engine.close()
