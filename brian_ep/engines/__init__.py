"""Engines: the interface that training uses, and the registry of the engines that implement it.

Built in (``brian_ep.engines.builtin``): ``brian2`` (EP as Brian2 equations,
``brian_ep.engines.brian``), ``numpy`` (the same mathematics batched,
``brian_ep.engines.numpy_batched``), ``torch`` (the same mathematics on torch tensors, CPU or
CUDA, data-parallel under ``torchrun``, ``brian_ep.engines.torch_engine``) and the baselines
``bp`` (``brian_ep.baselines.backprop``), ``bptt_crnn`` (``brian_ep.baselines.crnn``) and
``bptt_snn`` (``brian_ep.baselines.snn``). Each is imported when first used; third-party
engines arrive through the entry point group ``brian_ep.engines`` (``brian_ep.plugins``).
"""

from .base import ChunkResult, Engine, make_engine
from .builtin import register_builtin_engines
from .registry import EngineEntry, engine_class, engine_names, get_engine_entry, register_engine, unregister_engine

__all__ = [
    "ChunkResult",
    "Engine",
    "EngineEntry",
    "make_engine",
    "register_engine",
    "unregister_engine",
    "engine_names",
    "get_engine_entry",
    "engine_class",
]

register_builtin_engines()
