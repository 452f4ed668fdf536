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

from ..errors import ArgumentError
from ..maths.optim import learning_rates
from . import equations as eq
from . import schedule as sc
from .clocks import clock_steps
from .network import EPNetwork, EPNeuronGroup, EPSynapses, ScheduledNetwork
from .quiet import silence_own_warnings
from .rule import Rule, Wiring
from .stream import relay_clear_code, stim_rows, stream_constants, stream_input_events, stream_load_code
from .layer import layer_schedule, layer_text_and_options
from .spikes import add_noise_operation, input_spike_group, input_spike_synapses, noise_timed_arrays, sends_spikes

__all__ = ["EPNetwork", "build_network"]

# Scheduling: the order of operations within one time step (see docs/brian.md).
ORDER_DIVERGENCE = -3  # start: layers record a state that diverged in the last window (once a window)
ORDER_SCHEDULE_EVENT = -2  # start: layers emit the phase events (free_end, nudge_end, window_start, the model's own)
ORDER_LATCH = -1  # start: layers latch phase results, restart/reset states (on those events)
ORDER_NEURON_EVENT = 0  # start: the neuron model's own events (e.g. restart a spike count), after the latch
ORDER_UPDATE = 1  # start: recurrent synapses apply the EP update (once a window)
ORDER_INPUT = 2  # start: the input layer loads the next stimulus, input relays reset (once a window)
ORDER_INPUT_EVENT = 3  # start: input neurons emit the window event
ORDER_INPUT_LEARN = 4  # start: input synapses apply (or accumulate) the last window's update
ORDER_OPTIM = 5  # start: optimiser step at the end of a mini-batch (accumulating modes)
ORDER_INPUT_DELIVER = 6  # start: input synapses deliver the new window's input current
ORDER_READOUT_CLEAR = 7  # start: event readout: clear the readout's input a and the top layer's feedback I_ro
ORDER_READOUT_EVENT = 8  # start: event readout: top-layer and readout neurons emit their events
ORDER_READOUT_SUM = 9  # start: event readout: the readout synapses sum a (pathway 'pre')
ORDER_MONITOR = 10  # start: record the latched free-phase outputs (prediction network: 'end')
ORDER_OUTPUT_ERROR = 0  # before_groups: the output layer's held or accumulated error (MSE)
ORDER_READOUT_GROUP = -10  # groups: readout summed input a (order - 1) before everything
ORDER_NORMALISER = -6  # groups: softmax normaliser Z
ORDER_READOUT_LATCH = -5  # groups: latch the free-phase (and nudged) readout output
ORDER_READOUT_UPDATE = -4  # groups: readout synapses apply the update (once a window)
ORDER_READOUT_OPTIM = -3  # groups: readout optimiser step at the end of a mini-batch
ORDER_READOUT_FEEDBACK = -2  # groups: event readout: the readout synapses send w err to I_ro (pathway 'post')
ORDER_CLEAR_SPIKES = 0  # after_groups: spike currents, integrated by the state update, are cleared


@dataclass
class _Context:
    """What every builder step needs: the network, its rule, clocks, names and namespace."""

    arch: object
    ep: object
    rule: Rule
    name: str
    n_windows: int
    window_steps: int
    step_clock: object
    window_clock: object
    shared: dict
    timed: dict
    lrs: object
    hook: object
    run_values: bool = True
    stream: object = None
    texts: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)
    extra: list = field(default_factory=list)  # objects made beside a group (the common-noise stores)

    def equations(self, key: str, text: str) -> str:
        """The equations of object ``key`` after the user's hook, recorded."""
        self.texts[key] = self.hook(key, text)
        return self.texts[key]

    def code_of(self, key: str, text: str) -> str:
        """The code of operation ``key`` (``"<object>.<operation>"``) after the hook, recorded."""
        self.code[key] = self.hook(key, text)
        return self.code[key]


