"""The comparison report: one row per method (Markdown and CSV), one row per run (CSV),
learning curves and accuracy against training time (PNG), from the runs' own metrics.

Accuracy is the test accuracy after the final epoch (never the best epoch), as mean +- sample
standard deviation over seeds.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

__all__ = ["summarise", "steps_per_sample", "spec_differences", "write_report", "COLUMNS"]

#: Columns of ``report.csv`` (one row per method).
COLUMNS = (
    "method", "engine", "seeds", "epochs", "optimiser", "test_accuracy_mean", "test_accuracy_std", "wall_seconds_per_epoch",
    "train_seconds_per_epoch", "ms_per_sample", "peak_rss_mb", "steps_per_sample", "spikes_per_sample", "differs_from_ep",
)


def steps_per_sample(spec) -> int | None:
    """Time steps the network is simulated for per training sample, as the engine's registry
    entry says (EP's free and nudged phases, the relaxation ``bptt_crnn`` backpropagates
    through, the ``T`` steps of the snn, one pass for ``bp``); ``None`` where it is unknown."""
    from ..engines import get_engine_entry

    return get_engine_entry(spec.run.engine).steps_per_sample(spec)


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def spec_differences(spec, reference) -> str:
    """The settings in which ``spec`` differs from ``reference`` (the ``ep`` spec), other than
    its name, seed and engine section: ``"optim.batch_size: 128; run.epochs: 5"``."""
    from ..spec import spec_to_dict

    a, b = _flat(spec_to_dict(spec)), _flat(spec_to_dict(reference))
    skip = ("name", "description", "run.seed", "run.engine", f"run.{spec.run.engine}.")
    keys = [k for k in sorted(set(a) | set(b)) if not k.startswith(skip) and a.get(k) != b.get(k)]
    return "; ".join(f"{k}: {a.get(k, '(unset)')}" for k in keys)


def optimiser_summary(spec) -> str:
    """``"adam, batch 32, lr 0.002, cosine"``: the optimiser a run of ``spec`` steps with
    (the engine's departures from ``optim`` applied)."""
    from ..architecture import build_architecture
    from ..baselines.backprop import baseline_optimiser

    optim, batch, lrs = baseline_optimiser(spec, build_architecture(spec))
    rates = "/".join(f"{v:g}" for v in dict.fromkeys(lrs.W.values()))
    scale = f" x {spec.optim.lr_scale:g}" if spec.optim.lr_scale != 1 else ""
    return f"{optim.algorithm}, batch {batch}, lr {rates}{scale}, {spec.optim.lr_schedule}"


def _engine_settings(spec) -> str:
    """The engine's options that are set: ``"steps 25, beta 0.95, ..., optim.batch_size 32"``."""
    options = spec.run.engine_options()
    if options is None:
        return ""
    flat = _flat(options.model_dump(exclude_none=True))
    return ", ".join(f"{k} {v}" for k, v in flat.items())


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarise(records: dict, reference) -> list:
    """One dict per method (keys :data:`COLUMNS` and ``settings``) from
    ``{method: [RunRecord, ...]}``; ``reference`` is the ``ep`` spec."""
    rows = []
    for method, runs in records.items():
        if not runs:
            continue
        finals = [r.metrics["epochs"][-1]["test_accuracy"] for r in runs]
        epochs = [e for r in runs for e in r.metrics["epochs"]]
        spec = runs[0].spec
        rows.append({
            "method": method,
            "engine": spec.run.engine,
            "seeds": " ".join(str(r.seed) for r in runs),
            "epochs": spec.run.epochs,
            "test_accuracy_mean": float(np.mean(finals)),
            "test_accuracy_std": float(np.std(finals, ddof=1)) if len(finals) > 1 else None,
            "wall_seconds_per_epoch": _mean([e["train_seconds"] + e.get("eval_seconds", 0.0) for e in epochs]),
            "train_seconds_per_epoch": _mean([e["train_seconds"] for e in epochs]),
            "ms_per_sample": _mean([e["ms_per_sample"] for e in epochs]),
            "peak_rss_mb": max((r.peak_rss_mb for r in runs if r.peak_rss_mb is not None), default=None),
            "steps_per_sample": steps_per_sample(spec),
            "spikes_per_sample": _mean([r.metrics["epochs"][-1].get("spikes_per_sample") for r in runs]),
            "differs_from_ep": spec_differences(spec, reference) if method != "ep" else "",
            "settings": _engine_settings(spec),
            "optimiser": optimiser_summary(spec),
        })
    return rows


def _fmt(value, digits=1, scale=1.0):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{scale * value:.{digits}f}"


def _accuracy(row) -> str:
    text = _fmt(row["test_accuracy_mean"], 2, 100)
    return text + (f" ± {_fmt(row['test_accuracy_std'], 2, 100)}" if row["test_accuracy_std"] is not None else "")


def markdown_table(rows) -> str:
    """The results table in Markdown."""
    lines = [
        "| method | engine | seeds | epochs | optimiser | final test accuracy (%) | wall s / epoch | train ms / sample "
        "| peak RSS (MiB) | steps / sample | spikes / sample |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['engine']} | {r['seeds']} | {r['epochs']} | {r['optimiser']} | {_accuracy(r)} "
            f"| {_fmt(r['wall_seconds_per_epoch'])} "
            f"| {_fmt(r['ms_per_sample'], 3)} | {_fmt(r['peak_rss_mb'], 0)} | {r['steps_per_sample'] or 'n/a'} "
            f"| {_fmt(r['spikes_per_sample'], 0)} |"
        )
    return "\n".join(lines)


def _csv_text(rows, columns) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def run_rows(records: dict) -> list:
    """One dict per run: method, seed, final test accuracy, epochs, run directory."""
    return [
        {"method": m, "seed": r.seed, "test_accuracy": r.metrics["epochs"][-1]["test_accuracy"], "epochs": len(r.metrics["epochs"]),
         "train_seconds": sum(e["train_seconds"] for e in r.metrics["epochs"]), "peak_rss_mb": r.peak_rss_mb, "run_dir": str(r.path)}
        for m, runs in records.items() for r in runs
    ]


def write_report(out: Path, records: dict, reference, header: dict, skipped: dict) -> Path:
    """Write ``report.md``, ``report.csv``, ``runs.csv`` and the figures into ``out``;
    returns the Markdown file."""
    from ..rundir import atomic_write_bytes
    from .figures import plot_accuracy_vs_time, plot_learning_curves

    out = Path(out)
    rows = summarise(records, reference)
    atomic_write_bytes(out / "report.csv", _csv_text(rows, COLUMNS).encode())
    runs = run_rows(records)
    atomic_write_bytes(out / "runs.csv", _csv_text(runs, ("method", "seed", "test_accuracy", "epochs", "train_seconds", "peak_rss_mb", "run_dir")).encode())
    figures = []
    if rows:
        figures = [plot_learning_curves(records, out / "learning_curves.png"), plot_accuracy_vs_time(records, out / "accuracy_vs_time.png")]
    text = _markdown(rows, runs, header, skipped, [f.name for f in figures], out)
    atomic_write_bytes(out / "report.md", text.encode())
    return out / "report.md"


def _markdown(rows, runs, header, skipped, figures, out) -> str:
    parts = [f"# Comparison: {header['spec']}", ""]
    parts += [f"* {k}: {v}" for k, v in header.items() if k != "spec"]
    parts += ["", "## Results", "", markdown_table(rows) if rows else "(no finished runs yet)", ""]
    parts += [
        "Final test accuracy: after the last epoch (never the best epoch), mean ± sample standard deviation over "
        "seeds. Wall s / epoch: training plus evaluation of the test set. Train ms / sample: training time per "
        "training sample. Peak RSS: resident memory of the whole training process at its peak (interpreter, "
        "libraries and the data set included; the growth with time steps is measured in docs/compare.md). Steps / "
        "sample: time steps a training sample is simulated for (EP: free and nudged phases; bptt_*: the steps "
        "backpropagated through). Spikes / sample: spikes per training sample where the network spikes.",
        "",
        "## Settings",
        "",
    ]
    for r in rows:
        parts.append(f"* **{r['method']}** ({r['engine']}): {r['settings'] or 'no engine options set'}"
                     + (f"; differs from ep in: {r['differs_from_ep']}" if r["differs_from_ep"] else ""))
    if skipped:
        parts += ["", "## Skipped", ""] + [f"* **{m}**: {why}" for m, why in skipped.items()]
    if figures:
        parts += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    parts += ["", "## Runs", "", "| method | seed | final test accuracy (%) | epochs | training s | run directory |", "|---|---:|---:|---:|---:|---|"]
    for r in runs:
        where = Path(r["run_dir"]).relative_to(out) if Path(r["run_dir"]).is_relative_to(out) else r["run_dir"]
        parts.append(f"| {r['method']} | {r['seed']} | {100 * r['test_accuracy']:.2f} | {r['epochs']} | {r['train_seconds']:.1f} | {where} |")
    return "\n".join(parts) + "\n"
