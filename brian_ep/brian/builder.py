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
from . import schedule as sc
from .clocks import clock_steps
from .rule import Rule, Wiring
from .spikes import add_noise_operation, input_spike_group, input_spike_synapses, noise_timed_arrays, threshold_noise

__all__ = ["EPNetwork", "build_network"]

# Scheduling: the order of operations within one time step (see docs/brian.md).
ORDER_DIVERGENCE = -1  # start: layers record a state that diverged in the last window (once a window)
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
ORDER_CLEAR_SPIKES = 0  # after_groups: spike currents, integrated by the state update, are cleared


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

        W = {p.name: np.asarray(self.synapses[p.name].w[:]).reshape(self.arch.weight_shape(p)) for p in self.arch.all_projections}
        b = {layer.name: np.asarray(self.groups[layer.name].b[:]) for layer in self.arch.free_layers if layer.bias}
        return Params(W, b)

    @property
    def spiking_groups(self) -> dict:
        """The groups that count their spikes in ``n_spk`` (spiking layers, a spike-encoded
        input), by layer name."""
        return {name: G for name, G in self.groups.items() if "n_spk" in G.variables}

    def spike_counts(self) -> dict:
        """Spikes counted since ``n_spk`` was last zeroed, per layer (padding windows, whose
        ``mask`` is 0, do not count)."""
        return {name: float(np.sum(G.n_spk[:])) for name, G in self.spiking_groups.items()}

    def outputs(self) -> np.ndarray:
        """The latched free-phase output of each window, shape ``(n_windows, n_output)``."""
        var = "o_free" if "readout" in self.groups else "r_free"
        values = np.asarray(getattr(self.monitor, var))  # (n_out, n_records)
        return values[:, 1 : self.n_windows + 1].T


@dataclass
class _Context:
    """What every builder step needs: the network, its rule, clocks, names and namespace."""

    arch: object
    ep: object
    rule: Rule
    name: str
    n_windows: int
    step_clock: object
    window_clock: object
    shared: dict
    timed: dict
    lrs: object
    edit: object
    texts: dict = field(default_factory=dict)


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
        ``run_args``). ``noise``: uniform numbers for the stochastic layers, ``{layer:
        array (n_windows * window_steps, n_layer)}``, thresholds then read ``TimedArray``
        objects ``noise_<layer>`` instead of ``rand()`` (the same-noise comparison with the
        numpy engine).
    name : str
        Prefix of the Brian2 object names.
    modify_equations : callable, optional
        ``f(name, text) -> text`` applied to the equations of every layer (``name`` is the
        layer name) and projection before the objects are created, e.g. to add a current:
        ``lambda n, t: t.replace("I = ", "I = I_ext + ") + "I_ext : 1\\n" if n == "h1" else t``.

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
    from brian2 import Network

    ctx = _context(arch, ep, optim, n_windows, data or {}, name, modify_equations)
    groups = {arch.input.name: _input_group(ctx)}
    for layer in arch.free_layers:
        groups[layer.name] = _free_layer(ctx, layer)
    normaliser = None
    if arch.readout is not None:
        groups["readout"], normaliser = _readout_group(ctx)
    synapses = {p.name: _projection(ctx, p, groups) for p in arch.all_projections}
    monitor = _output_monitor(ctx, groups)
    objects = list(groups.values()) + ([normaliser] if normaliser is not None else []) + list(synapses.values()) + [monitor]
    net = Network(objects, name=f"{name}_network")
    return EPNetwork(
        arch, groups, synapses, normaliser, ctx.timed, monitor, ctx.texts, net, n_windows, ep.window_steps,
        clock_steps(ep.dt, ep.window_steps)[0], objects,
    )


