"""Build the Brian2 objects of an EP network: one ``NeuronGroup`` per layer, one ``Synapses``
per projection, ``TimedArray`` inputs, and the learning rule as synaptic code.

The objects are ordinary Brian2 objects: add monitors, change equations or embed them in
a larger ``Network``. Everything, the learning rule included, is generated code (no Python
callback runs during a simulation), so a whole training run compiles to one C++ program
under ``cpp_standalone``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..maths.optim import learning_rates
from . import equations as eq

__all__ = ["EPNetwork", "build_network"]

# Scheduling: the order of operations within one time step (see docs/brian.md).
ORDER_LATCH = 0  # start: layers latch phase results, restart/reset states
ORDER_UPDATE = 1  # start: recurrent synapses apply the EP update (once a window)
ORDER_INPUT = 2  # start: the input layer loads the next stimulus (once a window)
ORDER_INPUT_EVENT = 3  # start: input neurons emit the window event
ORDER_INPUT_LEARN = 4  # start: input synapses apply (or accumulate) the last window's update
ORDER_OPTIM = 5  # start: optimiser step at the end of a mini-batch (accumulating modes)
ORDER_INPUT_DELIVER = 6  # start: input synapses deliver the new window's input current
ORDER_MONITOR = 10  # start: record the latched free-phase outputs
ORDER_OUTPUT_ERROR = 0  # before_groups: the output layer's held or accumulated error (MSE)
ORDER_READOUT_GROUP = -10  # groups: readout summed input a (order - 1) before everything
ORDER_NORMALISER = -6  # groups: softmax normaliser Z
ORDER_READOUT_LATCH = -5  # groups: latch the free-phase (and nudged) readout output
ORDER_READOUT_UPDATE = -4  # groups: readout synapses apply the update (once a window)
ORDER_READOUT_OPTIM = -3  # groups: readout optimiser step at the end of a mini-batch


@dataclass
class EPNetwork:
    """The Brian2 objects of one EP network (see :func:`build_network`).

    Attributes
    ----------
    groups : dict
        ``NeuronGroup`` per layer name (input included; the softmax readout is ``readout``).
    synapses : dict
        ``Synapses`` per projection name (the softmax readout's too).
    normaliser : Synapses or None
        All-to-all readout synapses summing ``exp(a)`` into ``Z``.
    timed_arrays : dict
        ``stim`` (input), ``target`` (one-hot), ``mask`` (1 for real samples, 0 for padding)
        and, for random-sign nudging, ``signs``.
    monitor : StateMonitor
        The latched free-phase output of every window (record 0 is at ``t = 0``).
    equations : dict
        The equation text of every group and synapse, by name.
    network : Network
        All of the above, ready to ``run(duration)``.
    """

    arch: object
    groups: dict
    synapses: dict
    normaliser: object
    timed_arrays: dict
    monitor: object
    equations: dict
    network: object
    n_windows: int
    window_steps: int
    dt: object
    objects: list = field(default_factory=list)

    @property
    def window_duration(self):
        return self.window_steps * self.dt

    @property
    def duration(self):
        """Run length: every window plus one step, at whose start the last update happens."""
        return self.n_windows * self.window_duration + self.dt

    def set_params(self, params) -> None:
        """Load weights ``W[projection]`` (shape ``(n_pre, n_post)``) and biases ``b[layer]``."""
        for name, S in self.synapses.items():
            S.w = np.asarray(params.W[name]).ravel()
        for name, b in params.b.items():
            self.groups[name].b = b

    def get_params(self):
        """The current weights and biases as :class:`~brian_ep.maths.params.Params`."""
        from ..maths.params import Params

        W = {}
        for p in self.arch.all_projections:
            shape = (self.arch.layer(p.pre).size, self.arch.layer(p.post).size)
            W[p.name] = np.asarray(self.synapses[p.name].w[:]).reshape(shape)
        b = {layer.name: np.asarray(self.groups[layer.name].b[:]) for layer in self.arch.free_layers if layer.bias}
        return Params(W, b)

    def outputs(self) -> np.ndarray:
        """The latched free-phase output of each window, shape ``(n_windows, n_output)``."""
        var = "o_free" if "readout" in self.groups else "r_free"
        values = np.asarray(getattr(self.monitor, var))  # (n_out, n_records)
        return values[:, 1 : self.n_windows + 1].T


def build_network(
    arch, ep, optim, n_windows: int, data: dict | None = None, name: str = "ep", modify_equations=None
) -> EPNetwork:
    """Build the Brian2 objects for ``arch`` presenting ``n_windows`` samples.

    Parameters
    ----------
    arch : Architecture
        Layers and projections (from :func:`brian_ep.architecture.build_architecture`).
    ep : EPSpec
        Window schedule (``free_steps``, ``nudged_steps``, ``dt``), ``beta``, ``nudging``,
        ``mode`` and ``nudge_force``.
    optim : OptimSpec
        ``algorithm``, ``batch_size``, Adam constants.
    n_windows : int
        Samples per run (the size of the ``TimedArray`` inputs).
    data : dict, optional
        ``x`` (n_windows, n_input), ``y`` (n_windows, n_output), ``mask`` (n_windows,) and
        ``signs`` (n_windows,) arrays; zeros if omitted (placeholders for standalone
        ``run_args``).
    name : str
        Prefix of the Brian2 object names.
    modify_equations : callable, optional
        ``f(name, text) -> text`` applied to the equations of every layer (``name`` is the
        layer name) and projection before the objects are created, e.g. to add a current:
        ``lambda n, t: t.replace("I = ", "I = I_ext + ") + "I_ext : 1\n" if n == "h1" else t``.

    Returns
    -------
    EPNetwork

    Notes
    -----
    Creates a ``NeuronGroup`` per layer (``<name>_<layer>``), a ``Synapses`` per projection
    (``<name>_<projection>``), ``TimedArray`` objects ``stim``, ``target``, ``mask`` (and
    ``signs``), ``run_regularly`` operations for the phase schedule and the learning rule,
    and a ``StateMonitor`` of the free-phase outputs. Each window lasts
    ``ep.window_steps * ep.dt``.
    """
    from brian2 import Clock, NeuronGroup, Network, StateMonitor, Synapses, TimedArray, second

    dt = ep.dt
    NW, NF, NN = ep.window_steps, ep.free_steps, ep.nudged_steps
    wdt = NW * dt
    step_clock = Clock(dt=dt, name=f"{name}_clock")
    window_clock = Clock(dt=wdt, name=f"{name}_window_clock")
    centered = ep.nudging == "centered"
    sign = "signs(t)" if ep.nudging == "random_sign" else "1"
    direct = optim.algorithm == "sgd" and optim.batch_size == 1
    accumulate = not direct
    adam = optim.algorithm == "adam"
    exact = arch.mode == "exact"
    softmax = arch.readout is not None

    data = data or {}
    n_in, n_out = arch.input.size, arch.output.size

    def values(key, shape):
        v = data.get(key)
        return np.zeros(shape) if v is None else np.asarray(v, dtype=float).reshape(shape)

    stim = TimedArray(values("x", (n_windows, n_in)), dt=wdt, name=f"{name}_stim")
    target = TimedArray(values("y", (n_windows, n_out)), dt=wdt, name=f"{name}_target")
    mask = TimedArray(values("mask", (n_windows,)), dt=wdt, name=f"{name}_mask")
    timed = {"stim": stim, "target": target, "mask": mask}
    shared_ns = {"NW": NW, "NF": NF, "NN": NN, "WDT": wdt, "mask": mask, "target": target, "B1": optim.adam_betas[0], "B2": optim.adam_betas[1], "ADAM_EPS": optim.adam_eps}
    if ep.nudging == "random_sign":
        timed["signs"] = TimedArray(values("signs", (n_windows,)), dt=wdt, name=f"{name}_signs")
        shared_ns["signs"] = timed["signs"]

    groups, synapses, texts, objects = {}, {}, {}, []
    lrs = learning_rates(arch)
    edit = modify_equations or (lambda _name, text: text)

    # -- input layer: stimulus loaded once a window, delivered as an event ---------------------
    inp = arch.input
    G_in = NeuronGroup(
        inp.size,
        eq.input_group_equations(),
        events=eq.input_events(),
        clock=window_clock,
        namespace=dict(shared_ns, stim=stim),
        name=f"{name}_{inp.name}",
    )
    G_in.run_regularly(eq.input_window_code(), clock=window_clock, when="start", order=ORDER_INPUT, name=f"{name}_{inp.name}_load")
    for event in eq.input_events():
        G_in.thresholder[event].when = "start"
        G_in.thresholder[event].order = ORDER_INPUT_EVENT
    groups[inp.name] = G_in
    texts[inp.name] = eq.input_group_equations()
    objects.append(G_in)

    # -- free layers -------------------------------------------------------------------------
    top = arch.top.name
    for layer in arch.free_layers:
        incoming = [p.name for p in arch.incoming(layer.name) if p.pre != inp.name]
        outgoing = [p.name for p in arch.outgoing(layer.name)]
        receives_input = any(p.pre == inp.name for p in arch.incoming(layer.name))
        nudge = None
        if layer.name == top:
            nudge = "softmax" if softmax else "mse"
        text = edit(
            layer.name,
            eq.layer_equations(
                layer.activation, incoming, outgoing, receives_input, layer.bias, nudge, accumulate, adam, sign, centered,
                ep.nudge_force,
            ),
        )
        numerator = repr(float(arch.energy_weights[layer.name])) if exact else "beta"
        denominator = "2 * beta" if centered else f"beta * {sign}"
        factor = f"{numerator} / ({denominator} + 1 - learn)"
        ns = dict(shared_ns, tau=layer.tau * second, target=target)
        G = NeuronGroup(layer.size, text, method="euler", clock=step_clock, namespace=ns, name=f"{name}_{layer.name}")
        G.beta = ep.beta
        G.learn = 1.0
        if layer.bias:
            G.lr_b = lrs.b[layer.name]
        G.run_regularly(
            eq.latch_code(ep.nudging, factor, layer.bias, receives_input, direct),
            when="start",
            order=ORDER_LATCH,
            name=f"{name}_{layer.name}_schedule",
        )
        if nudge == "mse" and ep.nudge_force != "recomputed":
            G.run_regularly(
                eq.output_error_code(ep.nudge_force),
                when="before_groups",
                order=ORDER_OUTPUT_ERROR,
                name=f"{name}_{layer.name}_nudge_error",
            )
        if layer.bias and accumulate:
            G.run_regularly(
                eq.optimizer_code(
                    optim.algorithm, optim.batch_size, "b", "gb", "mb", "vb", "lr_b", "n_real", "t_adam0"
                ),
                clock=window_clock,
                when="start",
                order=ORDER_OPTIM,
                name=f"{name}_{layer.name}_optim",
            )
        groups[layer.name] = G
        texts[layer.name] = text
        objects.append(G)

    # -- softmax readout -----------------------------------------------------------------------
    normaliser = None
    if softmax:
        text = eq.readout_equations(ep.readout_error)
        R = NeuronGroup(
            n_out, text, clock=step_clock, namespace=dict(shared_ns, target=target), order=ORDER_READOUT_GROUP, name=f"{name}_readout"
        )
        R.learn = 1.0
        R.run_regularly(
            eq.readout_latch_code(ep.nudge_force, ep.readout_error), when="groups", order=ORDER_READOUT_LATCH, name=f"{name}_readout_latch"
        )
        normaliser = Synapses(R, R, eq.normaliser_equations(ep.readout_error), clock=step_clock, name=f"{name}_normaliser")
        normaliser.connect()
        for var in normaliser.summed_updaters:
            normaliser.summed_updaters[var].order = ORDER_NORMALISER
        groups["readout"] = R
        texts["readout"] = text
        objects += [R, normaliser]

    # -- projections ------------------------------------------------------------------------------
    for p in arch.all_projections:
        pre, post = groups[p.pre], groups["readout" if p.kind == "readout" else p.post]
        n_pre, n_post = arch.layer(p.pre).size, arch.layer(p.post).size
        ns = dict(shared_ns)
        if p.kind == "readout":
            text = eq.readout_synapse_equations(accumulate, adam, ep.readout_error)
            S = Synapses(pre, post, text, clock=step_clock, namespace=ns, name=f"{name}_{p.name}")
            update = eq.readout_update(direct, ep.readout_error)
        elif p.pre == inp.name:
            text = "w : 1\nlr : 1 (shared)\n"
            if accumulate:
                text += "g : 1\n"
            if adam:
                text += "m : 1\nv : 1\n"
            S = Synapses(
                pre,
                post,
                text,
                on_pre=eq.input_on_pre(direct),
                on_event={"learn": "learn_ev", "deliver": "deliver_ev"},
                clock=window_clock,
                namespace=ns,
                name=f"{name}_{p.name}",
            )
            for pathway, order in ((S.learn, ORDER_INPUT_LEARN), (S.deliver, ORDER_INPUT_DELIVER)):
                pathway.when = "start"
                pathway.order = order
            update = None
        else:
            text = edit(p.name, eq.synapse_equations(p.name, p.gamma, accumulate, adam))
            S = Synapses(pre, post, text, clock=step_clock, namespace=ns, name=f"{name}_{p.name}")
            update = eq.synapse_update(arch.mode, direct)
        S.connect(i=np.repeat(np.arange(n_pre), n_post), j=np.tile(np.arange(n_post), n_pre))
        S.lr = p.lr
        # The readout learns in the groups slot, after its latch has computed this step's outputs
        # (the output at the last window's nudged state needs the rates latched at 'start').
        ro = p.kind == "readout"
        when = "groups" if ro else "start"
        if update is not None:
            order = ORDER_READOUT_UPDATE if ro else ORDER_UPDATE
            S.run_regularly(update, clock=window_clock, when=when, order=order, name=f"{name}_{p.name}_ep")
        if accumulate:
            S.run_regularly(
                eq.optimizer_code(optim.algorithm, optim.batch_size),
                clock=window_clock,
                when=when,
                order=ORDER_READOUT_OPTIM if ro else ORDER_OPTIM,
                name=f"{name}_{p.name}_optim",
            )
        synapses[p.name] = S
        texts[p.name] = text
        objects.append(S)

    watched, var = (groups["readout"], "o_free") if softmax else (groups[top], "r_free")
    monitor = StateMonitor(watched, var, record=True, clock=window_clock, when="start", order=ORDER_MONITOR, name=f"{name}_outputs")
    objects.append(monitor)
    net = Network(objects, name=f"{name}_network")
    return EPNetwork(arch, groups, synapses, normaliser, timed, monitor, texts, net, n_windows, NW, dt, objects)
