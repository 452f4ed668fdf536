"""What a neuron model provides: its maths, its Brian2 pieces and its spec options, in one place.

A model is a stateless object; the per-layer numbers it needs (``size``, ``eps = dt/tau``,
``tau``, ``activation``, ``bias`` and its own ``options``) come with the
:class:`~brian_ep.architecture.Layer` passed to every method. One instance per model is
registered in :mod:`brian_ep.neurons` under its ``name``; the spec's ``neuron.model`` key
selects it per layer.

The maths is written against the array namespace of its inputs (numpy in the numpy and
Brian2 engines, torch in a torch engine): use ``namespace(x)`` from
:mod:`brian_ep.maths.arrays` and only functions of the array API standard.
States are never modified in place: :meth:`NeuronModel.advance` returns a new state, so a
phase can restart from a stored state without copying it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

__all__ = ["NeuronModel", "Array", "Layer", "EPSpec"]

#: An array of any array-API namespace (numpy, or torch in the torch engine), batched as
#: ``(n_samples, layer.size)``; typed as ``Any`` because the namespaces share no base class
#: (``Any`` also admits ``None``, where a method says so).
Array = Any
#: A resolved layer, :class:`brian_ep.Layer` (typed as ``Any`` here: the architecture imports
#: the neuron models, so this module cannot import it back).
Layer = Any
#: The EP settings of a spec, :class:`brian_ep.spec.EPSpec` (typed as ``Any`` here: the
#: neuron models sit below the spec and do not import it).
EPSpec = Any


class NeuronModel(ABC):
    """A neuron model usable in an EP layer.

    Attributes
    ----------
    name : str
        The value of ``neuron.model`` in a spec.
    options : pydantic model class or None
        The extra keys this model adds to a ``neuron`` section (validated by the spec);
        ``None`` if it adds none. The validated object is ``layer.options``.
    stochastic : bool
        Whether :meth:`advance` needs uniform noise (one number per neuron and step).
    brian_spikes : bool
        Whether the layer sends spikes: projections out of it transmit them through the
        ``on_pre`` / ``on_post`` pathways of their synapses (adding ``w`` times
        :meth:`brian_spike_weight` to the receiver's ``I_syn``) instead of summing
        ``brian_signal`` every step.
    brian_rate : str
        The Brian2 variable holding the rate the EP rule reads (latched at phase ends).
    brian_signal : str
        The Brian2 variable that a projection out of this layer sums into its targets.
    brian_state : tuple of str
        The Brian2 state variables checked for divergence and, by the default
        :meth:`brian_phase_code`, latched at the end of the free phase, restored for a second
        nudged phase and zeroed when a new sample starts.
    """

    name: ClassVar[str]
    options: ClassVar[type | None] = None
    stochastic: ClassVar[bool] = False
    brian_spikes: ClassVar[bool] = False
    brian_rate: ClassVar[str] = "r"
    brian_signal: ClassVar[str] = "r"
    brian_state: ClassVar[tuple[str, ...]] = ("u",)

    # -- spec ------------------------------------------------------------------------------
    def check(self, layer: Layer, ep: EPSpec) -> None:
        """Refuse settings that cannot work for ``layer`` (its activation, ``eps``, options)
        with the EP schedule ``ep`` (``EPSpec``). Raise ``ValueError`` saying why (reported
        at the layer's ``neuron`` section), or a :class:`~brian_ep.errors.SpecError` with its
        own ``key`` (e.g. ``ep.free_steps``; a key starting with ``.``, e.g. ``.window``, is
        inside the layer's ``neuron`` section). Called once, when a spec is validated."""

    def features(self, layer: Layer) -> frozenset:
        """The optional features this layer uses that an engine may not implement, each named
        by its key in the layer's ``neuron`` section (e.g. ``{"refractory"}``). An engine lists
        the ones it does not run in its registry entry's ``refuses``, and a spec that uses
        one under it is refused at that key (``model.hidden[0].neuron.refractory``), naming
        the engines that run it. None by default."""
        return frozenset()

    # -- maths -------------------------------------------------------------------------------
    @abstractmethod
    def initial_state(self, layer: Layer, n_samples: int, like: Array) -> Array:
        """The state of ``n_samples`` copies of ``layer`` before a sample is presented; ``like``
        is an array whose namespace, dtype and device the state takes."""

    @abstractmethod
    def signal(self, layer: Layer, state: Array) -> Array:
        """What projections out of the layer carry, shape ``(n_samples, layer.size)``."""

    @abstractmethod
    def rate(self, layer: Layer, state: Array) -> Array:
        """The rate the EP rule and the output read, shape ``(n_samples, layer.size)``."""

    @abstractmethod
    def advance(self, layer: Layer, state: Array, current: Array, noise: Array = None) -> Array:
        """The state one step of ``dt`` later, driven by ``current`` (shape like the rate).

        ``noise``: uniform numbers in [0, 1) of the rate's shape when ``stochastic``."""

    def potential(self, layer: Layer, state: Array) -> Array:
        """The membrane potential ``u`` of the state (divergence checks, analysis)."""
        return state

    def begin_phase(self, layer: Layer, state: Array, n_steps: int, nudged: bool) -> Array:
        """The state at the start of a phase of ``n_steps`` steps (``nudged``: a nudged phase,
        else the free phase), e.g. to restart a spike count; unchanged by default."""
        return state

    def phase_rate(self, layer: Layer, state: Array) -> Array:
        """The rate estimate the EP rule reads at the end of a phase (default: :meth:`rate`)."""
        return self.rate(layer, state)

    def spikes(self, layer: Layer, state: Array) -> Array:
        """Spikes emitted per sample and neuron since the initial state, shape
        ``(n_samples, layer.size)``, or ``None`` for a model that does not spike."""
        return None

    # -- Brian2 ------------------------------------------------------------------------------
    @abstractmethod
    def brian_equations(self, layer: Layer) -> str:
        """The model's own equation lines for a ``NeuronGroup``: its dynamics driven by the
        total current ``I`` (a dimensionless variable the EP machinery defines) with the
        constant ``tau`` (in the namespace), and the definitions of ``brian_rate`` and
        ``brian_signal``."""

    def brian_group_options(self, layer: Layer, noise: str = "rand()") -> dict[str, Any]:
        """Keyword arguments of the ``NeuronGroup`` (``method``, ``threshold``, ``reset``...);
        ``noise``: the expression of the uniform number of this neuron and step, for a
        stochastic threshold (``rand()``, or a ``TimedArray`` of supplied noise)."""
        return {"method": "euler"}

    def brian_step_code(self, layer: Layer) -> str:
        """Code the group runs in every step after its state update and before its threshold
        (a ``run_regularly`` in ``before_thresholds``, reachable as ``<layer>.step``), e.g. to
        accumulate a variable the state update does not integrate. None by default."""
        return ""

    def brian_phase_rate(self, layer: Layer, nudged: bool) -> str:
        """Expression of the rate latched at the end of a (``nudged`` or free) phase, which the
        EP rule reads (default: ``brian_rate``)."""
        return self.brian_rate

    def brian_spike_weight(self, layer: Layer) -> float:
        """The current one spike carries, in units of ``w`` (when ``brian_spikes``)."""
        return 1.0

    def brian_phase_code(self, layer: Layer) -> dict[str, str]:
        """What the EP phase schedule does with this model's state, ``{event: code}``:
        ``free_end`` (latch what the nudged phases restart from), ``nudge_end`` (restore it
        for the second nudged phase), ``window_start`` (reset it for a new sample; also in a
        prediction network). The schedule runs it at those steps after latching the phase's
        rates. Default: ``<v>_free += <v> - <v>_free``, ``<v> += <v>_free - <v>`` and
        ``<v> = 0`` for each of ``brian_state``. A model with more to carry (e.g. the
        time since the last spike under a refractory period) extends it, declaring the
        variables in :meth:`brian_phase_variables`."""
        state = self.brian_state
        return {
            "free_end": "".join(f"{v}_free += {v} - {v}_free\n" for v in state),
            "nudge_end": "".join(f"{v} += {v}_free - {v}\n" for v in state),
            "window_start": "".join(f"{v} = 0\n" for v in state),
        }

    def brian_phase_variables(self, layer: Layer) -> list[str]:
        """Equation lines of the variables :meth:`brian_phase_code` keeps (training networks
        only); default ``<v>_free : 1`` for each of ``brian_state``."""
        return [f"{v}_free : 1" for v in self.brian_state]

    def brian_schedule_events(self, layer: Layer, step: str, n_nudged: int) -> dict[str, tuple[str, str]]:
        """The model's own schedule events, ``{name: (condition, code)}``: each ``code`` runs
        (by the group's ``run_on_event``) at the start of the steps where ``condition`` holds,
        after the phase results of that step are latched (``step``: the expression of the step
        within the window; ``NF``, ``NN``: the phase lengths; ``n_nudged``: 0 in a prediction
        network, else 1 or 2 nudged phases). None by default."""
        return {}

    def __repr__(self) -> str:
        return f"<neuron model {self.name!r}>"