def _context(arch, ep, optim, n_windows, data, name, modify_equations) -> _Context:
    from brian2 import Clock, TimedArray

    dt, wdt = clock_steps(ep.dt, ep.window_steps)  # exact multiples: the clocks tick together (clocks.py)
    n_in, n_out = arch.input.size, arch.output.size

    def values(key, shape):
        v = data.get(key)
        return np.zeros(shape) if v is None else np.asarray(v, dtype=float).reshape(shape)

    timed = {
        "stim": TimedArray(values("x", (n_windows, n_in)), dt=wdt, name=f"{name}_stim"),
        "target": TimedArray(values("y", (n_windows, n_out)), dt=wdt, name=f"{name}_target"),
        "mask": TimedArray(values("mask", (n_windows,)), dt=wdt, name=f"{name}_mask"),
    }
    shared = {
        "NW": ep.window_steps, "NF": ep.free_steps, "NN": ep.nudged_steps, "WDT": wdt, "NWIN": n_windows, "mask": timed["mask"],
        "target": timed["target"], "B1": optim.adam_betas[0], "B2": optim.adam_betas[1], "ADAM_EPS": optim.adam_eps,
    }
    if ep.nudging == "random_sign":
        timed["signs"] = TimedArray(values("signs", (n_windows,)), dt=wdt, name=f"{name}_signs")
        shared["signs"] = timed["signs"]
    timed.update(noise_timed_arrays(arch, ep, n_windows, data.get("noise"), name, dt))
    return _Context(
        arch, ep, Rule.from_spec(ep, optim), name, n_windows,
        Clock(dt=dt, name=f"{name}_clock"), Clock(dt=wdt, name=f"{name}_window_clock"),
        shared, timed, learning_rates(arch), modify_equations or (lambda _name, text: text),
    )


def _input_group(ctx):
    """The clamped input: it lives on the window clock, loads the stimulus once a window and
    emits the ``learn`` and ``deliver`` events of its synapses (a spike-encoded input:
    :func:`~brian_ep.brian.spikes.input_spike_group`)."""
    from brian2 import NeuronGroup

    inp = ctx.arch.input
    if inp.encoding == "spikes":
        return input_spike_group(ctx, ORDER_INPUT, ORDER_INPUT_EVENT)
    text = eq.input_group_equations()
    G = NeuronGroup(
        inp.size, text, events=eq.input_events(), clock=ctx.window_clock,
        namespace=dict(ctx.shared, stim=ctx.timed["stim"]), name=f"{ctx.name}_{inp.name}",
    )
    G.run_regularly(
        eq.input_window_code(), clock=ctx.window_clock, when="start", order=ORDER_INPUT, name=f"{ctx.name}_{inp.name}_load"
    )
    for event in eq.input_events():
        G.thresholder[event].when = "start"
        G.thresholder[event].order = ORDER_INPUT_EVENT
    ctx.texts[inp.name] = text
    return G


def _wiring(arch, layer) -> Wiring:
    inp = arch.input
    nudge = None
    if layer.name == arch.top.name:
        nudge = "softmax" if arch.readout is not None else "mse"
    incoming = [p for p in arch.incoming(layer.name) if p.pre != inp.name]
    outgoing = arch.outgoing(layer.name)
    from_input = any(p.pre == inp.name for p in arch.incoming(layer.name))
    spikes_in = [arch.layer(p.pre).neuron.brian_spikes for p in incoming]
    spikes_back = [arch.layer(p.post).neuron.brian_spikes for p in outgoing]
    return Wiring(
        tuple(p.name for p, spiking in zip(incoming, spikes_in) if not spiking),
        tuple(p.name for p, spiking in zip(outgoing, spikes_back) if not spiking),
        from_input and inp.encoding == "current",
        nudge,
        any(spikes_in) or any(spikes_back) or (from_input and inp.encoding == "spikes"),
    )


