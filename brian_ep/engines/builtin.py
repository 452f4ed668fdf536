"""The engines that ship with brian_ep, registered in this one place.

Every class, options model and capability is named as ``"module:attribute"``, so registering
imports nothing heavy: Brian2, torch and the baselines are imported when a run uses them, and
this module imports no other part of the package than the registry.
"""

from __future__ import annotations

from .registry import register_engine

__all__ = ["register_builtin_engines"]

_BASELINE_OPTIONS = "brian_ep.baselines.options"
#: Why the engines that see a sample as one vector refuse an event stream (``data.events``).
_NO_EVENTS = ("this engine presents a sample as one static vector; the numpy and brian2 engines present event bins "
              "in order through the free phase")
#: Why the baselines refuse a refractory period of a neuron model (``neuron.refractory``).
_NO_REFRACTORY = ("this baseline trains a network of its own neurons, which have no refractory period; the EP engines "
                  "(numpy, torch, brian2) implement it")


def register_builtin_engines() -> None:
    """Register ``brian2``, ``numpy``, ``torch``, ``bp``, ``bptt_crnn`` and ``bptt_snn``
    (idempotent: registering an identical entry again changes nothing)."""
    register_engine(
        "brian2",
        "brian_ep.engines.brian:BrianEngine",
        "EP as Brian2 equations, one sample at a time (run.brian2.device: runtime, cpp_standalone or cuda_standalone)",
        options="brian_ep.engines.brian_options:BrianOptions",
        requires=("brian2",),
        refuses={
            "conv": "a Brian2 synapse holds its own weight, while a convolution shares one kernel across all "
            "positions (and feeds back through its transpose); this engine builds dense projections only",
        },
        device="brian_ep.engines.brian_options:brian_device",
        memory="brian_ep.engines.brian_options:brian_memory",
        one_sample_at_a_time=True,
        compare_method=False,
    )
    register_engine(
        "numpy", "brian_ep.engines.numpy_batched:NumpyEngine", "the same EP mathematics, batched in numpy",
        compare_method=False,
    )
    register_engine(
        "torch",
        "brian_ep.engines.torch_engine.engine:TorchEngine",
        "the same EP mathematics batched in torch, on CPU or CUDA, data-parallel under torchrun (run.torch)",
        options="brian_ep.engines.torch_engine.options:TorchOptions",
        requires=("torch", "array_api_compat"),
        extra="torch",
        refuses={"events": _NO_EVENTS},
    )
    register_engine(
        "bp",
        "brian_ep.baselines.backprop:BackpropEngine",
        "baseline: the feed-forward network of the same sizes trained with backprop (torch)",
        options=f"{_BASELINE_OPTIONS}:BackpropOptions",
        requires=("torch",),
        extra="baselines",
        steps=f"{_BASELINE_OPTIONS}:bp_steps",
        trains_by_ep=False,
        refuses={"events": _NO_EVENTS, "refractory": _NO_REFRACTORY},
    )
    register_engine(
        "bptt_crnn",
        "brian_ep.baselines.crnn:CrnnEngine",
        "baseline: EP's recurrent network trained by backprop through its free phase (torch autograd)",
        options=f"{_BASELINE_OPTIONS}:CrnnOptions",
        requires=("torch",),
        extra="baselines",
        steps=f"{_BASELINE_OPTIONS}:crnn_steps",
        trains_by_ep=False,
        refuses={"events": _NO_EVENTS, "refractory": _NO_REFRACTORY},
    )
    register_engine(
        "bptt_snn",
        "brian_ep.baselines.snn:SnnEngine",
        "baseline: an snntorch LIF network of the same sizes trained by BPTT with a surrogate gradient",
        options=f"{_BASELINE_OPTIONS}:SnnOptions",
        requires=("torch", "snntorch"),
        extra="baselines",
        steps=f"{_BASELINE_OPTIONS}:snn_steps",
        trains_by_ep=False,
        refuses={"refractory": _NO_REFRACTORY},
    )
