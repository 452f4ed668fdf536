"""Brian2 equations of EP networks, as pure functions of the spec pieces (text in, text out;
tested as text). The code that runs once a step or once a window is in
:mod:`brian_ep.brian.schedule`; :mod:`brian_ep.brian.builder` assembles the objects.

Conventions
-----------
* Rates and currents are dimensionless (a rate is a fraction of the maximal rate); time
  has units through ``tau`` and ``dt``.
* A projection ``p`` from layer ``a`` to ``b`` has one weight ``w`` per synapse. It adds
  ``w r_pre`` to ``I_p`` of ``b`` (feedforward) and ``gamma_p w r_post`` to ``I_fb_p`` of
  ``a`` (feedback): one weight, both directions, so the network has an energy.
* A layer's own dynamics come from its neuron model (:mod:`brian_ep.neurons`); everything
  else here is the EP machinery around it: the currents, the bias, the nudge and the
  variables in which the phase schedule latches its results.
"""

from __future__ import annotations

from .schedule import beta_expression, wiring_state

__all__ = [
    "NOISE_SEED_LINE",
    "SPIKE_COUNT",
    "layer_equations",
    "current_lines",
    "learned_lines",
    "bias_lines",
    "nudge_lines",
    "latch_variable_lines",
    "synapse_equations",
    "spike_pathways",
    "input_spike_pathways",
    "input_synapse_equations",
    "input_group_equations",
    "input_events",
    "input_window_code",
    "input_learning_code",
    "input_on_pre",
    "relay_equations",
    "readout_equations",
    "predict_readout_equations",
    "readout_synapse_equations",
    "normaliser_equations",
    "readout_events",
]


#: A stochastic group's seed of ``rand()`` for the next run: ``cpp_standalone`` re-seeds its
#: generators from it after the run arguments are read, so every run (chunk) of one compiled
#: program draws new numbers, reproducibly (see :mod:`brian_ep.engines.brian`).
NOISE_SEED_LINE = "noise_seed : integer (shared)\n"


#: Reset statement of a spiking group: count the spike for the energy proxy, in real windows
#: only (``mask`` is 0 in padding windows; ``NWIN``, the number of windows, excludes the run's
#: extra last step, where the clamped ``TimedArray`` values repeat the last window's).
SPIKE_COUNT = "n_spk += mask(t) * int(timestep(t, WDT) < NWIN)\n"


def layer_equations(layer, wiring, rule) -> str:
    """Equations of a free layer's ``NeuronGroup``.

    Parameters
    ----------
    layer : Layer
        The layer (its neuron model gives the dynamics; ``bias`` whether it learns a bias).
    wiring : Wiring
        Its currents and nudge (:class:`~brian_ep.brian.rule.Wiring`).
    rule : Rule
        The learning settings (:class:`~brian_ep.brian.rule.Rule`).

    Returns
    -------
    str
        Equations for ``NeuronGroup(..., **layer.neuron.brian_group_options(layer))``; ``tau``
        is a constant of the namespace, ``NW, NF, NN`` the window constants.
    """
    lines = layer.neuron.brian_equations(layer).splitlines()
    lines += current_lines(wiring, layer.bias)
    if rule.predict:  # free phase only: a fixed bias, no nudge, the latched rate
        return "\n".join(lines + (["b : 1"] if layer.bias else []) + ["r_free : 1"]) + "\n"
    lines += bias_lines(layer.bias, rule)
    lines += nudge_lines(wiring.nudge, rule, layer.neuron.brian_rate)
    lines += layer.neuron.brian_phase_variables(layer) + latch_variable_lines(wiring_state(wiring))
    if layer.neuron.brian_spikes:
        lines.append("n_spk : 1")
    return "\n".join(lines) + "\n"


