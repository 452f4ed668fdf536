"""One line per run of the per-epoch figures in its ``metrics.json``: validation and test
accuracy and training time of every epoch, and whether the run finished (``COMPLETE``).

    python benchmarks/epochs_summary.py RUN_DIR_OR_METRICS_JSON [...]

A directory that holds run directories stands for each of them (what the GPU scripts collect);
a run without metrics is listed with the end of its log (``<run>.log`` beside it), if any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _runs(paths):
    for p in map(Path, paths):
        if p.is_dir() and not (p / "metrics.json").exists() and not (p / "spec.yaml").exists():
            yield from sorted(q for q in p.iterdir() if q.is_dir())
        else:
            yield p


def _pct(value) -> str:
    """An accuracy as a percentage, or ``-`` where the run has none (no validation split)."""
    return "-" if value is None else f"{100 * value:.2f}"


def summary(path: Path) -> str:
    """The line of one run directory or metrics file."""
    metrics = path / "metrics.json" if path.is_dir() else path
    if not metrics.is_file():
        log = path.with_suffix(".log") if path.suffix == ".json" else path.with_name(path.name + ".log")
        return f"{path.name}: no metrics ({log.read_text()[-300:] if log.is_file() else 'no log'})"
    epochs = json.loads(metrics.read_text())["epochs"]
    rows = ", ".join(f"{e['epoch']}: val {_pct(e.get('validation_accuracy'))} test {_pct(e['test_accuracy'])} "
                     f"({e['train_seconds']:.1f} s, {e['ms_per_sample']:.4f} ms/sample)" for e in epochs)
    state = "" if not path.is_dir() else (" [complete]" if (path / "COMPLETE").is_file() else " [stopped]")
    return f"{path.stem if path.is_file() else path.name}{state}: {rows}"


if __name__ == "__main__":
    for run in _runs(sys.argv[1:]):
        print(summary(run))
