"""One digit through the physiological-time-scale StochEP network in Brian2: spike rasters of
both hidden layers over the free and both nudged phases, and their rates in Hz.

    python examples/08_stochep_physiological.py \\
        --weights docs/results/stochep/physiological/digits_brian2_s0_weights.npz   # ~1 min on 2 cores

Network: network_specs/stochep/digits_physiological.yaml (64-100-100-10, both hidden layers
Bernoulli spiking at <= 100 Hz, tau 10 ms, dt 0.1 ms), with the trained weights if given,
else its initial weights. Brian2 objects from ``brian_ep.build`` (runtime numpy target) with a
``SpikeMonitor`` on each hidden layer and a ``StateMonitor`` on the readout; one test digit
(the first of the test split), Brian2's ``rand()`` seeded with 0. Writes
docs/figures/stochep_physiological.png and prints the spikes and mean rate (Hz) of each layer
and phase.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import SpikeMonitor, StateMonitor, ms, prefs, seed  # noqa: E402

import brian_ep  # noqa: E402
from brian_ep.architecture import build_architecture  # noqa: E402
from brian_ep.report import save_figure  # noqa: E402

SPEC = "network_specs/stochep/digits_physiological.yaml"
LAYERS = ("h1", "h2")
BIN_MS = 5.0


def run_one(spec, params, x, y):
    """One training window (free, +beta, -beta) in Brian2: the spike monitors of both hidden
    layers and the readout's softmax output."""
    prefs.codegen.target = "numpy"
    seed(0)  # Brian2's rand(): the same spikes on every run of the script
    net = brian_ep.build(spec, 1, x, y, params=params)
    spikes = {name: SpikeMonitor(net.groups[name]) for name in LAYERS}
    readout = StateMonitor(net.groups["readout"], "o", record=True, dt=spec.ep.dt)
    net.network.add(*spikes.values(), readout)
    net.network.run(spec.ep.window_steps * spec.ep.dt, namespace={})
    return spikes, readout


def phase_edges(spec) -> list:
    """Start and end of the free, +beta and -beta phases, in ms."""
    nf, nn, dt = spec.ep.free_steps, spec.ep.nudged_steps, float(spec.ep.dt / ms)
    return [0.0, nf * dt, (nf + nn) * dt, (nf + 2 * nn) * dt]


def phase_rates(spikes, edges) -> dict:
    """Spikes and mean rate (Hz) per layer and phase."""
    out = {}
    for name, mon in spikes.items():
        t, size = np.asarray(mon.t / ms), len(mon.source)
        for (a, b), phase in zip(zip(edges, edges[1:]), ("free", "+beta", "-beta")):
            n = int(np.sum((t >= a) & (t < b)))
            out[(name, phase)] = (n, n / size / ((b - a) * 1e-3))
    return out


def plot(spec, arch, spikes, readout, label, out):
    """Rasters of h1 and h2, their population rates in Hz (5 ms bins), the softmax output."""
    edges = phase_edges(spec)
    fig, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True, gridspec_kw={"height_ratios": [3, 3, 2, 1.5]})
    bins = np.arange(0.0, edges[-1] + BIN_MS, BIN_MS)
    for k, name in enumerate(LAYERS):
        mon = spikes[name]
        t = np.asarray(mon.t / ms)
        axes[k].plot(t, mon.i, "|", ms=2, color="k")
        size = len(mon.source)
        axes[k].set_ylabel(f"{name} neuron")
        axes[k].set_title(
            f"{name}: {mon.num_spikes} spikes, {mon.num_spikes / size / (edges[-1] * 1e-3):.1f} Hz per neuron on average",
            fontsize=9, loc="left",
        )
        counts, _ = np.histogram(t, bins)
        axes[2].step(bins[:-1], counts / size / (BIN_MS * 1e-3), where="post", color=f"C{k}", label=name)
    axes[2].axhline(float(arch.layer("h1").options.max_rate), color="0.5", ls="--", lw=0.8, label="max_rate")
    axes[2].set_ylabel(f"rate (Hz)\n{BIN_MS:g} ms bins")
    axes[2].legend(fontsize=8, ncol=3)
    for k in range(10):
        axes[3].plot(readout.t / ms, readout.o[k], color="C3" if k == label else "0.7", lw=1.5 if k == label else 0.8)
    axes[3].set_ylabel(f"softmax output\n(label {label} red)")
    axes[3].set_title("readout of h2's trace (computed from the end of the free phase on)", fontsize=9, loc="right")
    axes[3].set_xlabel("time (ms)")
    for ax in axes:
        for (a, b), colour, text in zip(zip(edges, edges[1:]), ("white", "C2", "C1"), ("free", "+beta", "-beta")):
            ax.axvspan(a, b, color=colour, alpha=0.12, lw=0)
            if ax is axes[2]:
                ax.text((a + b) / 2, 1.02, text, transform=ax.get_xaxis_transform(), ha="center", fontsize=9)
    tau, dt = arch.layer("h1").tau * 1e3, float(spec.ep.dt / ms)
    fig.suptitle(f"One digit in Brian2 at physiological time scales (tau {tau:g} ms, dt {dt:g} ms)", fontsize=10)
    save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="trained weights (weights.npz of a run; default: initial weights)")
    parser.add_argument("--out", default="docs/figures/stochep_physiological.png")
    args = parser.parse_args(argv)
    spec = brian_ep.load_spec(SPEC)
    arch = build_architecture(spec)
    params = brian_ep.Params.load(args.weights) if args.weights else brian_ep.initial_params(arch, spec.run.seed)
    ds = brian_ep.load_digits()
    x, y = ds.x_test[:1], brian_ep.one_hot(ds.y_test[:1], 10)
    spikes, readout = run_one(spec, params, x, y)
    rates = phase_rates(spikes, phase_edges(spec))
    for (name, phase), (n, rate) in rates.items():
        print(f"{name} {phase:>5}: {n:5d} spikes, {rate:5.1f} Hz per neuron")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    plot(spec, arch, spikes, readout, int(ds.y_test[0]), args.out)
    print(f"wrote {args.out}")
    return rates


if __name__ == "__main__":
    main()
