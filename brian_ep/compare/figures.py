"""Figures of a comparison: test accuracy per epoch, and test accuracy against cumulative
training time (mean over seeds, the band spanning the seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..report import pyplot, save_figure

__all__ = ["plot_learning_curves", "plot_accuracy_vs_time"]


def _curves(runs, x_of):
    """x and test accuracy (%) of every run, cut to the shortest run."""
    n = min(len(r.metrics["epochs"]) for r in runs)
    xs = np.array([x_of(r.metrics["epochs"][:n]) for r in runs])
    ys = np.array([[100 * e["test_accuracy"] for e in r.metrics["epochs"][:n]] for r in runs])
    return xs, ys


def _plot(records: dict, path, x_of, xlabel, title, logx=False) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, (method, runs) in enumerate(records.items()):
        if not runs:
            continue
        xs, ys = _curves(runs, x_of)
        x = xs.mean(axis=0)
        colour = f"C{i}"
        ax.plot(x, ys.mean(axis=0), "o-", ms=3, color=colour, label=f"{method} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
        if len(runs) > 1:
            ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=colour, alpha=0.2, lw=0)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_learning_curves(records: dict, path) -> Path:
    """Test accuracy after each epoch, per method (``{method: [RunRecord, ...]}``)."""
    return _plot(records, path, lambda rows: [e["epoch"] for e in rows], "epoch", "Test accuracy per epoch (band: range over seeds)")


def plot_accuracy_vs_time(records: dict, path) -> Path:
    """Test accuracy after each epoch against the training time spent up to it."""
    return _plot(
        records, path, lambda rows: np.cumsum([e["train_seconds"] for e in rows]), "cumulative training time (s, log scale)",
        "Test accuracy against training time (band: range over seeds)", logx=True,
    )
