r"""The probabilistic (Bernoulli) spiking neuron of StochEP (Lin, Jiang & Sengupta 2025).

A membrane potential integrates the synaptic current; in every step of ``dt`` the neuron
spikes with probability ``p = q rho(u)``; spikes reach the other layers through the ``on_pre``
/ ``on_post`` pathways of the same one-weight synapses (feedforward ``w``, feedback
``gamma w``), each spike carrying ``1/q``. Its expectation is the rate ``rho(u)``, so the mean
field of a network of these neurons is the rate network with the same energy
(``docs/stochep.md``). Each neuron keeps a trace of its own spikes, its rate estimate.
An optional refractory period (``refractory``) changes that mean field (see
:class:`BernoulliNeuron`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from ..errors import SpecError
from ..maths.activations import get_activation
from ..maths.arrays import device_of, lerp, namespace
from ..quantities import RateQuantity, TimeQuantity, format_time, parse_time
from .base import NeuronModel

__all__ = ["BernoulliNeuron", "BernoulliOptions", "SpikeState", "refractory_rate"]


def _parse_refractory(value: Any) -> Any:
    """``refractory``: a whole number of steps of ``dt`` (an ``int`` >= 0) or a duration
    (``"2 ms"``, a Brian2 quantity), which :meth:`BernoulliNeuron.check` requires to be a
    whole number of ``dt``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"must be a number of steps >= 0 or a duration such as '2 ms' (got {value})")
        return value
    if isinstance(value, float):
        raise ValueError(f"must be a whole number of steps of dt (an integer, e.g. 3) or a duration such as '2 ms' (got {value!r})")
    return parse_time(value)


def _format_refractory(value: Any) -> Any:
    return value if isinstance(value, int) else format_time(value)


#: A refractory period: steps of ``dt`` (int) or a duration (text such as ``"2 ms"``).
RefractoryPeriod = Annotated[Any, BeforeValidator(_parse_refractory), PlainSerializer(_format_refractory)]


def refractory_rate(p: float, n_ref: int) -> float:
    """Spikes per step of a neuron with spike probability ``p`` per step that cannot spike
    in the ``n_ref - 1`` steps after a spike: ``p / (1 + (n_ref - 1) p)``.

    The intervals between spikes are ``n_ref - 1`` dead steps plus a geometric wait of mean
    ``1 / p`` (a renewal process), so the rate is one over their mean. ``n_ref <= 1``: ``p``.

    Parameters
    ----------
    p : float
        Spike probability per step, in [0, 1].
    n_ref : int
        The refractory period in steps of ``dt`` (Brian2's ``refractory / dt``).

    Returns
    -------
    float
        Mean spikes per step (multiply by ``1/dt`` for a rate in Hz).
    """
    dead = max(int(n_ref) - 1, 0)
    return p / (1.0 + dead * p)


