"""What the FRE-RNN authors' own code reached, read from the outputs saved in their notebooks.

The targets of issue 9 are final-epoch test accuracies; the paper reports the best test epoch.
This script parses the per-epoch lines (``Test : 97.48%(97.57%)``) that the authors' notebooks
in ``Zero0Hero/FRE-RNN-EP`` printed, and reports for every run series the final-epoch and the
best-epoch test accuracy, and the mean over the last ten epochs (less noisy than one epoch),
mean +- std over their repeats. Nothing is re-run: these are their
published outputs (GPU, torch, seed 42 for the first repeat).

    python benchmarks/fre_authors_reference.py PATH/TO/FRE-RNN-EP [NOTEBOOK ...]

``PATH`` is a checkout of the repository (or a bare git directory, read with ``git show``).
Default notebooks: ``Layered_BP_EP_com_MNIST_512.ipynb`` (the 2 x 512 headline, with BP) and
``Layered_L10_res.ipynb`` (10 x 64 with skips 1-4-7-10).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

import numpy as np

NOTEBOOKS = ["Layered_BP_EP_com_MNIST_512.ipynb", "Layered_L10_res.ipynb"]
RUN_NAME = re.compile(r"^((?:EP|BP)_L\d+_\S+|First_\S+EP_b_sc[0-9.]+-)$")
TEST = re.compile(r"Test\s*:\s*([0-9.]+)%")
LATE_EPOCHS = 10


def notebook_text(repo: Path, name: str) -> str:
    """All text outputs of a notebook, concatenated."""
    path = repo / name
    if path.exists():
        raw = path.read_text()
    else:
        raw = subprocess.run(["git", "--git-dir", str(repo), "show", f"HEAD:{name}"], check=True, capture_output=True, text=True).stdout
    nb = json.loads(raw)
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def runs_by_series(text: str) -> dict:
    """``{series name: [test-accuracy curve of each repeat]}`` (percent); a series name line
    starts a repeat, each ``Test :`` line after it is one epoch."""
    series, current = {}, None
    for line in text.splitlines():
        name = RUN_NAME.match(line.strip())
        if name:
            current = name.group(1)
            series.setdefault(current, []).append([])
            continue
        test = TEST.search(line)
        if test and current:
            series[current][-1].append(float(test.group(1)))
    return series


def _std(a) -> float:
    return float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")


def summary(series: dict) -> list[dict]:
    """Final- and best-epoch accuracy of each series, over the repeats that ran to the end."""
    rows = []
    for name, curves in series.items():
        n_epochs = max(len(c) for c in curves)
        done = [c for c in curves if len(c) == n_epochs]
        if not done:
            continue
        final, best = np.array([c[-1] for c in done]), np.array([max(c) for c in done])
        late = np.array([np.mean(c[-LATE_EPOCHS:]) for c in done])
        rows.append({"series": name, "repeats": len(done), "epochs": n_epochs, "final": final.tolist(),
                     "final_mean": float(final.mean()), "final_std": _std(final), "best_mean": float(best.mean()), "best_std": _std(best),
                     "late_mean": float(late.mean()), "late_std": _std(late)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="checkout (or bare git directory) of Zero0Hero/FRE-RNN-EP")
    parser.add_argument("notebooks", nargs="*", default=NOTEBOOKS)
    args = parser.parse_args(argv)
    print(f"| notebook | run series | repeats | final-epoch test acc (%) | mean of the last {LATE_EPOCHS} epochs (%) | best-epoch test acc (%) |")
    print("|---|---|---:|---:|---:|---:|")
    for nb in args.notebooks:
        for r in summary(runs_by_series(notebook_text(args.repo, nb))):
            print(f"| {nb} | {r['series']} | {r['repeats']} | {r['final_mean']:.2f} +- {r['final_std']:.2f} | "
                  f"{r['late_mean']:.2f} +- {r['late_std']:.2f} | {r['best_mean']:.2f} +- {r['best_std']:.2f} |")


if __name__ == "__main__":
    main()
