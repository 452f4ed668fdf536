"""Figures and tables from run directories (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_learning_curves", "metrics_table", "save_figure", "pyplot"]


def pyplot():
    """matplotlib's pyplot on a non-interactive backend (figures are written to files)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=120) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_learning_curves(metrics: dict, path) -> Path:
    """Train/test (and validation) accuracy and training loss per epoch, as one PNG.

    Parameters
    ----------
    metrics : dict
        The content of a run's ``metrics.json``.
    path : str or Path
        Output PNG file.
    """
    plt = pyplot()
    rows = metrics["epochs"]
    epochs = [r["epoch"] for r in rows]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_acc.plot(epochs, [100 * r["train_accuracy"] for r in rows], "o-", ms=3, label="train (free phase, while learning)")
    ax_acc.plot(epochs, [100 * r["test_accuracy"] for r in rows], "s-", ms=3, label="test")
    if any(r.get("validation_accuracy") is not None for r in rows):
        ax_acc.plot(epochs, [100 * (r["validation_accuracy"] or float("nan")) for r in rows], "^-", ms=3, label="validation")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    ax_loss.semilogy(epochs, [r["train_loss"] for r in rows], "o-", ms=3, color="C3")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_loss.grid(alpha=0.3)
    final = rows[-1]
    fig.suptitle(
        f"{metrics.get('spec', '')} ({metrics.get('engine', '')}, {metrics.get('device', '')}): final test "
        f"{100 * final['test_accuracy']:.2f}%",
        fontsize=10,
    )
    return save_figure(fig, path)


def metrics_table(metrics: dict) -> str:
    """A Markdown table of the per-epoch metrics (with spikes per training sample for a
    spiking network)."""
    spiking = any("spikes_per_sample" in r for r in metrics["epochs"])
    lines = [
        "| epoch | train loss | train acc (%) | test acc (%) | train time (s) | ms/sample |" + (" spikes/sample |" if spiking else ""),
        "|---:|---:|---:|---:|---:|---:|" + ("---:|" if spiking else ""),
    ]
    for r in metrics["epochs"]:
        lines.append(
            f"| {r['epoch']} | {r['train_loss']:.4f} | {100 * r['train_accuracy']:.2f} | {100 * r['test_accuracy']:.2f} "
            f"| {r['train_seconds']:.1f} | {r['ms_per_sample']:.3f} |" + (f" {r.get('spikes_per_sample', 0):.0f} |" if spiking else "")
        )
    return "\n".join(lines)
