"""Optimiser and learning rate for MNIST 784-500-10 in mini-batches of 1,000 (the GPU spec
``network_specs/torch/mnist_784_500_10_b1000.yaml``), chosen on the CPU by the validation
accuracy (last 5,000 training images) after a few epochs; the test accuracy of the final
epoch is reported beside it, never used to choose.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 nice python benchmarks/torch_large_batch_lr.py \\
        --epochs 5 --out docs/results/torch/large_batch_lr.json       # ~15 min on 2 busy cores
    ... --epochs 15 --only adam-4e-3 --out docs/results/torch/large_batch_15ep.json  # the chosen one, ~30 min

Each candidate runs the spec on the CPU (torch engine, float32, one thread) with its cosine
schedule stretched over ``--epochs``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from brian_ep.spec import load_spec
from brian_ep.train import train

SPEC = "network_specs/torch/mnist_784_500_10_b1000.yaml"
CANDIDATES = {
    "adam-5e-4": {"optim.algorithm": "adam", "model.chain.lr": [5e-4, 5e-4]},
    "adam-1e-3": {"optim.algorithm": "adam", "model.chain.lr": [1e-3, 1e-3]},
    "adam-2e-3": {"optim.algorithm": "adam", "model.chain.lr": [2e-3, 2e-3]},
    "adam-4e-3": {"optim.algorithm": "adam", "model.chain.lr": [4e-3, 4e-3]},
    "adam-8e-3": {"optim.algorithm": "adam", "model.chain.lr": [8e-3, 8e-3]},
    "sgd-0.5": {"optim.algorithm": "sgd", "model.chain.lr": [0.5, 0.25]},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--only", help="candidates, comma separated (default: all)")
    parser.add_argument("--out", required=True, help="JSON file for the per-epoch results")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    names = args.only.split(",") if args.only else list(CANDIDATES)
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    for name in names:
        over = {**CANDIDATES[name], "run.epochs": args.epochs, "run.torch": {"device": "cpu"}}
        t0 = time.perf_counter()
        run = train(load_spec(SPEC, overrides=over), progress=False)
        rows = run.metrics["epochs"]
        results[name] = {"overrides": over, "epochs": rows, "seconds": time.perf_counter() - t0}
        Path(args.out).write_text(json.dumps(results, indent=2))
        last = rows[-1]
        print(f"{name:10s} epochs {args.epochs}: validation {100 * last['validation_accuracy']:.2f}%  "
              f"test {100 * last['test_accuracy']:.2f}%  ({time.perf_counter() - t0:.0f} s)", flush=True)
    best = max(results, key=lambda k: results[k]["epochs"][-1]["validation_accuracy"])
    print(f"chosen by final validation accuracy: {best}")


if __name__ == "__main__":
    main()
