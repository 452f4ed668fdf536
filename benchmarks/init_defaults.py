"""Which weight initialisation should be the default? Trains the network shapes that
docs/spec.md shows (64-256-10 and the 64-128-64-10 a user wrote from it), with the output
read by the output layer's rates (``readout: none``, MSE) and by a softmax readout, with
every other key at its default, under each initialisation scheme and three seeds, and
writes the final-epoch test accuracy to ``docs/results/init_defaults.json`` (and prints
the table that docs/reliability.md shows).

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/init_defaults.py [--epochs 10]

Numpy engine (the same mathematics as the Brian2 engine), digits, batch 1, 10 epochs: 24
runs, 78 minutes measured on the shared 2-core machine under heavy load.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from brian_ep.spec import load_spec
from brian_ep.train import train

SHAPES = {"64-256-10": [256], "64-128-64-10": [128, 64]}
READOUTS = ("none", "softmax")
SCHEMES = ("glorot_uniform", "fan_in_uniform")
SEEDS = (0, 1, 2)
OUT = Path("docs/results/init_defaults.json")


def spec_for(hidden, readout, scheme, seed, epochs):
    """Defaults everywhere but the shape, the readout, the init scheme, the seed and the engine."""
    return load_spec({
        "name": "init_defaults",
        "model": {
            "input": {"size": 64},
            "hidden": [{"size": h} for h in hidden],
            "output": {"size": 10},
            "readout": {"kind": readout},
            "chain": {"init": {"scheme": scheme}},
        },
        "data": {"dataset": "digits"},
        "run": {"engine": "numpy", "epochs": epochs, "seed": seed},
    })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for shape, hidden in SHAPES.items():
        for readout in READOUTS:
            for scheme in SCHEMES:
                accs, losses = [], []
                t0 = time.perf_counter()
                for seed in SEEDS:
                    metrics = train(spec_for(hidden, readout, scheme, seed, args.epochs), progress=False).metrics
                    accs.append(metrics["epochs"][-1]["test_accuracy"])
                    losses.append([r["train_loss"] for r in metrics["epochs"]])
                row = {
                    "shape": shape, "readout": readout, "scheme": scheme, "seeds": list(SEEDS), "epochs": args.epochs,
                    "final_test_accuracy": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                    "train_loss_first_last": [[loss[0], loss[-1]] for loss in losses],
                    "seconds": time.perf_counter() - t0,
                }
                rows.append(row)
                print(
                    f"{shape:14s} readout {readout:8s} {scheme:15s} final test accuracy "
                    f"{100 * row['mean']:6.2f} +- {100 * row['std']:5.2f}%  (seeds {accs})",
                    flush=True,
                )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=2))
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