class BernoulliOptions(BaseModel):
    """The keys a ``neuron: {model: bernoulli}`` section adds.

    ``trace_tau``: time constant of the spike trace ``x`` (``dt <= trace_tau``), which the
    nudge and a softmax readout read; by default ``dt``: ``x`` is then the spikes of the last
    step (over ``q``), an unbiased estimate of the rate with no lag, which keeps the EP update
    of recurrent spiking layers unbiased (``docs/stochep.md``, "Bias"). A longer trace
    smooths what a softmax readout reads (set it for the top layer under one). ``read``:
    the rate estimate the EP rule reads at the end of each phase, the ``trace`` there, the
    spike count over the last ``window`` steps (``window``: steps at the end of each nudged
    phase, default the whole phase; ``free_window``: at the end of the free phase, default
    ``window``), or ``probability``: the neuron's spike probabilities ``p`` summed over the
    same windows, the spike count's expectation given the membrane potential (a
    Rao-Blackwellised count: the same mean, less variance; the spikes still carry the
    currents, only the learning rule reads ``p``, the neuron's own state, like a
    voltage-based plasticity rule; ``docs/stochep.md``, "Reading the spike probability").
    ``max_rate``: the firing rate at ``rho = 1`` (default ``1/dt``: one spike per step);
    spikes then carry ``1 / (max_rate dt)`` so that the mean field stays the same.
    ``refractory``: the refractory period, in steps of ``dt`` (``3``) or as a duration that is
    a whole number of ``dt`` (``"1.5 ms"``); default none. As in Brian2, a neuron that spikes
    at step ``k`` cannot spike again before step ``k + refractory / dt`` (one step: no
    effect); its membrane keeps integrating. It changes the mean field (see
    :class:`BernoulliNeuron`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, validate_default=True)

    trace_tau: Optional[TimeQuantity] = None
    read: Literal["trace", "window", "probability"] = "trace"
    window: Optional[int] = Field(default=None, gt=0)
    free_window: Optional[int] = Field(default=None, gt=0)
    max_rate: Optional[RateQuantity] = None
    refractory: Optional[RefractoryPeriod] = None


class SpikeState(NamedTuple):
    """The state of a layer of Bernoulli neurons (arrays of shape ``(n_samples, size)``).

    ``u``: membrane potential; ``s``: spikes of the last step (0 or 1); ``x``: trace of the
    spikes (rate estimate); ``count``: spikes in the counting window of the current phase;
    ``total``: spikes since the initial state; ``ref``: steps for which the neuron still
    cannot spike (refractory countdown; stays 0 without a refractory period); ``left``: steps
    left in the phase; ``window``: length of its counting window (steps)."""

    u: object
    s: object
    x: object
    count: object
    total: object
    ref: object
    left: int = 0
    window: int = 1


class BernoulliNeuron(NeuronModel):
    r"""Probabilistic spiking neuron (``neuron.model: bernoulli``).

    Per step of ``dt``, in Brian2's order (state update, threshold, synapses, reset):

    .. math::

        u \leftarrow u + \epsilon (I - u), \qquad
        s = [\xi < q\,\rho(u)], \qquad
        x \leftarrow x + \epsilon_x (s / q - x)

    * :math:`u`: membrane potential (dimensionless); :math:`I`: total current, here the
      spikes of the last step times their weights, plus bias, input and nudge;
    * :math:`\epsilon = dt/\tau` (``neuron.tau``), :math:`\epsilon_x = dt/\tau_x`
      (``trace_tau``);
    * :math:`\xi`: a uniform random number per neuron and step (``rand()`` in Brian2);
    * :math:`q = \nu_{max} dt \le 1` (``max_rate``; 1 by default): the spike probability at
      :math:`\rho = 1`; a spike :math:`s \in \{0, 1\}` carries the current :math:`w / q`,
      so :math:`E[s/q] = \rho(u)`;
    * :math:`x`: the trace, an estimate of :math:`\rho(u)` over the last :math:`\tau_x`;
      it is what the nudge and the output read. The EP rule reads ``x`` at the end of each
      phase, or the spike count over the last ``window`` steps divided by ``window q``.

    ``rho`` (``neuron.activation``) must lie in [0, 1]: ``hard_sigmoid`` or ``sigmoid``.

    **Refractoriness** (``refractory``, :math:`n_{ref} = t_{ref} / dt` steps): a neuron that
    spiked at step :math:`k` cannot spike at steps :math:`k+1 \dots k+n_{ref}-1` (Brian2's
    ``refractory`` with the Bernoulli threshold: ``(xi < p) and not_refractory``); ``u``
    keeps integrating (no ``(unless refractory)`` flag). In the numpy and torch engines a
    per-neuron countdown ``ref`` of :class:`~brian_ep.neurons.bernoulli.SpikeState` holds
    the steps left. At a constant :math:`p = q\rho(u)` the spikes per step are then
    :math:`p / (1 + (n_{ref} - 1) p)`
    (:func:`~brian_ep.neurons.bernoulli.refractory_rate`), less than :math:`p`: the
    mean field of a refractory network is the rate network with
    :math:`\rho_{ref}(u) = \rho(u) / (1 + (n_{ref} - 1) q \rho(u))`, not :math:`\rho`, and
    the EP estimator targets that network's update (``docs/stochep.md``, "Refractoriness").
    Every state a phase restarts from carries the countdown (Brian2: the time since the
    last spike), and a new sample starts with none.
    """

    name = "bernoulli"
    options = BernoulliOptions
    stochastic = True
    brian_spikes = True
    brian_rate = "x"
    brian_signal = "x"
    brian_state = ("u", "x")

    # -- derived numbers ---------------------------------------------------------------------
    @staticmethod
    def dt(layer) -> float:
        return layer.eps * layer.tau

    def trace_tau(self, layer) -> float:
        """The trace's time constant in seconds (``dt`` unless ``trace_tau`` is set)."""
        tau = layer.options.trace_tau
        return self.dt(layer) if tau is None else float(tau)

    def eps_x(self, layer) -> float:
        """``dt / trace_tau`` (1 by default: the trace is the last step's spikes)."""
        tau = layer.options.trace_tau
        return 1.0 if tau is None else self.dt(layer) / float(tau)

    def q(self, layer) -> float:
        """Spike probability at ``rho = 1`` (``max_rate * dt``, or 1)."""
        rate = layer.options.max_rate
        return 1.0 if rate is None else float(rate) * self.dt(layer)

    def n_ref(self, layer) -> int:
        """The refractory period in steps of ``dt`` (0: none; a duration that is not a whole
        number of ``dt`` is refused by :meth:`check`)."""
        ref = layer.options.refractory
        if ref is None or isinstance(ref, int):
            return int(ref or 0)
        return round(float(ref) / self.dt(layer))

    def features(self, layer) -> frozenset:
        return frozenset({"refractory"}) if self.n_ref(layer) > 1 else frozenset()

    # -- spec ------------------------------------------------------------------------------
    def check(self, layer, ep) -> None:
        act = get_activation(layer.activation)
        if act.low < 0.0 or act.high > 1.0:
            raise SpecError(
                f"the spike probability p = rho(u) must lie in [0, 1], but activation '{layer.activation}' "
                f"ranges over [{act.low:g}, {act.high:g}]", key=".activation", allowed="hard_sigmoid, sigmoid",
            )
        opt, dt = layer.options, self.dt(layer)
        if opt.trace_tau is not None and float(opt.trace_tau) < dt * (1 - 1e-9):
            raise SpecError(
                f"the trace time constant ({float(opt.trace_tau) * 1e3:g} ms) is shorter than dt ({dt * 1e3:g} ms): "
                "the trace could not average spikes", key=".trace_tau", allowed=f">= {dt * 1e3:g} ms",
            )
        if self.q(layer) > 1 + 1e-9:
            raise SpecError(
                f"dt ({dt * 1e3:g} ms) is too coarse for max_rate {float(opt.max_rate):g} Hz: the spike probability "
                f"per step would reach {self.q(layer):g} > 1", key=".max_rate",
                allowed=f"<= {1 / dt:g} Hz (1/dt), or a smaller ep.dt",
            )
        self._check_refractory(layer)
        free_key = "free_window" if opt.free_window is not None else "window"
        for key, value, limit, phase in (
            ("window", opt.window, ep.nudged_steps, "nudged phase (ep.nudged_steps)"),
            (free_key, opt.free_window or opt.window, ep.free_steps, "free phase (ep.free_steps)"),
        ):
            if value is not None and value > limit:
                raise SpecError(
                    f"the counting window ({value} steps) is longer than the {phase}, {limit} steps",
                    key="." + key, allowed=f"<= {limit}" + ("" if key != "window" else ", or set free_window"),
                )

    def _check_refractory(self, layer) -> None:
        ref, dt = layer.options.refractory, self.dt(layer)
        if ref is None or isinstance(ref, int):
            return
        steps = float(ref) / dt
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise SpecError(
                f"the refractory period ({float(ref) * 1e3:g} ms) is not a whole number of steps of dt ({dt * 1e3:g} ms): "
                f"it is {steps:.6g} steps, and spikes happen on the step grid",
                key=".refractory", allowed=f"a multiple of {dt * 1e3:g} ms, or a number of steps (e.g. {max(round(steps), 1)})",
            )

    # -- maths -------------------------------------------------------------------------------
    def initial_state(self, layer, n_samples, like):
        xp = namespace(like)
        zeros = xp.zeros((n_samples, layer.size), dtype=like.dtype, device=device_of(like))
        return SpikeState(zeros, zeros, zeros, zeros, zeros, zeros)

    def signal(self, layer, state):
        q = self.q(layer)
        return state.s if q == 1.0 else state.s / q

    def rate(self, layer, state):
        return state.x

    def potential(self, layer, state):
        return state.u

    def spikes(self, layer, state):
        return state.total

    def phase_rate(self, layer, state):
        if layer.options.read == "trace":
            return state.x
        return state.count / (state.window * self.q(layer))

    def begin_phase(self, layer, state, n_steps, nudged):
        opt = layer.options
        window = opt.window if nudged else (opt.free_window or opt.window)
        window = n_steps if window is None else min(window, n_steps)
        return state._replace(count=namespace(state.u).zeros_like(state.u), left=n_steps, window=window)

    def advance(self, layer, state, current, noise=None):
        xp = namespace(current)
        u = lerp(state.u, current, layer.eps)
        p = get_activation(layer.activation).rho(u)
        q = self.q(layer)
        if q != 1.0:
            p = q * p
        s = xp.astype(noise < p, u.dtype)
        ref, n_ref, able = state.ref, self.n_ref(layer), None
        if n_ref > 1:  # no spike while the countdown runs; a spike restarts it at n_ref - 1
            able = xp.astype(ref < 0.5, u.dtype)
            s = s * able
            ref = xp.clip(ref - 1.0, 0.0, None) + (n_ref - 1) * s
        eps_x = self.eps_x(layer)
        x = state.x - eps_x * state.x + (eps_x / q) * s
        count, read = state.count, layer.options.read
        if read != "trace" and state.left <= state.window:  # inside the counting window
            # the spike, or under read: probability the probability of a spike in this step
            count = count + (s if read == "window" else p if able is None else p * able)
        return SpikeState(u, s, x, count, state.total + s, ref, state.left - 1, state.window)

    # -- Brian2 ------------------------------------------------------------------------------
    def brian_equations(self, layer) -> str:
        rho = get_activation(layer.activation).brian_expr("u")
        q = self.q(layer)
        p = rho if q == 1.0 else f"{q!r} * {rho}"
        lines = [
            "du/dt = (I - u) / tau : 1",
            f"dx/dt = -x / ({self.trace_tau(layer)!r} * second) : 1",
            f"p = {p} : 1",
        ]
        if layer.options.read != "trace":
            lines.append("n_win : 1")
        return "\n".join(lines) + "\n"

    def brian_group_options(self, layer, noise="rand()"):
        reset = f"x += {self.eps_x(layer) / self.q(layer)!r}\n"
        if layer.options.read == "window":
            reset += "n_win += 1\n"
        options = {"method": "euler", "threshold": f"{noise} < p", "reset": reset}
        if self.n_ref(layer) > 1:  # Brian2's own: the threshold becomes (noise < p) and not_refractory
            options["refractory"] = f"{self.n_ref(layer)} * dt"
        return options

    def brian_step_code(self, layer):
        """Under ``read: probability``, add the spike probability of the step to the count
        (``p``, 0 while refractory), after the state update, as the threshold reads it."""
        if layer.options.read != "probability":
            return ""
        return "n_win += p * int(not_refractory)\n" if self.n_ref(layer) > 1 else "n_win += p\n"

    def brian_phase_code(self, layer):
        """``u`` and ``x`` as by default; with a refractory period also the time since the
        last spike, part of the state a phase restarts from (latched at the end of the free
        phase as ``since_spike_free``, restored for the second nudged phase), and a new
        sample starts with none (``lastspike`` back to Brian2's initial -1e4 s)."""
        code = super().brian_phase_code(layer)
        if self.n_ref(layer) > 1:
            code["free_end"] += "since_spike_free = t - lastspike\n"
            code["nudge_end"] += "lastspike = t - since_spike_free\n"
            code["window_start"] += "lastspike = -1e4 * second\n"
        return code

    def brian_phase_variables(self, layer):
        extra = ["since_spike_free : second"] if self.n_ref(layer) > 1 else []
        return super().brian_phase_variables(layer) + extra

    def brian_spike_weight(self, layer) -> float:
        return 1.0 / self.q(layer)

    def _window(self, layer, nudged: bool) -> str:
        opt = layer.options
        window = opt.window if nudged else (opt.free_window or opt.window)
        return ("NN" if nudged else "NF") if window is None else str(window)

    def brian_phase_rate(self, layer, nudged):
        if layer.options.read == "trace":
            return "x"
        return f"n_win / ({self._window(layer, nudged)} * {self.q(layer)!r})"

    def brian_schedule_events(self, layer, step, n_nudged):
        """Restart the spike count ``window`` steps before the end of each phase (after the
        phase results are latched, so a count that ends a phase is read first)."""
        if layer.options.read == "trace":
            return {}
        kf, kn = self._window(layer, False), self._window(layer, True)
        starts = [f"NF - {kf}"] + [f"NF + {m} * NN - {kn}" for m in range(1, n_nudged + 1)]
        return {"count_start": (" or ".join(f"{step} == {start}" for start in starts), "n_win = 0\n")}