def current_lines(wiring, bias: bool) -> list:
    """The total current ``I`` and the variables its terms are summed into."""
    terms = [f"I_{p}" for p in wiring.incoming] + [f"I_fb_{p}" for p in wiring.outgoing]
    if wiring.receives_input:
        terms.append("I_in")
    if bias:
        terms.append("b")
    if wiring.nudge is not None:
        terms.append("I_nudge")
    if wiring.events:
        terms.append("I_syn")
    lines = [f"I = {' + '.join(terms) if terms else '0'} : 1"]
    lines += [f"I_{p} : 1" for p in wiring.incoming] + [f"I_fb_{p} : 1" for p in wiring.outgoing]
    if wiring.receives_input:
        lines.append("I_in : 1 (linked)")
    if wiring.events:
        lines.append("I_syn : 1")
    return lines


def learned_lines(rule, var="w", lr="lr", grad="g", m="m", v="v") -> list:
    """A learned parameter ``var`` with its (shared) learning rate ``lr`` and, when updates
    accumulate, its accumulated update ``grad`` (and Adam moments ``m``, ``v``): the names
    :func:`~brian_ep.brian.schedule.optimizer_code` reads."""
    lines = [f"{var} : 1", f"{lr} : 1 (shared)"]
    if rule.accumulate:
        lines.append(f"{grad} : 1")
    if rule.adam:
        lines += [f"{m} : 1", f"{v} : 1"]
    return lines


def bias_lines(bias: bool, rule) -> list:
    """A learned bias ``b`` (see :func:`learned_lines`), if the layer has one."""
    return learned_lines(rule, "b", "lr_b", "gb", "mb", "vb") if bias else []


def nudge_lines(nudge, rule, rate: str = "r") -> list:
    """The nudging current of the top layer (none for other layers).

    ``"mse"``: ``beta_t (y - r)`` (``rate``: the layer's rate variable) with the error read
    each step (``recomputed``) or held in ``e_nudge`` (set each step by
    :func:`~brian_ep.brian.schedule.output_error_code`); ``"softmax"``: ``beta_t I_ro``, the
    error the readout synapses send back."""
    if nudge is None:
        return []
    if nudge == "mse" and rule.nudge_force == "recomputed":
        lines = [f"I_nudge = beta_t * (y - {rate}) : 1", "y = target(t, i) : 1"]
    elif nudge == "mse":
        lines = ["I_nudge = beta_t * e_nudge : 1", "e_nudge : 1", "y = target(t, i) : 1"]
    else:
        lines = ["I_nudge = beta_t * I_ro : 1", "I_ro : 1"]
    return lines + [f"beta_t = {beta_expression(rule.sign, rule.centered)} : 1"]


def latch_variable_lines(state: tuple) -> list:
    """Where the phase schedule keeps its results: the free-phase values ``<v>_free`` of the
    wiring's ``state`` (:func:`~brian_ep.brian.schedule.wiring_state`; the neuron model
    declares its own, ``brian_phase_variables``), the free
    and nudged rates, the update factor ``f``, where the state first diverged
    (``diverged_at``, see :func:`~brian_ep.brian.schedule.divergence_code`) and the per-run
    constants."""
    lines = [f"{v}_free : 1" for v in state]
    return lines + [
        "diverged_at : 1",
        "div_theta : 1 (shared)",
        "r_free : 1",
        "ra : 1",
        "rb : 1",
        "f : 1",
        "beta : 1 (shared)",
        "learn : 1 (shared)",
        "n_real : 1 (shared)",
        "t_adam0 : 1 (shared)",
    ]


def synapse_equations(name: str, gamma: float, rule, pre_signal: str | None = "r", post_signal: str | None = "r") -> str:
    """Equations of a recurrent projection ``name``: one weight ``w`` driving the
    feedforward current of the post-synaptic layer and, scaled by ``gamma``, the feedback
    current of the pre-synaptic layer (``pre_signal``, ``post_signal``: the variables the
    two layers send, their neuron models' ``brian_signal``). A side that sends spikes
    (``None``) has no summed current: its spikes travel by :func:`spike_pathways`. A
    prediction network's synapses hold the weight only."""
    head, tail = (learned_lines(rule)[:2], learned_lines(rule)[2:]) if not rule.predict else (["w : 1"], [])
    lines = list(head)
    if pre_signal is not None:
        lines.append(f"I_{name}_post = w * {pre_signal}_pre : 1 (summed)")
    if post_signal is not None:
        lines.append(f"I_fb_{name}_pre = {gamma!r} * w * {post_signal}_post : 1 (summed)")
    return "\n".join(lines + tail) + "\n"


