"""The torch engine (``run.engine: torch``): the mathematics of :mod:`brian_ep.maths` run on
torch tensors, on the CPU or a CUDA device, optionally compiled and data-parallel over
processes (``torchrun``).

Only :mod:`.options` is imported with the package (the spec validates ``run.torch`` with it);
torch itself is imported when an engine is built.

Modules: :mod:`.options` (the ``run.torch`` settings), :mod:`.tensors` (weights and
optimiser state between numpy and torch), :mod:`.noise` (uniform noise for stochastic neuron
models), :mod:`.batch` (one mini-batch: EP phases, update, divergence flags, and its compiled
forms), :mod:`.distributed` (the process group and the all-reduce of the EP updates) and
:mod:`.engine` (the :class:`~brian_ep.engines.base.Engine`).
"""

from .options import TorchOptions

__all__ = ["TorchOptions"]
