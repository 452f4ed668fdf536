"""The phase schedule and the learning rule as Brian2 code strings (pure functions, tested as
text): what runs once a step (latching phase results, the nudge) and once a window (the
EP update, the optimiser step).

Every sample is presented in a *window* of ``NW`` time steps: ``NF`` free steps, then ``NN``
nudged steps (twice, +beta then -beta, for centered nudging). The step within the window is
``timestep(t, dt) % NW``; the window index is ``timestep(t, WDT)`` with ``WDT = NW dt``.

The learning rule reads only the synapse's pre- and post-synaptic neurons: rates latched at
the end of each phase (``ra``, ``rb``, ``r_free``) and the post-synaptic factor ``f``
(``c_post / (beta_a - beta_b)``: the layer's energy weight over the nudge difference, a
global neuromodulatory signal times a per-layer constant).
"""

from __future__ import annotations

import math

__all__ = [
    "step_in_window",
    "window_index",
    "beta_expression",
    "wiring_state",
    "state_code",
    "latch_events",
    "predict_latch_events",
    "neuron_events",
    "divergence_code",
    "update_factor",
    "nudge_error_update",
    "output_error_code",
    "readout_latch_code",
    "synapse_update",
    "readout_update",
    "optimizer_code",
    "clip_code",
]


def step_in_window() -> str:
    """Step within the current window (integer expression)."""
    return "(timestep(t, dt) % NW)"


def window_index() -> str:
    """Number of windows completed at the start of the current step (``WDT`` is the window
    duration; valid on the step clock and on the window clock alike)."""
    return "timestep(t, WDT)"


def beta_expression(sign: str = "1", centered: bool = True) -> str:
    """Nudging strength as a function of the step in the window: 0 in the free phase,
    ``beta * sign`` in the first nudged phase and, if ``centered``, ``-beta`` in the second."""
    j = step_in_window()
    if centered:
        return f"beta * ({sign} * int({j} >= NF and {j} < NF + NN) - int({j} >= NF + NN))"
    return f"beta * {sign} * int({j} >= NF)"


def update_factor(rule, energy_weight: float) -> str:
    """The factor ``f`` of a layer's EP update, latched at the end of the free phase:
    ``c_l / (beta_a - beta_b)`` in exact mode, ``beta / (beta_a - beta_b)`` (the one-sided
    update without 1/beta) in vector-field mode. ``1 - learn`` keeps it finite when
    ``beta = 0`` (evaluation, where ``learn = 0``)."""
    numerator = repr(float(energy_weight)) if rule.mode == "exact" else "beta"
    denominator = "2 * beta" if rule.centered else f"beta * {rule.sign}"
    return f"{numerator} / ({denominator} + 1 - learn)"


def wiring_state(wiring) -> tuple:
    """The variables of the EP wiring (not of the neuron model) that the schedule latches,
    restores and resets with the model's state: the pending spike current ``I_syn`` (the
    spikes of the free phase's last step), where spikes arrive."""
    return ("I_syn",) if wiring.events else ()


def state_code(layer, wiring) -> dict:
    """What the phase schedule does with the state, ``{event: code}`` for ``free_end`` (latch),
    ``nudge_end`` (restore for the second nudged phase) and ``window_start`` (reset for a new
    sample): the neuron model's own code (``brian_phase_code``: by default the latching of
    its ``brian_state``), then that of :func:`wiring_state`."""
    own, wired = layer.neuron.brian_phase_code(layer), wiring_state(wiring)
    return {
        "free_end": own.get("free_end", "") + "".join(f"{v}_free += {v} - {v}_free\n" for v in wired),
        "nudge_end": own.get("nudge_end", "") + "".join(f"{v} += {v}_free - {v}\n" for v in wired),
        "window_start": own.get("window_start", "") + "".join(f"{v} = 0\n" for v in wired),
    }