def spike_pathways(gamma: float, pre_weight: float | None, post_weight: float | None) -> dict:
    """The spike transmission of a projection whose pre- (``pre_weight``) or post-synaptic
    (``post_weight``) layer spikes, each spike carrying that multiple of ``w``: a
    pre-synaptic spike adds ``w`` to the post-synaptic ``I_syn`` (``on_pre``), a post-synaptic
    spike adds ``gamma w`` to the pre-synaptic ``I_syn`` (``on_post``): the same weight in
    both directions. ``None`` for a side that sends rates. Returns ``Synapses`` keywords."""
    out = {}
    if pre_weight is not None:
        out["on_pre"] = f"I_syn_post += {_times('w', pre_weight)}\n"
    if post_weight is not None:
        out["on_post"] = f"I_syn_pre += {_times(f'{gamma!r} * w', post_weight)}\n"
    return out


def _times(expr: str, factor: float) -> str:
    return expr if factor == 1.0 else f"{expr} * {factor!r}"


def input_synapse_equations(rule) -> str:
    """Equations of a projection from the clamped input: a weight and its optimiser state.
    With ``rule.delivery == "events"`` the current is delivered by the ``deliver``
    pathway (:func:`input_on_pre`); with ``"dense"`` it is a sum over all synapses, once a
    window (the post-synaptic group is the layer's input relay, on the window clock)."""
    lines = learned_lines(rule) if not rule.predict else ["w : 1"]
    if rule.delivery == "dense":
        lines.append("I_in_post = w * x_pre : 1 (summed)")
    return "\n".join(lines) + "\n"


def input_group_equations(predict: bool = False) -> str:
    """The clamped input layer: ``x`` (this window's stimulus) and ``x_last`` (the last one,
    which the EP update of its synapses reads; not in a prediction network)."""
    return "x : 1\n" if predict else "x : 1\nx_last : 1\n"


def input_events(rule) -> dict:
    """Custom events of the input neurons, which live on the window clock (one step per
    window), with ``rule.delivery == "events"``: ``learn_ev`` for neurons that carried the
    last stimulus (their synapses apply the EP update) and ``deliver_ev`` for those that carry
    the new one (their synapses send ``w x`` once: the input is constant within a window, so it
    is not re-summed every step, and pixels that are 0 cost nothing)."""
    if rule.delivery != "events":
        return {}
    return {"deliver_ev": "x > 0"} if rule.predict else {"learn_ev": "x_last > 0", "deliver_ev": "x > 0"}


def input_window_code(predict: bool = False) -> str:
    return "x = stim(t, i)\n" if predict else "x_last = x\nx = stim(t, i)\n"


def input_spike_pathways(rule) -> dict:
    """The pathways of an input synapse when the input is encoded as spikes: each input spike
    adds ``w`` to the post-synaptic ``I_syn`` (``pre``, every step) and, in a training network,
    ``learn`` applies the update of the last window (:func:`input_learning_code`); there is no
    ``deliver`` event and no input relay."""
    pathways = {"pre": "I_syn_post += w\n"}
    if not rule.predict:
        pathways["learn"] = input_learning_code(rule.direct)
    return pathways


def input_learning_code(direct: bool) -> str:
    """The EP update of an input synapse from the last window (pre rate ``x_last``)."""
    term = "f_post * x_last_pre * (ra_post - rb_post)"
    return (f"w += lr * {term}" if direct else f"g += {term}") + "\n"


def input_on_pre(rule) -> dict:
    """The pathways of an input synapse on the window events (``rule.delivery ==
    "events"``): ``learn`` updates the weight (or accumulates the update) from the last window
    (:func:`input_learning_code`); ``deliver``, scheduled after the optimiser step, sends the
    new stimulus through the updated weight. A prediction network has ``deliver`` only."""
    if rule.delivery != "events":
        return {}
    deliver = {"deliver": "I_in_post += w * x_pre\n"}
    return deliver if rule.predict else {"learn": input_learning_code(rule.direct), **deliver}


