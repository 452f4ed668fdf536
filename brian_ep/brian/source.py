"""Your own Brian2 group as the learned input of an EP network.

Any group that spikes (a ``PoissonGroup``, a ``SpikeGeneratorGroup``, the excitatory population
of your own model, a ``Subgroup`` of it) can stand where the clamped input layer takes a
stimulus: a ``Synapses`` on the group's own clock counts each neuron's spikes into the input
neuron of the same index (``n_in += 1``), and at the start of every sample window the input
layer loads the rate estimate of the window that just ended,

.. math:: x_i = \\frac{n_i}{T_\\mathrm{window} \\, \\nu_\\mathrm{ref}},

then restarts the count. ``nu_ref`` (``input_rate``) is the rate that counts as 1, the top of
the range the activation works in. The input projection then learns exactly as for a static
stimulus, from the rate estimate ``x`` (its EP update reads the previous window's ``x``), and
the input current is delivered once per window. The input of window ``k`` is the rate of window
``k - 1``, so the first window sees no input.

The change to the input layer is made through the ``modify_equations`` hook (keys ``input``
and ``input.load``), so ``net.equations``, ``net.code`` and ``net.listing()`` show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ArgumentError

__all__ = ["SpikeSource", "spike_source", "source_hook", "connect_source"]


@dataclass(frozen=True)
class SpikeSource:
    """A user's spiking group and the rate that maps to an input of 1.

    Attributes
    ----------
    group : SpikeSource
        A Brian2 group with spikes, one neuron per input neuron.
    rate : Quantity
        Rate (Hz) that counts as input 1.
    """

    group: Any
    rate: Any


def spike_source(group, rate, arch, stream=None) -> SpikeSource:
    """Check that ``group`` can be the input of ``arch`` and return it with its ``rate``.

    Raises
    ------
    ArgumentError
        If ``group`` does not spike, has another size than the input layer, the input is an
        event stream or spike-encoded, or ``rate`` is not a positive rate.
    """
    from brian2 import Hz, Quantity
    from brian2.core.spikesource import SpikeSource as BrianSpikeSource

    events = getattr(group, "events", None)
    if not isinstance(group, BrianSpikeSource) or (events is not None and "spike" not in events):
        raise ArgumentError(
            f"build(input=...) takes a Brian2 group that spikes (a PoissonGroup, SpikeGeneratorGroup, or NeuronGroup "
            f"with a threshold), got {group!r}; a NeuronGroup without threshold has no spikes to count"
        )
    if len(group) != arch.input.size:
        raise ArgumentError(
            f"build(input=...): the group '{group.name}' has {len(group)} neurons, the spec's input layer "
            f"{arch.input.size} (model.input.size); they are paired by index, so the sizes must be equal (use a "
            "Subgroup, e.g. group[:n], or change model.input.size)"
        )
    if stream is not None or arch.input.encoding != "current":
        raise ArgumentError(
            "build(input=...) replaces the clamped input by your group's rates; it does not combine with an event "
            "stream (data.events) or a spike-encoded input (model.input.encoding: spikes)"
        )
    if not isinstance(rate, Quantity) or not rate.dim == Hz.dim or not float(rate) > 0:
        raise ArgumentError(f"build(input_rate=...) must be a positive rate such as 100*Hz, got {rate!r}")
    return SpikeSource(group, rate)


def source_hook(modify_equations, input_name: str, scale: float):
    """``modify_equations`` with the input layer's count variable and its per-window load
    (``x = n_in * scale``, ``scale = 1 / (T_window * rate)``) added before the user's hook."""
    user = modify_equations or (lambda _key, text: text)

    def hook(key, text):
        if key == input_name:
            text = text + "n_in : 1  # spikes of your group in the current window\n"
        elif key == f"{input_name}.load":
            if "stim(t, i)" not in text:  # pragma: no cover - the builder's load code changed
                raise ArgumentError("build(input=...): the input layer's load code has no stimulus to replace")
            text = text.replace("stim(t, i)", f"n_in * {scale!r}") + "n_in = 0\n"
        return user(key, text)

    return hook


def connect_source(net, source: SpikeSource, name: str):
    """Add the counting ``Synapses`` (``<name>_source``, on the group's clock) and the group to
    ``net.network``; returns the synapses."""
    from brian2 import Synapses

    from .quiet import silence_own_warnings

    target = net.groups[net.arch.input.name]
    counter = Synapses(source.group, target, on_pre="n_in_post += 1", clock=source.group.clock, name=f"{name}_source")
    counter.connect(j="i")
    silence_own_warnings([counter])
    net.network.add(counter)
    if source.group not in net.network.objects:
        net.network.add(source.group)
    net.objects.append(counter)
    return counter