def latch_events(layer, wiring, rule, factor: str) -> dict:
    """A layer's phase schedule as events: ``{name: (condition, code)}``, each code run by the
    layer's ``run_on_event`` at the start of the one step of the window where its condition
    holds (nothing runs at the other steps):

    * ``free_end`` (``j == NF``): latch the free state (:func:`state_code`: the neuron
      model's ``brian_phase_code``, by default ``<v>_free`` for each of its ``brian_state``,
      and ``I_syn``), the free-phase rate ``r_free`` and the update factor ``f``;
    * ``nudge_end`` (``j == NF + NN``, centered nudging): latch ``ra`` and restart the second
      nudged phase from the free state;
    * ``window_start`` (``j == 0``): latch the last nudged rate, apply the bias update and
      reset the state for the new sample.

    Positive and random-sign nudging have one nudged phase: ``rb`` is latched at ``free_end``
    and ``ra`` at ``window_start``. The neuron model's own events (e.g. restarting a spike
    count) are :func:`neuron_events`, run after these.

    Parameters
    ----------
    layer : Layer
        Its neuron model gives the code that latches, restores and resets its state
        (``brian_phase_code``) and the rates to latch at the end of the free and the nudged
        phases (``brian_phase_rate``).
    wiring : Wiring
        Whether spikes arrive (``I_syn`` is latched and restored with the state).
    rule : Rule
    factor : str
        Expression of the update factor latched into ``f`` (see :func:`update_factor`);
        multiplied by ``learn * mask(t)``.
    """
    j = step_in_window()
    state = state_code(layer, wiring)
    r_free, r = layer.neuron.brian_phase_rate(layer, False), layer.neuron.brian_phase_rate(layer, True)
    free_end = [f"r_free += {r_free} - r_free", f"f += learn * mask(t) * {factor} - f"]
    window_start = []
    events = {}
    if rule.centered:
        events["nudge_end"] = (f"{j} == NF + NN", f"ra += {r} - ra\n" + state["nudge_end"])
        window_start.append(f"rb += {r} - rb")
    else:
        free_end.append(f"rb += {r_free} - rb")
        window_start.append(f"ra += {r} - ra")
    if layer.bias:
        window_start.append(("b += lr_b * " if rule.direct else "gb += ") + "f * (ra - rb)")
    events["free_end"] = (f"{j} == NF", state["free_end"] + "\n".join(free_end) + "\n")
    events["window_start"] = (f"{j} == 0", "\n".join(window_start) + "\n" + state["window_start"])
    return events


def predict_latch_events(layer, wiring) -> dict:
    """The phase schedule of a layer in a prediction network (windows of ``NF`` steps, the free
    phase only), as :func:`latch_events`: at the first step of each window, latch the rate
    reached at the end of the last one into ``r_free`` and reset the state for the new sample."""
    r = layer.neuron.brian_phase_rate(layer, False)
    code = f"r_free += {r} - r_free\n" + state_code(layer, wiring)["window_start"]
    return {"window_start": (f"{step_in_window()} == 0", code)}


def neuron_events(layer, n_nudged: int) -> dict:
    """The neuron model's own schedule events (``brian_schedule_events``, e.g. restarting a
    spike count some steps before a phase ends), ``{name: (condition, code)}`` as
    :func:`latch_events`, whose code runs after the phase results of the same step are
    latched; ``n_nudged``: 0 (prediction network), 1 or 2 nudged phases."""
    return layer.neuron.brian_schedule_events(layer, step_in_window(), n_nudged)


def divergence_code(state) -> str:
    """Once a window, at its start and before the phase schedule resets the state: record
    where the state first diverged. ``diverged_at`` (per neuron, 0 until then) becomes the
    index of the window just ended plus one if a state variable is non-finite or larger than
    ``div_theta`` (``ep.divergence_threshold``, a per-run value) in magnitude at the end of
    its free phase (``<v>_free``) or at its end. The engine reads it after each run and names
    the sample. Once a window, so that it costs nothing per time step."""
    ok = " and ".join(f"abs({v}) <= div_theta and abs({v}_free) <= div_theta" for v in state)
    return f"diverged_at += int(diverged_at == 0) * int(not ({ok})) * {window_index()}\n"


def nudge_error_update(error: str, held: str, nudge_force: str) -> str:
    """The statement that sets the error ``held`` sent back as the nudge, from the current
    error expression ``error`` (once per step, before the state update).

    ``recomputed``: the current error; ``constant``: the error at the first nudged step (the
    free state), held; ``accumulated``: the sum of the current errors since the start of the
    nudged phase (restarted with each nudged phase, as the state is)."""
    j = step_in_window()
    if nudge_force == "recomputed":
        return f"{held} = {error}\n"
    if nudge_force == "constant":
        return f"{held} += int({j} == NF) * ({error} - {held})\n"
    if nudge_force == "accumulated":
        return f"{held} = {held} * (1 - int({j} == NF) - int({j} == NF + NN)) + {error}\n"
    raise ValueError(f"unknown nudge_force {nudge_force!r}")


def output_error_code(nudge_force: str, rate: str = "r") -> str:
    """Per step, for an output layer nudged towards ``y`` (no readout) with a held or
    accumulated error: set ``e_nudge`` (see :func:`nudge_error_update`)."""
    return nudge_error_update(f"(y - {rate})", "e_nudge", nudge_force)


