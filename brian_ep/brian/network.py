"""The Brian2 objects of one EP network as the builder returns them (:class:`EPNetwork`), and
the guards that keep ordinary Brian2 habits from silently doing the wrong thing with them:

* the ``Network`` refuses to run past the last sample window (after it the stimulus and
  target ``TimedArray`` s repeat their last row, so the network would keep learning the last
  sample);
* the groups and synapses refuse to run in Brian2's *magic* network (``run()`` without a
  ``Network``), which collects only the objects named in the calling script and would run a
  part of the network that does not learn;
* :meth:`EPNetwork.get_params` returns copies, also before a standalone run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from brian2 import Clock, NeuronGroup, Network, Quantity, StateMonitor, Synapses, second
from brian2.core.base import BrianObjectException

from ..errors import ArgumentError
from .quiet import package_error

if TYPE_CHECKING:
    from ..maths.params import Params

#: The resolved network, :class:`brian_ep.Architecture` (typed ``Any`` here: the architecture
#: package imports the engines, which import this package).
Architecture = Any

__all__ = ["EPNetwork", "ScheduledNetwork", "EPNeuronGroup", "EPSynapses"]


def _refuse_magic_run(obj: Any) -> None:
    from brian2.core.magic import magic_network

    if any(o is obj for o in magic_network.objects):
        # nothing has run: give the objects back as they were, so that net.network.run works
        # afterwards (the magic network claimed them and switched off those whose dependencies
        # it had not collected)
        collected = {other.id for other in magic_network.objects}
        for other in list(magic_network.objects):
            if other._network == magic_network.id:
                other._network = None
            if not other.active and any(d not in collected for d in other._dependencies):
                other.active = True
        magic_network.objects.clear()
        raise ArgumentError(
            f"'{obj.name}' is part of a brian_ep network and cannot run in Brian2's magic network "
            "(run() without a Network collects only the objects named in your script, so the EP "
            "network would run in part and not learn). Run the whole network instead: "
            "net.network.add(your_monitors...); net.network.run(net.duration)"
        )


class EPNeuronGroup(NeuronGroup):
    """A ``NeuronGroup`` that refuses to run in the magic network (see the module notes)."""

    def before_run(self, run_namespace: dict[str, Any] | None) -> None:
        _refuse_magic_run(self)
        super().before_run(run_namespace)


class EPSynapses(Synapses):
    """A ``Synapses`` that refuses to run in the magic network (see the module notes)."""

    def before_run(self, run_namespace: dict[str, Any] | None) -> None:
        _refuse_magic_run(self)
        super().before_run(run_namespace)


class ScheduledNetwork(Network):
    """A ``Network`` whose runs may not go past the end of its sample schedule.

    ``schedule_end`` (a ``Quantity``) is the time at which the last window's update has
    happened; a run that would end later raises :class:`~brian_ep.errors.ArgumentError`.
    """

    def __init__(self, *objs: Any, schedule_end: Quantity | None = None, name: str = "network*") -> None:
        super().__init__(*objs, name=name)
        self.schedule_end = schedule_end

    def run(
        self,
        duration: Quantity,
        report: Any = None,
        report_period: Quantity = 10 * second,
        namespace: dict[str, Any] | None = None,
        profile: bool | None = None,
        level: int = 0,
    ) -> None:
        """``Network.run``, refused with an :class:`~brian_ep.errors.ArgumentError` when it
        would end after ``schedule_end`` (arguments as in Brian2's ``Network.run``)."""
        end = float(self.t) + float(duration)
        dt = min((float(obj.clock.dt) for obj in self.objects), default=0.0)
        if self.schedule_end is not None and end > float(self.schedule_end) + 0.5 * dt:
            raise ArgumentError(
                f"this run would end at t = {end * 1e3:g} ms, after the last sample window (the schedule "
                f"ends at {float(self.schedule_end) * 1e3:g} ms; the network is at t = {float(self.t) * 1e3:g} ms). "
                "Past it the inputs repeat the last sample and the network would keep learning it. "
                "Run at most net.duration in total, or build a network with more samples "
                "(brian_ep.build(spec, n_samples=...))"
            )
        try:
            return super().run(
                duration, report=report, report_period=report_period, namespace=namespace, profile=profile, level=level + 1
            )
        except BrianObjectException as exc:  # Brian2 wraps what an object's before_run raises
            refusal = package_error(exc)
            if refusal is None:
                raise
            raise refusal from None


@dataclass
class EPNetwork:
    """The Brian2 objects of one EP network (see :func:`brian_ep.build`).

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
    code : dict
        The code of every per-step and per-window operation (phase schedule, learning rules,
        optimiser, input pathways), by ``"<object>.<operation>"``.
    network : ScheduledNetwork
        All of the above, ready to ``run(duration)``.
    clock, window_clock : Clock
        The step clock (``dt = ep.dt``) and the window clock (one tick per sample).
    predict : bool
        Whether this is the prediction network (free phase only, no learning).
    relays : dict
        The input relay (``NeuronGroup`` on the window clock) of each layer that receives the
        clamped input, by layer name.
    """

    arch: Architecture
    groups: dict[str, NeuronGroup]
    synapses: dict[str, Synapses]
    normaliser: Synapses | None
    timed_arrays: dict[str, Any]
    monitor: StateMonitor
    equations: dict[str, str]
    network: ScheduledNetwork
    n_windows: int
    window_steps: int
    dt: Quantity
    objects: list[Any] = field(default_factory=list)
    code: dict[str, str] = field(default_factory=dict)
    clock: Clock | None = None
    window_clock: Clock | None = None
    predict: bool = False
    relays: dict[str, NeuronGroup] = field(default_factory=dict)
    _loaded: Params | None = None

    @property
    def window_duration(self) -> Quantity:
        """Length of one sample window, ``window_steps * dt``."""
        return self.window_steps * self.dt

    @property
    def duration(self) -> Quantity:
        """Run length: every window plus one step, at whose start the last update happens."""
        return self.n_windows * self.window_duration + self.dt

    def set_params(self, params: Params) -> None:
        """Load weights ``W[projection]`` (shape ``(n_pre, n_post)``) and biases ``b[layer]``."""
        for name, S in self.synapses.items():
            S.w = np.asarray(params.W[name]).ravel()
        for name, b in params.b.items():
            self.groups[name].b = b
        self._loaded = params.copy()

    def get_params(self) -> Params:
        """A copy of the current weights and biases as :class:`~brian_ep.Params`
        (the weights loaded last, while a standalone program has not run yet)."""
        from ..maths.params import Params

        try:
            W = {p.name: np.array(self.synapses[p.name].w[:], dtype=float).reshape(self.arch.weight_shape(p)) for p in self.arch.all_projections}
            b = {layer.name: np.array(self.groups[layer.name].b[:], dtype=float) for layer in self.arch.free_layers if layer.bias}
        except NotImplementedError:  # standalone, before the program has run
            if self._loaded is None:
                raise
            return self._loaded.copy()
        return Params(W, b)

    @property
    def spiking_groups(self) -> dict[str, NeuronGroup]:
        """The groups that count their spikes in ``n_spk`` (spiking layers, a spike-encoded
        input, in a training network), by layer name."""
        return {name: G for name, G in self.groups.items() if "n_spk" in G.variables}

    def spike_counts(self) -> dict[str, float]:
        """Spikes counted since ``n_spk`` was last zeroed, per layer (padding windows, whose
        ``mask`` is 0, do not count)."""
        return {name: float(np.sum(G.n_spk[:])) for name, G in self.spiking_groups.items()}

    def outputs(self) -> np.ndarray:
        """The latched free-phase output of each window, shape ``(n_windows, n_output)``."""
        var = "o_free" if "readout" in self.groups else "r_free"
        values = np.asarray(getattr(self.monitor, var))  # (n_out, n_records)
        # a copy: under brian2 >= 2.10 the monitor's values are a view of memory that is freed
        # with the network (the view does not keep it alive)
        return np.array(values[:, 1 : self.n_windows + 1].T)

    def check_health(self, warn: bool = True) -> list:
        """The checks ``brian-ep train`` makes, for a network you run in your own script: after
        ``net.network.run(...)``, whether a free layer's rates sit where the activation is flat
        (``brian_ep.activity.saturated``, from the groups' membrane potentials ``u``) and whether
        the output is the same for every sample window so far
        (``brian_ep.activity.identical_outputs``).

        Parameters
        ----------
        warn : bool
            Also log each finding as a warning of the ``brian_ep.health`` logger (shown like
            Brian2's warnings; ``brian-ep`` prints them as paragraphs).

        Returns
        -------
        list of str
            One paragraph per problem found, with the advice that ``train`` gives; empty for
            a healthy network.

        Raises
        ------
        ArgumentError
            Under a standalone device before the program has run (nothing to check yet).
        """
        import logging

        from .. import activity

        try:
            potentials = {layer.name: np.asarray(self.groups[layer.name].u[:]) for layer in self.arch.free_layers}
        except NotImplementedError:
            raise ArgumentError(
                "check_health reads the state of the network's groups: under a standalone device, run the network "
                "(net.network.run(net.duration)) before calling it"
            ) from None
        windows_run = int(float(self.network.t) / float(self.window_duration))  # the outputs latched so far
        outputs = self.outputs()[:windows_run]
        found = [m for m in (activity.saturated(self.arch, potentials), activity.identical_outputs(outputs)) if m]
        if warn:
            for message in found:
                logging.getLogger("brian_ep.health").warning(message)
        return found

    def listing(self) -> str:
        """Every equation and every piece of code of the network, with its clock and slot,
        as one readable text (what Brian2 generates its code from)."""
        from .listing import network_listing

        return network_listing(self)
