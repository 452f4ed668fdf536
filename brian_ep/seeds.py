"""Every random stream of a run, derived from ``run.seed`` and defined once.

A stream is ``numpy.random.default_rng([seed, STREAMS[name], *more])``: the initial weights
(``init``), the sample order of epoch ``e`` (``order``, ``e``), the random nudging signs of
epoch ``e`` (``signs``, ``e``), the mini-batches formed once under ``optim.shuffle: batches``
(``batches``), the noise of stochastic neurons (``noise``, ...) and the shifts and flips of
the training images of epoch ``e`` (``augment``, ``e``). Because every stream is a
pure function of the seed and the position in the run, an interrupted run resumed from its
last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "stream", "stream_seed"]

STREAMS = {"init": 0, "order": 1, "signs": 2, "batches": 3, "noise": 4, "augment": 5}


def stream_seed(seed: int, name: str, *more: int) -> list:
    """The seed (a list of ints) of stream ``name`` of a run with ``seed``, for generators
    other than numpy's (``more``: e.g. the epoch)."""
    return [int(seed), STREAMS[name], *(int(m) for m in more)]


def stream(seed: int, name: str, *more: int) -> np.random.Generator:
    """The generator of stream ``name`` of a run with ``seed`` (``more``: e.g. the epoch)."""
    return np.random.default_rng(stream_seed(seed, name, *more))