def build_network(
    arch, ep, optim, n_windows: int, data: dict | None = None, name: str = "ep", modify_equations=None,
    predict: bool = False, delivery: str | None = None, stream=None, run_values: bool = True,
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
        numpy engine; training only).
    name : str
        Prefix of the Brian2 object names.
    modify_equations : callable, optional
        ``f(key, text) -> text``, applied before the objects are created to the equations of
        every group and synapse (``key``: a layer name, ``"input"``, ``"readout"``,
        ``"normaliser"``, ``"<layer>_relay"`` or a projection name) and to the code of every
        operation (``key``: ``"<object>.<operation>"``, e.g. ``"h1.schedule"``,
        ``"h1_output.update"``, ``"input_h1.learn"``; the keys are those of
        ``net.equations`` and ``net.code``). Return ``text`` unchanged for keys you do not edit.
    predict : bool
        Build the prediction network: windows of ``ep.free_steps`` steps, no nudge, no
        learning; its monitor records the free-phase output of every window.
    delivery : {None, "events", "dense"}
        How the input current is delivered (:class:`~brian_ep.brian.rule.Rule`); default
        ``dense`` under ``cuda_standalone``, ``events`` otherwise. ``dense`` cannot carry
        spikes (they travel by synaptic pathways): a network with spiking layers or a
        spike-encoded input is refused with :class:`~brian_ep.errors.ArgumentError`.
    stream : Stream, optional
        ``x`` (``(n_windows, bins * n_input)``) is a stream, presented bin by bin (:mod:`~brian_ep.brian.stream`).
    run_values : bool
        ``False``: ``lr``, ``lr_b``, ``beta``, ``div_theta``, ``learn`` stay zero, set by ``run_args`` (not in the code).

    Returns
    -------
    EPNetwork

    Notes
    -----
    Creates a ``NeuronGroup`` per layer (``<name>_<layer>``), one input relay per layer that
    receives the input as a current (``<name>_<layer>_relay``, on the window clock; a
    spike-encoded input is a group on the step clock whose spikes go straight to the layers), a ``Synapses`` per
    projection (``<name>_<projection>``), ``TimedArray`` objects ``stim``, ``target``,
    ``mask`` (and ``signs``), ``run_regularly`` operations for the phase schedule and the
    learning rule, and a ``StateMonitor`` of the free-phase outputs. Each window lasts
    ``ep.window_steps * ep.dt`` (``ep.free_steps * ep.dt`` when predicting).
    """
    rule = Rule.from_spec(ep, optim, predict, _delivery(arch, delivery, stream))
    ctx = _context(arch, ep, optim, n_windows, data or {}, name, modify_equations, rule, stream, run_values)
    groups = {arch.input.name: _input_group(ctx)}
    for layer in arch.free_layers:
        groups[layer.name] = _free_layer(ctx, layer)
    relays = {layer.name: _relay(ctx, layer, groups[layer.name]) for layer in arch.free_layers if _wiring(arch, layer, ctx.rule).receives_input}
    normaliser = None
    if arch.readout is not None:
        groups["readout"], normaliser = _readout_group(ctx)
    targets = {**groups, **{f"{k}_relay": v for k, v in relays.items()}}
    synapses = {p.name: _projection(ctx, p, targets) for p in arch.all_projections}
    monitor = _output_monitor(ctx, groups)
    objects = [*groups.values(), *relays.values(), *([normaliser] if normaliser is not None else []), *synapses.values(), *ctx.extra, monitor]
    dt, window = clock_steps(ep.dt, ctx.window_steps)  # the clocks' steps: exact multiples (clocks.py)
    net = ScheduledNetwork(objects, schedule_end=n_windows * window + dt, name=f"{name}_network")
    silence_own_warnings(objects)
    return EPNetwork(
        arch, groups, synapses, normaliser, ctx.timed, monitor, ctx.texts, net, n_windows, ctx.window_steps, dt, objects,
        code=ctx.code, clock=ctx.step_clock, window_clock=ctx.window_clock, predict=predict, relays=relays,
    )


def _delivery(arch, delivery: str | None, stream=None) -> str:
    """The delivery of the network (default: :func:`_default_delivery`); ``dense`` with
    spikes or a stream is refused."""
    delivery = delivery or _default_delivery()
    if delivery == "dense" and stream is not None:
        raise ArgumentError(
            "delivery='dense' (the default under cuda_standalone) sums the input once a window and cannot "
            "present an event stream bin by bin; use delivery='events' on a CPU device (runtime or cpp_standalone)"
        )
    if delivery == "dense" and sends_spikes(arch):
        raise ArgumentError(
            "delivery='dense' (the default under cuda_standalone) cannot carry spikes: spiking layers and a "
            "spike-encoded input send them through synaptic pathways; use delivery='events' on a CPU device "
            "(runtime or cpp_standalone), or rate neurons and model.input.encoding: current"
        )
    return delivery


def _default_delivery() -> str:
    from brian2 import get_device

    return "dense" if type(get_device()).__name__ == "CUDAStandaloneDevice" else "events"


def _context(arch, ep, optim, n_windows, data, name, modify_equations, rule, stream=None, run_values=True) -> _Context:
    from brian2 import Clock, TimedArray

    steps = ep.free_steps if rule.predict else ep.window_steps
    dt, wdt = clock_steps(ep.dt, steps)  # exact multiples: the clocks tick together (clocks.py)
    n_in, n_out = arch.input.size, arch.output.size

    def values(key, shape):
        v = data.get(key)
        return np.zeros(shape) if v is None else np.asarray(v, dtype=float).reshape(shape)

    n_x = n_in * (1 if stream is None else stream.bins)
    stim = stim_rows(values("x", (n_windows, n_x)), n_in, stream)
    timed = {
        "stim": TimedArray(stim, dt=wdt if stream is None else dt, name=f"{name}_stim"),
        "target": TimedArray(values("y", (n_windows, n_out)), dt=wdt, name=f"{name}_target"),
        "mask": TimedArray(values("mask", (n_windows,)), dt=wdt, name=f"{name}_mask"),
    }
    shared = {
        "NW": steps, "NF": ep.free_steps, "NN": ep.nudged_steps, "WDT": wdt, "NWIN": n_windows, "mask": timed["mask"],
        "target": timed["target"], "B1": optim.adam_betas[0], "B2": optim.adam_betas[1], "ADAM_EPS": optim.adam_eps,
    }
    if stream is not None:
        shared.update(stream_constants(stream, dt))
    if ep.nudging == "random_sign":
        timed["signs"] = TimedArray(values("signs", (n_windows,)), dt=wdt, name=f"{name}_signs")
        shared["signs"] = timed["signs"]
    if not rule.predict:
        timed.update(noise_timed_arrays(arch, ep, n_windows, data.get("noise"), name, dt))
    return _Context(
        arch, ep, rule, name, n_windows, steps,
        Clock(dt=dt, name=f"{name}_clock"), Clock(dt=wdt, name=f"{name}_window_clock"),
        shared, timed, learning_rates(arch), modify_equations or (lambda _key, text: text), run_values, stream,
    )


def _input_group(ctx):
    """The clamped input: it lives on the window clock, loads the stimulus once a window and
    (``events`` delivery) emits the ``learn`` and ``deliver`` events of its synapses (a
    spike-encoded input: :func:`~brian_ep.brian.spikes.input_spike_group`)."""
    inp, predict = ctx.arch.input, ctx.rule.predict
    if inp.encoding == "spikes":
        return input_spike_group(ctx, ORDER_INPUT, ORDER_INPUT_EVENT)
    text = ctx.equations(inp.name, eq.input_group_equations(predict))
    streaming = ctx.stream is not None
    events = stream_input_events(ctx.rule) if streaming else eq.input_events(ctx.rule)
    events = {k: ctx.code_of(f"{inp.name}.{k}", v) for k, v in events.items()}
    clock = _input_clock(ctx)
    G = EPNeuronGroup(
        inp.size, text, events=events, clock=clock,
        namespace=dict(ctx.shared, stim=ctx.timed["stim"]), name=f"{ctx.name}_{inp.name}",
    )
    load = stream_load_code(predict) if streaming else eq.input_window_code(predict)
    G.run_regularly(
        ctx.code_of(f"{inp.name}.load", load), clock=clock, when="start", order=ORDER_INPUT, name=f"{ctx.name}_{inp.name}_load",
    )
    for event in events:
        G.thresholder[event].when = "start"
        G.thresholder[event].order = ORDER_INPUT_EVENT
    return G


def _input_clock(ctx):
    """The clock of the input current's objects (the input, its synapses, the relays): the
    window clock, or the step clock for a stream (a new bin every ``bin_steps`` steps)."""
    return ctx.window_clock if ctx.stream is None else ctx.step_clock


def _wiring(arch, layer, rule) -> Wiring:
    inp = arch.input
    nudge = None
    if layer.name == arch.top.name and not rule.predict:
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
    from brian2 import second

    wiring, rule = _wiring(ctx.arch, layer, ctx.rule), ctx.rule
    ns = dict(ctx.shared, tau=layer.tau * second, target=ctx.timed["target"])
    text, options, noise_code = layer_text_and_options(ctx, layer, wiring, ns)
    schedule = layer_schedule(ctx, layer, wiring, ORDER_LATCH, ORDER_NEURON_EVENT)
    events = {f"{k}_ev": ctx.code_of(f"{layer.name}.{k}_ev", condition) for k, (condition, _, _) in schedule.items()}
    event_top = wiring.nudge == "softmax" and rule.event_readout
    readout_events = {k: ctx.code_of(f"{layer.name}.{k}", v) for k, v in eq.readout_events(layer.neuron.brian_rate)[0].items()} if event_top else {}
    G = EPNeuronGroup(
        layer.size, text, clock=ctx.step_clock, namespace=ns, name=f"{ctx.name}_{layer.name}",
        events={**events, **readout_events}, **options,
    )
    for k, (_, code, order) in schedule.items():
        G.run_on_event(f"{k}_ev", ctx.code_of(f"{layer.name}.{k}", code), when="start", order=order)
        G.thresholder[f"{k}_ev"].when = "start"
        G.thresholder[f"{k}_ev"].order = ORDER_SCHEDULE_EVENT
    add_noise_operation(ctx, G, noise_code, 0)
    step_code = layer.neuron.brian_step_code(layer)
    if step_code:  # the model's own per-step code, after the noise is drawn, before the threshold
        G.run_regularly(ctx.code_of(f"{layer.name}.step", step_code), when="before_thresholds", order=1, name=f"{ctx.name}_{layer.name}_step")
    if wiring.events:
        G.run_regularly(
            ctx.code_of(f"{layer.name}.clear_spikes", "I_syn = 0\n"), when="after_groups", order=ORDER_CLEAR_SPIKES,
            name=f"{ctx.name}_{layer.name}_clear_spikes",
        )
    if event_top:
        _clear_and_emit(ctx, G, layer.name, "I_ro", readout_events)
    if not rule.predict:
        if ctx.run_values:
            G.beta = ctx.ep.beta
            G.learn = 1.0
            G.div_theta = ctx.ep.divergence_threshold
        G.run_regularly(
            ctx.code_of(f"{layer.name}.divergence", sc.divergence_code(layer.neuron.brian_state)), clock=ctx.window_clock,
            when="start", order=ORDER_DIVERGENCE, name=f"{ctx.name}_{layer.name}_divergence",
        )
        if layer.bias and ctx.run_values:
            G.lr_b = ctx.lrs.b[layer.name]
        _layer_extras(ctx, layer, wiring, G)
    return G


def _clear_and_emit(ctx, G, key, var, events) -> None:
    """Event readout: clear ``var`` every step before the pathways add to it, and emit the
    ``events`` at the start of the step (after the phase schedule)."""
    G.run_regularly(ctx.code_of(f"{key}.clear", f"{var} = 0\n"), when="start", order=ORDER_READOUT_CLEAR, name=f"{ctx.name}_{key}_clear")
    for event in events:
        G.thresholder[event].when = "start"
        G.thresholder[event].order = ORDER_READOUT_EVENT


def _layer_extras(ctx, layer, wiring, G) -> None:
    """The held or accumulated output error and the bias optimiser, where the rule has them."""
    rule = ctx.rule
    if wiring.nudge == "mse" and rule.nudge_force != "recomputed":
        G.run_regularly(
            ctx.code_of(f"{layer.name}.nudge_error", sc.output_error_code(rule.nudge_force, layer.neuron.brian_rate)),
            when="before_groups", order=ORDER_OUTPUT_ERROR, name=f"{ctx.name}_{layer.name}_nudge_error",
        )
    if layer.bias and rule.accumulate:
        code = sc.optimizer_code(rule.algorithm, rule.batch_size, "b", "gb", "mb", "vb", "lr_b", "n_real", "t_adam0")
        G.run_regularly(
            ctx.code_of(f"{layer.name}.optim", code), clock=ctx.window_clock, when="start", order=ORDER_OPTIM,
            name=f"{ctx.name}_{layer.name}_optim",
        )


def _relay(ctx, layer, G):
    """The input relay of ``layer`` (see :func:`~brian_ep.brian.equations.relay_equations`):
    on the window clock, linked both ways with the layer; with ``events`` delivery it is
    cleared at the start of every window before the new input arrives."""
    from brian2 import linked_var

    key = f"{layer.name}_relay"
    clock = _input_clock(ctx)
    relay = EPNeuronGroup(
        layer.size, ctx.equations(key, eq.relay_equations(ctx.rule.predict)), clock=clock, namespace=dict(ctx.shared),
        name=f"{ctx.name}_{key}",
    )
    if not ctx.rule.predict:
        for var in ("f", "ra", "rb"):
            setattr(relay, var, linked_var(G, var))
    G.I_in = linked_var(relay, "I_in")
    if ctx.rule.delivery == "events":
        clear = "I_in = 0\n" if ctx.stream is None else relay_clear_code()
        relay.run_regularly(
            ctx.code_of(f"{key}.clear", clear), clock=clock, when="start", order=ORDER_INPUT, name=f"{ctx.name}_{key}_clear",
        )
    return relay


def _readout_group(ctx):
    """The softmax readout neurons and the all-to-all synapses that sum its normaliser (on
    the window clock in a prediction network, which reads the output once a window)."""
    rule = ctx.rule
    clock = ctx.window_clock if rule.predict else ctx.step_clock
    text = ctx.equations("readout", eq.predict_readout_equations() if rule.predict else eq.readout_equations(rule.readout_error))
    events = {k: ctx.code_of(f"readout.{k}", v) for k, v in eq.readout_events()[1].items()} if rule.event_readout else {}
    R = EPNeuronGroup(
        ctx.arch.output.size, text, clock=clock, namespace=dict(ctx.shared, target=ctx.timed["target"]),
        order=ORDER_READOUT_GROUP, name=f"{ctx.name}_readout", **({"events": events} if events else {}),
    )
    if events:
        _clear_and_emit(ctx, R, "readout", "a", events)
    code = "o_free = exp(a) / Z\n" if rule.predict else sc.readout_latch_code(rule.nudge_force, rule.readout_error)
    R.run_regularly(ctx.code_of("readout.latch", code), clock=clock, when="groups", order=ORDER_READOUT_LATCH, name=f"{ctx.name}_readout_latch")
    if not rule.predict and ctx.run_values:
        R.learn = 1.0
    text = ctx.equations("normaliser", eq.normaliser_equations("free" if rule.predict else rule.readout_error))
    normaliser = EPSynapses(R, R, text, clock=clock, name=f"{ctx.name}_normaliser")
    normaliser.connect()
    for var in normaliser.summed_updaters:
        normaliser.summed_updaters[var].order = ORDER_NORMALISER
    return R, normaliser


def _projection(ctx, p, groups):
    """The ``Synapses`` of one projection (all-to-all), with its EP update and optimiser."""
    readout = p.kind == "readout"
    if readout:
        S, update = _readout_synapses(ctx, p, groups[p.pre], groups["readout"])
    elif p.pre == ctx.arch.input.name and ctx.arch.input.encoding == "spikes":
        clip = sc.clip_code(p.bounds) if ctx.rule.direct else ""
        S, update = input_spike_synapses(ctx, p, groups[p.pre], groups[p.post], ORDER_INPUT_LEARN, clip), None
    elif p.pre == ctx.arch.input.name:
        S, update = _input_synapses(ctx, p, groups[p.pre], groups[f"{p.post}_relay"])
    else:
        S, update = _recurrent_synapses(ctx, p, groups[p.pre], groups[p.post])
    n_pre, n_post = ctx.arch.weight_shape(p)
    S.connect(i=np.repeat(np.arange(n_pre), n_post), j=np.tile(np.arange(n_post), n_pre))
    if ctx.rule.predict:
        return S
    if ctx.run_values:
        S.lr = p.lr
    # The readout learns in the groups slot, after its latch has computed this step's outputs
    # (the output at the last window's nudged state needs the rates latched at 'start'); the
    # input synapses' update runs before the new input is delivered.
    when = "groups" if readout else "start"
    clip = sc.clip_code(p.bounds)
    if update is not None:
        update += clip if ctx.rule.direct else ""
        order = ORDER_READOUT_UPDATE if readout else ORDER_INPUT_LEARN if p.pre == ctx.arch.input.name else ORDER_UPDATE
        S.run_regularly(ctx.code_of(f"{p.name}.update", update), clock=ctx.window_clock, when=when, order=order, name=f"{ctx.name}_{p.name}_ep")
    if ctx.rule.accumulate:
        S.run_regularly(
            ctx.code_of(f"{p.name}.optim", sc.optimizer_code(ctx.rule.algorithm, ctx.rule.batch_size) + clip), clock=ctx.window_clock,
            when=when, order=ORDER_READOUT_OPTIM if readout else ORDER_OPTIM, name=f"{ctx.name}_{p.name}_optim",
        )
    return S


def _readout_synapses(ctx, p, pre, post):
    top = ctx.arch.layer(p.pre)
    text = ctx.equations(p.name, eq.readout_synapse_equations(ctx.rule, top.neuron.brian_rate))
    clock = ctx.window_clock if ctx.rule.predict else ctx.step_clock
    if not ctx.rule.event_readout:
        S = EPSynapses(pre, post, text, clock=clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}")
        return S, None if ctx.rule.predict else sc.readout_update(ctx.rule.direct, ctx.rule.readout_error)
    code = {k: ctx.code_of(f"{p.name}.{k}", v) for k, v in eq.readout_events(top.neuron.brian_rate)[2].items()}
    S = EPSynapses(
        pre, post, text, on_pre=code["pre"], on_post=code["post"], on_event={"pre": "readout_ev", "post": "feedback_ev"},
        clock=clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}",
    )
    S.pre.when, S.pre.order = "start", ORDER_READOUT_SUM
    S.post.when, S.post.order = "groups", ORDER_READOUT_FEEDBACK
    return S, None if ctx.rule.predict else sc.readout_update(ctx.rule.direct, ctx.rule.readout_error)


def _input_synapses(ctx, p, pre, relay):
    """Input synapses live on the window clock, as do the input and the relay they target:
    ``events`` delivery: ``learn`` applies the last window's update, ``deliver`` sends the new
    stimulus once (:func:`~brian_ep.brian.equations.input_on_pre`); ``dense``: the update is a
    per-window operation and the current a summed variable."""
    rule = ctx.rule
    text = ctx.equations(p.name, eq.input_synapse_equations(rule))
    clip = sc.clip_code(p.bounds) if rule.direct else ""
    pathways = {k: ctx.code_of(f"{p.name}.{k}", v + (clip if k == "learn" else "")) for k, v in eq.input_on_pre(rule).items()}
    events = {k: f"{k}_ev" for k in pathways}
    S = EPSynapses(
        pre, relay, text, on_pre=pathways or None, on_event=events or "spike",
        clock=_input_clock(ctx), namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}",
    )
    for key in pathways:
        pathway = getattr(S, key)
        pathway.when = "start"
        pathway.order = ORDER_INPUT_LEARN if key == "learn" else ORDER_INPUT_DELIVER
    dense_update = rule.delivery == "dense" and not rule.predict
    return S, eq.input_learning_code(rule.direct) if dense_update else None


def _recurrent_synapses(ctx, p, pre, post):
    """Rates are summed every step; a spiking side sends its spikes through the ``on_pre`` /
    ``on_post`` pathways (:func:`~brian_ep.brian.equations.spike_pathways`)."""
    a, b = ctx.arch.layer(p.pre), ctx.arch.layer(p.post)
    signals = [None if layer.neuron.brian_spikes else layer.neuron.brian_signal for layer in (a, b)]
    weights = [layer.neuron.brian_spike_weight(layer) if layer.neuron.brian_spikes else None for layer in (a, b)]
    text = ctx.equations(p.name, eq.synapse_equations(p.name, p.gamma, ctx.rule, *signals))
    pathways = eq.spike_pathways(p.gamma, *weights)
    pathways = {k: ctx.code_of(f"{p.name}.{k}", v) for k, v in pathways.items()}
    S = EPSynapses(pre, post, text, clock=ctx.step_clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}", **pathways)
    return S, None if ctx.rule.predict else sc.synapse_update(ctx.rule.mode, ctx.rule.direct)


def _output_monitor(ctx, groups):
    """Records the latched free-phase output of every window (at its start while training; at
    the end of the step in a prediction network, after the readout has been computed)."""
    from brian2 import StateMonitor

    watched, var = (groups["readout"], "o_free") if ctx.arch.readout is not None else (groups[ctx.arch.top.name], "r_free")
    when, order = ("end", 0) if ctx.rule.predict else ("start", ORDER_MONITOR)
    return StateMonitor(watched, var, record=True, clock=ctx.window_clock, when=when, order=order, name=f"{ctx.name}_outputs")
