"""Brian2 equations and code strings for EP networks, as pure functions of the spec pieces
(text in, text out; tested as text). :mod:`brian_ep.brian.builder` assembles the objects.

Conventions
-----------
* Every sample is presented in a *window* of ``NW`` time steps: ``NF`` free steps, then
  ``NN`` nudged steps (twice, +beta then -beta, for centered nudging). The step within the
  window is ``timestep(t, dt) % NW``; the window index is ``timestep(t, WDT)`` with
  ``WDT = NW dt``.
* Rates and currents are dimensionless (a rate is a fraction of the maximal rate); time
  has units through ``tau`` and ``dt``.
* A projection ``p`` from layer ``a`` to ``b`` has one weight ``w`` per synapse. It adds
  ``w r_pre`` to ``I_p`` of ``b`` (feedforward) and ``gamma_p w r_post`` to ``I_fb_p`` of
  ``a`` (feedback): one weight, both directions, so the network has an energy.
* The learning rule reads only the synapse's pre- and post-synaptic neurons: rates latched
  at the end of each phase (``ra``, ``rb``, ``r_free``) and the post-synaptic factor ``f``
  (``c_post / (beta_a - beta_b)``: the layer's energy weight over the nudge difference, a
  global neuromodulatory signal times a per-layer constant).
"""

from __future__ import annotations

from ..maths.activations import get_activation

__all__ = [
    "step_in_window",
    "window_index",
    "layer_equations",
    "beta_expression",
    "latch_code",
    "synapse_equations",
    "synapse_update",
    "input_group_equations",
    "input_events",
    "input_window_code",
    "input_on_pre",
    "optimizer_code",
    "readout_equations",
    "readout_synapse_equations",
    "readout_latch_code",
    "nudge_error_update",
    "output_error_code",
    "readout_update",
    "normaliser_equations",
]


def step_in_window() -> str:
    """Step within the current window (integer expression)."""
    return "(timestep(t, dt) % NW)"


def window_index() -> str:
    """Number of windows completed at the start of the current step (``WDT`` is the window
    duration; valid on the step clock and on the window clock alike)."""
    return "timestep(t, WDT)"


def layer_equations(
    activation: str,
    incoming: list[str],
    outgoing: list[str],
    receives_input: bool,
    bias: bool,
    nudge: str | None,
    accumulate: bool,
    adam: bool,
    sign: str = "1",
    centered: bool = True,
    nudge_force: str = "recomputed",
) -> str:
    """Equations of a rate layer.

    Parameters
    ----------
    activation : str
        Rate function name (see :mod:`brian_ep.maths.activations`).
    incoming, outgoing : list of str
        Names of the recurrent projections into / out of this layer; each gets a summed
        current ``I_<p>`` (feedforward) or ``I_fb_<p>`` (feedback).
    receives_input : bool
        Whether the clamped input projects here (current ``I_in``, delivered once a window).
    bias : bool
        Whether the layer has a learned bias ``b``.
    nudge : {None, "mse", "softmax"}
        ``"mse"``: this is the output layer, nudged by ``beta_t (y - r)``; ``"softmax"``: the
        top layer under a softmax readout, nudged by ``beta_t I_ro``.
    accumulate, adam : bool
        Keep an accumulated bias gradient ``gb`` (mini-batches / Adam) and Adam moments.
    sign : str
        Sign of the first nudge: ``"1"``, or ``"signs(t)"`` for a random sign per window.
    centered : bool
        Whether a second nudged phase with ``-beta`` follows.
    nudge_force : {"recomputed", "constant", "accumulated"}
        For ``nudge="mse"``: the error ``y - r`` is read each step, or held in ``e_nudge``
        (set each step by :func:`output_error_code`).

    Returns
    -------
    str
        Equations for ``NeuronGroup(..., method='euler')``; ``tau`` is a constant of the
        namespace, ``NW, NF, NN`` the window constants.
    """
    act = get_activation(activation)
    terms = [f"I_{p}" for p in incoming] + [f"I_fb_{p}" for p in outgoing]
    if receives_input:
        terms.append("I_in")
    if bias:
        terms.append("b")
    if nudge is not None:
        terms.append("I_nudge")
    lines = [
        "du/dt = (I - u) / tau : 1",
        f"I = {' + '.join(terms) if terms else '0'} : 1",
        f"r = {act.brian_expr('u')} : 1",
    ]
    lines += [f"I_{p} : 1" for p in incoming] + [f"I_fb_{p} : 1" for p in outgoing]
    if receives_input:
        lines.append("I_in : 1")
    if bias:
        lines += ["b : 1", "lr_b : 1 (shared)"]
        if accumulate:
            lines.append("gb : 1")
        if adam:
            lines += ["mb : 1", "vb : 1"]
    if nudge == "mse" and nudge_force == "recomputed":
        lines += ["I_nudge = beta_t * (y - r) : 1", "y = target(t, i) : 1"]
    elif nudge == "mse":
        lines += ["I_nudge = beta_t * e_nudge : 1", "e_nudge : 1", "y = target(t, i) : 1"]
    elif nudge == "softmax":
        lines += ["I_nudge = beta_t * I_ro : 1", "I_ro : 1"]
    if nudge is not None:
        lines.append(f"beta_t = {beta_expression(sign, centered)} : 1")
    lines += [
        "u_free : 1",
        "r_free : 1",
        "ra : 1",
        "rb : 1",
        "f : 1",
        "beta : 1 (shared)",
        "learn : 1 (shared)",
        "n_real : 1 (shared)",
        "t_adam0 : 1 (shared)",
    ]
    return "\n".join(lines) + "\n"


