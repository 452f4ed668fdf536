"""Engines: the interface that training uses, and the registry of the engines that implement it.

Built in: ``brian2`` (EP as Brian2 equations, :mod:`brian_ep.engines.brian`), ``numpy`` (the
same mathematics batched, :mod:`brian_ep.engines.numpy_batched`), ``torch`` (the same
mathematics on torch tensors, CPU or CUDA, data-parallel under ``torchrun``,
:mod:`brian_ep.engines.torch_engine`) and the baselines ``bp``
(:mod:`brian_ep.baselines.backprop`), ``bptt_crnn`` (:mod:`brian_ep.baselines.crnn`) and
``bptt_snn`` (:mod:`brian_ep.baselines.snn`). Each is imported when first used.
"""

from ..baselines.options import BackpropOptions, CrnnOptions, SnnOptions

from .base import ChunkResult, Engine, make_engine
from .torch_engine.options import TorchOptions
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

register_engine(
    "brian2",
    "brian_ep.engines.brian:BrianEngine",
    "EP as Brian2 equations, one sample at a time (run.device: runtime, cpp_standalone or cuda_standalone)",
    requires=("brian2",),
    refuses={
        "conv": "a Brian2 synapse holds its own weight, while a convolution shares one kernel across all "
        "positions (and feeds back through its transpose); this engine builds dense projections only",
    },
)
_NO_EVENTS = ("this engine presents a sample as one static vector; the numpy and brian2 engines present event bins "
              "in order through the free phase")

register_engine("numpy", "brian_ep.engines.numpy_batched:NumpyEngine", "the same EP mathematics, batched in numpy")
register_engine(
    "torch",
    "brian_ep.engines.torch_engine.engine:TorchEngine",
    "the same EP mathematics batched in torch, on CPU or CUDA, data-parallel under torchrun (run.torch)",
    options=TorchOptions,
    requires=("torch", "array_api_compat"),
    extra="torch",
    refuses={"events": _NO_EVENTS},
)
register_engine(
    "bp",
    "brian_ep.baselines.backprop:BackpropEngine",
    "baseline: the feed-forward network of the same sizes trained with backprop (torch)",
    options=BackpropOptions,
    requires=("torch",),
    extra="baselines",
    refuses={"events": _NO_EVENTS},
)
register_engine(
    "bptt_crnn",
    "brian_ep.baselines.crnn:CrnnEngine",
    "baseline: EP's recurrent network trained by backprop through its free phase (torch autograd)",
    options=CrnnOptions,
    requires=("torch",),
    extra="baselines",
    refuses={"events": _NO_EVENTS},
)
register_engine(
    "bptt_snn",
    "brian_ep.baselines.snn:SnnEngine",
    "baseline: an snntorch LIF network of the same sizes trained by BPTT with a surrogate gradient",
    options=SnnOptions,
    requires=("torch", "snntorch"),
    extra="baselines",
    refuses={"events": _NO_EVENTS},
)
