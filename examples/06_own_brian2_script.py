"""An EP network inside your own Brian2 script: your device, your equations, your monitors and
your weights (the walk-through of docs/brian.md, section "Your own Brian2 script").

    python examples/06_own_brian2_script.py                          # ~20 s, runtime device (numpy)
    python examples/06_own_brian2_script.py --standalone out/sa      # ~1 min, cpp_standalone in out/sa

It builds a 64-32-10 network for 40 bundled digits, adds an external current to the hidden
layer and slows down the input weights' learning rule through ``modify_equations``, records
hidden rates with a ``StateMonitor`` on the network's clock, runs the whole schedule, and then
loads the learned input weights into a ``Synapses`` object of its own. Prints what changed and
writes ``hidden_rates.png`` next to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def slower_input_learning_and_external_current(key: str, text: str) -> str:
    """The equation hook: ``key`` names a group, a projection or an operation (see
    ``net.equations`` and ``net.code``); return ``text`` unchanged for the others."""
    if key == "h1":  # an extra current into the hidden layer, a parameter you set
        return text.replace("I = ", "I = I_ext + ") + "I_ext : 1 (shared)\n"
    if key == "input_h1.learn":  # the input weights' EP update, at half the rate
        return text.replace("w += lr *", "w += 0.5 * lr *")
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standalone", metavar="DIR", help="build a cpp_standalone program in DIR (Brian2's build_on_run)")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--out", default="runs/example_own_script")
    args = parser.parse_args(argv)

    from brian2 import Network, NeuronGroup, StateMonitor, Synapses, device, ms, prefs, set_device

    import brian_ep

    # 1. Your device: anything Brian2 offers; brian_ep reads it, it never sets one itself.
    if args.standalone:
        set_device("cpp_standalone", directory=args.standalone)  # build_on_run=True: run() builds and runs
    else:
        prefs.codegen.target = "numpy"

    # 2. The network, with your equations.
    spec = brian_ep.make_spec([64, 32, 10], tau=1 * ms, dt=0.5 * ms, readout="softmax", free_steps=20, nudged_steps=6)
    ds = brian_ep.load_digits()
    n = args.samples
    net = brian_ep.build(
        spec, n, x=ds.x_train[:n], y=brian_ep.one_hot(ds.y_train[:n], 10),
        modify_equations=slower_input_learning_and_external_current,
    )
    net.groups["h1"].I_ext = 0.05
    print(net.code["input_h1.learn"].strip())  # the learning rule as it will run

    # 3. Your monitors: on the network's step clock, added to the network.
    mon = StateMonitor(net.groups["h1"], "r", record=[0, 1, 2], clock=net.clock)
    net.network.add(mon)

    # 4. Run the whole schedule (net.duration: every sample window); weights change as it runs.
    before = net.get_params()  # a copy
    net.network.run(net.duration)
    after = net.get_params()
    # Copy what the monitor recorded now: a standalone device's results are gone after the
    # device.reinit() below.
    t_ms, rates = np.array(mon.t / ms), np.array(mon.r[:])
    for name in after.W:
        print(f"{name}: largest weight change {np.max(np.abs(after.W[name] - before.W[name])):.4f}")

    # 5. Your weights: learned W[pre, post] into a Synapses of your own (row-major i, j), here
    #    to compute the hidden layer's input current for one image.
    W = after.W["input_h1"]
    if args.standalone:
        device.reinit()  # one build per device and script: start a new project for your own objects
        device.activate(directory=args.standalone + "_own")
    pixels = NeuronGroup(W.shape[0], "rate : 1", name="my_pixels")
    hidden = NeuronGroup(W.shape[1], "drive : 1", name="my_hidden")
    S = Synapses(pixels, hidden, "w : 1\ndrive_post = w * rate_pre : 1 (summed)", name="my_input_weights")
    i, j = np.meshgrid(np.arange(W.shape[0]), np.arange(W.shape[1]), indexing="ij")
    S.connect(i=i.ravel(), j=j.ravel())
    S.w = W.ravel()
    pixels.rate = ds.x_test[0]
    Network(pixels, hidden, S).run(net.dt)
    drive = np.asarray(hidden.drive[:])
    print(f"my_input_weights: {len(W.ravel())} learned weights; max |drive - x @ W| = {np.max(np.abs(drive - ds.x_test[0] @ W)):.1e}")

    _plot(t_ms, rates, net, Path(args.out))
    return net, rates, drive


def _plot(t_ms, rates, net, out: Path) -> None:
    """The recorded hidden rates (``rates``: neurons x steps, at times ``t_ms``) with the
    window boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3))
    for k in range(rates.shape[0]):
        ax.plot(t_ms, rates[k], lw=0.8, label=f"h1[{k}]")
    for w in range(net.n_windows + 1):
        ax.axvline(float(w * net.window_duration) * 1e3, color="0.85", lw=0.5, zorder=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate r (fraction of max)")
    ax.set_title("hidden rates: free phase, +beta and -beta nudged phases of each sample")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "hidden_rates.png", dpi=120)
    plt.close(fig)
    print(f"figure: {out / 'hidden_rates.png'}")


if __name__ == "__main__":
    main()