def beta_expression(sign: str = "1", centered: bool = True) -> str:
    """Nudging strength as a function of the step in the window: 0 in the free phase,
    ``beta * sign`` in the first nudged phase and, if ``centered``, ``-beta`` in the second."""
    j = step_in_window()
    if centered:
        return f"beta * ({sign} * int({j} >= NF and {j} < NF + NN) - int({j} >= NF + NN))"
    return f"beta * {sign} * int({j} >= NF)"


def latch_code(nudging: str, factor: str, bias: bool, receives_input: bool, direct: bool) -> str:
    """Per-step bookkeeping of a layer (``run_regularly`` at ``when='start'``): latch the phase
    results, restart the second nudged phase from the free state, apply the bias update, and
    reset the state when a new window begins.

    Parameters
    ----------
    nudging : {"centered", "positive", "random_sign"}
    factor : str
        Expression of the update factor latched into ``f`` at the end of the free phase,
        e.g. ``"C / (2*beta)"``; multiplied by ``learn * mask(t)``.
    direct : bool
        Apply the bias update at once (SGD, batch of 1) instead of accumulating it in ``gb``.
    """
    j = step_in_window()
    lines = [
        f"fe = int({j} == NF)",
        f"we = int({j} == 0)",
        "u_free += fe * (u - u_free)",
        "r_free += fe * (r - r_free)",
        f"f += fe * (learn * mask(t) * {factor} - f)",
    ]
    if nudging == "centered":
        lines += [
            f"ae = int({j} == NF + NN)",
            "ra += ae * (r - ra)",
            "u += ae * (u_free - u)",
            "rb += we * (r - rb)",
        ]
    else:
        lines += ["rb += fe * (r - rb)", "ra += we * (r - ra)"]
    if bias:
        lines.append(("b += we * lr_b * " if direct else "gb += we * ") + "f * (ra - rb)")
    lines.append("u *= 1 - we")
    if receives_input:
        lines.append("I_in *= 1 - we")
    return "\n".join(lines) + "\n"


