"""One sample's free and nudged phases, recorded from the Brian2 objects with a StateMonitor.

    python examples/03_phases_in_brian2.py [--weights runs/digits/weights.npz]     # ~5 s

Builds the default digits network (network_specs/digits.yaml) as ordinary Brian2 objects,
adds a monitor of the top layer's rates and the readout's output, runs one sample window on
the runtime numpy target, and plots them against time with the phases shaded. Writes
docs/figures/phases.png and prints where it went.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from brian2 import StateMonitor, ms, prefs  # noqa: E402

import brian_ep  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", help="trained weights (default: initial weights)")
    parser.add_argument("--out", default="docs/figures/phases.png")
    args = parser.parse_args(argv)
    prefs.codegen.target = "numpy"
    spec = brian_ep.load_spec("network_specs/digits.yaml")
    ds = brian_ep.load_digits()
    x = ds.x_test[:1]
    y = brian_ep.one_hot(ds.y_test[:1], 10)
    params = brian_ep.Params.load(args.weights) if args.weights else None
    net = brian_ep.build(spec, 1, x, y, params=params)
    hidden = StateMonitor(net.groups["h1"], "r", record=range(8), dt=spec.ep.dt)
    readout = StateMonitor(net.groups["readout"], "o", record=True, dt=spec.ep.dt)
    net.network.add(hidden, readout)
    net.network.run(spec.ep.window_steps * spec.ep.dt, namespace={})

    nf, nn, dt = spec.ep.free_steps, spec.ep.nudged_steps, float(spec.ep.dt / ms)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    for ax in (a1, a2):
        ax.axvspan(nf * dt, (nf + nn) * dt, color="C2", alpha=0.12, label="nudged +beta")
        ax.axvspan((nf + nn) * dt, (nf + 2 * nn) * dt, color="C3", alpha=0.12, label="nudged -beta")
    a1.plot(hidden.t / ms, hidden.r.T, lw=1)
    a1.set_ylabel("hidden rates r (8 neurons)")
    for k in range(10):
        a2.plot(readout.t / ms, readout.o[k], lw=2 if k == ds.y_test[0] else 0.8, label=f"class {k}" if k == ds.y_test[0] else None)
    a2.set_ylabel("readout softmax output")
    a2.set_xlabel("time in the sample window (ms)")
    a2.legend(fontsize=7, loc="upper left")
    a1.set_title(f"digits test sample 0 (label {ds.y_test[0]}): free phase, then +beta and -beta from the free state", fontsize=9)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
