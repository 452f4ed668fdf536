"""Deep StochEP on MNIST trained in Brian2 ``cpp_standalone`` (Brian2's ``rand()``) beside the
numpy engine: test accuracy and spikes per training sample in each hidden layer, by epoch.

    python benchmarks/stochep_mnist_engines_curves.py

Reads the per-epoch records in ``docs/results/stochep/deep/`` (each with the spec and the
command that trained it: ``network_specs/stochep/mnist_784_500_500_10.yaml`` as shipped, 30
epochs) and writes ``docs/figures/stochep_mnist_engines.png``; prints each run's final epoch
and the numpy seeds' mean +- sample std. Nothing is trained here. The two engines draw their
spikes from different random generators, so their curves are two samples of the same
training, not the same trajectory (the same-noise tests in ``tests/brian/test_spiking.py``
check that).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from brian_ep.report import pyplot, save_figure

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "docs" / "results" / "stochep" / "deep"
OUT = REPO / "docs" / "figures" / "stochep_mnist_engines.png"
BRIAN = "mnist_brian2_cpp_s0_30ep"
NUMPY = ["mnist_shipped_30ep_numpy_s0", "mnist_shipped_30ep_numpy_s1", "mnist_shipped_30ep_numpy_s2"]


def _epochs(name: str) -> list[dict]:
    return json.loads((RECORDS / f"{name}.json").read_text())["epochs"]


def main() -> None:
    plt = pyplot()
    fig, (acc, spikes) = plt.subplots(1, 2, figsize=(11, 4.2))
    runs = [(BRIAN, "Brian2 cpp_standalone, seed 0", "tab:red")]
    runs += [(name, f"numpy engine, seed {name[-1]}", "tab:blue") for name in NUMPY]
    finals = []
    for name, label, color in runs:
        if not (RECORDS / f"{name}.json").exists():
            print(f"{name}: no record")
            continue
        epochs = _epochs(name)
        x = np.array([e["epoch"] for e in epochs])
        test = 100 * np.array([e["test_accuracy"] for e in epochs])
        lw, alpha = (2.0, 1.0) if name == BRIAN else (1.0, 0.6)
        acc.plot(x, test, color=color, lw=lw, alpha=alpha, label=label)
        for layer, style in (("h1", "-"), ("h2", "--")):
            counts = [e.get(f"spikes_per_sample_{layer}", np.nan) for e in epochs]
            spikes.plot(x, counts, color=color, ls=style, lw=lw, alpha=alpha,
                        label=f"{layer}, {label if name == BRIAN else 'numpy engine, seeds 0-2'}"
                        if name in (BRIAN, NUMPY[0]) else None)
        if name != BRIAN:
            finals.append(test[-1])
        last = epochs[-1]
        print(f"{name}: {len(epochs)} epochs, final test accuracy {test[-1]:.2f}%, "
              f"{last['ms_per_sample']:.2f} ms/sample, spikes per training sample "
              f"h1 {last.get('spikes_per_sample_h1', float('nan')):,.0f} h2 {last.get('spikes_per_sample_h2', float('nan')):,.0f}")
    if len(finals) > 1:
        print(f"numpy engine: {np.mean(finals):.2f} +- {np.std(finals, ddof=1):.2f}% over {len(finals)} seeds")
    acc.axhline(98.0, color="k", lw=0.8, ls=":", label="issue 29 target: 98%")
    acc.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(94, 99), title="test accuracy")
    acc.legend(fontsize=8, loc="lower right")
    spikes.set(xlabel="epoch", ylabel="spikes per training sample", title="spikes per layer (free + nudged phases)")
    spikes.legend(fontsize=7, loc="center right")
    for ax in (acc, spikes):
        ax.grid(alpha=0.3)
    fig.suptitle("MNIST 784-500-500-10, both hidden layers Bernoulli spiking, spikes both ways (gamma 0.5)", fontsize=10)
    print(f"wrote {save_figure(fig, OUT).relative_to(REPO)}")


if __name__ == "__main__":
    main()