def readout_latch_code(nudge_force: str = "recomputed", readout_error: str = "free") -> str:
    """Per step (in the ``groups`` slot, after ``a`` and ``Z`` are summed from the current
    state): the softmax output, the latched free-phase output and target, and the error
    ``err`` sent back: ``y - o`` recomputed, held at its free value or accumulated over the
    nudged phase (see :func:`nudge_error_update`). With ``readout_error="nudged"`` (positive
    nudging), at the first step of a window, when the top layer has just latched its rates
    at the end of the last window's nudged phase in ``ra``: the output there, ``o_nudged``."""
    j = step_in_window()
    code = (
        "o = exp(a) / Z\n"
        f"fe = int({j} == NF)\n"
        "o_free += fe * (o - o_free)\n"
        "y_free += fe * (y - y_free)\n"
        "f += fe * (learn * mask(t) - f)\n"
        + nudge_error_update("(y - o)", "err", nudge_force)
    )
    if readout_error == "nudged":
        code += f"o_nudged += int({j} == 0) * (exp(an) / Zn - o_nudged)\n"
    return code


def synapse_update(mode: str, direct: bool) -> str:
    """The EP update of a recurrent synapse at the end of a window.

    ``exact``: ``f_post (ra_pre ra_post - rb_pre rb_post)``, the difference of the two
    nudged states' Hebbian terms; ``vector_field``: ``f_post r_free_pre (ra_post - rb_post)``.
    """
    if mode == "exact":
        term = "f_post * (ra_pre * ra_post - rb_pre * rb_post)"
    else:
        term = "f_post * r_free_pre * (ra_post - rb_post)"
    return (f"w += lr * {term}" if direct else f"g += {term}") + "\n"


def readout_update(direct: bool, readout_error: str = "free") -> str:
    """The readout's update from the last window: ``-r_free_pre (o_post - y_free_post)`` with the
    output at the free state (``o_free``: the exact cross-entropy gradient) or at the nudged
    state (``o_nudged``)."""
    o = {"free": "o_free_post", "nudged": "o_nudged_post"}[readout_error]
    term = f"f_post * r_free_pre * (y_free_post - {o})"
    return (f"w += lr * {term}" if direct else f"g += {term}") + "\n"


def optimizer_code(
    algorithm: str,
    batch_size: int,
    var: str = "w",
    grad: str = "g",
    m: str = "m",
    v: str = "v",
    lr: str = "lr",
    n_real: str = "n_real_post",
    t_adam0: str = "t_adam0_post",
) -> str:
    """Apply the accumulated update ``grad`` (a sum of negative-gradient terms) at the end of
    every mini-batch of ``batch_size`` windows, and after the last real sample of a chunk.

    ``sgd``: ``var += lr * grad / n``; ``adam``: Kingma & Ba's step on the gradient
    ``-grad / n`` with moments ``m``, ``v`` and step count ``t_adam0 + ceil(k / B)``.
    ``n_real`` (real samples in this run) and ``t_adam0`` (Adam steps before it) are shared
    variables of the post-synaptic layer (or, for biases, of the layer itself).
    """
    k = window_index()
    lines = [
        f"k_done = {k}",
        f"apply = int(k_done > 0 and k_done <= {n_real} and (k_done % {batch_size} == 0 or k_done == {n_real}))",
        f"n_acc = (k_done - 1) % {batch_size} + 1",
    ]
    if algorithm == "sgd":
        lines.append(f"{var} += apply * {lr} * {grad} / n_acc")
    else:
        lines += [
            f"gm = -{grad} / n_acc",
            f"{m} += apply * (1 - B1) * (gm - {m})",
            f"{v} += apply * (1 - B2) * (gm * gm - {v})",
            f"ta = clip({t_adam0} + (k_done + {batch_size} - 1) // {batch_size}, 1, 1e18)",
            f"{var} -= apply * {lr} * ({m} / (1 - B1**ta)) / (sqrt({v} / (1 - B2**ta)) + ADAM_EPS)",
        ]
    lines.append(f"{grad} *= 1 - apply")
    return "\n".join(lines) + "\n"


def clip_code(bounds, var: str = "w") -> str:
    """Keep ``var`` in ``bounds = (lower, upper)`` after an update (a sign constraint or weight
    bounds of the projection: the projection step of a projected gradient update); empty for
    an unconstrained projection."""
    lower, upper = bounds
    if lower == -math.inf and upper == math.inf:
        return ""
    text = [repr(float(b)) if math.isfinite(b) else ("-inf" if b < 0 else "inf") for b in (lower, upper)]
    return f"{var} = clip({var}, {text[0]}, {text[1]})\n"
