"""The small interface through which training talks to an engine (Brian2, batched numpy, a
baseline...), and :func:`make_engine`, which builds the one a spec names."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..maths.optim import OptimState
from ..maths.params import Params

#: A validated spec (:class:`brian_ep.spec.Spec`) and its resolved network
#: (:class:`brian_ep.Architecture`), typed ``Any`` here: both packages import the engine
#: registry, and packages depend on each other one way only.
Spec = Any
Architecture = Any

__all__ = ["ChunkResult", "Engine", "make_engine"]


@dataclass
class ChunkResult:
    """What training on a chunk of samples reports.

    Attributes
    ----------
    outputs : ndarray, shape (n_samples, n_output)
        The network's output at the end of each sample's free phase (before its update).
    spikes : dict or None
        Spiking networks: the spikes each spiking layer (and a spike-encoded input) emitted
        over the chunk's samples, all phases, summed over neurons and samples (the energy
        proxy); ``None`` where no layer spikes.
    """

    outputs: np.ndarray
    spikes: dict[str, float] | None = None


class Engine(ABC):
    """Trains and evaluates one network; weights move in and out as :class:`~brian_ep.Params`.

    Chunks are consecutive slices of an epoch; mini-batches are consecutive slices of
    ``optim.batch_size`` samples within a chunk (the last one may be shorter), and the
    optimiser steps once per mini-batch.

    Parameters
    ----------
    spec : Spec
    arch : Architecture
        The spec's network (built once by the caller).
    params : Params
        Initial weights (the engine keeps its own copy).
    optim_state : OptimState
        Optimiser state to continue from.
    workdir : path, optional
        A folder the engine may use for files (a compiled program); ``None``: its own
        temporary folder, removed by :meth:`close`.
    """

    #: Whether this process writes the run directory and shows progress (false in all but
    #: one process of a data-parallel run).
    is_main_process = True

    def __init__(
        self, spec: Spec, arch: Architecture, params: Params, optim_state: OptimState, workdir: str | os.PathLike[str] | None = None
    ) -> None:
        self.spec = spec
        self.arch = arch
        self.params = params
        self.optim_state = optim_state
        self.workdir = workdir
        self.lr_factor = 1.0
        self.samples_seen = 0
        #: data-set indices of the samples of the current chunk (set by the trainer), so that
        #: errors can name the sample that caused them
        self.sample_ids: np.ndarray | None = None
        #: ``(epoch, first sample)`` of the current chunk (set by the trainer): stochastic
        #: neurons draw the chunk's noise from a stream seeded by it, so a resumed run draws
        #: the same numbers as an uninterrupted one
        self.position: tuple[int, int] | None = None
        #: uniform noise supplied from outside (:meth:`set_noise`), or None
        self.supplied_noise: dict[str, np.ndarray] | None = None

    def noise_seed(self, predict: bool = False, offset: int = 0) -> list[int]:
        """The seed of the noise of the next chunk (``run.seed``, the ``noise`` stream, epoch
        and first sample, plus ``offset`` samples; engines called outside the trainer count
        samples themselves) or, with ``predict``, of evaluation from sample ``offset`` (the
        same numbers for every evaluation)."""
        from ..seeds import stream_seed

        if predict:
            return stream_seed(self.spec.run.seed, "noise", 2**31 - 1, offset)
        epoch, first = self.position if self.position is not None else (0, self.samples_seen)
        return stream_seed(self.spec.run.seed, "noise", epoch, first + offset)

    def set_noise(self, arrays: dict[str, Any] | None) -> None:
        """Train on uniform noise supplied from outside instead of the engine's generator:
        ``{layer name: array (n_windows * ep.window_steps, n_layer)}``, row
        ``k * window_steps + j`` for step ``j`` of the ``k``-th training sample from now on
        (see ``brian_ep.maths.noise.ArrayNoise``); ``None`` returns to the generator.
        Two engines given the same arrays follow the same spike trains."""
        self.supplied_noise = None if arrays is None else {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}

    def describe_sample(self, offset: int) -> str:
        """Name the sample at ``offset`` within the current chunk, for error messages."""
        if self.sample_ids is not None and offset < len(self.sample_ids):
            return f"training sample #{int(self.sample_ids[offset])} of the data set"
        return f"training sample {self.samples_seen + offset} (counted from the start of this engine)"

    def set_lr_factor(self, factor: float) -> None:
        """Multiply every learning rate by ``factor`` from now on (learning-rate schedules)."""
        self.lr_factor = float(factor)

    def get_params(self) -> Params:
        """A copy of the current weights and biases."""
        return self.params.copy()

    def set_params(self, params: Params) -> None:
        """Replace the weights and biases with a copy of ``params``."""
        self.params = params.copy()

    def get_optim_state(self) -> OptimState:
        """A copy of the optimiser state (Adam moments and step count)."""
        return OptimState(self.optim_state.m.copy(), self.optim_state.v.copy(), self.optim_state.t)

    def set_optim_state(self, state: OptimState) -> None:
        """Continue from a copy of the optimiser state ``state``."""
        self.optim_state = OptimState(state.m.copy(), state.v.copy(), state.t)

    @abstractmethod
    def train_chunk(self, x: np.ndarray, y: np.ndarray, signs: np.ndarray | None = None) -> ChunkResult:
        """Present ``x`` with targets ``y`` (one-hot) in order, learning as it goes."""

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs at the end of the free phase, shape ``(n_samples, n_output)``; no learning."""

    def close(self) -> None:
        """Release resources (build directories, processes)."""


def make_engine(
    spec: Spec,
    arch: Architecture,
    params: Params,
    optim_state: OptimState | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> Engine:
    """The engine that ``spec.run.engine`` names (see :mod:`brian_ep.engines.registry`),
    loaded with ``params`` and ``optim_state`` (fresh if omitted)."""
    from ..maths.optim import init_optim_state
    from .registry import engine_class

    state = init_optim_state(params) if optim_state is None else optim_state
    engine: Engine = engine_class(spec.run.engine)(spec, arch, params, state, workdir=workdir)
    return engine