def _free_layer(ctx, layer):
    """A free layer: its model's dynamics, the EP currents and the phase schedule."""
    from brian2 import NeuronGroup, second

    wiring, rule = _wiring(ctx.arch, layer), ctx.rule
    ns = dict(ctx.shared, tau=layer.tau * second, target=ctx.timed["target"])
    text = eq.layer_equations(layer, wiring, rule)
    options, noise_code = layer.neuron.brian_group_options(layer), None
    if layer.neuron.stochastic:
        noise, noise_lines, noise_code = threshold_noise(ctx, layer, ns)
        text += eq.NOISE_SEED_LINE + noise_lines
        options = layer.neuron.brian_group_options(layer, noise=noise)
    text = ctx.edit(layer.name, text)
    if layer.neuron.brian_spikes:  # the energy proxy: spikes of real (unmasked) samples
        options["reset"] = options.get("reset", "") + eq.SPIKE_COUNT
    G = NeuronGroup(layer.size, text, clock=ctx.step_clock, namespace=ns, name=f"{ctx.name}_{layer.name}", **options)
    G.beta = ctx.ep.beta
    G.learn = 1.0
    G.div_theta = ctx.ep.divergence_threshold
    if layer.bias:
        G.lr_b = ctx.lrs.b[layer.name]
    factor = sc.update_factor(rule, ctx.arch.energy_weights[layer.name])
    G.run_regularly(
        sc.divergence_code(layer.neuron.brian_state), clock=ctx.window_clock, when="start", order=ORDER_DIVERGENCE,
        name=f"{ctx.name}_{layer.name}_divergence",
    )
    G.run_regularly(
        sc.latch_code(layer, wiring, rule, factor), when="start", order=ORDER_LATCH, name=f"{ctx.name}_{layer.name}_schedule"
    )
    add_noise_operation(ctx, G, noise_code, 0)
    if wiring.events:
        G.run_regularly(
            "I_syn = 0\n", when="after_groups", order=ORDER_CLEAR_SPIKES, name=f"{ctx.name}_{layer.name}_clear_spikes"
        )
    if wiring.nudge == "mse" and rule.nudge_force != "recomputed":
        G.run_regularly(
            sc.output_error_code(rule.nudge_force, layer.neuron.brian_rate),
            when="before_groups", order=ORDER_OUTPUT_ERROR, name=f"{ctx.name}_{layer.name}_nudge_error",
        )
    if layer.bias and rule.accumulate:
        G.run_regularly(
            sc.optimizer_code(rule.algorithm, rule.batch_size, "b", "gb", "mb", "vb", "lr_b", "n_real", "t_adam0"),
            clock=ctx.window_clock, when="start", order=ORDER_OPTIM, name=f"{ctx.name}_{layer.name}_optim",
        )
    ctx.texts[layer.name] = text
    return G


def _readout_group(ctx):
    """The softmax readout neurons and the all-to-all synapses that sum its normaliser."""
    from brian2 import NeuronGroup, Synapses

    rule = ctx.rule
    text = eq.readout_equations(rule.readout_error)
    R = NeuronGroup(
        ctx.arch.output.size, text, clock=ctx.step_clock, namespace=dict(ctx.shared, target=ctx.timed["target"]),
        order=ORDER_READOUT_GROUP, name=f"{ctx.name}_readout",
    )
    R.learn = 1.0
    R.run_regularly(
        sc.readout_latch_code(rule.nudge_force, rule.readout_error),
        when="groups", order=ORDER_READOUT_LATCH, name=f"{ctx.name}_readout_latch",
    )
    normaliser = Synapses(R, R, eq.normaliser_equations(rule.readout_error), clock=ctx.step_clock, name=f"{ctx.name}_normaliser")
    normaliser.connect()
    for var in normaliser.summed_updaters:
        normaliser.summed_updaters[var].order = ORDER_NORMALISER
    ctx.texts["readout"] = text
    return R, normaliser


