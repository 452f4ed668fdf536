"""Deep StochEP on Fashion-MNIST: test accuracy by epoch when the EP rule reads spike counts
(``read: window``) against spike probabilities (``read: probability``), with the same network
trained as rate neurons (EP) and by backprop as the bars.

    python benchmarks/stochep_fashion_curves.py

Reads the per-epoch records in ``docs/results/stochep/deep/fashion/`` (each with the command
that trained it) and writes ``docs/figures/stochep_fashion_read.png``; prints each run's final
epoch and the mean +- sample std of the final epochs per group (over seeds 0-2, the issue's
three, and over every seed with a record). Nothing is trained here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from brian_ep.report import pyplot, save_figure

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "docs" / "results" / "stochep" / "deep" / "fashion"
OUT = REPO / "docs" / "figures" / "stochep_fashion_read.png"
GROUPS = {  # label -> record names (the shipped spec's settings, 30 epochs)
    "spiking, EP reads spike counts (read: window), seed 0": ["tau2_f16n12w8_30ep_s0"],
    "spiking, EP reads spike probabilities (read: probability), seeds 0-4": ["prob_30ep_s0", "prob_30ep_s1", "prob_30ep_s2", "prob_30ep_s3", "prob_30ep_s4"],
}
BARS = {  # label -> record name (final epoch drawn as a line)
    "rate neurons, EP (15 epochs)": "rate_15ep_s0",
    "rate neurons, backprop (15 epochs)": "bp_15ep_s0",
}


def _test_curve(name: str) -> np.ndarray:
    record = json.loads((RECORDS / f"{name}.json").read_text())
    return 100 * np.array([e["test_accuracy"] for e in record["epochs"]])


def main() -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for (label, names), color in zip(GROUPS.items(), ("tab:gray", "tab:blue")):
        finals = []
        for i, name in enumerate(names):
            if not (RECORDS / f"{name}.json").exists():
                print(f"{name}: no record")
                continue
            curve = _test_curve(name)
            finals.append(curve[-1])
            ax.plot(np.arange(1, len(curve) + 1), curve, color=color, alpha=0.9, lw=1.4, label=label if i == 0 else None)
            print(f"{name}: {len(curve)} epochs, final test accuracy {curve[-1]:.2f}%")
        for n in sorted({3, len(finals)}):  # issue 29's three seeds (0-2), then every seed run
            if 1 < n <= len(finals):
                print(f"{label}: {np.mean(finals[:n]):.2f} +- {np.std(finals[:n], ddof=1):.2f}% over seeds 0-{n - 1}")
    for (label, name), style in zip(BARS.items(), (":", "--")):
        final = _test_curve(name)[-1]
        ax.axhline(final, color="k", ls=style, lw=1, label=f"{label}: {final:.2f}%")
        print(f"{name}: final test accuracy {final:.2f}%")
    ax.axhline(89.0, color="tab:red", lw=0.8, alpha=0.6, label="issue 29 target: 89%")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(80, 91),
           title="Fashion-MNIST 784-500-500-10, both hidden layers Bernoulli spiking")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    print(f"wrote {save_figure(fig, OUT).relative_to(REPO)}")


if __name__ == "__main__":
    main()
