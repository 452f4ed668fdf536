"""A free layer's ``NeuronGroup`` as its neuron model declares it: the one place where the
builder asks the model (:class:`~brian_ep.neurons.NeuronModel`) for its Brian2 side.

* :func:`layer_text_and_options`: the model's equations (``brian_equations``, with the EP
  currents, nudge and what the schedule latches, ``brian_phase_variables``) and its group
  options (``brian_group_options``: ``method``, ``threshold``, ``reset``, ``refractory``),
  its threshold fed the run's noise source (:func:`~brian_ep.brian.spikes.threshold_noise`)
  when the model is ``stochastic``;
* :func:`layer_schedule`: the phase schedule's events with the model's code on them
  (``brian_phase_code``, ``brian_phase_rate``) and the model's own events
  (``brian_schedule_events``).

Every piece goes through the user's ``modify_equations`` hook under its key (``h1``,
``h1.threshold``, ``h1.reset``, ``h1.refractory``, ``h1.free_end``...). Nothing here names a
model: a new one is a :class:`~brian_ep.neurons.NeuronModel` subclass and a
:func:`~brian_ep.neurons.register_neuron_model` call (``docs/design.md``).
"""

from __future__ import annotations

from . import equations as eq
from . import schedule as sc
from .spikes import threshold_noise

__all__ = ["layer_text_and_options", "layer_schedule"]


def layer_text_and_options(ctx, layer, wiring, ns) -> tuple:
    """A layer's equations and its ``threshold``, ``reset`` and ``refractory`` code (after the
    user's hook, under the keys ``<layer>``, ``<layer>.threshold``, ``<layer>.reset`` and
    ``<layer>.refractory``, all recorded in
    ``net.equations`` / ``net.code``) and ``NeuronGroup`` options, with the
    stochastic threshold's noise source (``rand()``, supplied noise or common noise, whose
    per-step code is returned third) and, while training, the spike count of a spiking layer."""
    text, noise, noise_code = eq.layer_equations(layer, wiring, ctx.rule), "rand()", None
    if layer.neuron.stochastic:
        noise, noise_lines, noise_code = threshold_noise(ctx, layer, ns)
        text += eq.NOISE_SEED_LINE + noise_lines
    options = dict(layer.neuron.brian_group_options(layer, noise=noise))
    if layer.neuron.brian_spikes and not ctx.rule.predict:  # the energy proxy: spikes of real (unmasked) samples
        options["reset"] = options.get("reset", "") + eq.SPIKE_COUNT
    for key in ("threshold", "reset", "refractory"):  # reachable like every other code: "<layer>.threshold"...
        if key in options:
            options[key] = ctx.code_of(f"{layer.name}.{key}", options[key])
    if noise_code is not None:
        noise_code = ctx.code_of(f"{layer.name}.noise", noise_code)
    return ctx.equations(layer.name, text), options, noise_code


def layer_schedule(ctx, layer, wiring, order_latch: int, order_own: int) -> dict:
    """The layer's schedule events, ``{name: (condition, code, order)}``: the phase schedule
    (:func:`~brian_ep.brian.schedule.latch_events`, or the prediction network's, with the
    model's ``brian_phase_code``) at ``order_latch``, then the neuron model's own events
    (``brian_schedule_events``) at ``order_own``; a name of the model's that the schedule
    uses is refused."""
    rule = ctx.rule
    if rule.predict:
        phases = sc.predict_latch_events(layer, wiring)
    else:
        phases = sc.latch_events(layer, wiring, rule, sc.update_factor(rule, ctx.arch.energy_weights[layer.name]))
    own = sc.neuron_events(layer, 0 if rule.predict else 2 if rule.centered else 1)
    clash = set(own) & set(phases)
    if clash:
        raise ValueError(f"the neuron model of layer '{layer.name}' names schedule events {sorted(clash)} that the EP schedule uses")
    out = {k: (cond, code, order_latch) for k, (cond, code) in phases.items()}
    out.update({k: (cond, code, order_own) for k, (cond, code) in own.items()})
    return out
