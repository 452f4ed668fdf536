"""Time-varying input: a sample that is a stream of time bins, presented bin by bin.

A sample is a row of ``bins * channels`` values, bin ``b``'s channels at
``b * channels .. (b + 1) * channels - 1`` (:mod:`brian_ep.events.binning`). The free phase
presents bin ``b`` during its steps ``b * bin_steps .. (b + 1) * bin_steps - 1``; its remaining
steps and every nudged phase see the *held* input ``x_hold``: the last bin (``hold: last``) or
the mean of the bins (``hold: mean``, the input's rate estimate over the stream). The clamped
input of step ``k`` of the free phase is therefore::

    x(k) = frame[b(k)]   with b(k) = k // bin_steps   while k < bins * bin_steps
    x(k) = x_hold        afterwards, and in the nudged phases

and the EP rule of the input projections reads ``x_hold``, the input of the states it
compares (the nudged phases start from the free state and see ``x_hold``). With centered
nudging the estimate is that of the loss at the fixed point the network reaches on
``x_hold``: the stream shapes the path to it, and only a network that has not settled by
the end of the free phase keeps a memory of the earlier bins.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arrays import namespace

__all__ = ["Stream", "stream_of"]

HOLDS = ("last", "mean")


@dataclass(frozen=True)
class Stream:
    """The presentation of a stream: ``bins`` bins of ``bin_steps`` free-phase steps each,
    then ``hold`` (``"last"`` or ``"mean"``)."""

    bins: int
    bin_steps: int
    hold: str = "last"

    def __post_init__(self):
        if self.bins < 1 or self.bin_steps < 1 or self.hold not in HOLDS:
            raise ValueError(f"a stream needs bins >= 1, bin_steps >= 1 and hold in {HOLDS} (got {self})")

    @property
    def steps(self) -> int:
        """Free-phase steps that present the bins (``bins * bin_steps``)."""
        return self.bins * self.bin_steps

    def frames(self, x):
        """``x`` of shape ``(n, bins * channels)`` as ``(n, bins, channels)``."""
        if x.shape[-1] % self.bins:
            raise ValueError(f"an input row of {x.shape[-1]} values is not {self.bins} bins of equal size")
        return namespace(x).reshape(x, (x.shape[0], self.bins, x.shape[-1] // self.bins))

    def held(self, frames):
        """The input held after the stream, ``(n, channels)``, from ``frames`` ``(n, bins, channels)``."""
        if self.hold == "last":
            return frames[:, -1, :]
        return namespace(frames).mean(frames, axis=1)

    def bin_of(self, k: int):
        """The bin presented at step ``k`` of the free phase, or ``None`` (the held input)."""
        return k // self.bin_steps if k < self.steps else None

    def step_bins(self, n_steps: int) -> list:
        """:meth:`bin_of` of every step of a free phase of ``n_steps`` steps."""
        return [self.bin_of(k) for k in range(n_steps)]


def stream_of(spec):
    """The :class:`Stream` of a spec whose data are event streams (``data.events``), else ``None``."""
    events = getattr(spec.data, "events", None)
    if events is None:
        return None
    steps = events.bin_steps if events.bin_steps is not None else max(spec.ep.free_steps // events.bins, 1)
    return Stream(events.bins, steps, events.hold)