def relay_equations(predict: bool = False) -> str:
    """The input relay of a layer that receives the clamped input: a group on the window clock
    (so that the input synapses, their source and their target share one clock) holding the
    input current ``I_in`` that the layer reads as a linked variable, and linking back the
    layer's latched variables that the input synapses' EP update reads (and, for their
    optimiser, the run's constants ``n_real`` and ``t_adam0``)."""
    if predict:
        return "I_in : 1\n"
    return "I_in : 1\nf : 1 (linked)\nra : 1 (linked)\nrb : 1 (linked)\nn_real : 1 (shared)\nt_adam0 : 1 (shared)\n"


# ---------------------------------------------------------------------------------------
# softmax readout


def readout_equations(readout_error: str = "free") -> str:
    """The softmax readout: ``o = exp(a) / Z`` with ``a`` the summed input from the top layer
    and ``Z`` the normaliser summed over the readout neurons; ``err = y - o`` is the error sent
    back to the top layer (computed once per neuron and step, see
    :func:`~brian_ep.brian.schedule.readout_latch_code`). With ``readout_error="nudged"`` also
    ``o_nudged = exp(an) / Zn``, the output at the top layer's latched nudged rates ``ra``."""
    lines = [
        "a : 1",
        "Z : 1",
        "o : 1",
        "err : 1",
        "y = target(t, i) : 1",
        "o_free : 1",
        "y_free : 1",
        "f : 1",
        "learn : 1 (shared)",
        "n_real : 1 (shared)",
        "t_adam0 : 1 (shared)",
    ]
    if readout_error == "nudged":
        lines += ["an : 1", "Zn : 1", "o_nudged : 1"]
    return "\n".join(lines) + "\n"


def predict_readout_equations() -> str:
    """The softmax readout of a prediction network: on the window clock, ``o_free = exp(a) / Z``
    from the top layer's latched free-phase rates, once a sample."""
    return "a : 1\nZ : 1\no_free : 1\n"


def readout_events(rate: str = "r") -> tuple:
    """Events that carry the softmax readout's sums when it needs them (``rule.event_readout``):
    the readout's input ``a`` is needed from the end of the free phase on (step ``NF``, where
    the free output is latched, and the nudged phases), its feedback ``I_ro`` in the nudged
    phases only. Returns ``(top layer events, readout events, pathways)``: the top layer's
    neurons with a non-zero rate fire ``readout_ev`` from step ``NF`` on (their synapses add
    ``w r`` to ``a``), the readout neurons fire ``feedback_ev`` (their synapses add ``w err`` to
    ``I_ro``). ``a`` and ``I_ro`` are cleared every step before."""
    j = "(timestep(t, dt) % NW)"
    top = {"readout_ev": f"{j} >= NF and {rate} != 0"}
    readout = {"feedback_ev": f"{j} >= NF"}
    pathways = {"pre": f"a_post += w * {rate}_pre\n", "post": "I_ro_pre += w * err_post\n"}
    return top, readout, pathways


def normaliser_equations(readout_error: str = "free") -> str:
    text = "Z_post = exp(a_pre) : 1 (summed)\n"
    if readout_error == "nudged":
        text += "Zn_post = exp(an_pre) : 1 (summed)\n"
    return text


def readout_synapse_equations(rule, rate: str = "r") -> str:
    """Readout synapses: feedforward ``a = w r_pre`` (``rate``: the top layer's rate
    variable) and the nudging current ``I_ro = w err`` back to the top layer (and, with
    ``readout_error="nudged"``, ``an = w ra_pre`` from the latched nudged rates)."""
    if rule.predict:
        return "w : 1\na_post = w * r_free_pre : 1 (summed)\n"
    head, tail = learned_lines(rule)[:2], learned_lines(rule)[2:]
    sums = [] if rule.event_readout else [f"a_post = w * {rate}_pre : 1 (summed)", "I_ro_pre = w * err_post : 1 (summed)"]
    lines = head + sums
    if rule.readout_error == "nudged":
        lines.append("an_post = w * ra_pre : 1 (summed)")
    return "\n".join(lines + tail) + "\n"
