"""How far the free phase of a trained conv CRNN gets in a fixed number of steps, for several
feedback factors: the check that chose ``gamma: 0.5`` for ``network_specs/conv/fashion_crnn.yaml``.

    BRIAN_EP_DATA=../shared/data python benchmarks/conv_settling.py RUN_DIR [--gammas 1,0.5,0.25]   # ~1 min

Reads the run's spec and its checkpoint (or final weights), relaxes 50 Fashion-MNIST test
images from zero with each gamma (same weights, energy weights from the gamma), and prints the
median over samples of the state change per step (Euclidean norm over all free neurons) at
steps 1, 5, 10, 20, 30, 50, and how many samples settled (change < 1e-4) within
``ep.free_steps``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture, with_gamma
from brian_ep.data import load_fashion_mnist
from brian_ep.maths import Params, settling_steps
from brian_ep.rundir import RunDirectory
from brian_ep.spec import load_spec

STEPS = (1, 5, 10, 20, 30, 50)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--gammas", default="1,0.5,0.25")
    args = parser.parse_args()
    spec = load_spec(args.run / "spec.yaml")
    if (args.run / "weights.npz").exists():
        params, where = Params.load(args.run / "weights.npz"), "final weights"
    else:
        params, _, position = RunDirectory(args.run).load_checkpoint()
        where = f"checkpoint at epoch {position['epoch'] + 1}, sample {position['sample']}"
    x = load_fashion_mnist().x_test[:50]
    print(f"{args.run} ({where}); median change per step over 50 test images")
    print(f"{'gamma':>6s} " + " ".join(f"{f'step {t}':>9s}" for t in STEPS) + f"  settled in {spec.ep.free_steps}")
    for gamma in (float(g) for g in args.gammas.split(",")):
        arch = build_architecture(with_gamma(spec, gamma))
        steps, change, _ = settling_steps(arch, params, x, tol=1e-4, max_steps=max(STEPS))
        cells = " ".join(f"{np.median(change[t - 1]):9.3g}" if t <= len(change) else f"{'<1e-4':>9s}" for t in STEPS)
        print(f"{gamma:6g} {cells}  {int(np.sum(steps <= spec.ep.free_steps))}/50")


if __name__ == "__main__":
    main()