def _projection(ctx, p, groups):
    """The ``Synapses`` of one projection (all-to-all), with its EP update and optimiser."""
    readout = p.kind == "readout"
    pre, post = groups[p.pre], groups["readout" if readout else p.post]
    if readout:
        S, update = _readout_synapses(ctx, p, pre, post)
    elif p.pre == ctx.arch.input.name and ctx.arch.input.encoding == "spikes":
        S, update = input_spike_synapses(ctx, p, pre, post, ORDER_INPUT_LEARN), None
    elif p.pre == ctx.arch.input.name:
        S, update = _input_synapses(ctx, p, pre, post), None
    else:
        S, update = _recurrent_synapses(ctx, p, pre, post)
    n_pre, n_post = ctx.arch.weight_shape(p)
    S.connect(i=np.repeat(np.arange(n_pre), n_post), j=np.tile(np.arange(n_post), n_pre))
    S.lr = p.lr
    # The readout learns in the groups slot, after its latch has computed this step's outputs
    # (the output at the last window's nudged state needs the rates latched at 'start').
    when = "groups" if readout else "start"
    if update is not None:
        order = ORDER_READOUT_UPDATE if readout else ORDER_UPDATE
        S.run_regularly(update, clock=ctx.window_clock, when=when, order=order, name=f"{ctx.name}_{p.name}_ep")
    if ctx.rule.accumulate:
        S.run_regularly(
            sc.optimizer_code(ctx.rule.algorithm, ctx.rule.batch_size), clock=ctx.window_clock, when=when,
            order=ORDER_READOUT_OPTIM if readout else ORDER_OPTIM, name=f"{ctx.name}_{p.name}_optim",
        )
    return S


def _readout_synapses(ctx, p, pre, post):
    from brian2 import Synapses

    top = ctx.arch.layer(p.pre)
    text = eq.readout_synapse_equations(ctx.rule, top.neuron.brian_rate)
    S = Synapses(pre, post, text, clock=ctx.step_clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}")
    ctx.texts[p.name] = text
    return S, sc.readout_update(ctx.rule.direct, ctx.rule.readout_error)


def _input_synapses(ctx, p, pre, post):
    """Input synapses live on the window clock: ``learn`` applies the last window's update,
    ``deliver`` sends the new stimulus once (see :func:`~brian_ep.brian.equations.input_on_pre`)."""
    from brian2 import Synapses

    text = eq.input_synapse_equations(ctx.rule)
    S = Synapses(
        pre, post, text, on_pre=eq.input_on_pre(ctx.rule.direct), on_event={"learn": "learn_ev", "deliver": "deliver_ev"},
        clock=ctx.window_clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}",
    )
    for pathway, order in ((S.learn, ORDER_INPUT_LEARN), (S.deliver, ORDER_INPUT_DELIVER)):
        pathway.when = "start"
        pathway.order = order
    ctx.texts[p.name] = text
    return S


def _recurrent_synapses(ctx, p, pre, post):
    from brian2 import Synapses

    a, b = ctx.arch.layer(p.pre), ctx.arch.layer(p.post)
    signals = [None if layer.neuron.brian_spikes else layer.neuron.brian_signal for layer in (a, b)]
    weights = [layer.neuron.brian_spike_weight(layer) if layer.neuron.brian_spikes else None for layer in (a, b)]
    text = ctx.edit(p.name, eq.synapse_equations(p.name, p.gamma, ctx.rule, *signals))
    S = Synapses(
        pre, post, text, clock=ctx.step_clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}",
        **eq.spike_pathways(p.gamma, *weights),
    )
    ctx.texts[p.name] = text
    return S, sc.synapse_update(ctx.rule.mode, ctx.rule.direct)


def _output_monitor(ctx, groups):
    """Records the latched free-phase output of every window."""
    from brian2 import StateMonitor

    watched, var = (groups["readout"], "o_free") if ctx.arch.readout is not None else (groups[ctx.arch.top.name], "r_free")
    return StateMonitor(
        watched, var, record=True, clock=ctx.window_clock, when="start", order=ORDER_MONITOR, name=f"{ctx.name}_outputs"
    )
