"""What each epoch of a run presents, as pure functions of the spec and the seed: the sample
order, the random nudging signs, the learning-rate factor and the chunks (the samples an
engine trains on between checkpoints). Every engine and baseline reads them from here, so
they all see the same data in the same order."""

from __future__ import annotations

import math

import numpy as np

from .seeds import stream

__all__ = ["SHUFFLES", "epoch_order", "nudge_signs", "lr_factor", "chunk_length"]

#: The values of ``optim.shuffle``.
SHUFFLES = ("samples", "batches")


def epoch_order(n: int, batch_size: int, seed: int, epoch: int, shuffle: str = "samples") -> np.ndarray:
    """The order in which the ``n`` training samples are presented in ``epoch``.

    ``samples``: a permutation drawn for this epoch. ``batches``: one permutation for the whole
    run cut into mini-batches of ``batch_size`` (the last one may be smaller), whose order is
    drawn for this epoch; a batch holds the same samples in every epoch.
    """
    if shuffle == "samples":
        return stream(seed, "order", epoch).permutation(n)
    if shuffle == "batches":
        fixed = stream(seed, "batches").permutation(n)
        batches = [fixed[i : i + batch_size] for i in range(0, n, batch_size)]
        which = stream(seed, "order", epoch).permutation(len(batches))
        return np.concatenate([batches[k] for k in which])
    raise ValueError(f"shuffle must be one of {', '.join(map(repr, SHUFFLES))}, not {shuffle!r}")


def nudge_signs(n: int, seed: int, epoch: int) -> np.ndarray:
    """The signs (+-1) of ``beta`` of the ``n`` samples in ``epoch`` for ``nudging:
    random_sign``, indexed by sample (not by presentation order)."""
    return stream(seed, "signs", epoch).choice([-1.0, 1.0], size=n)


def lr_factor(spec, epoch: int) -> float:
    """Learning-rate multiplier of epoch ``epoch`` (0-based) under ``optim.lr_schedule``."""
    if spec.optim.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / spec.run.epochs))
    return 1.0


def chunk_length(spec) -> int:
    """Samples per engine call (``run.chunk_size`` rounded down to whole mini-batches, at
    least one mini-batch): chunk boundaries are checkpoints."""
    bs = spec.optim.batch_size
    return max(bs, (spec.run.chunk_size // bs) * bs)