def synapse_equations(name: str, gamma: float, accumulate: bool, adam: bool) -> str:
    """Equations of a recurrent projection ``name``: one weight ``w`` driving the
    feedforward current of the post-synaptic layer and, scaled by ``gamma``, the feedback
    current of the pre-synaptic layer."""
    lines = [
        "w : 1",
        "lr : 1 (shared)",
        f"I_{name}_post = w * r_pre : 1 (summed)",
        f"I_fb_{name}_pre = {gamma!r} * w * r_post : 1 (summed)",
    ]
    if accumulate:
        lines.append("g : 1")
    if adam:
        lines += ["m : 1", "v : 1"]
    return "\n".join(lines) + "\n"


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


def input_group_equations() -> str:
    """The clamped input layer: ``x`` (this window's stimulus) and ``x_last`` (the last one)."""
    return "x : 1\nx_last : 1\n"


def input_events() -> dict:
    """Custom events of the input neurons, which live on the window clock (one step per
    window): ``learn_ev`` for neurons that carried the last stimulus (their synapses apply
    the EP update) and ``deliver_ev`` for those that carry the new one (their synapses send
    ``w x`` once: the input is constant within a window, so it is not re-summed every step)."""
    return {"learn_ev": "x_last > 0", "deliver_ev": "x > 0"}


def input_window_code() -> str:
    return "x_last = x\nx = stim(t, i)\n"


def input_on_pre(direct: bool) -> dict:
    """The two pathways of an input synapse on the window event: ``learn`` updates the weight
    (or accumulates the update) from the last window, with pre rate ``x_last``; ``deliver``,
    scheduled after the optimiser step, sends the new stimulus through the updated weight."""
    term = "f_post * x_last_pre * (ra_post - rb_post)"
    learn = f"w += lr * {term}" if direct else f"g += {term}"
    return {"learn": learn + "\n", "deliver": "I_in_post += w * x_pre\n"}


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


# ---------------------------------------------------------------------------------------
# softmax readout


def readout_equations(readout_error: str = "free") -> str:
    """The softmax readout: ``o = exp(a) / Z`` with ``a`` the summed input from the top layer
    and ``Z`` the normaliser summed over the readout neurons; ``err = y - o`` is the error sent
    back to the top layer (computed once per neuron and step, see :func:`readout_latch_code`).
    With ``readout_error="nudged"`` also ``o_nudged = exp(an) / Zn``, the output at the top
    layer's latched nudged rates ``ra``."""
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


def normaliser_equations(readout_error: str = "free") -> str:
    text = "Z_post = exp(a_pre) : 1 (summed)\n"
    if readout_error == "nudged":
        text += "Zn_post = exp(an_pre) : 1 (summed)\n"
    return text


def readout_synapse_equations(accumulate: bool, adam: bool, readout_error: str = "free") -> str:
    """Readout synapses: feedforward ``a = w r_pre`` and the nudging current
    ``I_ro = w err`` back to the top layer (and, with ``readout_error="nudged"``,
    ``an = w ra_pre`` from the latched nudged rates)."""
    lines = [
        "w : 1",
        "lr : 1 (shared)",
        "a_post = w * r_pre : 1 (summed)",
        "I_ro_pre = w * err_post : 1 (summed)",
    ]
    if readout_error == "nudged":
        lines.append("an_post = w * ra_pre : 1 (summed)")
    if accumulate:
        lines.append("g : 1")
    if adam:
        lines += ["m : 1", "v : 1"]
    return "\n".join(lines) + "\n"


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


def output_error_code(nudge_force: str) -> str:
    """Per step, for an output layer nudged towards ``y`` (no readout) with a held or
    accumulated error: set ``e_nudge`` (see :func:`nudge_error_update`)."""
    return nudge_error_update("(y - r)", "e_nudge", nudge_force)


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


def readout_update(direct: bool, readout_error: str = "free") -> str:
    """The readout's update from the last window: ``-r_free_pre (o_post - y_free_post)`` with the
    output at the free state (``o_free``: the exact cross-entropy gradient) or at the nudged
    state (``o_nudged``)."""
    o = {"free": "o_free_post", "nudged": "o_nudged_post"}[readout_error]
    term = f"f_post * r_free_pre * (y_free_post - {o})"
    return (f"w += lr * {term}" if direct else f"g += {term}") + "\n"
