"""Training: epochs, chunks, evaluation, metrics, checkpoints and progress.

Talks to an engine only through :class:`~brian_ep.engines.base.Engine` (``train_chunk``,
``predict``, ``get_params``/``set_params``), so the Brian2 engine and the batched numpy
engine run the same loop. All randomness is derived from ``run.seed``: initial weights from
``default_rng([seed, 0])``, the sample order of epoch ``e`` from ``default_rng([seed, 1, e])``
and random nudging signs from ``default_rng([seed, 2, e])``; so an interrupted run resumed
from its last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import build_architecture
from .data import load_dataset, one_hot
from .maths.optim import init_optim_state
from .maths.params import Params, init_params
from .rundir import RunDirectory
from .spec.errors import DataError, DivergenceError

__all__ = ["TrainResult", "make_engine", "prepare_data", "train", "evaluate", "accuracy", "lr_factor"]


@dataclass
class TrainResult:
    """The outcome of :func:`train`."""

    params: Params
    metrics: dict
    run_dir: Path | None

    @property
    def final_test_accuracy(self) -> float:
        return self.metrics["epochs"][-1]["test_accuracy"]


def make_engine(spec, arch, params, optim_state=None, directory=None):
    """The engine that ``spec.run.engine`` names, loaded with ``params``."""
    optim_state = optim_state or init_optim_state(params)
    if spec.run.engine == "numpy":
        from .engines.numpy_batched import NumpyEngine

        return NumpyEngine(spec, arch, params, optim_state)
    from .brian.engine import BrianEngine

    return BrianEngine(spec, arch, params, optim_state, directory=directory)


def prepare_data(spec, dataset=None):
    """Load (or take) the data set, apply ``n_train``/``n_test``/``validation`` and check that it
    fits the network. Returns ``(train, validation or None, test)`` as ``(x, labels)`` pairs."""
    ds = dataset if dataset is not None else load_dataset(spec.data.dataset, spec.data.directory)
    ds = ds.subset(spec.data.n_train, spec.data.n_test)
    val = None
    if spec.data.validation:
        ds, val = ds.split_validation(spec.data.validation)
    if ds.x_train.shape[1] != spec.model.input.size:
        raise DataError(
            f"the data set '{ds.name}' has {ds.x_train.shape[1]} input features per sample but "
            f"model.input.size is {spec.model.input.size}; set model.input.size: {ds.x_train.shape[1]}"
        )
    if ds.n_classes != spec.model.output.size:
        raise DataError(
            f"the data set '{ds.name}' has {ds.n_classes} classes but model.output.size is "
            f"{spec.model.output.size}; set model.output.size: {ds.n_classes}"
        )
    return (ds.x_train, ds.y_train), val, (ds.x_test, ds.y_test)


def accuracy(outputs, labels) -> float:
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _loss(arch, outputs, y) -> np.ndarray:
    if arch.readout is None:
        return 0.5 * np.sum((outputs - y) ** 2, axis=1)
    return -np.sum(y * np.log(np.clip(outputs, 1e-12, 1.0)), axis=1)


def lr_factor(spec, epoch: int) -> float:
    """Learning-rate multiplier of epoch ``epoch`` (0-based) under ``optim.lr_schedule``."""
    if spec.optim.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / spec.run.epochs))
    return 1.0


def epoch_order(n: int, batch_size: int, seed: int, epoch: int, shuffle: str = "samples") -> np.ndarray:
    """The order in which the ``n`` training samples are presented in ``epoch``.

    ``samples``: a permutation drawn for this epoch. ``batches``: one permutation for the whole
    run cut into mini-batches of ``batch_size`` (the last one may be smaller), whose order is
    drawn for this epoch; a batch holds the same samples in every epoch.
    """
    if shuffle == "samples":
        return np.random.default_rng([seed, 1, epoch]).permutation(n)
    if shuffle == "batches":
        fixed = np.random.default_rng([seed, 3]).permutation(n)
        batches = [fixed[i : i + batch_size] for i in range(0, n, batch_size)]
        which = np.random.default_rng([seed, 1, epoch]).permutation(len(batches))
        return np.concatenate([batches[k] for k in which])
    raise ValueError(f"shuffle must be 'samples' or 'batches', not {shuffle!r}")


def _progress(total, desc, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", leave=False, dynamic_ncols=True)


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

    Returns
    -------
    TrainResult
        Final weights and per-epoch metrics (test accuracy of the final epoch, never the best).
    """
    (x_tr, l_tr), val, (x_te, l_te) = prepare_data(spec, dataset)
    n_classes = spec.model.output.size
    y_tr = one_hot(l_tr, n_classes)
    arch = build_architecture(spec)
    run_dir = RunDirectory(out) if out is not None else None
    params = init_params(arch, np.random.default_rng([spec.run.seed, 0]))
    optim_state = init_optim_state(params)
    position = {"epoch": 0, "sample": 0, "correct": 0, "loss": 0.0, "seconds": 0.0}
    metrics = {"spec": spec.name, "engine": spec.run.engine, "device": spec.run.device, "epochs": []}
    if run_dir is not None:
        if resume:
            params, optim_state, position = run_dir.load_checkpoint()
            metrics = position.pop("metrics", metrics)
        run_dir.create(spec, command=command, resume=resume)

    engine = make_engine(spec, arch, params, optim_state, directory=None if run_dir is None else run_dir.path / "standalone")
    bs = spec.optim.batch_size
    chunk = max(bs, (spec.run.chunk_size // bs) * bs)
    n = x_tr.shape[0]
    try:
        for epoch in range(position["epoch"], spec.run.epochs):
            order = epoch_order(n, bs, spec.run.seed, epoch, spec.optim.shuffle)
            signs = np.random.default_rng([spec.run.seed, 2, epoch]).choice([-1.0, 1.0], size=n)
            engine.set_lr_factor(lr_factor(spec, epoch))
            bar = _progress(n, f"epoch {epoch + 1}/{spec.run.epochs}", progress)
            if bar is not None:
                bar.update(position["sample"])
            while position["sample"] < n:
                idx = order[position["sample"] : position["sample"] + chunk]
                t0 = time.perf_counter()
                engine.sample_ids = idx
                try:
                    result = engine.train_chunk(x_tr[idx], y_tr[idx], signs[idx] if spec.ep.nudging == "random_sign" else None)
                except DivergenceError as exc:
                    has_checkpoint = run_dir is not None and (run_dir.path / "checkpoint.npz").exists()
                    where = f" The last good checkpoint is in {run_dir.path}." if has_checkpoint else ""
                    raise DivergenceError(f"{exc} (epoch {epoch + 1}).{where}") from None
                position["seconds"] += time.perf_counter() - t0
                position["correct"] += int(np.sum(np.argmax(result.outputs, axis=1) == l_tr[idx]))
                position["loss"] += float(np.sum(_loss(arch, result.outputs, y_tr[idx])))
                position["sample"] += len(idx)
                if bar is not None:
                    bar.update(len(idx))
                    bar.set_postfix(train_acc=f"{position['correct'] / position['sample']:.3f}")
                if run_dir is not None and position["sample"] < n:
                    run_dir.save_checkpoint(engine.get_params(), engine.get_optim_state(), dict(position, epoch=epoch, metrics=metrics))
            if bar is not None:
                bar.close()
            t0 = time.perf_counter()
            row = {
                "epoch": epoch + 1,
                "train_loss": position["loss"] / n,
                "train_accuracy": position["correct"] / n,
                "test_accuracy": accuracy(engine.predict(x_te), l_te),
                "validation_accuracy": accuracy(engine.predict(val[0]), val[1]) if val is not None else None,
                "train_seconds": position["seconds"],
                "ms_per_sample": 1e3 * position["seconds"] / n,
                "lr_factor": lr_factor(spec, epoch),
            }
            row["eval_seconds"] = time.perf_counter() - t0
            metrics["epochs"].append(row)
            if progress:
                _print_epoch(row, spec.run.epochs)
            position = {"epoch": epoch + 1, "sample": 0, "correct": 0, "loss": 0.0, "seconds": 0.0}
            if run_dir is not None:
                run_dir.save_checkpoint(engine.get_params(), engine.get_optim_state(), dict(position, metrics=metrics))
                run_dir.write_metrics(metrics)
        params = engine.get_params()
    finally:
        engine.close()
    if run_dir is not None:
        run_dir.save_weights(params)
        run_dir.write_metrics(metrics)
        try:
            from .report import plot_learning_curves

            plot_learning_curves(metrics, run_dir.figures / "learning_curves.png")
        except ImportError:  # report module optional during development
            pass
        run_dir.mark_complete()
    return TrainResult(params, metrics, None if run_dir is None else run_dir.path)


def _print_epoch(row, epochs):
    val = "" if row["validation_accuracy"] is None else f"  val {100 * row['validation_accuracy']:.2f}%"
    print(
        f"epoch {row['epoch']:>3}/{epochs}  train loss {row['train_loss']:.4f}  train {100 * row['train_accuracy']:.2f}%"
        f"  test {100 * row['test_accuracy']:.2f}%{val}  ({row['train_seconds']:.1f} s, {row['ms_per_sample']:.3f} ms/sample)",
        flush=True,
    )


def evaluate(spec, params: Params, dataset=None, split="test") -> float:
    """Accuracy of ``params`` on the test (or ``"train"``) split, with the spec's engine."""
    (x_tr, l_tr), _, (x_te, l_te) = prepare_data(spec, dataset)
    arch = build_architecture(spec)
    engine = make_engine(spec, arch, params)
    try:
        x, labels = (x_te, l_te) if split == "test" else (x_tr, l_tr)
        return accuracy(engine.predict(x), labels)
    finally:
        engine.close()

