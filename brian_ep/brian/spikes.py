"""The Brian2 pieces that only spiking networks need: noise supplied from outside as
``TimedArray`` objects (instead of ``rand()``) and the input encoded as spike trains.

A spiking layer's own equations, threshold, reset and refractory period come from its neuron
model (:mod:`brian_ep.brian.layer` asks it; :mod:`brian_ep.neurons.bernoulli` is the
example), which compares :func:`threshold_noise` with its spike probability; spikes between
layers travel by the ``on_pre`` / ``on_post`` pathways of the projections
(:func:`~brian_ep.brian.equations.spike_pathways`).
"""

from __future__ import annotations

import numpy as np

from ..maths.noise import noise_layers
from . import equations as eq
from .network import EPNeuronGroup, EPSynapses
from .schedule import step_in_window

__all__ = [
    "noise_timed_arrays", "noise_expression", "threshold_noise", "add_noise_operation", "input_spike_group",
    "input_spike_synapses", "sends_spikes",
]


def noise_timed_arrays(arch, ep, n_windows: int, noise: dict | None, name: str, dt=None) -> dict:
    """``TimedArray`` objects ``noise_<layer>`` holding supplied uniform numbers, one row per
    time step (``n_windows * window_steps`` rows, plus one for the run's last step), for
    every layer that draws noise; ``{}`` when ``noise`` is ``None`` (thresholds use
    ``rand()``). Missing rows (padding windows) hold 1: no spike. ``dt``: the step clock's
    (default ``ep.dt``)."""
    if noise is None:
        return {}
    from brian2 import TimedArray

    rows = n_windows * ep.window_steps + 1
    out = {}
    for layer in noise_layers(arch):
        if layer.name not in noise:
            raise ValueError(f"no noise array was supplied for layer '{layer.name}'")
        given = np.asarray(noise[layer.name], dtype=float)
        if given.ndim != 2 or given.shape[1] != layer.size:
            raise ValueError(f"the noise of layer '{layer.name}' must have shape (n_steps, {layer.size}), not {given.shape}")
        values = np.ones((rows, layer.size))
        values[: min(rows, given.shape[0])] = given[:rows]
        out[f"noise_{layer.name}"] = TimedArray(values, dt=ep.dt if dt is None else dt, name=f"{name}_noise_{layer.name}")
    return out


def noise_expression(ctx, layer, namespace: dict) -> str:
    """The uniform number of a neuron of ``layer`` in this step: the supplied
    ``noise_<layer>(t, i)`` (added to ``namespace``) or Brian2's ``rand()``."""
    key = f"noise_{layer.name}"
    if key in ctx.timed:
        namespace[key] = ctx.timed[key]
        return f"{key}(t, i)"
    return "rand()"


def threshold_noise(ctx, layer, namespace: dict) -> tuple:
    """What a stochastic threshold of ``layer`` compares with: ``(expression, equation lines,
    code)``. Without ``ep.common_noise`` the expression is the source itself
    (:func:`noise_expression`) and there is nothing to add. With it, a per-step operation
    (``code``, run before the thresholds) draws ``cn`` from the source in every step (0 in the
    -beta phase, whose numbers the store of :func:`add_noise_operation` adds back: the +beta
    phase's, step by step; ``xi`` would be Brian2's white noise)."""
    source = noise_expression(ctx, layer, namespace)
    if not ctx.rule.common_noise:
        return source, "", None
    return "cn", "cn : 1\n", f"cn = int({step_in_window()} < NF + NN) * {source}\n"


