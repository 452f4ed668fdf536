"""Figures and tables from metrics: learning-curve PNGs and the Markdown table."""

from __future__ import annotations

import pytest

from brian_ep.report import metrics_table, plot_learning_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_metrics(n_epochs=3, validation=False):
    rows = []
    for e in range(1, n_epochs + 1):
        rows.append({
            "epoch": e,
            "train_loss": 1.0 / e,
            "train_accuracy": 0.5 + 0.1 * e,
            "test_accuracy": 0.45 + 0.1 * e,
            "validation_accuracy": (0.4 + 0.1 * e) if validation else None,
            "train_seconds": 2.0 * e,
            "ms_per_sample": 0.25 * e,
            "lr_factor": 1.0,
            "eval_seconds": 0.01,
        })
    return {"spec": "digits", "engine": "numpy", "device": "runtime", "epochs": rows}


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("validation", [False, True])
def test_plot_learning_curves_writes_png(tmp_path, validation):
    path = tmp_path / "figs" / "sub" / "curves.png"  # parents are created
    returned = plot_learning_curves(make_metrics(validation=validation), path)
    assert returned == path
    assert path.stat().st_size > 1000
    width, height = _png_size(path)
    assert (width, height) == (9 * 120, round(3.4 * 120))  # figsize (9, 3.4) at 120 dpi


def test_plot_learning_curves_validation_changes_the_figure(tmp_path):
    plot_learning_curves(make_metrics(validation=False), tmp_path / "a.png")
    plot_learning_curves(make_metrics(validation=True), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


def test_plot_learning_curves_partial_validation_and_one_epoch(tmp_path):
    metrics = make_metrics(n_epochs=2, validation=True)
    metrics["epochs"][0]["validation_accuracy"] = None
    plot_learning_curves(metrics, tmp_path / "partial.png")
    _png_size(tmp_path / "partial.png")
    plot_learning_curves(make_metrics(n_epochs=1), str(tmp_path / "one.png"))
    _png_size(tmp_path / "one.png")


def test_plot_learning_curves_closes_figures(tmp_path):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    for i in range(3):
        plot_learning_curves(make_metrics(), tmp_path / f"{i}.png")
    assert len(plt.get_fignums()) == before


def test_metrics_table():
    table = metrics_table(make_metrics(n_epochs=3))
    lines = table.splitlines()
    assert lines[0] == "| epoch | train loss | train acc (%) | test acc (%) | train time (s) | ms/sample |"
    assert lines[1] == "|---:|---:|---:|---:|---:|---:|"
    assert len(lines) == 2 + 3
    assert lines[2] == "| 1 | 1.0000 | 60.00 | 55.00 | 2.0 | 0.250 |"
    assert lines[4] == "| 3 | 0.3333 | 80.00 | 75.00 | 6.0 | 0.750 |"
    for line in lines:
        assert line.count("|") == 7


def test_metrics_table_no_epochs():
    assert len(metrics_table({"epochs": []}).splitlines()) == 2
