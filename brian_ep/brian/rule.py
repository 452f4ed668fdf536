"""The settings that shape the generated Brian2 code, gathered from the spec's ``ep`` and
``optim`` sections once, so that the code functions take one argument instead of flags."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Rule", "Wiring"]


@dataclass(frozen=True)
class Rule:
    """How a network learns, as the equations see it.

    Attributes
    ----------
    mode : {"exact", "vector_field"}
    nudging : {"centered", "positive", "random_sign"}
    nudge_force : {"recomputed", "constant", "accumulated"}
    readout_error : {"free", "nudged"}
    algorithm : {"sgd", "adam"}
    batch_size : int
    predict : bool
        The prediction network: the free phase only, no nudge and no learning.
    delivery : {"events", "dense"}
        How the sums that are not needed at every step are computed: ``events`` (the default
        on CPUs: the input current once a window through custom events of the input neurons,
        pixels that are 0 cost nothing; the softmax readout's input and feedback through
        events of the top layer and the readout that fire in the nudged phases only, from
        neurons whose rate is not 0) or ``dense`` (summed variables over all synapses and a
        per-window update, no synaptic pathway: for ``cuda_standalone``, whose pathways
        need the default clock).
    common_noise : bool
        Stochastic thresholds of the -beta phase reuse the numbers of the +beta phase (never
        in a prediction network, which has no nudged phase).
    """

    mode: str = "exact"
    nudging: str = "centered"
    nudge_force: str = "recomputed"
    readout_error: str = "free"
    algorithm: str = "sgd"
    batch_size: int = 1
    predict: bool = False
    delivery: str = "events"
    common_noise: bool = False

    @classmethod
    def from_spec(cls, ep, optim, predict: bool = False, delivery: str = "events") -> "Rule":
        """The rule of an ``EPSpec`` and an ``OptimSpec``."""
        return cls(
            ep.mode, ep.nudging, ep.nudge_force, ep.readout_error, optim.algorithm, optim.batch_size, predict, delivery,
            getattr(ep, "common_noise", False) and not predict,
        )

    @property
    def centered(self) -> bool:
        """A second nudged phase with ``-beta`` follows the first."""
        return self.nudging == "centered"

    @property
    def sign(self) -> str:
        """Sign of the first nudge: ``"1"``, or ``"signs(t)"`` (a ``TimedArray``) per window."""
        return "signs(t)" if self.nudging == "random_sign" else "1"

    @property
    def direct(self) -> bool:
        """Apply each update at once (SGD, one sample per mini-batch)."""
        return self.algorithm == "sgd" and self.batch_size == 1

    @property
    def accumulate(self) -> bool:
        """Accumulate updates in ``g`` and let an optimiser step apply them."""
        return not self.direct

    @property
    def event_readout(self) -> bool:
        """The softmax readout sums its input and sends its feedback through events (training
        networks with ``delivery == "events"`` and the exact readout error)."""
        return self.delivery == "events" and not self.predict and self.readout_error == "free"

    @property
    def adam(self) -> bool:
        return self.algorithm == "adam"


@dataclass(frozen=True)
class Wiring:
    """What one layer is connected to.

    Attributes
    ----------
    incoming, outgoing : tuple of str
        Recurrent projections into the layer from a layer that sends rates (each gives a
        summed feedforward current ``I_<p>``) and out of it to a layer that sends rates (each
        gives a summed feedback current ``I_fb_<p>``).
    receives_input : bool
        Whether the clamped input projects here as a current (``I_in``, delivered once a
        window).
    nudge : {None, "mse", "softmax"}
        ``"mse"``: the output layer, nudged by ``beta_t (y - r)``; ``"softmax"``: the top layer
        under a softmax readout, nudged by ``beta_t I_ro``.
    events : bool
        Whether spikes arrive (from spiking neighbours, either direction, or a spike-encoded
        input): the synapses' ``on_pre`` / ``on_post`` pathways add them to ``I_syn``, which is
        cleared after every state update.
    """

    incoming: tuple = ()
    outgoing: tuple = ()
    receives_input: bool = False
    nudge: str | None = None
    events: bool = False