def add_noise_operation(ctx, group, code, order: int) -> None:
    """Schedule the common-noise ``code`` of :func:`threshold_noise` (if any) just before the
    thresholds of every step, and the store that replays the +beta phase's numbers in the
    -beta phase.

    Notes
    -----
    The store is a ``NeuronGroup`` ``<group>_cn_slots`` of ``NN`` slots (one per nudged step)
    and all-to-all ``Synapses`` ``<group>_cn_store`` from the slots to the group, with one
    variable ``cn_store`` per (step, neuron). Slot ``k`` emits the event ``keep`` in step
    ``NF + k`` (+beta phase) and ``give`` in step ``NF + NN + k`` (-beta phase), after the
    draw (all in ``before_thresholds``); on ``keep`` the synapses store the neuron's ``cn``,
    on ``give`` they add it back to ``cn`` (0 there: an in-place sum, which Brian2 knows to be
    independent of the order of the synapses). Each step touches the synapses of one slot
    only, so the cost per step does not grow with ``NN`` (the former ``NN`` variables per
    neuron, each tested in every step, cost ``O(NN)`` per step and could not be parsed past a
    few hundred nudged steps). Both objects go to ``ctx.extra``, which the builder adds to the
    network; their code is reachable as ``"<layer>.cn_keep"`` and ``"<layer>.cn_give"``."""
    if code is None:
        return
    group.run_regularly(code, when="before_thresholds", order=order, name=f"{group.name}_noise")
    j, layer = step_in_window(), group.name[len(ctx.name) + 1:]
    slots = EPNeuronGroup(
        ctx.ep.nudged_steps, "", events={"keep": f"{j} == NF + i", "give": f"{j} == NF + NN + i"},
        clock=group.clock, namespace=dict(ctx.shared), name=f"{group.name}_cn_slots",
    )
    pathways = {k: ctx.code_of(f"{layer}.cn_{k}", v) for k, v in (("keep", "cn_store = cn_post\n"), ("give", "cn_post += cn_store\n"))}
    store = EPSynapses(
        slots, group, "cn_store : 1", on_pre=pathways, on_event={"keep": "keep", "give": "give"},
        clock=group.clock, namespace=dict(ctx.shared), name=f"{group.name}_cn_store",
    )
    store.connect()
    for event in ("keep", "give"):
        slots.thresholder[event].when = "before_thresholds"
        slots.thresholder[event].order = order + 1
        getattr(store, event).when = "before_thresholds"
        getattr(store, event).order = order + 2
    ctx.extra.extend([slots, store])


def input_spike_group(ctx, order_load: int, order_event: int):
    """The input encoded as spikes: neuron ``i`` spikes in each step with probability
    ``x_i`` (its stimulus, loaded once a window); while training it also emits the
    ``learn_ev`` event at the first step of a window, on which its synapses apply the last
    window's update. It lives on the step clock (its spikes arrive every step), so it has no
    input relay."""
    inp, predict = ctx.arch.input, ctx.rule.predict
    namespace = dict(ctx.shared, stim=ctx.timed["stim"])
    noise, noise_lines, noise_code = threshold_noise(ctx, inp, namespace)
    text = eq.input_group_equations(predict) + ("" if predict else "n_spk : 1\n") + eq.NOISE_SEED_LINE + noise_lines
    text = ctx.equations(inp.name, text)
    events = {} if predict else {"learn_ev": ctx.code_of(f"{inp.name}.learn_ev", f"x_last > 0 and {step_in_window()} == 0")}
    G = EPNeuronGroup(
        inp.size, text, threshold=f"{noise} < x", reset="" if predict else eq.SPIKE_COUNT,
        events=dict(events), clock=ctx.step_clock, namespace=namespace, name=f"{ctx.name}_{inp.name}",
    )
    if noise_code is not None:
        noise_code = ctx.code_of(f"{inp.name}.noise", noise_code)
    add_noise_operation(ctx, G, noise_code, 0)
    G.run_regularly(
        ctx.code_of(f"{inp.name}.load", eq.input_window_code(predict)), clock=ctx.window_clock, when="start",
        order=order_load, name=f"{ctx.name}_{inp.name}_load",
    )
    for event in events:  # (Brian2 adds 'spike' to the dict it is given: it got a copy)
        G.thresholder[event].when = "start"
        G.thresholder[event].order = order_event
    return G


def input_spike_synapses(ctx, p, pre, post, order_learn: int, clip: str = ""):
    """Synapses from a spike-encoded input: each spike adds ``w`` to ``I_syn`` of the
    post-synaptic neuron; while training, the ``learn`` pathway applies the EP update once a
    window (followed by ``clip``, the projection's weight bounds, if any)."""
    text = ctx.equations(p.name, eq.input_synapse_equations(ctx.rule))
    pathways = eq.input_spike_pathways(ctx.rule)
    pathways = {k: ctx.code_of(f"{p.name}.{k}", v + (clip if k == "learn" else "")) for k, v in pathways.items()}
    events = {"pre": "spike", "learn": "learn_ev"} if "learn" in pathways else {"pre": "spike"}
    S = EPSynapses(
        pre, post, text, on_pre=pathways, on_event=events,
        clock=ctx.step_clock, namespace=dict(ctx.shared), name=f"{ctx.name}_{p.name}",
    )
    if "learn" in pathways:
        S.learn.when = "start"
        S.learn.order = order_learn
    return S


def sends_spikes(arch) -> bool:
    """Whether any layer of ``arch`` (or its input) sends spikes."""
    return arch.input.encoding == "spikes" or any(layer.neuron.brian_spikes for layer in arch.free_layers)
