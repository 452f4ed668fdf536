"""A classic Brian2 model drives an EP network that learns a task from its activity.

    python examples/07_brunel_to_ep.py                  # ~1 min (9 s simulated; runtime device, numpy target)

The model is Brunel's (2000) sparsely connected network of excitatory and inhibitory leaky
integrate-and-fire neurons (400 E, 100 I, connection probability 0.1, J = 0.1 mV, g = 5,
delay 1.5 ms, Poisson background), in its asynchronous irregular regime. The task: in each
30 ms window one of four quarters of the excitatory population gets an extra input current
(the class); the EP network (400-64-4, softmax readout) sees the excitatory population as its
learned input (``brian_ep.build(..., input=E)``: spike counts of each window, divided by
``window * 100 Hz``) and learns, online and with its local rule only, which quarter was driven.
Its input in window ``k`` is the activity of window ``k - 1``, so the label of window ``k`` is
the class of window ``k - 1``.

Reported: online accuracy (each window's free-phase output, before that window's update) over
the first and the last 100 windows (chance 25%), the health check, and a figure with the raster
and the learning curve (``brunel_to_ep.png`` in ``--out``). Expected: well above chance in the
last 100 windows (measured and stated in docs/brian.md, "Your own spike source as the input").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

N_E, N_I, CLASSES = 400, 100, 4


def brunel(windows: int, window, classes: np.ndarray, seed: int):
    """Brunel's network with a class-dependent extra current to one quarter of the E cells;
    returns the excitatory subgroup, every object to run, and a spike monitor."""
    from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, TimedArray, mV, ms

    stim = np.zeros((windows, N_E + N_I))
    for k, c in enumerate(classes):
        stim[k, c * (N_E // CLASSES):(c + 1) * (N_E // CLASSES)] = 1.0
    drive = TimedArray(stim, dt=window, name="class_drive")
    tau, theta, v_reset, J, g = 20 * ms, 20 * mV, 10 * mV, 0.1 * mV, 5.0
    cells = NeuronGroup(
        N_E + N_I, "dv/dt = (-v + 4 * mV * drive(t, i)) / tau : volt (unless refractory)",
        threshold="v > theta", reset="v = v_reset", refractory=2 * ms, method="exact", dt=0.1 * ms,
        namespace={"tau": tau, "theta": theta, "v_reset": v_reset, "drive": drive}, name="brunel",
    )
    cells.v = "v_reset + rand() * (theta - v_reset)"
    exc, inh = cells[:N_E], cells[N_E:]
    syn_e = Synapses(exc, cells, on_pre="v += J", delay=1.5 * ms, namespace={"J": J}, dt=0.1 * ms, name="brunel_e")
    syn_i = Synapses(inh, cells, on_pre="v -= g * J", delay=1.5 * ms, namespace={"J": J, "g": g}, dt=0.1 * ms, name="brunel_i")
    syn_e.connect(p=0.1)
    syn_i.connect(p=0.1)
    # background: 1,000 external synapses per cell at 1.2 x the rate that reaches threshold alone
    nu_thr = theta / (J * 1000 * tau)
    background = PoissonInput(cells, "v", 1000, 1.2 * nu_thr, weight=J)
    spikes = SpikeMonitor(cells, name="brunel_spikes")
    return exc, [cells, syn_e, syn_i, background, spikes], spikes


def main(argv=None) -> tuple:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=300, help="sample windows (30 ms each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-rate", type=float, default=100.0, help="rate (Hz) that counts as input 1")
    parser.add_argument("--out", default="output/brunel_to_ep", help="folder for the figure")
    args = parser.parse_args(argv)

    from brian2 import Hz, ms, prefs, seed

    import brian_ep

    prefs.codegen.target = "numpy"
    seed(args.seed)
    rng = np.random.default_rng(args.seed)
    spec = brian_ep.make_spec([N_E, 64, CLASSES], tau=1 * ms, dt=0.5 * ms, readout="softmax", free_steps=40, nudged_steps=10)
    window = spec.ep.window_steps * spec.ep.dt
    classes = rng.integers(0, CLASSES, args.windows)
    exc, objects, spikes = brunel(args.windows, window, classes, args.seed)
    labels = np.concatenate([[0], classes[:-1]])  # window k sees the activity of window k - 1
    net = brian_ep.build(spec, args.windows, y=brian_ep.one_hot(labels, CLASSES), input=exc, input_rate=args.input_rate * Hz)
    net.network.add(*[o for o in objects if o is not exc])
    net.network.run(net.duration, report="text", report_period=30 * 1e3 * ms, namespace={})

    correct = (np.argmax(net.outputs(), axis=1) == labels)[1:]  # window 0 has no input
    first, last = 100 * correct[:100].mean(), 100 * correct[-100:].mean()
    rate = spikes.num_spikes / (N_E + N_I) / float(net.duration)
    x = np.asarray(net.groups["input"].x[:])
    print(f"Brunel network: {rate:.1f} Hz mean rate; last window's input x: driven quarter {x[labels[-1] * 100:(labels[-1] + 1) * 100].mean():.2f}, "
          f"others {np.delete(x, np.s_[labels[-1] * 100:(labels[-1] + 1) * 100]).mean():.2f}")
    print(f"online accuracy (chance 25%): first 100 windows {first:.1f}%, "
          f"last 100 windows {last:.1f}%")
    for message in net.check_health(warn=False):
        print("health:", message)
    _figure(Path(args.out), spikes, correct, float(window))
    return first, last


def _figure(out: Path, spikes, correct: np.ndarray, window: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6))
    t, i = np.asarray(spikes.t[:]), np.asarray(spikes.i[:])
    shown = t < 0.3
    ax1.plot(t[shown] * 1e3, i[shown], ",k")
    ax1.set(xlabel="time (ms)", ylabel="neuron (E: 0-399, I: 400-499)", title="Brunel network, first 300 ms")
    smooth = np.convolve(correct.astype(float), np.ones(50) / 50, mode="valid")
    ax2.plot(np.arange(len(smooth)) + 50, 100 * smooth)
    ax2.axhline(25, color="grey", linestyle="--", label="chance")
    ax2.set(xlabel=f"window ({window * 1e3:g} ms each)", ylabel="online accuracy, last 50 windows (%)", ylim=(0, 100))
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "brunel_to_ep.png", dpi=120)
    print(f"figure: {out / 'brunel_to_ep.png'}")


if __name__ == "__main__":
    main()
