"""StochEP figures: one sample's spikes in Brian2 (raster and rates of the free and both nudged
phases) and the mean field (spike rates against the rate fixed point; the stochastic EP update
against the deterministic one, by averaging window and by trace time constant).

    BRIAN_EP_DATA=../shared/data python examples/05_stochep_figures.py \\
        [--weights RUN/weights.npz] [--quick]                          # ~3 min on 2 cores (--quick ~40 s)

Network: network_specs/stochep/mnist_784_500_10.yaml (MNIST 784-500-10, Bernoulli spiking
hidden layer, softmax readout) with trained weights if given, else its initial weights.
Writes docs/figures/stochep_raster.png, docs/figures/stochep_meanfield.png and the numbers
in docs/results/stochep/meanfield.json.

* Raster: Brian2 objects from ``brian_ep.build`` (runtime numpy target) with a ``SpikeMonitor``
  on the input (spike-encoded here) and hidden layer and a ``StateMonitor`` of the traces and
  the readout; one test sample.
* Mean field (numpy maths, :mod:`brian_ep.meanfield`): 20 test samples x 10 noise replicas;
  rate error ``rms((spikes in T steps)/T - r*)`` against the rate network's fixed point
  ``r*``; EP update over 20 samples, 5 noise seeds, cosine and norm ratio with the
  deterministic update of the mean-field network at the same beta and phase lengths.
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import SpikeMonitor, StateMonitor, ms, prefs  # noqa: E402

import brian_ep  # noqa: E402
from brian_ep.architecture import build_architecture  # noqa: E402
from brian_ep.meanfield import rate_errors, update_agreement  # noqa: E402
from brian_ep.report import save_figure  # noqa: E402

SPEC = "network_specs/stochep/mnist_784_500_10.yaml"


def raster(spec, params, x, y, out):
    """Run one window in Brian2 and plot the spikes and rates of each phase."""
    prefs.codegen.target = "numpy"
    spec = brian_ep.load_spec(SPEC, {"model.input.encoding": "spikes"})
    net = brian_ep.build(spec, 1, x, y, params=params)
    spikes = {name: SpikeMonitor(net.groups[name]) for name in ("input", "h1")}
    traces = StateMonitor(net.groups["h1"], "x", record=True, dt=spec.ep.dt)
    readout = StateMonitor(net.groups["readout"], "o", record=True, dt=spec.ep.dt)
    net.network.add(*spikes.values(), traces, readout)
    net.network.run(spec.ep.window_steps * spec.ep.dt, namespace={})
    nf, nn, dt = spec.ep.free_steps, spec.ep.nudged_steps, float(spec.ep.dt / ms)
    edges = [0, nf * dt, (nf + nn) * dt, (nf + 2 * nn) * dt]
    fig, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True, gridspec_kw={"height_ratios": [2, 3, 1.5, 1.5]})
    for ax, name in zip(axes[:2], spikes):
        mon = spikes[name]
        ax.plot(mon.t / ms, mon.i, "|", ms=2, color="k")
        ax.set_ylabel(f"{name} neuron")
        ax.set_title(f"{name}: {mon.num_spikes} spikes", fontsize=9, loc="left")
    axes[2].plot(traces.t / ms, np.mean(traces.x, axis=0), color="C0", label="mean trace x of h1")
    axes[2].set_ylabel("rate estimate")
    axes[2].legend(fontsize=8)
    label = int(np.argmax(y[0]))
    for k in range(10):
        axes[3].plot(readout.t / ms, readout.o[k], color="C3" if k == label else "0.7", lw=1.5 if k == label else 0.8)
    axes[3].set_ylabel(f"softmax output\n(label {label} red)")
    axes[3].set_xlabel("time (ms)")
    for ax in axes:
        for (a, b), colour, text in zip(zip(edges, edges[1:]), ("white", "C2", "C1"), ("free", "+beta", "-beta")):
            ax.axvspan(a, b, color=colour, alpha=0.12, lw=0)
            if ax is axes[0]:
                ax.text((a + b) / 2, 1.02, text, transform=ax.get_xaxis_transform(), ha="center", fontsize=8)
    fig.suptitle("One MNIST test sample in Brian2: Bernoulli spiking EP (spike-encoded input)", fontsize=10)
    save_figure(fig, out)


def meanfield(spec, params, x, y, quick):
    """Rate errors by window and EP-update agreement by window and trace time constant."""
    arch = build_architecture(spec)
    reps = 5 if quick else 10
    windows = [10, 30, 100, 300, 1000] if quick else [10, 30, 100, 300, 1000, 3000]
    errors = rate_errors(arch, params, np.repeat(x, reps, axis=0), windows, burn_in=50, seed=1)
    seeds = range(3 if quick else 5)
    by_window = []
    for n in ([10, 20, 50] if quick else [10, 20, 50, 100, 200]):
        s = brian_ep.load_spec(SPEC, {"ep.free_steps": max(30, n), "ep.nudged_steps": n, "model.neuron.window": n,
                                      "model.neuron.free_window": max(30, n)})
        a = update_agreement(build_architecture(s), params, x, y, s.ep, seeds)
        by_window.append({"window": n, "cosine": a.cosine.tolist(), "norm_ratio": a.norm_ratio.tolist()})
        print(f"  window {n}: cosine {a.cosine.mean():.3f}, norm ratio {a.norm_ratio.mean():.2f}", flush=True)
    by_tau = []
    for tau in ([1.0, 2.5, 5.0] if quick else [1.0, 2.5, 5.0, 10.0, 25.0]):
        s = brian_ep.load_spec(SPEC, {"ep.free_steps": 100, "ep.nudged_steps": 50, "model.neuron.read": "trace",
                                      "model.neuron.trace_tau": f"{tau} ms"})
        a = update_agreement(build_architecture(s), params, x, y, s.ep, seeds)
        by_tau.append({"trace_tau_ms": tau, "cosine": a.cosine.tolist(), "norm_ratio": a.norm_ratio.tolist()})
        print(f"  trace_tau {tau} ms: cosine {a.cosine.mean():.3f}, norm ratio {a.norm_ratio.mean():.2f}", flush=True)
    return {"windows": windows, "rate_rms_error": {k: v.tolist() for k, v in errors.items()},
            "update_by_window": by_window, "update_by_trace_tau": by_tau}


def plot_meanfield(res, out):
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    T = np.array(res["windows"])
    for name, err in res["rate_rms_error"].items():
        axes[0].loglog(T, err, "o-", label=name)
    e0 = res["rate_rms_error"]["h1"][0]
    axes[0].loglog(T, e0 * np.sqrt(T[0] / T), "k--", lw=0.8, label="1/sqrt(T)")
    axes[0].set(xlabel="averaging window T (steps)", ylabel="rms(spike rate - r*)", title="rates vs rate fixed point")
    for ax, key, xkey, xlabel in ((axes[1], "update_by_window", "window", "nudged phase = counting window (steps)"),
                                  (axes[2], "update_by_trace_tau", "trace_tau_ms", "trace time constant (ms), 50-step phases")):
        xs = [r[xkey] for r in res[key]]
        cos = np.array([r["cosine"] for r in res[key]])
        ratio = np.array([r["norm_ratio"] for r in res[key]])
        ax.errorbar(xs, cos.mean(1), cos.std(1), fmt="o-", label="cosine")
        ax.errorbar(xs, ratio.mean(1), ratio.std(1), fmt="s--", label="norm ratio")
        ax.axhline(0.95, color="0.6", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set(xlabel=xlabel, title="stochastic vs deterministic EP update")
        ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", help="trained weights (weights.npz of a run; default: initial weights)")
    parser.add_argument("--quick", action="store_true", help="fewer windows, replicas and seeds")
    parser.add_argument("--figures", default="docs/figures")
    parser.add_argument("--results", default="docs/results/stochep")
    args = parser.parse_args(argv)
    spec = brian_ep.load_spec(SPEC)
    arch = build_architecture(spec)
    params = brian_ep.Params.load(args.weights) if args.weights else brian_ep.initial_params(arch, spec.run.seed)
    ds = brian_ep.load_mnist()
    x, y = ds.x_test[:20], brian_ep.one_hot(ds.y_test[:20], 10)
    figures, results = Path(args.figures), Path(args.results)
    figures.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    raster(spec, params, x[:1], y[:1], figures / "stochep_raster.png")
    print(f"wrote {figures / 'stochep_raster.png'}", flush=True)
    res = meanfield(spec, params, x, y, args.quick)
    res["weights"] = args.weights or "initial"
    (results / "meanfield.json").write_text(json.dumps(res, indent=1))
    plot_meanfield(res, figures / "stochep_meanfield.png")
    print(f"wrote {figures / 'stochep_meanfield.png'} and {results / 'meanfield.json'}")


if __name__ == "__main__":
    main()
